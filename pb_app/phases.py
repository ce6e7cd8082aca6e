"""A round's phase, derived from its dates and explicit transitions (pure: ``now`` is passed in)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Phase(StrEnum):
    """The phases of a round, in order."""

    SETUP = "setup"
    BIDS = "bids"
    REVIEW = "review"
    VOTING = "voting"
    COUNTING = "counting"  # voting closed; result not yet certified and published
    RESULTS = "results"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class Timeline:
    """The dates and transitions a phase is derived from (all timezone-aware or None)."""

    bids_open_at: datetime | None
    bids_close_at: datetime | None
    voting_open_at: datetime | None
    voting_close_at: datetime | None
    closed_at: datetime | None = None
    published_at: datetime | None = None
    archived_at: datetime | None = None


def _reached(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and moment <= now


def phase_at(timeline: Timeline, now: datetime) -> Phase:
    """The phase at ``now``: explicit transitions first, then the dates."""
    if timeline.archived_at is not None:
        return Phase.ARCHIVED
    if timeline.published_at is not None:
        return Phase.RESULTS
    if timeline.closed_at is not None or _reached(timeline.voting_close_at, now):
        return Phase.COUNTING
    if _reached(timeline.voting_open_at, now):
        return Phase.VOTING
    if _reached(timeline.bids_close_at, now):
        return Phase.REVIEW
    if _reached(timeline.bids_open_at, now):
        return Phase.BIDS
    return Phase.SETUP


def timeline_problems(timeline: Timeline) -> list[str]:
    """Plain-English problems with the order of a round's dates (empty when they make sense)."""
    ordered = [
        ("bids open", timeline.bids_open_at),
        ("bids close", timeline.bids_close_at),
        ("voting opens", timeline.voting_open_at),
        ("voting closes", timeline.voting_close_at),
    ]
    present = [(name, moment) for name, moment in ordered if moment is not None]
    return [
        f"The date {later} must come after the date {earlier}."
        for (earlier, first), (later, second) in itertools.pairwise(present)
        if second <= first
    ]
