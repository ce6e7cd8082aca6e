"""What the public reads about a round: its rules in plain English, its projects, each bid."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from pb_app.extensions import db
from pb_app.models import Bid, BidStatus, Round
from pb_app.models.rounds import BallotKind
from pb_app.money import format_pounds
from pb_app.phases import Phase
from pb_app.services import ServiceError
from pb_app.services.rounds import round_phase
from pb_app.tally.tiebreak import TieBreakError, parse_tie_break

# Bids the public sees once they are on the ballot; rejected ones only once review is over.
ON_BALLOT = (BidStatus.SHORTLISTED, BidStatus.FUNDED, BidStatus.NOT_FUNDED)
REVIEW_OVER = frozenset({Phase.VOTING, Phase.COUNTING, Phase.RESULTS, Phase.ARCHIVED})
# The lot seed is published when voting opens, not before (it could be gamed).
SEED_PUBLISHED = REVIEW_OVER


class PublicNotFound(ServiceError):
    """No such round, or no such bid that the public may see."""


@dataclass(frozen=True)
class BudgetRow:
    """One line of a bid's budget."""

    description: str
    amount_pence: int


@dataclass(frozen=True)
class HistoryRow:
    """One public entry of a bid's history: when it moved to which status."""

    to_status: str
    at: datetime


@dataclass(frozen=True)
class NamedPot:
    """A sub-pot for a ward or theme."""

    name: str
    budget_pence: int


@dataclass(frozen=True)
class RoundPage:
    """Everything the round page shows, ready to present."""

    slug: str
    title: str
    summary: str
    description: str
    funder_name: str
    phase: Phase
    pot_pence: int
    min_grant_pence: int
    max_grant_pence: int
    central_pot_pence: int
    sub_pots: tuple[NamedPot, ...]
    leftover_text: Any
    who_may_vote: tuple[Any, ...]
    ballot_text: Any
    change_text: Any
    rule_text: Any
    tie_break_text: Any
    lot_seed: str | None
    bids_open_at: datetime | None
    bids_close_at: datetime | None
    voting_open_at: datetime | None
    voting_close_at: datetime | None
    wards: tuple[str, ...]
    themes: tuple[str, ...]


@dataclass(frozen=True)
class ProjectCard:
    """A project in the list."""

    ref: str
    title: str
    summary: str
    group_name: str
    ward: str
    theme: str
    amount_pence: int
    status: str
    decision_reason: str


@dataclass(frozen=True)
class ProjectsPage:
    """A round's public projects, in this visitor's order, filtered as asked."""

    slug: str
    title: str
    phase: Phase
    wards: tuple[tuple[int, str], ...]
    themes: tuple[tuple[int, str], ...]
    on_ballot: tuple[ProjectCard, ...]
    rejected: tuple[ProjectCard, ...]
    show_rejected: bool


@dataclass(frozen=True)
class ProjectPage:
    """One public bid with its budget and history."""

    round_slug: str
    round_title: str
    card: ProjectCard
    description: str
    beneficiaries: str
    timeline: str
    budget: tuple[BudgetRow, ...]
    history: tuple[HistoryRow, ...]


def shuffled(refs: Sequence[str], seed: str) -> list[str]:
    """``refs`` in an order fixed by ``seed``: the same for one visitor, different for another."""
    return sorted(refs, key=lambda ref: hashlib.sha256(f"{seed}:{ref}".encode()).hexdigest())


def _money(pence: int | None) -> str:
    return "£" + format_pounds(pence or 0)


def ballot_sentence(round_: Round) -> Any:
    """What a voter does on this round's ballot, in one sentence."""
    kind = round_.ballot_kind
    if kind == BallotKind.KNAPSACK:
        return _l(
            "Choose the projects you want, up to a total cost of %(limit)s.",
            limit=_money(round_.max_sum_cost_pence or round_.pot_pence),
        )
    if kind == BallotKind.APPROVAL:
        if round_.max_length:
            return _l("Tick up to %(count)s projects you support.", count=round_.max_length)
        return _l("Tick every project you support.")
    if kind == BallotKind.CHOOSE_ONE:
        return _l("Choose the one project you most want funded.")
    if kind == BallotKind.ORDINAL:
        if round_.max_length:
            return _l(
                "Put up to %(count)s projects in order of preference, best first.",
                count=round_.max_length,
            )
        return _l("Put the projects in order of preference, best first.")
    if kind == BallotKind.CUMULATIVE:
        return _l(
            "Share %(points)s points among the projects you support.",
            points=round_.max_sum_points or 0,
        )
    return _l(
        "Give every project a score from %(low)s to %(high)s.",
        low=round_.min_points if round_.min_points is not None else 1,
        high=round_.max_points if round_.max_points is not None else 5,
    )


