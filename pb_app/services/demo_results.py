"""The demo's past round: last year's Ageing Better grants, voted, counted and certified.

It goes through the real services — codes, ballots in the hash-chained log, close, count by the
declared rule, the funder's certification — so the public results page, the audit bundle and
the recount show a real count, not a picture of one.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select

from pb_app.extensions import db
from pb_app.models import (
    Bid,
    BidStatus,
    BidStatusChange,
    BudgetLine,
    Channel,
    Group,
    GroupKind,
    Round,
    User,
    Ward,
)
from pb_app.services import results
from pb_app.services.codes import issue_codes
from pb_app.services.voting import cast_ballot
from pb_app.tally.election import Ballot

PAST_SLUG = "ageing-better-2025"
VOTERS = 412
WARDS = ("Dalston", "Hackney Downs", "Homerton")
WARD_PACKS = (163, 141, 108)  # of the 412 voters

# (title, group, ward, [(line, pounds)], how many voters like it, 0–1)
PAST_BIDS: tuple[tuple[str, str, int, tuple[tuple[str, int], ...], float], ...] = (
    (
        "Tea dances at the Round Chapel",
        "St Mark's Community Kitchen",
        1,
        (("Band and hall for 10 dances", 3200), ("Teas", 600)),
        0.62,
    ),
    (
        "Men's shed for Homerton",
        "Homerton Men's Shed",
        2,
        (("Workshop rent", 3600), ("Tools", 1400)),
        0.48,
    ),
    (
        "Tablet lending library",
        "Dalston Digital Inclusion Network",
        0,
        (("Twelve tablets", 2400), ("Data and support", 1100)),
        0.44,
    ),
    (
        "Walking football",
        "Hackney Downs Over-50s Football",
        1,
        (("Pitch hire", 1500), ("Coach", 900)),
        0.37,
    ),
    (
        "Community allotment",
        "Homerton Growers",
        2,
        (("Raised beds and tools", 2100), ("Water and fencing", 1700)),
        0.33,
    ),
    (
        "Phone friends",
        "Dalston Befrienders",
        0,
        (("Volunteer coordinator, 10 hours a week", 4400),),
        0.29,
    ),
    (
        "Turkish-speaking lunch club",
        "Ridley Road Neighbours",
        0,
        (("Food for 40 lunches", 2000), ("Interpreter", 800)),
        0.24,
    ),
    (
        "Art on prescription",
        "Homerton Arts Collective",
        2,
        (("Artist's fees", 3800), ("Materials", 700)),
        0.18,
    ),
)


def shortlisted_bid(
    round_id: int,
    group: Group,
    *,
    ref: str,
    title: str,
    summary: str,
    ward_id: int,
    theme_id: int | None,
    lines: tuple[tuple[str, int], ...],
    submitted_at: datetime,
) -> Bid:
    """A demo bid that was submitted and shortlisted, with its budget lines (pounds) and history."""
    bid = Bid(
        round_id=round_id,
        group=group,
        ref=ref,
        title=title,
        summary=summary,
        description=summary,
        ward_id=ward_id,
        theme_id=theme_id,
        status=BidStatus.SHORTLISTED,
        submitted_at=submitted_at,
    )
    bid.budget_lines = [
        BudgetLine(position=i, description=text, amount_pence=pounds * 100)
        for i, (text, pounds) in enumerate(lines)
    ]
    bid.history = [
        BidStatusChange(to_status=BidStatus.SUBMITTED, note="Submitted by the group."),
        BidStatusChange(
            from_status=BidStatus.SUBMITTED,
            to_status=BidStatus.SHORTLISTED,
            note="Meets every item of the checklist.",
        ),
    ]
    db.session.add(bid)
    return bid


def _round(now: datetime) -> Round:
    closed = now - timedelta(days=300)
    round_ = Round(
        slug=PAST_SLUG,
        title="Ageing Better small grants 2025",
        summary="£20,000 shared between projects for people aged 50 and over; results published.",
        description=(
            "Last year's round. Residents aged 50 and over in Dalston, Hackney Downs and Homerton "
            "chose projects to fund with up to £10,000 each on a budget ballot."
        ),
        funder_name="Ageing Better Programme",
        pot_pence=20_000_00,
        min_grant_pence=500_00,
        max_grant_pence=5_000_00,
        min_age=50,
        postcode_areas="E8, E5, E9",
        ballot_kind="knapsack",
        max_sum_cost_pence=10_000_00,
        rule="greedy",
        tie_break="min-cost,max-support,lot",
        lot_seed="ageing-better-2025",
        bids_open_at=closed - timedelta(days=90),
        bids_close_at=closed - timedelta(days=60),
        voting_open_at=closed - timedelta(days=21),
        voting_close_at=closed,
        rules_frozen_at=closed - timedelta(days=21),
    )
    round_.wards = [Ward(name=name, position=i) for i, name in enumerate(WARDS)]
    db.session.add(round_)
    db.session.flush()
    return round_


def _group(name: str, number: int) -> Group:
    group = db.session.scalar(select(Group).where(Group.name == name))
    if group is None:
        group = Group(
            name=name,
            kind=GroupKind.CONSTITUTED,
            contact_name="Group contact",
            contact_email=f"past-group{number}@demo.pb.test",
        )
        db.session.add(group)
    return group


def _bids(round_: Round, opened: datetime) -> None:
    for number, (title, group_name, ward, lines, _liked) in enumerate(PAST_BIDS, 1):
        shortlisted_bid(
            round_.id,
            _group(group_name, number),
            ref=f"AB25-{number:02d}",
            title=title,
            summary=f"{title}: a project for people aged 50 and over.",
            ward_id=round_.wards[ward].id,
            theme_id=None,
            lines=lines,
            submitted_at=opened - timedelta(days=40),
        )
    db.session.commit()


def _ballot(costs: dict[str, int], liked: dict[str, float], rng: random.Random) -> Ballot:
    """A budget ballot: the projects this voter likes, in a random order, up to £10,000."""
    chosen, total = [], 0
    refs = [ref for ref in costs if rng.random() < liked[ref]] or [rng.choice(list(costs))]
    rng.shuffle(refs)
    for ref in refs:
        if total + costs[ref] <= 10_000_00:
            chosen.append(ref)
            total += costs[ref]
    return Ballot(projects=tuple(chosen))


def create_past_round(officer: User, funder: User, funder_password: str, now: datetime) -> None:
    """Create, vote, close, count and certify last year's round once (idempotent)."""
    if db.session.scalar(select(Round.id).where(Round.slug == PAST_SLUG)) is not None:
        return
    round_ = _round(now)
    opened = round_.voting_open_at
    assert opened is not None
    _bids(round_, opened)
    bids = db.session.scalars(select(Bid).where(Bid.round_id == round_.id).order_by(Bid.ref)).all()
    costs = {bid.ref: bid.amount_pence for bid in bids}
    liked = {bid.ref: entry[4] for bid, entry in zip(bids, PAST_BIDS, strict=True)}
    codes = [  # postal packs went out ward by ward, so turnout by ward can be shown
        code
        for ward, count in zip(round_.wards, WARD_PACKS, strict=True)
        for code in issue_codes(
            round_,
            count=count,
            label=f"Postal packs, {ward.name}",
            purpose="postal",
            actor=officer,
            ward_id=ward.id,
        )
    ]
    rng = random.Random(2025)  # noqa: S311 - the same made-up voters every time, not a secret
    channels = (Channel.ONLINE, Channel.ONLINE, Channel.ONLINE, Channel.KIOSK, Channel.PAPER)
    for number, code in enumerate(codes):
        channel = channels[number % len(channels)]
        cast_ballot(
            round_.id,
            _ballot(costs, liked, rng),
            code=code,
            channel=channel,
            venue="Hackney Central Library" if channel != Channel.ONLINE else None,
            now=opened + timedelta(minutes=45 * number),
        )
    results.close_voting(round_.id, actor=officer, now=now)
    results.count_round(round_.id, actor=officer, now=now)
    results.certify(
        round_.id,
        funder=funder,
        password=funder_password,
        statement="I have checked the count against the ballot log and certify this result.",
        now=now,
    )
