"""Casting ballots into a round's hash-chained log — one person, one ballot — and reading it.

Secrecy. A ballot row holds no voter id and no time; ``Participation`` (who voted, how) holds
no ballot id. Two further links are cut on purpose:

* ``Participation.id`` is random, not a sequence, and ``Participation.at`` and
  ``VoterCode.used_at`` keep only the day: otherwise the order of participations would
  match the order of ballots in the log, and pair each person with their ballot.
* The receipt is random (``secrets``), unrelated to the content or the person.

Changing a ballot (when the round allows it). The first ballot of a participation carries
``"change": HMAC-SHA256(SECRET_KEY, "pb_app ballot change v1:<round id>:<participation id>")``
in its content. A later ballot by the same participation recomputes the tag, finds the latest
ballot carrying it, and is appended with ``"supersedes": <that seq>``; only ballots nobody
supersedes count. Reading the database alone, the tag cannot be tied to a participation (the
key is not in the database); the service, holding the key, can — the same trust any server
that receives the ballot must have. Rounds that do not allow changes store no tag at all.

Concurrency. The round's ``ChainHead`` row is locked (``SELECT … FOR UPDATE`` on PostgreSQL;
SQLite's ``BEGIN IMMEDIATE`` serialises every transaction) before "has this person voted?" is
asked, and participation, ballot and head are written in one transaction. The UNIQUE
constraints on participations remain the last word: a violation is rolled back and answered
as "already voted".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from pb_app.extensions import db
from pb_app.ledger import ChainCheck, Link, canonical_json, genesis_hash, link_hash, verify_chain
from pb_app.models import (
    Ballot,
    ChainHead,
    Channel,
    CodeBatch,
    Participation,
    Round,
    Voter,
    VoterCode,
)
from pb_app.phases import Phase
from pb_app.services.codes import ALPHABET, find_code, normalise_code, participation_of
from pb_app.services.elections import election_for_round
from pb_app.services.rounds import round_phase
from pb_app.services.voting_errors import (
    AlreadyVoted,
    BallotInvalid,
    CodeInvalid,
    NotRegistered,
    VotingClosed,
)
from pb_app.tally.ballots import normalise_ballot, validate_ballot
from pb_app.tally.election import Ballot as TallyBallot
from pb_app.tally.election import BallotType, Election

__all__ = [
    "AlreadyVoted",
    "BallotInvalid",
    "CastResult",
    "CodeInvalid",
    "NotRegistered",
    "VotingClosed",
    "ballot_counts_visible",
    "cast_ballot",
    "counted_ballots",
    "live_totals",
    "receipt_in_log",
    "verify_log",
]

CONTENT_VERSION = 1
RECEIPT_LENGTH = 12
_ATTEMPTS = 4  # retries when a random participation id or receipt happens to clash
_VISIBLE_PHASES = (Phase.COUNTING, Phase.RESULTS, Phase.ARCHIVED)


@dataclass(frozen=True)
class CastResult:
    """What a voter is told: the receipt, the ballot's place in the log, and if it replaced one."""

    receipt: str
    seq: int
    superseded: bool


class _Clash(Exception):
    """A random id or receipt collided with an existing one: try again with new ones."""


def _when(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y} at {moment:%H:%M} UTC"


def closed_message(round_: Round, now: datetime) -> str | None:
    """Why the round takes no ballots at ``now`` (None while voting is open)."""
    phase = round_phase(round_, now)
    if phase is Phase.VOTING:
        return None
    if phase in (Phase.SETUP, Phase.BIDS, Phase.REVIEW):
        opens = round_.voting_open_at
        if opens is not None:
            return f"Voting in this round has not opened yet. It opens on {_when(opens)}."
        return "Voting in this round has not opened yet."
    closed = round_.closed_at or round_.voting_close_at
    if closed is not None:
        return f"Voting in this round closed on {_when(closed)}."
    return "Voting in this round has closed."


def _closed_to(round_: Round, channel: Channel, now: datetime) -> str | None:
    """Why the round takes no ballot by ``channel`` now. Paper ballots were cast in the box
    before voting closed, so staff may still key them in until the result is certified."""
    if channel == Channel.PAPER and round_phase(round_, now) is Phase.COUNTING:
        return None
    return closed_message(round_, now)


def _day(moment: datetime) -> datetime:
    # Only the day is kept where a time could be matched against the order of the ballot log.
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _key() -> bytes:
    key = current_app.config["SECRET_KEY"]
    return key.encode("utf-8") if isinstance(key, str) else bytes(key)


