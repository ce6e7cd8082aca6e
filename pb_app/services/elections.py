"""A round as the pure tally sees it: its shortlisted bids as projects, its ballot and limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from pb_app.extensions import db
from pb_app.models import BallotKind, Bid, BidStatus, GroupMembership, Round, User
from pb_app.tally.election import Ballot, BallotType, Election, Limits, Project

# A knapsack ballot is an approval ballot capped at a sum of costs (tally.md §1).
BALLOT_TYPES: dict[str, BallotType] = {
    BallotKind.KNAPSACK: BallotType.APPROVAL,
    BallotKind.APPROVAL: BallotType.APPROVAL,
    BallotKind.CHOOSE_ONE: BallotType.CHOOSE_ONE,
    BallotKind.ORDINAL: BallotType.ORDINAL,
    BallotKind.CUMULATIVE: BallotType.CUMULATIVE,
    BallotKind.SCORING: BallotType.SCORING,
}

# Bids on the ballot: shortlisted, and (after the count) funded or not funded.
ON_BALLOT = (BidStatus.SHORTLISTED, BidStatus.FUNDED, BidStatus.NOT_FUNDED)


@dataclass(frozen=True)
class ProjectCard:
    """What a voter sees of one project on the ballot."""

    ref: str
    title: str
    summary: str
    cost_pence: int
    ward: str | None
    theme: str | None
    url: str


def ballot_type_of(round_: Round) -> BallotType:
    """The tally ballot type of a round's ballot kind."""
    return BALLOT_TYPES[round_.ballot_kind]


def limits_of(round_: Round) -> Limits:
    """The round's ballot limits as tally Limits; a knapsack is capped at the pot by default."""
    max_cost = round_.max_sum_cost_pence
    if round_.ballot_kind == BallotKind.KNAPSACK and max_cost is None:
        max_cost = round_.pot_pence
    return Limits(
        min_length=round_.min_length,
        max_length=round_.max_length,
        min_sum_cost=round_.min_sum_cost_pence,
        max_sum_cost=max_cost,
        min_points=round_.min_points,
        max_points=round_.max_points,
        min_sum_points=round_.min_sum_points,
        max_sum_points=round_.max_sum_points,
        default_score=round_.default_score,
    )


def ballot_bids(round_: Round) -> list[Bid]:
    """The round's bids on the ballot, in ref order."""
    return list(
        db.session.scalars(
            select(Bid)
            .where(Bid.round_id == round_.id, Bid.status.in_(ON_BALLOT))
            .order_by(Bid.ref)
            # Every ballot checks costs: load the budget lines, ward and theme in one go.
            .options(selectinload(Bid.budget_lines), joinedload(Bid.ward), joinedload(Bid.theme))
        )
    )


def election_for_round(round_: Round, *, ballots: Sequence[Ballot] = ()) -> Election:
    """The round as a pure Election: shortlisted bids as projects (id = ref, cost in pence)."""
    projects = tuple(
        Project(
            id=bid.ref,
            cost=bid.amount_pence,
            name=bid.title,
            district=bid.ward.name if bid.ward else "",
            categories=(bid.theme.name,) if bid.theme else (),
        )
        for bid in ballot_bids(round_)
    )
    return Election(
        ballot_type=ballot_type_of(round_),
        budget=round_.pot_pence,
        projects=projects,
        ballots=tuple(ballots),
        limits=limits_of(round_),
        unit=100,
        currency=round_.currency or "GBP",
    )


def projects_for_ballot(round_: Round) -> list[ProjectCard]:
    """Every project on the round's ballot, ready for a page."""
    return [
        ProjectCard(
            ref=bid.ref,
            title=bid.title,
            summary=bid.summary,
            cost_pence=bid.amount_pence,
            ward=bid.ward.name if bid.ward else None,
            theme=bid.theme.name if bid.theme else None,
            url=f"/rounds/{round_.slug}/projects/{bid.ref}",
        )
        for bid in ballot_bids(round_)
    ]


def excluded_refs(round_: Round, user: User | None) -> set[str]:
    """Refs of bids by groups ``user`` belongs to: a person may not vote for their own group."""
    if user is None or getattr(user, "id", None) is None:
        return set()
    group_ids = select(GroupMembership.group_id).where(GroupMembership.user_id == user.id)
    return set(
        db.session.scalars(
            select(Bid.ref).where(Bid.round_id == round_.id, Bid.group_id.in_(group_ids))
        )
    )


def find_round(slug: str) -> Round | None:
    """The round with this slug, or None."""
    return db.session.scalars(select(Round).where(Round.slug == slug)).first()


def public_rounds() -> list[Round]:
    """Every round not archived, newest first."""
    return list(
        db.session.scalars(
            select(Round).where(Round.archived_at.is_(None)).order_by(Round.created_at.desc())
        )
    )


def limits_as_dict(round_: Round) -> dict[str, int | None]:
    """The round's ballot limits by name (money in pence, ``None`` for no limit)."""
    limits = limits_of(round_)
    return {
        "min_length": limits.min_length,
        "max_length": limits.max_length,
        "min_sum_cost_pence": limits.min_sum_cost,
        "max_sum_cost_pence": limits.max_sum_cost,
        "min_points": limits.min_points,
        "max_points": limits.max_points,
        "min_sum_points": limits.min_sum_points,
        "max_sum_points": limits.max_sum_points,
        "default_score": limits.default_score,
    }
