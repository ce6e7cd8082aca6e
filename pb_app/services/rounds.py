"""Reading rounds for people: lists and phases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from pb_app.extensions import db
from pb_app.models import Round
from pb_app.phases import Phase, Timeline, phase_at


@dataclass(frozen=True)
class RoundSummary:
    """What the home page shows of a round."""

    slug: str
    title: str
    summary: str
    pot_pence: int
    phase: Phase
    voting_close_at: datetime | None


def timeline_of(round_: Round) -> Timeline:
    """The round's dates and transitions as a pure Timeline."""
    return Timeline(
        bids_open_at=round_.bids_open_at,
        bids_close_at=round_.bids_close_at,
        voting_open_at=round_.voting_open_at,
        voting_close_at=round_.voting_close_at,
        closed_at=round_.closed_at,
        published_at=round_.published_at,
        archived_at=round_.archived_at,
    )


def ward_in_round(round_: Round, ward_id: int | None) -> int | None:
    """``ward_id`` if it is one of the round's wards, else None (an unknown ward is not kept)."""
    return ward_id if ward_id is not None and ward_id in {w.id for w in round_.wards} else None


def ward_choices(round_: Round, blank: str) -> list[tuple[str, str]]:
    """The round's wards for a select, after a first "don't know" choice labelled ``blank``."""
    return [("", blank), *((str(w.id), w.name) for w in round_.wards)]


def round_phase(round_: Round, now: datetime) -> Phase:
    """The round's phase at ``now``."""
    return phase_at(timeline_of(round_), now)


def list_rounds(now: datetime) -> list[RoundSummary]:
    """Every round not archived, newest first, with its phase at ``now``."""
    rounds = db.session.scalars(
        select(Round).where(Round.archived_at.is_(None)).order_by(Round.created_at.desc())
    )
    return [
        RoundSummary(
            slug=r.slug,
            title=r.title,
            summary=r.summary,
            pot_pence=r.pot_pence,
            phase=round_phase(r, now),
            voting_close_at=r.voting_close_at,
        )
        for r in rounds
    ]