RULE_SENTENCES: dict[str, Any] = {
    "greedy": _l(
        "Projects are funded in order of support, most first; a project that no longer fits in "
        "the money left is skipped and the next one is tried."
    ),
    "greedy-no-skip": _l(
        "Projects are funded in order of support, most first, until one no longer fits in the "
        "money left."
    ),
    "greedy-per-cost": _l(
        "Projects are funded in order of support per pound, so cheaper projects with good support "
        "go first, while the money lasts."
    ),
    "mes": _l(
        "Method of Equal Shares: every voter controls an equal share of the pot, and a project is "
        "funded when its supporters' shares can pay for it, so no large group can take everything."
    ),
    "sequential-irv": _l(
        "A ranked count: an instant-runoff count picks the most preferred project that fits, it "
        "is funded, and the count repeats with the money left."
    ),
    "stv": _l(
        "A ranked count by single transferable vote, for grants of equal size: as many grants as "
        "the pot allows are filled by preference."
    ),
}
MES_WITH_COMPLETION = _l(
    "Method of Equal Shares: every voter controls an equal share of the pot, and a project is "
    "funded when its supporters' shares can pay for it, so no large group can take everything. "
    "Money the equal shares leave unspent is then given out by raising every voter's share step "
    "by step."
)
TIE_BREAK_PHRASES: dict[str, Any] = {
    "min-cost": _l("the cheaper project goes first"),
    "max-cost": _l("the more expensive project goes first"),
    "max-support": _l("the project with more supporters goes first"),
    "id": _l("the project with the earlier reference goes first"),
    "lot": _l("the order is decided by a lot drawn from a seed published when voting opens"),
}


def rule_sentence(round_: Round) -> Any:
    """The counting rule in one or two sentences."""
    if round_.rule.startswith("mes-add1"):
        return MES_WITH_COMPLETION
    if round_.rule == "greedy-threshold":
        return _l(
            "Projects that reach %(percent)s per cent of the highest possible score are funded in "
            "order of support, skipping any that no longer fit in the money left.",
            percent=round_.threshold_percent or 0,
        )
    return RULE_SENTENCES.get(round_.rule, round_.rule)


def tie_break_sentence(round_: Round) -> Any:
    """The declared tie-break as one sentence."""
    try:
        keys = parse_tie_break(round_.tie_break)
    except TieBreakError:
        keys = ("id",)
    phrases = ", ".join(str(TIE_BREAK_PHRASES[key]) for key in keys)
    return _l(
        "If two projects are tied, %(order)s; if still tied, the earlier reference goes first.",
        order=phrases,
    )


def _who_may_vote(round_: Round) -> tuple[Any, ...]:
    parts: list[Any] = []
    if round_.postcode_areas:
        parts.append(_l("People living in %(areas)s.", areas=round_.postcode_areas))
    else:
        parts.append(_l("Anyone living in the area."))
    if round_.min_age is not None and round_.max_age is not None:
        parts.append(_l("Aged %(low)s to %(high)s.", low=round_.min_age, high=round_.max_age))
    elif round_.min_age is not None:
        parts.append(_l("Aged %(age)s or over.", age=round_.min_age))
    elif round_.max_age is not None:
        parts.append(_l("Aged %(age)s or under.", age=round_.max_age))
    if round_.allow_work_study:
        parts.append(_l("People who work or study there may vote too."))
    return tuple(parts)


def _load_round(slug: str) -> Round:
    round_ = db.session.scalar(select(Round).where(Round.slug == slug, Round.archived_at.is_(None)))
    if round_ is None:
        raise PublicNotFound(_l("There is no such round."))
    return round_


