"""Closing a round, counting it, the funder's certification, and the payment export.

The life of a result: voting closes (an officer, ``flask close``, or the close date passing);
``count_round`` verifies the ballot log and runs the declared rule on exactly the counted
ballots, storing a snapshot; the funder re-enters their password and certifies the latest
snapshot, which fixes the audit bundle's digest, publishes the round and tells every group.
A recount that differs from a certified result is refused, never stored.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pb_app.audit_bundle import count_declared
from pb_app.bidflow import Action, Actor, TransitionRefused, next_status
from pb_app.extensions import db
from pb_app.ledger import genesis_hash
from pb_app.models import (
    Bid,
    BidStatus,
    BidStatusChange,
    Certification,
    ChainHead,
    ResultSnapshot,
    Role,
    Round,
    User,
)
from pb_app.passwords import verify_password
from pb_app.phases import Phase
from pb_app.services import ServiceError, audit
from pb_app.services.bundle import bundle_digest, code_version, counted_election, declared_count
from pb_app.services.elections import ballot_bids
from pb_app.services.notifications import notify_group
from pb_app.services.rounds import round_phase
from pb_app.services.voting import verify_log
from pb_app.tally.report import outcome_to_json

MAX_STATEMENT = 2000


class RoundNotFound(ServiceError):
    """No round has that id."""


class NotInVoting(ServiceError):
    """Voting cannot be closed: it has not opened."""


class AlreadyClosed(ServiceError):
    """Voting was already closed."""


class NotClosed(ServiceError):
    """The round cannot be counted while voting is open."""


class LogTampered(ServiceError):
    """The ballot log does not verify; ``first_broken_seq`` names the broken link."""

    def __init__(self, message: str, first_broken_seq: int | None) -> None:
        super().__init__(message)
        self.first_broken_seq = first_broken_seq


class CountFailed(ServiceError):
    """The declared rule could not be run on this round (e.g. sub-pots that do not add up)."""


class NotCounted(ServiceError):
    """There is no result to certify yet."""


class NotAllowed(ServiceError):
    """Only a funder (or an admin) may certify."""


class WrongPassword(ServiceError):
    """The password re-entered to certify is not the account's."""


class StatementInvalid(ServiceError):
    """The certification statement is missing or too long."""


class AlreadyCertified(ServiceError):
    """The round's result is already certified and cannot change."""


class NotCertified(ServiceError):
    """Nothing is funded until the result is certified."""


class RecountDiffers(ServiceError):
    """A recount gave a different result from the one stored: refused, nothing changed."""


def _round(round_id: int, *, lock: bool = False) -> Round:
    query = select(Round).where(Round.id == round_id)
    if lock:
        query = query.with_for_update()
    round_ = db.session.scalars(query).first()
    if round_ is None:
        raise RoundNotFound("There is no such round.")
    return round_


