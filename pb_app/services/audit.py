"""The staff audit log: every officer, funder and admin action, and every auth event."""

from __future__ import annotations

import json
from typing import Any

from pb_app.extensions import db
from pb_app.models import AuditEvent, User


def command_line_label(actor: User | None) -> str:
    """The actor label for a staff action: the person's own, or "command line" with no one."""
    return "" if actor is not None else "command line"


def record(
    action: str,
    *,
    actor: User | None,
    actor_label: str = "",
    round_id: int | None = None,
    object_type: str = "",
    object_id: str | int = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (the caller's service commits)."""
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor is not None else None,
        actor_label=actor_label or (f"{actor.name} <{actor.email}>" if actor else "anonymous"),
        round_id=round_id,
        object_type=object_type,
        object_id=str(object_id),
        before=json.dumps(before, sort_keys=True, default=str) if before is not None else None,
        after=json.dumps(after, sort_keys=True, default=str) if after is not None else None,
        ip=ip,
    )
    db.session.add(event)
    return event
