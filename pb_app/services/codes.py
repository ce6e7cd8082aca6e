"""One-time voter codes: issued in printed batches, stored only as keyed digests.

A code is 10 symbols drawn with ``secrets`` from a 31-symbol alphabet that leaves out 0, O, 1,
I and L (log2(31) × 10 ≈ 49.5 bits), printed in groups for reading aloud: ``K7QM-4RXD-9T``.

Only ``HMAC-SHA256(SECRET_KEY, "pb_app voter code v1:" ‖ code)`` is stored. A plain SHA-256
would let anyone holding a copy of the database try all 2^49.5 codes offline (days on a few
GPUs) and vote with the unused ones; the key lives outside the database, so a leaked dump is
useless for that. The price: rotating SECRET_KEY during a round voids its unused codes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata

from flask import current_app
from sqlalchemy import select

from pb_app.extensions import db
from pb_app.models import CodeBatch, Participation, Round, User, VoterCode
from pb_app.services import ServiceError, audit
from pb_app.services.voting_errors import AlreadyVoted, CodeInvalid

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 symbols: no 0, O, 1, I or L
CODE_LENGTH = 10
GROUPS = (4, 4, 2)
MAX_BATCH = 100_000
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
    round_: Round, *, count: int, label: str, purpose: str = "event", actor: User | None
) -> list[str]:
    """Issue a batch of ``count`` codes for the round; return them grouped, to print once."""
    if not 1 <= count <= MAX_BATCH:
        raise CodesRefused(f"Issue between 1 and {MAX_BATCH:,} codes at a time, not {count}.")
    if purpose not in PURPOSES:
        raise CodesRefused(f"The purpose must be one of {', '.join(PURPOSES)}.")
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
        actor_label="" if actor is not None else "command line",
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
            raise CodeInvalid("That code has been withdrawn. Ask the organisers for a new one.")
    return row


def check_code(round_: Round, code: str) -> VoterCode:
    """The code, if it may vote now; CodeInvalid, or AlreadyVoted unless changes are allowed."""
    row = find_code(round_, code)
    batch = db.session.get(CodeBatch, row.batch_id) if row.batch_id is not None else None
    if batch is not None and batch.purpose == "paper":
        # A paper ballot's code is keyed in by staff with the slip; it never votes online.
        raise CodeInvalid("That code belongs to a paper ballot. Put the paper in the ballot box.")
    participation = db.session.scalars(
        select(Participation).where(Participation.voter_code_id == row.id)
    ).first()
    if participation is not None and not round_.allow_ballot_change:
        raise AlreadyVoted(participation.channel, participation.at)
    return row
