"""Helpers for the results tests: a round with ballots cast, closed, counted and certified."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from pb_app.models import Channel, Round, User
from pb_app.models._base import utcnow
from pb_app.services.codes import issue_codes
from pb_app.services.results import certify, close_voting, count_round
from pb_app.services.voting import cast_ballot
from pb_app.tally.election import Ballot
from tests.voting_helpers import open_round, refs

PASSWORD = "correct horse battery"


def voted_round(
    make_round: Callable[..., Round],
    make_group: Callable[..., Any],
    make_bid: Callable[..., Any],
    *,
    ballots: list[tuple[int, ...]] | None = None,
    costs: tuple[int, ...] = (1_000_00, 2_000_00, 3_000_00, 4_000_00, 5_000_00),
    **columns: Any,
) -> Round:
    """A voting round (approval, £10,000) with one ballot per tuple of project positions."""
    columns.setdefault("ballot_kind", "approval")
    columns.setdefault("max_sum_cost_pence", None)
    round_ = open_round(make_round, make_group, make_bid, costs=costs, **columns)
    ids = refs(round_)
    chosen = ballots if ballots is not None else _random_ballots(len(ids), 12)
    for code, positions in zip(
        issue_codes(round_, count=len(chosen), label="Test", actor=None), chosen, strict=True
    ):
        ballot = Ballot(tuple(ids[i] for i in positions))
        cast_ballot(round_.id, ballot, code=code, channel=Channel.API, now=utcnow())
    return round_


def _random_ballots(projects: int, voters: int) -> list[tuple[int, ...]]:
    rng = random.Random(7)
    return [
        tuple(sorted(rng.sample(range(projects), rng.randint(1, projects)))) for _ in range(voters)
    ]


def certified_round(round_: Round, officer: User, funder: User) -> Round:
    """Close, count and certify ``round_``."""
    close_voting(round_.id, actor=officer, now=utcnow())
    count_round(round_.id, actor=officer, now=utcnow())
    certify(round_.id, funder=funder, password=PASSWORD, statement="I certify this.", now=utcnow())
    return round_
