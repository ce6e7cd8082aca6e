"""Helpers for the voting tests: a round open for voting with projects, and log counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from pb_app.extensions import db
from pb_app.models import Ballot, Bid, Participation, Round
from pb_app.services.elections import ballot_bids


def open_round(
    make_round: Callable[..., Round],
    make_group: Callable[..., Any],
    make_bid: Callable[..., Bid],
    *,
    costs: tuple[int, ...] = (1_000_00, 2_000_00, 3_000_00),
    phase: str = "voting",
    **columns: Any,
) -> Round:
    """A round (default: voting, knapsack capped at £10,000) with one shortlisted bid per cost."""
    round_ = make_round(phase=phase, **columns)
    group = make_group()
    for cost in costs:
        make_bid(round_, group, lines=[("Costs", cost)])
    return round_


def refs(round_: Round) -> list[str]:
    """The refs of the projects on the round's ballot, in order."""
    return [bid.ref for bid in ballot_bids(round_)]


def ballot_count(round_id: int) -> int:
    """How many ballots the round's log holds."""
    count = db.session.scalar(
        select(func.count()).select_from(Ballot).where(Ballot.round_id == round_id)
    )
    db.session.rollback()  # release SQLite's lock for the next request
    return int(count or 0)


def participation_count(round_id: int) -> int:
    """How many participations the round has."""
    count = db.session.scalar(
        select(func.count()).select_from(Participation).where(Participation.round_id == round_id)
    )
    db.session.rollback()
    return int(count or 0)