def round_page(slug: str, now: datetime) -> RoundPage:
    """The public page of a round: what it is, its money, dates and rules."""
    round_ = _load_round(slug)
    phase = round_phase(round_, now)
    names = {w.id: w.name for w in round_.wards} | {-t.id: t.name for t in round_.themes}
    pots = tuple(
        NamedPot(names[p.ward_id if p.ward_id is not None else -(p.theme_id or 0)], p.budget_pence)
        for p in sorted(round_.sub_pots, key=lambda p: p.id)
    )
    return RoundPage(
        slug=round_.slug,
        title=round_.title,
        summary=round_.summary,
        description=round_.description,
        funder_name=round_.funder_name,
        phase=phase,
        pot_pence=round_.pot_pence,
        min_grant_pence=round_.min_grant_pence,
        max_grant_pence=round_.max_grant_pence,
        central_pot_pence=round_.central_pot_pence,
        sub_pots=pots,
        leftover_text=(
            _l("Money left in a sub-pot goes to the central pot.")
            if round_.subpot_leftover == "central"
            else _l("Money left in a sub-pot goes to sub-pots with more bids than money.")
        ),
        who_may_vote=_who_may_vote(round_),
        ballot_text=ballot_sentence(round_),
        change_text=(
            _l("You can change your ballot until voting closes; only your last ballot counts.")
            if round_.allow_ballot_change
            else _l("Once you have voted, you cannot change your ballot.")
        ),
        rule_text=rule_sentence(round_),
        tie_break_text=tie_break_sentence(round_),
        lot_seed=round_.lot_seed if phase in SEED_PUBLISHED else None,
        bids_open_at=round_.bids_open_at,
        bids_close_at=round_.bids_close_at,
        voting_open_at=round_.voting_open_at,
        voting_close_at=round_.voting_close_at,
        wards=tuple(w.name for w in round_.wards),
        themes=tuple(t.name for t in round_.themes),
    )


def _card(bid: Bid) -> ProjectCard:
    return ProjectCard(
        ref=bid.ref,
        title=bid.title,
        summary=bid.summary,
        group_name=bid.group.name,
        ward=bid.ward.name if bid.ward else "",
        theme=bid.theme.name if bid.theme else "",
        amount_pence=bid.amount_pence,
        status=bid.status,
        decision_reason=bid.decision_reason if bid.status == BidStatus.REJECTED else "",
    )


def _public_statuses(phase: Phase) -> tuple[str, ...]:
    return (*ON_BALLOT, BidStatus.REJECTED) if phase in REVIEW_OVER else ON_BALLOT


def _chosen(value: str, ids: Sequence[int]) -> int | None:
    """The id a filter asks for, or None when it asks for none or for one not in the round."""
    return int(value) if value.isdigit() and int(value) in ids else None


def projects_page(slug: str, *, seed: str, ward: str, theme: str, now: datetime) -> ProjectsPage:
    """The round's projects on the ballot (shuffled by ``seed``) and, after review, rejected ones.

    ``ward`` and ``theme`` are the filter's values as typed; unknown ones filter nothing.
    """
    round_ = _load_round(slug)
    phase = round_phase(round_, now)
    ward_id = _chosen(ward, [w.id for w in round_.wards])
    theme_id = _chosen(theme, [t.id for t in round_.themes])
    query = (
        select(Bid)
        .where(Bid.round_id == round_.id, Bid.status.in_(_public_statuses(phase)))
        .options(selectinload(Bid.budget_lines), selectinload(Bid.group))
    )
    if ward_id is not None:
        query = query.where(Bid.ward_id == ward_id)
    if theme_id is not None:
        query = query.where(Bid.theme_id == theme_id)
    bids = {bid.ref: bid for bid in db.session.scalars(query)}
    ordered = [_card(bids[ref]) for ref in shuffled(list(bids), seed)]
    return ProjectsPage(
        slug=round_.slug,
        title=round_.title,
        phase=phase,
        wards=tuple((w.id, w.name) for w in round_.wards),
        themes=tuple((t.id, t.name) for t in round_.themes),
        on_ballot=tuple(card for card in ordered if card.status != BidStatus.REJECTED),
        rejected=tuple(
            sorted(
                (card for card in ordered if card.status == BidStatus.REJECTED),
                key=lambda card: card.ref,
            )
        ),
        show_rejected=phase in REVIEW_OVER,
    )


def project_page(slug: str, ref: str, now: datetime) -> ProjectPage:
    """One bid the public may see, with its budget table and status history."""
    round_ = _load_round(slug)
    phase = round_phase(round_, now)
    bid = db.session.scalar(
        select(Bid).where(
            Bid.round_id == round_.id,
            Bid.ref == ref,
            Bid.status.in_(_public_statuses(phase)),
        )
    )
    if bid is None:
        raise PublicNotFound(_l("There is no such project in this round."))
    return ProjectPage(
        round_slug=round_.slug,
        round_title=round_.title,
        card=_card(bid),
        description=bid.description,
        beneficiaries=bid.beneficiaries,
        timeline=bid.timeline,
        budget=tuple(BudgetRow(line.description, line.amount_pence) for line in bid.budget_lines),
        history=tuple(HistoryRow(change.to_status, change.at) for change in bid.history),
    )
