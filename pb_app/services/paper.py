"""Paper ballots: numbered slips, each with its own one-time code, keyed in twice.

A slip carries a serial number and a code from a "paper" batch. Only the code's digest is
stored, so whoever keys a slip types its code too: that proves the slip is in hand and is
what ``cast_ballot`` needs. Entry 1 is stored (never shown again, so one person can key a
slip twice blind); entry 2 is compared with it, and the ballot enters the log only when both
agree. A disagreement waits for an officer's definitive reading (reconciliation).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from pb_app.extensions import db
from pb_app.ledger import canonical_json
from pb_app.models import Channel, PaperBallot, PaperEntry, Round, User, VoterCode
from pb_app.phases import Phase
from pb_app.services import ServiceError, audit, codes
from pb_app.services.elections import election_for_round
from pb_app.services.rounds import round_phase
from pb_app.services.voting import cast_ballot
from pb_app.services.voting_errors import AlreadyVoted, BallotInvalid, CodeInvalid
from pb_app.tally.ballots import normalise_ballot, validate_ballot
from pb_app.tally.election import Ballot as TallyBallot

MAX_SLIPS = 500

# Statuses a paper ballot moves through.
BLANK, KEYED, MISMATCH, COUNTED, SPOILT = "blank", "keyed", "mismatch", "counted", "spoilt"


class PaperRefused(ServiceError):
    """The paper ballot cannot be keyed, reconciled or spoilt as asked."""


@dataclass(frozen=True)
class Slip:
    """One printed slip: its serial number and its code (the one time the code is seen)."""

    serial: str
    code: str


@dataclass(frozen=True)
class KeyOutcome:
    """What happened to a keyed entry: first entry kept, counted, or sent to reconciliation."""

    status: str  # "first", "counted", "mismatch"
    serial: str
    receipt: str | None = None


def create_slips(
    round_: Round, *, count: int, venue: str, actor: User, now: datetime
) -> list[Slip]:
    """Issue ``count`` numbered paper slips for an event, each with a new one-time code."""
    venue = " ".join(venue.split())
    if not venue or len(venue) > 120:
        raise PaperRefused("Enter the event's venue, up to 120 characters.")
    if not 1 <= count <= MAX_SLIPS:
        raise PaperRefused(f"Print between 1 and {MAX_SLIPS} paper ballots at a time.")
    if round_phase(round_, now) not in (Phase.SETUP, Phase.BIDS, Phase.REVIEW, Phase.VOTING):
        raise PaperRefused("Voting has closed, so no more paper ballots can be printed.")
    issued = codes.issue_codes(
        round_, count=count, label=f"Paper ballots: {venue}", purpose="paper", actor=actor
    )
    start = db.session.scalar(
        select(func.count()).select_from(PaperBallot).where(PaperBallot.round_id == round_.id)
    )
    slips: list[Slip] = []
    for number, code in enumerate(issued, start=(start or 0) + 1):
        code_id = codes.find_code(round_, code).id
        serial = f"{number:05d}"
        db.session.add(
            PaperBallot(
                round_id=round_.id, serial=serial, voter_code_id=code_id, venue=venue, status=BLANK
            )
        )
        slips.append(Slip(serial, code))
    audit.record(
        "paper.slips_created",
        actor=actor,
        round_id=round_.id,
        object_type="paper_ballot",
        object_id=slips[0].serial,
        after={"count": count, "venue": venue, "serials": [slips[0].serial, slips[-1].serial]},
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise PaperRefused("Another officer printed slips at the same moment. Try again.") from None
    return slips


def paper_ballots(round_: Round) -> list[PaperBallot]:
    """The round's paper ballots, by serial."""
    return list(
        db.session.scalars(
            select(PaperBallot)
            .where(PaperBallot.round_id == round_.id)
            .order_by(PaperBallot.serial)
        )
    )


def entries(paper: PaperBallot) -> list[PaperEntry]:
    """A paper ballot's keyed entries, in order (for the officer reconciling it)."""
    return list(
        db.session.scalars(
            select(PaperEntry)
            .where(PaperEntry.paper_ballot_id == paper.id)
            .order_by(PaperEntry.entry_number)
        )
    )


def _slip(round_: Round, serial: str, code: str) -> PaperBallot:
    """The paper ballot with this serial, if ``code`` is the code printed on it."""
    serial = serial.strip().zfill(5)
    paper = db.session.scalars(
        select(PaperBallot).where(PaperBallot.round_id == round_.id, PaperBallot.serial == serial)
    ).first()
    if paper is None:
        raise PaperRefused(f"There is no paper ballot number {serial} in this round.")
    try:
        row: VoterCode | None = codes.find_code(round_, code)
    except CodeInvalid:
        row = None
    if row is None or row.id != paper.voter_code_id:
        raise PaperRefused(
            f"That code is not the one printed on paper ballot {serial}. Check both and try again."
        )
    return paper