def change_tag(round_id: int, participation_id: int) -> str:
    """The tag a participation's ballots carry so a later ballot can supersede the last one."""
    message = f"pb_app ballot change v1:{round_id}:{participation_id}".encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def new_receipt() -> str:
    """A random receipt, grouped like a code but longer (12 symbols, about 59 bits)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(RECEIPT_LENGTH))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def ballot_content(
    ballot_type: BallotType,
    ballot: TallyBallot,
    *,
    channel: str,
    venue: str | None,
    assisted: bool,
    volunteer_id: int | None,
    supersedes: int | None,
    change: str | None,
) -> dict[str, object]:
    """What the log stores for one (normalised) ballot: choices and how it was cast, no person."""
    return {
        "v": CONTENT_VERSION,
        "type": str(ballot_type),
        "projects": list(ballot.projects),
        "points": list(ballot.points),
        "channel": channel,
        "venue": venue,
        "assisted": assisted,
        "volunteer": volunteer_id,
        "supersedes": supersedes,
        "change": change,
    }


def _ensure_chain_head(round_: Round) -> None:
    if db.session.get(ChainHead, round_.id) is not None:
        return
    # Created in its own transaction, so two first ballots cannot both insert it.
    values = {"round_id": round_.id, "seq": 0, "hash": genesis_hash(round_.slug)}
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(ChainHead).values(**values).on_conflict_do_nothing())
    db.session.commit()


def _existing_participation(
    round_id: int, voter_id: int | None, code_id: int | None
) -> Participation | None:
    return participation_of(round_id, voter_id=voter_id, code_id=code_id)


def _ward_of(voter_id: int | None, code: VoterCode | None) -> int | None:
    """The ward turnout counts this vote in: the voter's own answer, else the code batch's."""
    voter = db.session.get(Voter, voter_id) if voter_id is not None else None
    if voter is not None and voter.ward_id is not None:
        return voter.ward_id
    batch = db.session.get(CodeBatch, code.batch_id) if code and code.batch_id else None
    return batch.ward_id if batch is not None else None


def _last_ballot_with_tag(round_id: int, tag: str) -> Ballot | None:
    # The tag is 64 hex digits inside canonical JSON, so this substring is exact.
    return db.session.scalars(
        select(Ballot)
        .where(Ballot.round_id == round_id, Ballot.content.contains(f'"change":"{tag}"'))
        .order_by(Ballot.seq.desc())
    ).first()


def cast_ballot(
    round_id: int,
    ballot: TallyBallot,
    *,
    voter_id: int | None = None,
    code: str | None = None,
    channel: Channel,
    venue: str | None = None,
    assisted: bool = False,
    volunteer_id: int | None = None,
    excluded: Collection[str] = (),
    now: datetime,
    before_ballot_write: Callable[[], None] | None = None,
) -> CastResult:
    """Append a valid ballot to the round's log for a registered voter or a one-time code.

    ``before_ballot_write`` runs inside the transaction after the participation is written
    and before the ballot is: tests raise there to show a crash leaves neither.
    """
    for _ in range(_ATTEMPTS):
        try:
            return _cast_once(
                round_id,
                ballot,
                voter_id=voter_id,
                code=code,
                channel=channel,
                venue=venue,
                assisted=assisted,
                volunteer_id=volunteer_id,
                excluded=excluded,
                now=now,
                before_ballot_write=before_ballot_write,
            )
        except _Clash:
            continue
    raise RuntimeError("could not find a free participation id or receipt")  # pragma: no cover


def _cast_once(
    round_id: int,
    ballot: TallyBallot,
    *,
    voter_id: int | None,
    code: str | None,
    channel: Channel,
    venue: str | None,
    assisted: bool,
    volunteer_id: int | None,
    excluded: Collection[str],
    now: datetime,
    before_ballot_write: Callable[[], None] | None,
) -> CastResult:
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise VotingClosed("There is no such round.")
    if code is None and voter_id is None:
        raise CodeInvalid("Enter your voter code, or register, to vote.")
    message = _closed_to(round_, channel, now)
    if message is not None:
        raise VotingClosed(message)
    election = election_for_round(round_)
    problems = validate_ballot(
        election.ballot_type,
        ballot,
        election.projects,
        election.limits,
        excluded=excluded,
        unit=election.unit,
        currency=election.currency,
    )
    if problems:
        raise BallotInvalid(problems)
    normal = normalise_ballot(
        election.ballot_type, ballot, election.limits, election.projects, excluded=excluded
    )
    allow_change = round_.allow_ballot_change
    _ensure_chain_head(round_)

    person: int | None = None
    code_id: int | None = None
    try:
        # populate_existing: the head may already sit in the session from before the lock was
        # granted; without it the ORM would keep that stale seq and hash.
        head = db.session.scalars(
            select(ChainHead)
            .where(ChainHead.round_id == round_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        # From here on this round's ballots are cast one at a time. Read the round again: an
        # officer may have closed voting while this request waited for the lock.
        round_ = db.session.get(Round, round_id, populate_existing=True)
        assert round_ is not None
        message = _closed_to(round_, channel, now)
        if message is not None:
            raise VotingClosed(message)
        code_row = find_code(round_, code) if code is not None else None
        if code_row is not None:
            code_id = code_row.id
            # A code bound to a checked person votes as that person, so the (round, voter)
            # constraint also stops them voting again by registering or at a desk.
            person = code_row.voter_id
        if voter_id is not None and person is None:
            voter = db.session.get(Voter, voter_id)
            if voter is None or voter.round_id != round_id:
                raise NotRegistered("You are not registered to vote in this round.")
            person = voter.id
        existing = _existing_participation(round_id, person, code_id)
        supersedes: int | None = None
        tag: str | None = None
        if existing is not None:
            if not allow_change:
                raise AlreadyVoted(existing.channel, existing.at, existing.venue)
            tag = change_tag(round_id, existing.id)
            previous = _last_ballot_with_tag(round_id, tag)
            supersedes = previous.seq if previous is not None else None
            existing.ballots_cast += 1
        else:
            participation = Participation(
                id=secrets.randbelow(2**31 - 2) + 1,
                round_id=round_id,
                voter_id=person,
                voter_code_id=code_id,
                channel=str(channel),
                venue=venue,
                ward_id=_ward_of(person, code_row),
                at=_day(now),
            )
            db.session.add(participation)
            db.session.flush()
            tag = change_tag(round_id, participation.id) if allow_change else None
            if code_row is not None:
                code_row.used_at = _day(now)
        if before_ballot_write is not None:
            before_ballot_write()
        content = ballot_content(
            election.ballot_type,
            normal,
            channel=str(channel),
            venue=venue,
            assisted=assisted,
            volunteer_id=volunteer_id,
            supersedes=supersedes,
            change=tag,
        )
        canonical = canonical_json(content)
        seq = head.seq + 1
        digest = link_hash(head.hash, canonical)
        receipt = new_receipt()
        db.session.add(
            Ballot(
                round_id=round_id,
                seq=seq,
                content=canonical,
                prev_hash=head.hash,
                hash=digest,
                receipt=receipt,
                channel=str(channel),
                venue=venue,
                assisted=assisted,
                volunteer_id=volunteer_id,
                supersedes_seq=supersedes,
            )
        )
        head.seq = seq
        head.hash = digest
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        # Another request for the same person won the race, or a random value clashed.
        existing = _existing_participation(round_id, person, code_id)
        if existing is not None and not allow_change:
            raise AlreadyVoted(existing.channel, existing.at, existing.venue) from None
        raise _Clash() from None
    except BaseException:
        db.session.rollback()
        raise
    return CastResult(receipt=receipt, seq=seq, superseded=supersedes is not None)


def receipt_in_log(round_: Round, receipt: str) -> bool:
    """Whether a receipt is in the round's ballot log (it says nothing of the ballot's content)."""
    raw = normalise_code(receipt)
    if len(raw) != RECEIPT_LENGTH or any(ch not in ALPHABET for ch in raw):
        return False
    formatted = f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
    found = db.session.scalars(
        select(Ballot.id).where(Ballot.round_id == round_.id, Ballot.receipt == formatted)
    ).first()
    return found is not None


def counted_ballots(round_: Round) -> list[TallyBallot]:
    """The round's ballots that count: every ballot in the log that no later ballot supersedes."""
    rows = db.session.execute(
        select(Ballot.seq, Ballot.content).where(Ballot.round_id == round_.id).order_by(Ballot.seq)
    ).all()
    contents: list[tuple[int, dict[str, Any]]] = [(seq, json.loads(text)) for seq, text in rows]
    superseded = {c["supersedes"] for _, c in contents if c.get("supersedes") is not None}
    return [
        TallyBallot(projects=tuple(c["projects"]), points=tuple(c["points"]), voter_id=str(seq))
        for seq, c in contents
        if seq not in superseded
    ]


