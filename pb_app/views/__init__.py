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
        codes,
        errors,
        groups,
        officer,
        public,
        results,
        rounds,
        staff,
        vote,
    )

    areas = (
        public,
        auth,
        staff,
        audit_log,
        officer,
        codes,
        rounds,
        results,
        groups,
        bids,
        vote,
        api,
        errors,
    )
    return tuple(area.bp for area in areas)
