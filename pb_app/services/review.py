"""Reviewing bids (officers): the queue, the checklist, and decisions through the bid flow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from pb_app.bidflow import Action, Actor, TransitionRefused, allowed_actions, next_status
from pb_app.extensions import db
from pb_app.models import (
    Bid,
    BidCheck,
    BidMessage,
    BidStatus,
    BidStatusChange,
    ConflictDeclaration,
    Round,
    User,
)
from pb_app.phases import Phase
from pb_app.services import ServiceError
from pb_app.services.audit import record
from pb_app.services.public_rounds import BudgetRow
from pb_app.services.round_setup import get_round
from pb_app.services.rounds import round_phase

WAITING = (BidStatus.SUBMITTED, BidStatus.RESUBMITTED)
DECIDED = (BidStatus.CHANGES_REQUESTED, BidStatus.SHORTLISTED, BidStatus.REJECTED)
CHECKING_PHASES = frozenset({Phase.BIDS, Phase.REVIEW})


class BidNotFound(ServiceError):
    """No bid with that id in that round (drafts are the group's own until submitted)."""


class ConflictOfInterest(ServiceError):
    """The officer declared a conflict of interest on this bid, so may not review it."""


class DecisionRefused(ServiceError):
    """The bid's status or the round's phase does not allow this decision now."""


class ReasonRequired(ServiceError):
    """A rejection, a change request or a conflict declaration needs words."""


class ReviewInvalid(ServiceError):
    """A checklist answer that does not fit the round's checklist."""


@dataclass(frozen=True)
class QueueRow:
    """A bid in the review queue."""

    bid_id: int
    ref: str
    title: str
    group_name: str
    amount_pence: int
    status: str
    submitted_at: datetime | None
    conflicts: tuple[str, ...]


@dataclass(frozen=True)
class ReviewQueue:
    """A round's bids waiting for a decision, and those already decided."""

    round_id: int
    round_title: str
    phase: Phase
    waiting: tuple[QueueRow, ...]
    decided: tuple[QueueRow, ...]


@dataclass(frozen=True)
class GroupDetails:
    """What an officer needs to know about the group behind a bid."""

    name: str
    kind: str
    charity_number: str
    company_number: str
    sponsor: str
    area: str
    contact_name: str
    contact_email: str
    contact_phone: str
    description: str


@dataclass(frozen=True)
class CheckRow:
    """One checklist item and the officers' answer so far."""

    item_id: int
    label: str
    guidance: str
    passed: bool | None
    note: str
    officer_name: str


@dataclass(frozen=True)
class MessageRow:
    """A message in the conversation with the group."""

    author: str
    body: str
    at: datetime


@dataclass(frozen=True)
class HistoryEntry:
    """One change of a bid's status, with who made it and why."""

    from_status: str | None
    to_status: str
    by: str
    note: str
    at: datetime


@dataclass(frozen=True)
class ConflictRow:
    """A declared conflict of interest."""

    officer_name: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class BidReview:
    """Everything the review page shows about one bid, ready to present."""

    round_id: int
    round_title: str
    phase: Phase
    bid_id: int
    ref: str
    title: str
    summary: str
    description: str
    beneficiaries: str
    beneficiaries_count: int | None
    ward: str
    theme: str
    timeline: str
    contact_name: str
    contact_email: str
    status: str
    decision_reason: str
    amount_pence: int
    min_grant_pence: int
    max_grant_pence: int
    within_grant_limits: bool
    budget: tuple[BudgetRow, ...]
    group: GroupDetails
    checks: tuple[CheckRow, ...]
    messages: tuple[MessageRow, ...]
    history: tuple[HistoryEntry, ...]
    conflicts: tuple[ConflictRow, ...]
    conflicted: bool
    actions: tuple[str, ...]
    can_check: bool


@dataclass(frozen=True)
class CheckAnswer:
    """An officer's answer to one checklist item: "pass", "fail" or "" (not checked yet)."""

    item_id: int
    result: str
    note: str = ""


def _names(user_ids: Sequence[int | None]) -> dict[int, str]:
    ids = {user_id for user_id in user_ids if user_id is not None}
    if not ids:
        return {}
    return {user.id: user.name for user in db.session.scalars(select(User).where(User.id.in_(ids)))}


def _conflicts_by_bid(bid_ids: Sequence[int]) -> dict[int, list[ConflictDeclaration]]:
    found: dict[int, list[ConflictDeclaration]] = {}
    if bid_ids:
        rows = db.session.scalars(
            select(ConflictDeclaration)
            .where(ConflictDeclaration.bid_id.in_(bid_ids))
            .order_by(ConflictDeclaration.id)
        )
        for row in rows:
            found.setdefault(row.bid_id, []).append(row)
    return found


def review_queue(round_id: int, now: datetime) -> ReviewQueue:
    """A round's submitted and resubmitted bids, oldest first, then the decided ones."""
    round_ = get_round(round_id)
    bids = list(
        db.session.scalars(
            select(Bid)
            .where(Bid.round_id == round_.id, Bid.status.in_((*WAITING, *DECIDED)))
            .options(selectinload(Bid.budget_lines), selectinload(Bid.group))
            .order_by(Bid.submitted_at, Bid.ref)
        )
    )
    conflicts = _conflicts_by_bid([bid.id for bid in bids])
    names = _names([c.user_id for rows in conflicts.values() for c in rows])

    def row(bid: Bid) -> QueueRow:
        return QueueRow(
            bid_id=bid.id,
            ref=bid.ref,
            title=bid.title,
            group_name=bid.group.name,
            amount_pence=bid.amount_pence,
            status=bid.status,
            submitted_at=bid.submitted_at,
            conflicts=tuple(names.get(c.user_id, "?") for c in conflicts.get(bid.id, [])),
        )

    return ReviewQueue(
        round_id=round_.id,
        round_title=round_.title,
        phase=round_phase(round_, now),
        waiting=tuple(row(bid) for bid in bids if bid.status in WAITING),
        decided=tuple(row(bid) for bid in bids if bid.status in DECIDED),
    )


def _bid(round_id: int, bid_id: int, *, lock: bool = False) -> Bid:
    query = select(Bid).where(
        Bid.id == bid_id, Bid.round_id == round_id, Bid.status != BidStatus.DRAFT
    )
    bid = db.session.scalar(query.with_for_update() if lock else query)
    if bid is None:
        db.session.rollback()
        raise BidNotFound(_l("There is no such bid in this round."))
    return bid


def _is_conflicted(bid: Bid, officer: User) -> bool:
    return (
        db.session.scalar(
            select(ConflictDeclaration.id).where(
                ConflictDeclaration.bid_id == bid.id, ConflictDeclaration.user_id == officer.id
            )
        )
        is not None
    )


def _refuse_if_conflicted(bid: Bid, officer: User) -> None:
    if _is_conflicted(bid, officer):
        db.session.rollback()
        raise ConflictOfInterest(
            _l(
                "You declared a conflict of interest on this bid, so you cannot review it. "
                "Ask another officer to review it."
            )
        )


def bid_review(round_id: int, bid_id: int, officer: User, now: datetime) -> BidReview:
    """The review page of one bid for ``officer``: details, checks, conversation, history."""
    bid = _bid(round_id, bid_id)
    round_: Round = bid.round
    phase = round_phase(round_, now)
    checks = {
        c.item_id: c for c in db.session.scalars(select(BidCheck).where(BidCheck.bid_id == bid.id))
    }
    messages = list(
        db.session.scalars(
            select(BidMessage).where(BidMessage.bid_id == bid.id).order_by(BidMessage.id)
        )
    )
    conflicts = _conflicts_by_bid([bid.id]).get(bid.id, [])
    names = _names(
        [c.officer_id for c in checks.values()]
        + [m.author_id for m in messages]
        + [h.by_user_id for h in bid.history]
        + [c.user_id for c in conflicts]
    )
    conflicted = any(c.user_id == officer.id for c in conflicts)
    group = bid.group
    amount = bid.amount_pence
    return BidReview(
        round_id=round_.id,
        round_title=round_.title,
        phase=phase,
        bid_id=bid.id,
        ref=bid.ref,
        title=bid.title,
        summary=bid.summary,
        description=bid.description,
        beneficiaries=bid.beneficiaries,
        beneficiaries_count=bid.beneficiaries_count,
        ward=bid.ward.name if bid.ward else "",
        theme=bid.theme.name if bid.theme else "",
        timeline=bid.timeline,
        contact_name=bid.contact_name,
        contact_email=bid.contact_email,
        status=bid.status,
        decision_reason=bid.decision_reason,
        amount_pence=amount,
        min_grant_pence=round_.min_grant_pence,
        max_grant_pence=round_.max_grant_pence,
        within_grant_limits=round_.min_grant_pence <= amount <= round_.max_grant_pence,
        budget=tuple(BudgetRow(line.description, line.amount_pence) for line in bid.budget_lines),
        group=GroupDetails(
            name=group.name,
            kind=group.kind,
            charity_number=group.charity_number or "",
            company_number=group.company_number or "",
            sponsor=group.sponsor or "",
            area=group.area or "",
            contact_name=group.contact_name,
            contact_email=group.contact_email,
            contact_phone=group.contact_phone or "",
            description=group.description or "",
        ),
        checks=tuple(
            CheckRow(
                item_id=item.id,
                label=item.label,
                guidance=item.guidance,
                passed=checks[item.id].passed if item.id in checks else None,
                note=checks[item.id].note if item.id in checks else "",
                officer_name=names.get(checks[item.id].officer_id or 0, "")
                if item.id in checks
                else "",
            )
            for item in round_.checklist
        ),
        messages=tuple(
            MessageRow(names.get(m.author_id or 0, str(_l("The group"))), m.body, m.at)
            for m in messages
        ),
        history=tuple(
            HistoryEntry(h.from_status, h.to_status, names.get(h.by_user_id or 0, ""), h.note, h.at)
            for h in bid.history
        ),
        conflicts=tuple(ConflictRow(names.get(c.user_id, ""), c.reason, c.at) for c in conflicts),
        conflicted=conflicted,
        actions=()
        if conflicted
        else tuple(a.value for a in allowed_actions(BidStatus(bid.status), phase, Actor.OFFICER)),
        can_check=not conflicted and phase in CHECKING_PHASES,
    )


def record_checks(
    round_id: int, bid_id: int, answers: Sequence[CheckAnswer], *, officer: User, now: datetime
) -> None:
    """Store the officer's pass/fail answers to the checklist (blank clears an answer)."""
    bid = _bid(round_id, bid_id, lock=True)
    _refuse_if_conflicted(bid, officer)
    if round_phase(bid.round, now) not in CHECKING_PHASES:
        db.session.rollback()
        raise DecisionRefused(_l("The review is over, so the checklist cannot change now."))
    items = {item.id: item.label for item in bid.round.checklist}
    if any(a.item_id not in items or a.result not in ("pass", "fail", "") for a in answers):
        db.session.rollback()
        raise ReviewInvalid(_l("The checklist answers do not match this round's checklist."))
    existing = {
        c.item_id: c for c in db.session.scalars(select(BidCheck).where(BidCheck.bid_id == bid.id))
    }
    before = {items[i]: _answer(c.passed, c.note) for i, c in existing.items()}
    for answer in answers:
        check = existing.get(answer.item_id)
        if not answer.result:
            if check is not None:
                db.session.delete(check)
            continue
        if check is None:
            check = BidCheck(bid_id=bid.id, item_id=answer.item_id)
            db.session.add(check)
        check.passed = answer.result == "pass"
        check.note = answer.note.strip()
        check.officer_id = officer.id
        check.at = now
    after = {
        items[a.item_id]: _answer(a.result == "pass", a.note.strip()) for a in answers if a.result
    }
    if before != after:
        record(
            "bid.checked",
            actor=officer,
            round_id=round_id,
            object_type="bid",
            object_id=bid.id,
            before=before,
            after=after,
        )
    db.session.commit()


def _answer(passed: bool, note: str) -> str:
    return ("pass" if passed else "fail") + (f": {note}" if note else "")


def _decide(
    round_id: int,
    bid_id: int,
    action: Action,
    *,
    officer: User,
    now: datetime,
    note: str,
) -> Bid:
    """Move a bid through the bid flow, and keep the move in its history and the audit log."""
    bid = _bid(round_id, bid_id, lock=True)
    _refuse_if_conflicted(bid, officer)
    try:
        target = next_status(
            BidStatus(bid.status), round_phase(bid.round, now), Actor.OFFICER, action
        )
    except TransitionRefused as refused:
        db.session.rollback()
        raise DecisionRefused(str(refused)) from None
    before = {"status": bid.status, "decision_reason": bid.decision_reason}
    bid.history.append(
        BidStatusChange(
            from_status=bid.status, to_status=target, by_user_id=officer.id, note=note, at=now
        )
    )
    bid.status = target
    bid.decision_reason = note if target == BidStatus.REJECTED else ""
    record(
        f"bid.{action.value}",
        actor=officer,
        round_id=round_id,
        object_type="bid",
        object_id=bid.id,
        before=before,
        after={"status": bid.status, "decision_reason": bid.decision_reason, "note": note},
    )
    return bid


def _required(text: str, message: object) -> str:
    text = text.strip()
    if not text:
        db.session.rollback()
        raise ReasonRequired(message)
    return text


def request_changes(
    round_id: int, bid_id: int, message: str, *, officer: User, now: datetime
) -> None:
    """Send a bid back to its group with a message saying what to change; notify the group."""
    body = _required(message, _l("Write a message telling the group what to change."))
    bid = _decide(round_id, bid_id, Action.REQUEST_CHANGES, officer=officer, now=now, note=body)
    db.session.add(BidMessage(bid_id=bid.id, author_id=officer.id, body=body, at=now))
    db.session.commit()
    _notify(bid, "changes_requested", body)


def message_group(
    round_id: int, bid_id: int, message: str, *, officer: User, now: datetime
) -> None:
    """Write to the group about its bid without changing its status (a question, a nudge)."""
    body = _required(message, _l("Write the message to the group."))
    bid = _bid(round_id, bid_id)
    _refuse_if_conflicted(bid, officer)
    db.session.add(BidMessage(bid_id=bid.id, author_id=officer.id, body=body, at=now))
    record(
        "bid.message",
        actor=officer,
        round_id=round_id,
        object_type="bid",
        object_id=bid.id,
        after={"message": body},
    )
    db.session.commit()
    _notify(bid, "message", body)


def shortlist(round_id: int, bid_id: int, note: str, *, officer: User, now: datetime) -> None:
    """Put a bid on the shortlist residents vote on."""
    bid = _decide(round_id, bid_id, Action.SHORTLIST, officer=officer, now=now, note=note.strip())
    db.session.commit()
    _notify(bid, "shortlisted", note.strip())


def reject(round_id: int, bid_id: int, reason: str, *, officer: User, now: datetime) -> None:
    """Reject a bid with a reason the group and the public can read."""
    text = _required(
        reason, _l("Give a reason for rejecting the bid; the group and the public will read it.")
    )
    bid = _decide(round_id, bid_id, Action.REJECT, officer=officer, now=now, note=text)
    db.session.commit()
    _notify(bid, "rejected", text)


def reopen(round_id: int, bid_id: int, note: str, *, officer: User, now: datetime) -> None:
    """Take back a shortlisting or rejection during review; the bid waits for a decision again."""
    _decide(round_id, bid_id, Action.REOPEN, officer=officer, now=now, note=note.strip())
    db.session.commit()


def declare_conflict(
    round_id: int, bid_id: int, reason: str, *, officer: User, now: datetime
) -> None:
    """Record an officer's conflict of interest on a bid; from now on they cannot review it."""
    text = _required(reason, _l("Say what the conflict of interest is."))
    bid = _bid(round_id, bid_id, lock=True)
    if _is_conflicted(bid, officer):
        db.session.rollback()
        raise ReviewInvalid(_l("You have already declared a conflict of interest on this bid."))
    db.session.add(ConflictDeclaration(bid_id=bid.id, user_id=officer.id, reason=text, at=now))
    record(
        "bid.conflict_declared",
        actor=officer,
        round_id=round_id,
        object_type="bid",
        object_id=bid.id,
        before=None,
        after={"officer": officer.name, "reason": text},
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ReviewInvalid(
            _l("You have already declared a conflict of interest on this bid.")
        ) from None


def _notify(bid: Bid, kind: str, message: str) -> None:
    """Tell the group (after the commit, so a mail failure never undoes a decision)."""
    from pb_app.services.notifications import notify_group

    notify_group(bid, kind, message)