def _reading(round_: Round, ballot: TallyBallot) -> str:
    """A valid ballot's canonical reading, for comparing two entries; BallotInvalid otherwise."""
    election = election_for_round(round_)
    problems = validate_ballot(
        election.ballot_type,
        ballot,
        election.projects,
        election.limits,
        unit=election.unit,
        currency=election.currency,
    )
    if problems:
        raise BallotInvalid(problems)
    normal = normalise_ballot(election.ballot_type, ballot, election.limits, election.projects)
    return canonical_json({"projects": list(normal.projects), "points": list(normal.points)})


def _not_open_for_keying(paper: PaperBallot) -> None:
    if paper.status == COUNTED:
        raise PaperRefused(f"Paper ballot {paper.serial} has already been counted.")
    if paper.status == SPOILT:
        raise PaperRefused(f"Paper ballot {paper.serial} was recorded as spoilt.")


def _count(round_: Round, paper: PaperBallot, code: str, ballot: TallyBallot, now: datetime) -> str:
    """Cast the agreed ballot into the log (channel paper) and mark the slip counted."""
    venue, paper_id = paper.venue, paper.id
    try:
        result = cast_ballot(
            round_.id, ballot, code=code, channel=Channel.PAPER, venue=venue, now=now
        )
    except AlreadyVoted:
        raise PaperRefused("This slip's code has already been used: it is counted.") from None
    counted = db.session.get(PaperBallot, paper_id)
    assert counted is not None
    counted.status = COUNTED
    db.session.commit()
    return result.receipt


def key_entry(
    round_: Round, *, serial: str, code: str, ballot: TallyBallot, staff: User, now: datetime
) -> KeyOutcome:
    """Key one reading of a paper ballot: the first is kept; the second counts it or flags it."""
    paper = _slip(round_, serial, code)
    _not_open_for_keying(paper)
    if paper.status == MISMATCH:
        raise PaperRefused(
            f"Paper ballot {paper.serial}'s two entries disagree: an officer must reconcile it."
        )
    reading = _reading(round_, ballot)
    existing = entries(paper)
    if len(existing) >= 2:
        raise PaperRefused(f"Paper ballot {paper.serial} has already been keyed twice.")
    number = len(existing) + 1
    db.session.add(
        PaperEntry(
            paper_ballot_id=paper.id, entry_number=number, content=reading, entered_by_id=staff.id
        )
    )
    agree = number == 2 and existing[0].content == reading
    paper.status = KEYED if number == 1 else (KEYED if agree else MISMATCH)
    try:
        db.session.commit()
    except IntegrityError:
        # Someone keyed the same slip at the same moment: their entry stands.
        db.session.rollback()
        raise PaperRefused(
            f"Paper ballot {paper.serial} was keyed by someone else just now. Check its status."
        ) from None
    if number == 1:
        return KeyOutcome("first", paper.serial)
    if not agree:
        return KeyOutcome("mismatch", paper.serial)
    return KeyOutcome("counted", paper.serial, _count(round_, paper, code, ballot, now))


def reconcile(
    round_: Round, *, serial: str, code: str, ballot: TallyBallot, officer: User, now: datetime
) -> KeyOutcome:
    """An officer's definitive reading of a paper ballot whose two entries disagreed."""
    paper = _slip(round_, serial, code)
    _not_open_for_keying(paper)
    if paper.status != MISMATCH and len(entries(paper)) < 2:
        raise PaperRefused(f"Paper ballot {paper.serial} has no disagreement to reconcile.")
    reading = _reading(round_, ballot)
    audit.record(
        "paper.reconciled",
        actor=officer,
        round_id=round_.id,
        object_type="paper_ballot",
        object_id=paper.serial,
        before={"entries": [json.loads(entry.content) for entry in entries(paper)]},
        after={"reading": json.loads(reading)},
    )
    receipt = _count(round_, paper, code, ballot, now)
    return KeyOutcome("counted", paper.serial, receipt)


def spoil(round_: Round, *, serial: str, code: str, reason: str, staff: User) -> PaperBallot:
    """Record a paper ballot as spoilt, with the reason; it never enters the log."""
    reason = " ".join(reason.split())
    if not reason:
        raise PaperRefused("Say why the ballot is spoilt, for example: two projects ticked.")
    paper = _slip(round_, serial, code)
    _not_open_for_keying(paper)
    before = paper.status
    paper.status = SPOILT
    paper.spoilt_reason = reason[:500]
    audit.record(
        "paper.spoilt",
        actor=staff,
        round_id=round_.id,
        object_type="paper_ballot",
        object_id=paper.serial,
        before={"status": before},
        after={"status": SPOILT, "reason": paper.spoilt_reason},
    )
    db.session.commit()
    return paper
