"""Helpers for the results tests: rounds with ballots cast, closed, counted and certified
through the real services (the one place tests make certified results)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from pb_app.extensions import db
from pb_app.models import (
    Bid,
    BidStatus,
    BudgetLine,
    Channel,
    Group,
    GroupKind,
    Participation,
    ResultSnapshot,
    Round,
    Theme,
    User,
    Ward,
)
from pb_app.models._base import utcnow
from pb_app.services import results as results_service
from pb_app.services.codes import find_code, issue_codes
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


@dataclass(frozen=True)
class Vote:
    """One ballot to cast, and how it arrived."""

    refs: tuple[str, ...]
    points: tuple[int, ...] = ()
    channel: Channel = Channel.ONLINE
    venue: str | None = None
    assisted: bool = False
    ward: str | None = None  # recorded on the participation, for turnout by ward


def cast_votes(round_: Round, votes: Sequence[Vote]) -> None:
    """Cast each vote with a fresh one-time code through the real voting service."""
    codes = issue_codes(round_, count=len(votes), label="Test votes", actor=None)
    wards = {
        w.name: w.id for w in db.session.scalars(select(Ward).where(Ward.round_id == round_.id))
    }
    for code, vote in zip(codes, votes, strict=True):
        cast_ballot(
            round_.id,
            Ballot(vote.refs, vote.points),
            code=code,
            channel=vote.channel,
            venue=vote.venue,
            assisted=vote.assisted,
            now=utcnow(),
        )
        if vote.ward is not None:
            code_id = find_code(round_, code).id
            participation = db.session.scalars(
                select(Participation).where(Participation.voter_code_id == code_id)
            ).one()
            participation.ward_id = wards[vote.ward]
            db.session.commit()


def count_and_certify(
    round_: Round,
    funder: User | None,
    *,
    certify: bool = True,
    statement: str = "I have checked the count and certify it.",
    password: str = PASSWORD,
) -> ResultSnapshot:
    """Close voting if open, count by the round's rule, and certify if asked (real services)."""
    now = utcnow()
    if round_.closed_at is None:
        close_voting(round_.id, actor=None, now=now)
    snapshot = count_round(round_.id, actor=None, now=now)
    if certify:
        assert funder is not None, "a certification needs the funder who signs it"
        results_service.certify(
            round_.id, funder=funder, password=password, statement=statement, now=now
        )
    return snapshot


# Titles of a realistic length, one long enough to be cut in the chart.
SAMPLE_PROJECTS = (
    ("Friday lunch club for people living alone in the two wards", 4_500_00, "North"),
    ("Chair yoga", 2_000_00, "South"),
    ("Community garden benches", 3_000_00, "North"),
    ("Digital skills drop-in", 2_500_00, "South"),
)


def make_counted_round(
    slug: str,
    funder: User,
    *,
    certify: bool = True,
    rule: str = "greedy",
    password: str = PASSWORD,
) -> Round:
    """A whole round outside pytest fixtures (the browser tests' shared server): four bids,
    twenty-odd ballots by every channel, counted and, if asked, certified by ``funder``."""
    now = utcnow()
    round_ = Round(
        slug=slug,
        title=f"Neighbourhood grants {slug}",
        pot_pence=8_000_00,
        min_grant_pence=500_00,
        max_grant_pence=5_000_00,
        ballot_kind="knapsack",
        max_sum_cost_pence=8_000_00,
        rule=rule,
        tie_break="min-cost,max-support,lot",
        lot_seed=f"seed-{slug}",
        bids_open_at=now - timedelta(days=40),
        bids_close_at=now - timedelta(days=30),
        voting_open_at=now - timedelta(days=2),
        voting_close_at=now + timedelta(days=5),
        rules_frozen_at=now - timedelta(days=2),
    )
    round_.wards = [Ward(name="North", position=0), Ward(name="South", position=1)]
    round_.themes = [Theme(name="Older people", position=0)]
    group = Group(
        name=f"Friends of {slug}",
        kind=GroupKind.CONSTITUTED,
        contact_name="Contact",
        contact_email=f"{slug}@example.org",
    )
    db.session.add_all([round_, group])
    db.session.flush()
    wards = {w.name: w for w in round_.wards}
    for number, (title, cost, ward) in enumerate(SAMPLE_PROJECTS, 1):
        bid = Bid(
            round_id=round_.id,
            group=group,
            ref=f"R-{number:02d}",
            title=title,
            summary=title,
            description=title,
            ward_id=wards[ward].id,
            theme_id=round_.themes[0].id,
            status=BidStatus.SHORTLISTED,
        )
        bid.budget_lines = [BudgetLine(position=0, description="Costs", amount_pence=cost)]
        db.session.add(bid)
    db.session.commit()
    r1, r2, r3, r4 = (f"R-{n:02d}" for n in range(1, 5))
    votes = [Vote((r1, r2), ward="North")] * 12
    votes += [Vote((r2, r3), channel=Channel.KIOSK, venue="Library", assisted=True)] * 4
    votes += [Vote((r3, r4), channel=Channel.PAPER, ward="South")] * 6
    cast_votes(round_, votes)
    count_and_certify(round_, funder, certify=certify, password=password)
    return round_