def _lock_chain(round_: Round) -> None:
    # Casting a ballot holds this row; taking it waits for any ballot being cast right now.
    db.session.scalars(
        select(ChainHead)
        .where(ChainHead.round_id == round_.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def close_voting(round_id: int, *, actor: User | None, now: datetime) -> Round:
    """Close voting now (or record that it closed at its close date); named errors otherwise."""
    round_ = _round(round_id, lock=True)
    _lock_chain(round_)
    phase = round_phase(round_, now)
    if round_.closed_at is not None or phase in (Phase.RESULTS, Phase.ARCHIVED):
        db.session.rollback()
        raise AlreadyClosed("Voting in this round is already closed.")
    if phase in (Phase.SETUP, Phase.BIDS, Phase.REVIEW):
        db.session.rollback()
        raise NotInVoting("Voting in this round has not opened, so it cannot be closed.")
    closes = round_.voting_close_at
    # After the close date voting has already closed: record when, not when someone noticed.
    round_.closed_at = closes if closes is not None and closes <= now else now
    audit.record(
        "voting.closed",
        actor=actor,
        actor_label=audit.command_line_label(actor),
        round_id=round_.id,
        object_type="round",
        object_id=round_.id,
        after={"closed_at": round_.closed_at.isoformat()},
    )
    db.session.commit()
    return round_


def draft_snapshot(round_: Round) -> ResultSnapshot | None:
    """The round's latest count, or None before the first."""
    return db.session.scalars(
        select(ResultSnapshot)
        .where(ResultSnapshot.round_id == round_.id)
        .order_by(ResultSnapshot.id.desc())
    ).first()


def certified_snapshot(round_: Round) -> tuple[ResultSnapshot, Certification] | None:
    """The certified snapshot and its certification, or None before certification."""
    certification = db.session.scalars(
        select(Certification).where(Certification.round_id == round_.id)
    ).first()
    if certification is None:
        return None
    snapshot = db.session.get(ResultSnapshot, certification.snapshot_id)
    assert snapshot is not None
    return snapshot, certification


@dataclass(frozen=True)
class _Count:
    rule: str
    options: str
    outcome: str
    ballots: int
    head: str
    spent: int

    def same_as(self, snapshot: ResultSnapshot) -> bool:
        return (
            snapshot.outcome == self.outcome
            and snapshot.options == self.options
            and snapshot.chain_head == self.head
            and snapshot.ballots_counted == self.ballots
        )


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _run_count(round_: Round) -> _Count:
    """Verify the log, then count exactly its counted ballots by the declared rule."""
    check = verify_log(round_)
    if not check.ok:
        raise LogTampered(
            f"The ballot log does not verify, so it was not counted. {check.reason}",
            check.first_broken_seq,
        )
    head = check.head if check.count else genesis_hash(round_.slug)
    declared = declared_count(round_)
    election = counted_election(round_, head)
    try:
        outcome = count_declared(election, declared)
    except ValueError as error:
        raise CountFailed(f"The round could not be counted: {error}") from None
    return _Count(
        rule=declared.rule,
        options=_canonical(declared.to_json()),
        outcome=_canonical(outcome_to_json(outcome, election)),
        ballots=len(election.ballots),
        head=head,
        spent=outcome.spent,
    )


def _refuse_differing(round_: Round, result: _Count, snapshot: ResultSnapshot, actor: Any) -> None:
    audit.record(
        "results.recount_differs",
        actor=actor,
        actor_label=audit.command_line_label(actor),
        round_id=round_.id,
        object_type="result_snapshot",
        object_id=snapshot.id,
        before={"chain_head": snapshot.chain_head, "spent_pence": snapshot.spent_pence},
        after={"chain_head": result.head, "spent_pence": result.spent},
    )
    db.session.commit()
    raise RecountDiffers(
        "The recount differs from the certified result, so it was refused and nothing changed. "
        "Check the ballot log with `flask verify` and tell the returning officer."
    )


def count_round(round_id: int, *, actor: User | None, now: datetime) -> ResultSnapshot:
    """Count a closed round by its declared rule; the same count twice gives the same snapshot."""
    round_ = _round(round_id)
    if round_phase(round_, now) not in (Phase.COUNTING, Phase.RESULTS, Phase.ARCHIVED):
        raise NotClosed("Voting is still open: close it before counting.")
    result = _run_count(round_)
    certified = certified_snapshot(round_)
    if certified is not None:
        if not result.same_as(certified[0]):
            _refuse_differing(round_, result, certified[0], actor)
        db.session.rollback()
        return certified[0]
    latest = draft_snapshot(round_)
    if latest is not None and result.same_as(latest) and latest.code_version == code_version():
        db.session.rollback()
        return latest
    snapshot = ResultSnapshot(
        round_id=round_.id,
        rule=result.rule,
        options=result.options,
        ballots_counted=result.ballots,
        chain_head=result.head,
        outcome=result.outcome,
        spent_pence=result.spent,
        code_version=code_version(),
        created_by_id=actor.id if actor is not None else None,
        created_at=now,
    )
    db.session.add(snapshot)
    db.session.flush()
    audit.record(
        "results.counted",
        actor=actor,
        actor_label=audit.command_line_label(actor),
        round_id=round_.id,
        object_type="result_snapshot",
        object_id=snapshot.id,
        after={
            "rule": result.rule,
            "ballots_counted": result.ballots,
            "chain_head": result.head,
            "spent_pence": result.spent,
            "selected": json.loads(result.outcome)["selected"],
        },
    )
    db.session.commit()
    return snapshot


def may_certify(user: object) -> bool:
    """Whether this account may certify a result (funders and admins)."""
    return getattr(user, "role", None) in (Role.FUNDER, Role.ADMIN)


def certify(
    round_id: int, *, funder: User, password: str, statement: str, now: datetime
) -> Certification:
    """The funder's sign-off: re-confirm the password, recount, fix the digest, publish."""
    if not may_certify(funder):
        raise NotAllowed("Only the funder (or an admin) can certify a result.")
    statement = " ".join(statement.split()) if statement else ""
    if not statement:
        raise StatementInvalid("Write a short statement to go with your certification.")
    if len(statement) > MAX_STATEMENT:
        raise StatementInvalid(f"Keep the statement to {MAX_STATEMENT} characters or fewer.")
    if not verify_password(funder.password_hash, password):
        audit.record(
            "results.certify_refused",
            actor=funder,
            round_id=round_id,
            object_type="round",
            object_id=round_id,
            after={"reason": "wrong password"},
        )
        db.session.commit()
        raise WrongPassword("That password is not right. Enter your own password to certify.")
    round_ = _round(round_id, lock=True)
    if certified_snapshot(round_) is not None:
        db.session.rollback()
        raise AlreadyCertified("This result is already certified; it cannot be changed.")
    draft = draft_snapshot(round_)
    if draft is None:
        db.session.rollback()
        raise NotCounted("Count the round before certifying its result.")
    result = _run_count(round_)
    if not result.same_as(draft):
        db.session.rollback()
        raise RecountDiffers(
            "A recount now differs from the draft result, so it cannot be certified. "
            "Count the round again and check the new result."
        )
    if round_.closed_at is None:  # closed by its date: record when, before the digest is taken
        round_.closed_at = round_.voting_close_at or now
    certification = Certification(
        round_id=round_.id,
        snapshot_id=draft.id,
        certified_by_id=funder.id,
        certified_by_name=funder.name,
        bundle_digest=bundle_digest(round_, draft),
        statement=statement,
        at=now,
    )
    db.session.add(certification)
    round_.published_at = now
    outcome = json.loads(draft.outcome)
    decided = _mark_bids(round_, outcome, funder, now)
    audit.record(
        "results.certified",
        actor=funder,
        round_id=round_.id,
        object_type="result_snapshot",
        object_id=draft.id,
        after={
            "bundle_digest": certification.bundle_digest,
            "statement": statement,
            "selected": outcome["selected"],
        },
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AlreadyCertified("This result is already certified; it cannot be changed.") from None
    for bid, event, reason in decided:
        notify_group(bid, event, reason)
    return certification


def _mark_bids(
    round_: Round, outcome: dict[str, Any], funder: User, now: datetime
) -> list[tuple[Bid, str, str]]:
    """Mark every bid on the ballot funded or not, with the count's reason; who to tell."""
    selected = set(outcome["selected"])
    reasons = {p["id"]: p.get("reason_text") or "" for p in outcome["projects"]}
    decided = []
    phase = round_phase(round_, now)
    for bid in ballot_bids(round_):
        funded = bid.ref in selected
        action = Action.MARK_FUNDED if funded else Action.MARK_NOT_FUNDED
        try:
            target = next_status(BidStatus(bid.status), phase, Actor.COUNT, action)
        except TransitionRefused:
            continue  # already marked (it cannot be: certification happens once)
        bid.history.append(
            BidStatusChange(
                from_status=bid.status,
                to_status=target,
                by_user_id=funder.id,
                note=reasons.get(bid.ref, ""),
                at=now,
            )
        )
        bid.status = target
        decided.append((bid, "funded" if funded else "not_funded", reasons.get(bid.ref, "")))
    return decided


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP CSV injection)."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def funded_bids_csv(round_: Round) -> str:
    """The certified funded bids for payment: group, bid, amount, contact (formula-safe)."""
    certified = certified_snapshot(round_)
    if certified is None:
        raise NotCertified("Nothing is funded until the funder certifies the result.")
    selected = json.loads(certified[0].outcome)["selected"]
    bids = {bid.ref: bid for bid in ballot_bids(round_)}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        ["group", "bid_ref", "bid_title", "amount_pence", "amount_gbp", "contact_name",
         "contact_email"]
    )  # fmt: skip
    for ref in selected:
        bid = bids[ref]
        name = bid.contact_name or bid.group.contact_name
        email = bid.contact_email or bid.group.contact_email
        pence = bid.amount_pence
        pounds = f"{pence // 100}.{pence % 100:02d}"
        writer.writerow(
            _cell(value)
            for value in (bid.group.name, bid.ref, bid.title, pence, pounds, name, email)
        )
    return buffer.getvalue()


@dataclass(frozen=True)
class ProjectRow:
    """One project of a result, ready for a table."""

    ref: str
    title: str
    cost_pence: int
    votes: int
    score: int | None
    funded: bool
    reason: str


@dataclass(frozen=True)
class StepRow:
    """One step of the count, ready for a table."""

    number: int
    ref: str
    decision: str
    phase: str
    money_before: int
    money_after: int


@dataclass(frozen=True)
class ResultsPage:
    """What the staff results page shows of a round."""

    round: Round
    phase: Phase
    can_close: bool
    can_count: bool
    snapshot: ResultSnapshot | None
    certification: Certification | None
    funded: list[ProjectRow]
    unfunded: list[ProjectRow]
    steps: list[StepRow]
    notes: list[str]
    budget_pence: int
    spent_pence: int
    leftover_pence: int


def results_page(round_id: int, now: datetime) -> ResultsPage:
    """The round's close/count/certify state and its latest result, for staff."""
    round_ = _round(round_id)
    phase = round_phase(round_, now)
    certified = certified_snapshot(round_)
    snapshot = certified[0] if certified else draft_snapshot(round_)
    outcome: dict[str, Any] = json.loads(snapshot.outcome) if snapshot else {}
    rows = [
        ProjectRow(
            ref=p["id"],
            title=p["name"],
            cost_pence=p["cost"],
            votes=p["votes"],
            score=p["score"],
            funded=p["funded"],
            reason=p["reason_text"] or "",
        )
        for p in outcome.get("projects", [])
    ]
    order = {ref: i for i, ref in enumerate(outcome.get("selected", []))}
    steps = [
        StepRow(
            number=s["number"],
            ref=s["project_id"],
            decision=s["decision"].replace("-", " "),
            phase=s["phase"],
            money_before=s["money_before"],
            money_after=s["money_after"],
        )
        for s in outcome.get("steps", [])
    ]
    return ResultsPage(
        round=round_,
        phase=phase,
        can_close=phase is Phase.VOTING or (phase is Phase.COUNTING and round_.closed_at is None),
        can_count=phase is Phase.COUNTING and certified is None,
        snapshot=snapshot,
        certification=certified[1] if certified else None,
        funded=sorted((r for r in rows if r.funded), key=lambda r: order.get(r.ref, 0)),
        unfunded=[r for r in rows if not r.funded],
        steps=steps,
        notes=list(outcome.get("notes", [])),
        budget_pence=outcome.get("budget", round_.pot_pence),
        spent_pence=outcome.get("spent", 0),
        leftover_pence=outcome.get("leftover", 0),
    )
