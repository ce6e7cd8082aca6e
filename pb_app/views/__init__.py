"""One blueprint per area."""

from __future__ import annotations

from flask import Blueprint


def blueprints() -> tuple[Blueprint, ...]:
    """Every area's blueprint, in registration order (error pages last)."""
    from pb_app.views import (
        api,
        auth,
        bids,
        bundle,
        codes,
        errors,
        groups,
        officer,
        public,
        results_admin,
        rounds,
        staff,
        vote,
    )

    areas = (
        public, auth, staff, officer, codes, results_admin, rounds, bundle, groups, bids, vote,
        api, errors,
    )  # fmt: skip
    return tuple(area.bp for area in areas)
