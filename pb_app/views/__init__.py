"""One blueprint per area."""

from __future__ import annotations

from flask import Blueprint


def blueprints() -> tuple[Blueprint, ...]:
    """Every area's blueprint, in registration order (error pages last)."""
    from pb_app.views import (
        api,
        auth,
        bids,
        codes,
        errors,
        groups,
        kiosk,
        officer,
        paper,
        public,
        rounds,
        staff,
        vote,
    )

    areas = (
        public, auth, staff, officer, codes, rounds, groups, bids, vote, api,
        kiosk, paper,
        errors,
    )  # fmt: skip
    return tuple(area.bp for area in areas)