def ballot_counts_visible(round_: Round, now: datetime) -> bool:
    """Whether anyone (officers included) may see counts: live totals, or after voting closed."""
    return bool(round_.show_live_totals) or round_phase(round_, now) in _VISIBLE_PHASES


def _scores(election: Election) -> dict[str, dict[str, int]]:
    totals = {project.id: {"votes": 0, "score": 0} for project in election.projects}
    for ballot in election.ballots:
        length = len(ballot.projects)
        for position, pid in enumerate(ballot.projects):
            if pid not in totals:
                continue
            totals[pid]["votes"] += 1
            if election.ballot_type is BallotType.ORDINAL:
                totals[pid]["score"] += length - position
            elif ballot.points:
                totals[pid]["score"] += ballot.points[position]
            else:
                totals[pid]["score"] += 1
    return totals


def live_totals(round_: Round, now: datetime) -> dict[str, object] | None:
    """Ballots counted and each project's votes and score, or None while counts are secret."""
    if not ballot_counts_visible(round_, now):
        return None
    election = election_for_round(round_, ballots=counted_ballots(round_))
    return {"ballots": len(election.ballots), "projects": _scores(election)}


def verify_log(round_: Round) -> ChainCheck:
    """Recompute the round's chain from its genesis and compare it with the recorded head."""
    head = db.session.get(ChainHead, round_.id)
    genesis = genesis_hash(round_.slug)
    rows = db.session.execute(
        select(Ballot.seq, Ballot.prev_hash, Ballot.content, Ballot.hash)
        .where(Ballot.round_id == round_.id)
        .order_by(Ballot.seq)
    ).all()
    return verify_chain(
        genesis,
        (Link(seq, prev, content, digest) for seq, prev, content, digest in rows),
        expected_count=head.seq if head is not None else 0,
        expected_head=head.hash if head is not None else genesis,
    )
