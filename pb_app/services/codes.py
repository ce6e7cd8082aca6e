"""One-time voter codes: issued in printed batches, stored only as keyed digests.

A code is 10 symbols drawn with ``secrets`` from a 31-symbol alphabet that leaves out 0, O, 1,
I and L (log2(31) × 10 ≈ 49.5 bits), printed in groups for reading aloud: ``K7QM-4RXD-9T``.

Only ``HMAC-SHA256(SECRET_KEY, "pb_app voter code v1:" ‖ code)`` is stored. A plain SHA-256
would let anyone holding a copy of the database try all 2^49.5 codes offline (days on a few
GPUs) and vote with the unused ones; the key lives outside the database, so a leaked dump is
useless for that. The price: rotating SECRET_KEY during a round voids its unused codes.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from sqlalchemy import case, func, or_, select
from sqlalchemy.exc import IntegrityError

from pb_app.extensions import db
from pb_app.models import CodeBatch, CodeMode, Participation, Round, User, Voter, VoterCode
from pb_app.services import ServiceError, audit
from pb_app.services.eligibility import eligibility_problems, identity_key, normalise_postcode
from pb_app.services.rounds import ward_in_round
from pb_app.services.voting_errors import (
    AlreadyVoted,
    CodeInvalid,
    CodeNotBound,
    CodeWithdrawn,
    channel_words,
)

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 symbols: no 0, O, 1, I or L
CODE_LENGTH = 10
GROUPS = (4, 4, 2)
MAX_BATCH = 100_000
MAX_PEOPLE = 5_000  # one upload of checked people; larger lists go in several batches
PURPOSES = ("event", "postal", "paper", "kiosk")

# Letters from other scripts that look identical to ours (a phone set to a Greek, Cyrillic or
# full-width keyboard types these); NFKC already folds full-width forms.
_LOOKALIKES = str.maketrans(
    {
        "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "Р": "P", "С": "C",
        "Т": "T", "Х": "X", "У": "Y", "Ѕ": "S", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z",
        "Η": "H", "Κ": "K", "Μ": "M", "Ν": "N", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    }
)  # fmt: skip
# Separators people type or paste between groups: spaces, hyphens, dashes, dots, underscores.
_SEPARATORS = frozenset(" \t\r\n-‐‑‒–—―−_.·")


class CodesRefused(ServiceError):
    """Codes cannot be issued as asked (count, label or round)."""


class PeopleRefused(ServiceError):
    """Rows of a list of checked people that cannot get a code; ``problems`` names each row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


class BatchNotFound(ServiceError):
    """There is no such code batch in this round."""


@dataclass(frozen=True)
class Person:
    """One row of a list of people whose identity an officer has checked."""

    row: int
    full_name: str
    postcode: str
    date_of_birth: date


@dataclass(frozen=True)
class BoundCode:
    """A code issued to a named person: what goes on their slip."""

    full_name: str
    postcode: str
    code: str


@dataclass(frozen=True)
class BatchSummary:
    """A batch as the codes screen lists it: how many of its codes were used."""

    id: int
    label: str
    purpose: str
    count: int
    bound: int
    used: int
    created_at: datetime
    voided_at: datetime | None
    void_reason: str | None

    @property
    def unused(self) -> int:
        """Codes of the batch nobody has voted with."""
        return self.count - self.used


def normalise_code(text: str) -> str:
    """The code's canonical form: upper case, no separators, look-alike letters folded."""
    folded = unicodedata.normalize("NFKC", text or "").upper().translate(_LOOKALIKES)
    return "".join(ch for ch in folded if ch not in _SEPARATORS)


def format_code(code: str) -> str:
    """Group a canonical code for reading aloud: ``K7QM4RXD9T`` → ``K7QM-4RXD-9T``."""
    parts, start = [], 0
    for size in GROUPS:
        parts.append(code[start : start + size])
        start += size
    return "-".join(part for part in parts if part)


