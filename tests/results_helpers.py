"""Test stand-in for close → count → certify: the one place tests make certified results.

The real close/count/certify service is built on another branch. Until it is merged, this
helper does the same with the real pieces: ballots cast through ``services.voting.cast_ballot``,
counted with the real tally (``pb_app.tally.rules.count`` on ``election_for_round``), stored as a
``ResultSnapshot`` whose ``outcome`` is ``outcome_to_json``, plus a ``Certification`` row and
``Round.published_at``. Switch ``count_and_certify`` to the real service when it lands.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction

from sqlalchemy import select

from pb_app.extensions import db
from pb_app.models import (
    Bid,
    BidStatus,
    BudgetLine,
    Certification,
    ChainHead,
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
from pb_app.services.codes import find_code, issue_codes
from pb_app.services.elections import election_for_round
from pb_app.services.voting import cast_ballot, counted_ballots
from pb_app.tally.election import Ballot as TallyBallot
from pb_app.tally.report import outcome_to_json
from pb_app.tally.rules import CountOptions, count
from pb_app.tally.subpots import SubPot, count_with_subpots
from pb_app.tally.tiebreak import parse_tie_break


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
            TallyBallot(vote.refs, vote.points),
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


def _options(round_: Round) -> CountOptions:
    threshold = (
        Fraction(round_.threshold_percent, 100) if round_.threshold_percent is not None else None
    )
    return CountOptions(
        rule=round_.rule,
        utility=round_.utility,
        tie_break=parse_tie_break(round_.tie_break),
        seed=round_.lot_seed,
        threshold=threshold,
    )


def count_and_certify(
    round_: Round, funder: User | None, *, certify: bool = True, statement: str = ""
) -> ResultSnapshot:
    """Close voting, count the log with the round's rule, store the snapshot; certify if asked."""
    now = utcnow()
    if round_.closed_at is None:
        round_.closed_at = now
    election = election_for_round(round_, ballots=counted_ballots(round_))
    options = _options(round_)
    if round_.sub_pots:
        wards = {w.id: w.name for w in round_.wards}
        themes = {t.id: t.name for t in round_.themes}
        pots = []
        for pot in round_.sub_pots:
            label = wards.get(pot.ward_id or 0) or themes.get(pot.theme_id or 0, "")
            members = tuple(
                p.id
                for p in election.projects
                if (p.district == label if pot.ward_id else label in p.categories)
            )
            pots.append(
                SubPot(key=str(pot.id), label=label, budget=pot.budget_pence, project_ids=members)
            )
        outcome = count_with_subpots(
            election,
            pots,
            lambda part: count(part, options),
            leftover="central" if round_.subpot_leftover == "central" else "oversubscribed",
            central_budget=round_.central_pot_pence,
        )
    else:
        outcome = count(election, options)
    head = db.session.get(ChainHead, round_.id)
    snapshot = ResultSnapshot(
        round_id=round_.id,
        rule=round_.rule,
        options=json.dumps({"tie_break": round_.tie_break, "seed": round_.lot_seed}),
        ballots_counted=len(election.ballots),
        chain_head=head.hash if head is not None else "",
        outcome=json.dumps(outcome_to_json(outcome, election)),
        spent_pence=outcome.spent,
        code_version="test",
        created_by_id=None,
    )
    db.session.add(snapshot)
    db.session.flush()
    if certify:
        assert funder is not None, "a certification needs the funder who signs it"
        db.session.add(
            Certification(
                round_id=round_.id,
                snapshot_id=snapshot.id,
                certified_by_id=funder.id,
                certified_by_name=funder.name,
                bundle_digest="ab" * 32,
                statement=statement,
            )
        )
        round_.published_at = now
    db.session.commit()
    return snapshot


# Titles of a realistic length, one long enough to be cut in the chart.
SAMPLE_PROJECTS = (
    ("Friday lunch club for people living alone in the two wards", 4_500_00, "North"),
    ("Chair yoga", 2_000_00, "South"),
    ("Community garden benches", 3_000_00, "North"),
    ("Digital skills drop-in", 2_500_00, "South"),
)


def make_counted_round(
    slug: str, funder: User, *, certify: bool = True, rule: str = "greedy"
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
    count_and_certify(round_, funder, certify=certify)
    return round_
