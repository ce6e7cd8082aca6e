"""Reading the staff audit log: filtered, paged, each change shown as a readable diff, and CSV.

The log itself is written by ``services.audit.record``; this module only reads it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Select, func, select

from pb_app.extensions import db
from pb_app.models import AuditEvent, Round

PAGE_SIZE = 50
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditFilter:
    """What to show: every field optional; dates are whole days in ``zone``, both ends included."""

    round_id: int | None = None
    action: str = ""
    actor: str = ""
    date_from: date | None = None
    date_to: date | None = None
    zone: tzinfo = UTC


@dataclass(frozen=True)
class Change:
    """One field of an event's object, before and after (empty text where there is none)."""

    field: str
    before: str
    after: str


@dataclass(frozen=True)
class EventRow:
    """One audit event, ready to show."""

    id: int
    at: datetime
    actor: str
    action: str
    round_title: str
    object: str
    changes: tuple[Change, ...]
    ip: str


@dataclass(frozen=True)
class AuditPage:
    """One page of matching events, newest first, and where it sits among the pages."""

    rows: tuple[EventRow, ...]
    total: int
    page: int
    pages: int

    @property
    def has_previous(self) -> bool:
        """Whether there is a page before this one."""
        return self.page > 1

    @property
    def has_next(self) -> bool:
        """Whether there is a page after this one."""
        return self.page < self.pages


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _load(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return {"value": raw}
    return value if isinstance(value, dict) else {"value": value}


def diff(before: str | None, after: str | None) -> tuple[Change, ...]:
    """The fields whose values differ between two JSON objects, in name order."""
    old, new = _load(before) or {}, _load(after) or {}
    return tuple(
        Change(field=key, before=_text(old.get(key)), after=_text(new.get(key)))
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    )


def _query(filters: AuditFilter) -> Select[AuditEvent]:
    query = select(AuditEvent)
    if filters.round_id is not None:
        query = query.where(AuditEvent.round_id == filters.round_id)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.actor.strip():
        # Case-insensitive "contains", with LIKE's wildcards taken literally.
        needle = filters.actor.strip().lower()
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(func.lower(AuditEvent.actor_label).like(f"%{escaped}%", escape="\\"))
    if filters.date_from is not None:
        start = datetime.combine(filters.date_from, time(), filters.zone)
        query = query.where(AuditEvent.at >= start)
    if filters.date_to is not None:
        end = datetime.combine(filters.date_to + timedelta(days=1), time(), filters.zone)
        query = query.where(AuditEvent.at < end)
    return query


def _titles(round_ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {rid for rid in round_ids if rid is not None}
    if not wanted:
        return {}
    return dict(db.session.execute(select(Round.id, Round.title).where(Round.id.in_(wanted))).all())


def _rows(events: Sequence[AuditEvent]) -> tuple[EventRow, ...]:
    titles = _titles(event.round_id for event in events)
    return tuple(
        EventRow(
            id=event.id,
            at=event.at,
            actor=event.actor_label,
            action=event.action,
            round_title=(
                titles.get(event.round_id, f"#{event.round_id}") if event.round_id else ""
            ),
            object=" ".join(part for part in (event.object_type, event.object_id) if part),
            changes=diff(event.before, event.after),
            ip=event.ip or "",
        )
        for event in events
    )


def search(filters: AuditFilter, page: int = 1, per_page: int = PAGE_SIZE) -> AuditPage:
    """One page of the events matching ``filters``, newest first."""
    query = _query(filters)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    events = db.session.scalars(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return AuditPage(rows=_rows(events), total=total, page=page, pages=pages)


def action_names() -> list[str]:
    """Every action the log holds, for the filter's list."""
    return list(
        db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    )


def round_choices() -> list[tuple[int, str]]:
    """Every round as (id, title), newest first, for the filter's list."""
    return [
        (rid, title)
        for rid, title in db.session.execute(
            select(Round.id, Round.title).order_by(Round.created_at.desc(), Round.id.desc())
        )
    ]


def safe_cell(value: str) -> str:
    """A CSV cell a spreadsheet will not run: text that looks like a formula gets a ``'``."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


CSV_HEADER = ("id", "at (UTC)", "actor", "action", "round", "object", "field", "before", "after")


def export_csv(filters: AuditFilter, batch: int = 500) -> Iterator[str]:
    """The matching events as CSV lines, one line per changed field (one for an event without)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells: Sequence[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([safe_cell(cell) for cell in cells])
        return buffer.getvalue()

    yield line(CSV_HEADER)
    query = _query(filters).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    offset = 0
    while True:
        events = db.session.scalars(query.limit(batch).offset(offset)).all()
        if not events:
            return
        for row in _rows(events):
            head = [
                str(row.id),
                row.at.astimezone(UTC).isoformat(timespec="seconds"),
                row.actor,
                row.action,
                row.round_title,
                row.object,
            ]
            for change in row.changes or (Change("", "", ""),):
                yield line([*head, change.field, change.before, change.after])
        offset += batch