def new_code() -> str:
    """A fresh random code in canonical form (from ``secrets``)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def code_digest(code: str, key: str | bytes) -> str:
    """HMAC-SHA256 of the canonical code, keyed with ``key`` (the app's SECRET_KEY)."""
    key_bytes = key.encode("utf-8") if isinstance(key, str) else key
    message = f"pb_app voter code v1:{normalise_code(code)}".encode()
    return hmac.new(key_bytes, message, hashlib.sha256).hexdigest()


def _key() -> str | bytes:
    key = current_app.config["SECRET_KEY"]
    assert isinstance(key, str | bytes)
    return key


def is_well_formed(code: str) -> bool:
    """Whether a canonical code has the right length and only alphabet symbols."""
    return len(code) == CODE_LENGTH and all(ch in ALPHABET for ch in code)


def issue_codes(
    round_: Round,
    *,
    count: int,
    label: str,
    purpose: str = "event",
    actor: User | None,
    ward_id: int | None = None,
) -> list[str]:
    """Issue a batch of ``count`` codes for the round; return them grouped, to print once.

    ``ward_id`` marks a batch sent to one ward (postal packs), for turnout by ward.
    """
    if not 1 <= count <= MAX_BATCH:
        raise CodesRefused(f"Issue between 1 and {MAX_BATCH:,} codes at a time, not {count}.")
    if purpose not in PURPOSES:
        raise CodesRefused(f"The purpose must be one of {', '.join(PURPOSES)}.")
    if round_.code_mode == CodeMode.IDENTITY:
        raise CodesRefused(
            "In this round every code belongs to a checked person: "
            "give the list of people instead of a number of codes."
        )
    label = " ".join(label.split())[:120] or f"{count} {purpose} codes"
    key = _key()
    codes: set[str] = set()
    while len(codes) < count:  # a repeat within a batch is astronomically rare, but cheap to skip
        codes.add(new_code())
    batch = CodeBatch(
        round_id=round_.id,
        label=label,
        purpose=purpose,
        count=count,
        created_by_id=getattr(actor, "id", None),
        ward_id=ward_in_round(round_, ward_id),
    )
    db.session.add(batch)
    db.session.flush()
    ordered = sorted(codes)
    db.session.add_all(
        VoterCode(round_id=round_.id, batch_id=batch.id, digest=code_digest(code, key))
        for code in ordered
    )
    audit.record(
        "codes.issued",
        actor=actor,
        actor_label=audit.command_line_label(actor),
        round_id=round_.id,
        object_type="code_batch",
        object_id=batch.id,
        after={"label": label, "purpose": purpose, "count": count},
    )
    db.session.commit()
    return [format_code(code) for code in ordered]


def find_code(round_: Round, code: str) -> VoterCode:
    """The round's VoterCode for ``code``; CodeInvalid if unknown, withdrawn or another round's."""
    canonical = normalise_code(code)
    if not is_well_formed(canonical):
        raise CodeInvalid()
    row = db.session.scalars(
        select(VoterCode).where(VoterCode.digest == code_digest(canonical, _key()))
    ).first()
    if row is None or row.round_id != round_.id:
        raise CodeInvalid()
    if row.batch_id is not None:
        batch = db.session.get(CodeBatch, row.batch_id)
        if batch is not None and batch.voided_at is not None:
            # Only unused codes stop: a ballot cast before the batch was voided still counts.
            used = db.session.scalars(
                select(Participation.id).where(Participation.voter_code_id == row.id)
            ).first()
            if used is None:
                raise CodeWithdrawn(batch.voided_at)
    if round_.code_mode == CodeMode.IDENTITY and row.voter_id is None:
        raise CodeNotBound()
    return row


def participation_of(
    round_id: int, *, voter_id: int | None, code_id: int | None
) -> Participation | None:
    """The participation of this person or code in the round, if they have voted."""
    conditions = []
    if code_id is not None:
        conditions.append(Participation.voter_code_id == code_id)
    if voter_id is not None:
        conditions.append(Participation.voter_id == voter_id)
    if not conditions:
        return None
    return db.session.scalars(
        select(Participation).where(Participation.round_id == round_id, or_(*conditions))
    ).first()


def check_code(round_: Round, code: str) -> VoterCode:
    """The code, if it may vote now; CodeInvalid, or AlreadyVoted unless changes are allowed.

    A code bound to a person is spent once that person has voted by any channel.
    """
    row = find_code(round_, code)
    batch = db.session.get(CodeBatch, row.batch_id) if row.batch_id is not None else None
    if batch is not None and batch.purpose == "paper":
        # A paper ballot's code is keyed in by staff with the slip; it never votes online.
        raise CodeInvalid("That code belongs to a paper ballot. Put the paper in the ballot box.")
    participation = participation_of(round_.id, voter_id=row.voter_id, code_id=row.id)
    if participation is not None and not round_.allow_ballot_change:
        raise AlreadyVoted(participation.channel, participation.at, participation.venue)
    return row


# Column names a spreadsheet might use for each field, compared after lower-casing and with
# underscores and hyphens read as spaces.
_HEADERS = {
    "full_name": ("name", "full name"),
    "postcode": ("postcode", "post code"),
    "date_of_birth": ("date of birth", "dob", "birth date", "born"),
}
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d %m %Y")


def _parse_date(text: str) -> date | None:
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern).date()  # noqa: DTZ007 - a date only
        except ValueError:
            continue
    return None


