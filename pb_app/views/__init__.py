"""One blueprint per area."""

from __future__ import annotations

from flask import Blueprint


def blueprints() -> tuple[Blueprint, ...]:
    """Every area's blueprint, in registration order (error pages last)."""
    from pb_app.views import (
        api,
        audit_log,
        auth,
        bids,
        bundle,
        codes,
        errors,
        groups,
        kiosk,
        officer,
        paper,
        public,
        results,
        results_admin,
        rounds,
        staff,
        vote,
    )

    areas = (
        public, auth, staff, audit_log, officer, codes, results_admin, rounds, results, bundle,
        groups, bids, vote, api, kiosk, paper, errors,
    )  # fmt: skip
    return tuple(area.bp for area in areas)