def _column_order(header: list[str]) -> dict[str, int] | None:
    names = [
        " ".join(cell.strip().lower().replace("_", " ").replace("-", " ").split())
        for cell in header
    ]
    found = {
        field: next((i for i, name in enumerate(names) if name in options), -1)
        for field, options in _HEADERS.items()
    }
    if any(index < 0 for index in found.values()):
        return None
    return found


def read_people_csv(text: str) -> list[Person]:
    """The people in a CSV (name, postcode, date of birth); PeopleRefused names every bad row.

    A first row naming the columns is optional; without one the columns are taken in that order.
    """
    people, problems = _read_people(text)
    if problems:
        raise PeopleRefused(problems)
    return people


def _read_people(text: str) -> tuple[list[Person], list[str]]:
    """The well-formed rows of a CSV of people, and a message for each malformed one."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    # Rows keep their line numbers in the file, blank lines included, so messages point at them.
    rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    if not rows:
        raise PeopleRefused(
            ["The list is empty: give one person per row (name, postcode, date of birth)."]
        )
    order = _column_order(rows[0][1])
    body = rows[1:] if order is not None else rows
    if order is None:
        order = {"full_name": 0, "postcode": 1, "date_of_birth": 2}
    if len(body) > MAX_PEOPLE:
        raise PeopleRefused([f"Give at most {MAX_PEOPLE:,} people at a time, not {len(body):,}."])
    people: list[Person] = []
    problems: list[str] = []
    width = max(order.values()) + 1
    for number, row in body:
        if len(row) < width:
            problems.append(f"Row {number}: give a name, a postcode and a date of birth.")
            continue
        name = " ".join(row[order["full_name"]].split())
        postcode = row[order["postcode"]].strip()
        born = _parse_date(row[order["date_of_birth"]])
        if not name:
            problems.append(f"Row {number}: the name is missing.")
        elif len(name) > 120:
            problems.append(f"Row {number}: the name is longer than 120 characters.")
        if born is None:
            problems.append(
                f"Row {number}: the date of birth {row[order['date_of_birth']].strip()[:20]!r} "
                "is not a date like 1958-03-27 or 27/03/1958."
            )
        if name and len(name) <= 120 and born is not None:
            people.append(Person(number, name, postcode, born))
    return people, problems


def _who(person: Person) -> str:
    return f"Row {person.row} ({person.full_name})"


def _person_problems(
    round_: Round, people: Iterable[Person], today: date
) -> tuple[list[str], dict[int, str]]:
    """Every row that cannot get a code, and the identity key of each row that can."""
    problems: list[str] = []
    keys: dict[int, str] = {}
    seen: dict[str, int] = {}
    for person in people:
        found = eligibility_problems(
            round_,
            postcode=person.postcode,
            date_of_birth=person.date_of_birth,
            basis="lives",
            today=today,
        )
        if found:
            problems.extend(f"{_who(person)}: {problem}" for problem in found)
            continue
        normal = normalise_postcode(person.postcode)
        assert normal is not None  # eligibility_problems refused any other shape
        key = identity_key(round_.id, person.full_name, normal, person.date_of_birth)
        if key in seen:
            problems.append(f"{_who(person)}: the same person as row {seen[key]}.")
            continue
        seen[key] = person.row
        keys[person.row] = key
    existing = (
        {
            voter.identity_key: voter
            for voter in db.session.scalars(
                select(Voter).where(
                    Voter.round_id == round_.id, Voter.identity_key.in_(list(keys.values()))
                )
            )
        }
        if keys
        else {}
    )
    people_by_row = {person.row: person for person in people}
    for row, key in keys.items():
        voter = existing.get(key)
        if voter is None:
            continue
        person = people_by_row[row]
        voted = participation_of(round_.id, voter_id=voter.id, code_id=None)
        coded = db.session.scalars(
            select(VoterCode.id).where(VoterCode.voter_id == voter.id)
        ).first()
        if voted is not None:
            problems.append(
                f"{_who(person)}: has already voted ({channel_words(voted.channel)}, "
                f"on {voted.at.day} {voted.at:%B %Y})."
            )
        elif coded is not None:
            problems.append(f"{_who(person)}: already has a voter code for this round.")
        else:
            problems.append(
                f"{_who(person)}: is already registered to vote in this round, so needs no code."
            )
    return sorted(problems, key=_row_number), keys


def _row_number(problem: str) -> int:
    digits = problem.removeprefix("Row ").split(" ", 1)[0].rstrip(":")
    return int(digits) if digits.isdigit() else 0


def _require_identity_mode(round_: Round) -> None:
    if round_.code_mode != CodeMode.IDENTITY:
        raise CodesRefused(
            "This round's codes are anonymous. To issue codes for named people, set the round "
            "to identity-bound codes first (in its settings, before voting opens)."
        )


def issue_codes_from_csv(
    round_: Round,
    text: str,
    *,
    label: str,
    purpose: str = "event",
    actor: User | None,
    today: date,
) -> list[BoundCode]:
    """Issue bound codes for a CSV of checked people; PeopleRefused lists every bad row at once."""
    _require_identity_mode(round_)
    people, problems = _read_people(text)
    if problems:
        found, _ = _person_problems(round_, people, today)
        raise PeopleRefused(sorted([*problems, *found], key=_row_number))
    return issue_bound_codes(round_, people, label=label, purpose=purpose, actor=actor, today=today)


def issue_bound_codes(
    round_: Round,
    people: list[Person],
    *,
    label: str,
    purpose: str = "event",
    actor: User | None,
    today: date,
) -> list[BoundCode]:
    """Give each checked person a Voter record and a code bound to it; all rows or none."""
    _require_identity_mode(round_)
    if purpose not in PURPOSES:
        raise CodesRefused(f"The purpose must be one of {', '.join(PURPOSES)}.")
    if not people:
        raise PeopleRefused(["The list is empty: give one person per row."])
    if len(people) > MAX_PEOPLE:
        raise PeopleRefused([f"Give at most {MAX_PEOPLE:,} people at a time, not {len(people):,}."])
    problems, keys = _person_problems(round_, people, today)
    if problems:
        raise PeopleRefused(problems)
    label = " ".join(label.split())[:120] or f"{len(people)} codes for named people"
    key = _key()
    batch = CodeBatch(
        round_id=round_.id,
        label=label,
        purpose=purpose,
        count=len(people),
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(batch)
    db.session.flush()
    voters = [
        Voter(
            round_id=round_.id,
            identity_key=keys[person.row],
            full_name=person.full_name,
            postcode=normalise_postcode(person.postcode) or person.postcode,
            date_of_birth=person.date_of_birth,
            basis="lives",
        )
        for person in people
    ]
    db.session.add_all(voters)
    db.session.flush()  # one round trip for the ids, not one per person
    codes: set[str] = set()
    while len(codes) < len(people):  # a repeat is astronomically rare, but cheap to skip
        codes.add(new_code())
    issued: list[BoundCode] = []
    for voter, code in zip(voters, codes, strict=True):
        db.session.add(
            VoterCode(
                round_id=round_.id,
                batch_id=batch.id,
                digest=code_digest(code, key),
                voter_id=voter.id,
            )
        )
        issued.append(BoundCode(voter.full_name, voter.postcode, format_code(code)))
    audit.record(
        "codes.issued",
        actor=actor,
        actor_label=audit.command_line_label(actor),
        round_id=round_.id,
        object_type="code_batch",
        object_id=batch.id,
        after={"label": label, "purpose": purpose, "count": len(people), "bound": True},
    )
    try:
        db.session.commit()
    except IntegrityError:
        # Someone on the list registered (or was checked at a desk) while this ran.
        db.session.rollback()
        problems, _ = _person_problems(round_, people, today)
        raise PeopleRefused(
            problems or ["The list changed while the codes were being issued. Try again."]
        ) from None
    return issued


def void_batch(
    round_: Round, batch_id: int, *, reason: str, actor: User | None, now: datetime
) -> CodeBatch:
    """Withdraw a batch: its unused codes stop working; ballots already cast with it still count."""
    batch = db.session.get(CodeBatch, batch_id)
    if batch is None or batch.round_id != round_.id:
        raise BatchNotFound("There is no such batch of codes in this round.")
    reason = " ".join(reason.split())
    if not reason:
        raise CodesRefused("Say why the batch is withdrawn, for example 'sheet lost on the bus'.")
    if batch.voided_at is not None:
        raise CodesRefused(f"This batch was already withdrawn on {batch.voided_at:%d %B %Y}.")
    summary = _summaries(round_, batch_id=batch.id)[0]
    batch.voided_at = now
    batch.void_reason = reason[:500]
    audit.record(
        "codes.voided",
        actor=actor,
        actor_label=audit.command_line_label(actor),
        round_id=round_.id,
        object_type="code_batch",
        object_id=batch.id,
        before={"voided_at": None},
        after={
            "voided_at": now,
            "reason": batch.void_reason,
            "used": summary.used,
            "unused": summary.unused,
        },
    )
    db.session.commit()
    return batch


def _summaries(round_: Round, batch_id: int | None = None) -> list[BatchSummary]:
    used = func.sum(case((VoterCode.used_at.is_not(None), 1), else_=0))
    bound = func.sum(case((VoterCode.voter_id.is_not(None), 1), else_=0))
    query = (
        select(CodeBatch, used, bound)
        .outerjoin(VoterCode, VoterCode.batch_id == CodeBatch.id)
        .where(CodeBatch.round_id == round_.id)
        .group_by(CodeBatch.id)
        .order_by(CodeBatch.created_at.desc(), CodeBatch.id.desc())
    )
    if batch_id is not None:
        query = query.where(CodeBatch.id == batch_id)
    return [
        BatchSummary(
            id=batch.id,
            label=batch.label,
            purpose=batch.purpose,
            count=batch.count,
            bound=int(bound_count or 0),
            used=int(used_count or 0),
            created_at=batch.created_at,
            voided_at=batch.voided_at,
            void_reason=batch.void_reason,
        )
        for batch, used_count, bound_count in db.session.execute(query).all()
    ]


def batch_summaries(round_: Round) -> list[BatchSummary]:
    """The round's code batches, newest first, with used and unused counts."""
    return _summaries(round_)


def get_batch(round_: Round, batch_id: int) -> BatchSummary:
    """One batch of the round, summarised; BatchNotFound if it is another round's or none."""
    found = _summaries(round_, batch_id=batch_id)
    if not found:
        raise BatchNotFound("There is no such batch of codes in this round.")
    return found[0]
