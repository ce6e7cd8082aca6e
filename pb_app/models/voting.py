"""Voting, kept in separate stores: who may vote (Voter), who has voted (Participation), and
what was voted (Ballot, with no link to a person); plus one-time codes, kiosks and paper."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from pb_app.extensions import Model
from pb_app.models._base import BigId, UTCDateTime, created_at_column


class Channel(StrEnum):
    """How a ballot reached the log."""

    ONLINE = "online"
    KIOSK = "kiosk"
    PAPER = "paper"
    API = "api"


class Voter(Model):
    """A resident's eligibility record for one round; ``identity_key`` spots the same person."""

    __tablename__ = "voters"
    __table_args__ = (UniqueConstraint("round_id", "identity_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # SHA-256 of normalised name, postcode and date of birth: the same person registering twice
    # (online, at the desk, on a bound code) collides here.
    identity_key: Mapped[str] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(120))
    postcode: Mapped[str] = mapped_column(String(10))
    date_of_birth: Mapped[date] = mapped_column(Date)
    basis: Mapped[str] = mapped_column(String(20), default="lives")  # lives, works, studies
    # The ward the person says they live in (optional): only for turnout by ward.
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("wards.id", ondelete="SET NULL"))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    flagged_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()


class CodeBatch(Model):
    """A printed batch of one-time voter codes (postal pack, event, paper slips)."""

    __tablename__ = "code_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(120))
    purpose: Mapped[str] = mapped_column(String(20), default="event")  # event, postal, paper
    count: Mapped[int] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Postal packs go out ward by ward: their votes then count in that ward's turnout.
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("wards.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    void_reason: Mapped[str | None] = mapped_column(Text)


class VoterCode(Model):
    """A single-use voter code; only its digest is stored, the code itself is printed once."""

    __tablename__ = "voter_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("code_batches.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    voter_id: Mapped[int | None] = mapped_column(ForeignKey("voters.id", ondelete="SET NULL"))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Participation(Model):
    """That someone voted in a round, by which channel and when — never what they voted.

    The unique constraints are the "one person, one ballot" rule, enforced by the database.
    """

    __tablename__ = "participations"
    __table_args__ = (
        UniqueConstraint("round_id", "voter_id"),
        UniqueConstraint("voter_code_id"),
        CheckConstraint(
            "voter_id IS NOT NULL OR voter_code_id IS NOT NULL", name="has_identity_or_code"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    voter_id: Mapped[int | None] = mapped_column(ForeignKey("voters.id", ondelete="CASCADE"))
    voter_code_id: Mapped[int | None] = mapped_column(
        ForeignKey("voter_codes.id", ondelete="CASCADE")
    )
    channel: Mapped[str] = mapped_column(String(10))
    venue: Mapped[str | None] = mapped_column(String(120))
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("wards.id", ondelete="SET NULL"))
    ballots_cast: Mapped[int] = mapped_column(Integer, default=1)  # >1 when changes are allowed
    at: Mapped[datetime] = created_at_column()


class Ballot(Model):
    """One ballot in a round's append-only, hash-chained log. No column points to a person.

    ``hash = SHA-256(prev_hash ‖ content)`` where ``content`` is the canonical JSON of the
    ballot; the database refuses UPDATE and DELETE on this table (see the migrations).
    """

    __tablename__ = "ballots"
    __table_args__ = (UniqueConstraint("round_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, … within the round
    content: Mapped[str] = mapped_column(Text)  # canonical JSON: choices, channel, supersedes
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    receipt: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    venue: Mapped[str | None] = mapped_column(String(120))
    assisted: Mapped[bool] = mapped_column(Boolean, default=False)
    # A plain number, not a foreign key: the log is append-only and must outlive accounts.
    volunteer_id: Mapped[int | None] = mapped_column(Integer)
    supersedes_seq: Mapped[int | None] = mapped_column(Integer)


class ChainHead(Model):
    """The last link of a round's ballot log; locked while a ballot is appended."""

    __tablename__ = "chain_heads"

    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class Kiosk(Model):
    """A shared device signed into a round's kiosk mode at a named venue."""

    __tablename__ = "kiosks"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    venue: Mapped[str] = mapped_column(String(120))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    pin_hash: Mapped[str] = mapped_column(String(255))
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime] = created_at_column()
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PaperBallot(Model):
    """A numbered paper slip; it enters the log only when two keyed entries agree."""

    __tablename__ = "paper_ballots"
    __table_args__ = (UniqueConstraint("round_id", "serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    serial: Mapped[str] = mapped_column(String(20))
    voter_code_id: Mapped[int | None] = mapped_column(
        ForeignKey("voter_codes.id", ondelete="SET NULL"), unique=True
    )
    venue: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), default="blank")  # keyed, agreed, mismatch,
    spoilt_reason: Mapped[str | None] = mapped_column(Text)  # spoilt, counted


class PaperEntry(Model):
    """One keying of a paper ballot (entry 1 or 2), by one member of staff."""

    __tablename__ = "paper_entries"
    __table_args__ = (UniqueConstraint("paper_ballot_id", "entry_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_ballot_id: Mapped[int] = mapped_column(ForeignKey("paper_ballots.id", ondelete="CASCADE"))
    entry_number: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = created_at_column()


class EqualitiesAnswer(Model):
    """Optional equalities monitoring answers: stored apart from identity and ballots."""

    __tablename__ = "equalities_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("wards.id", ondelete="SET NULL"))
    answers: Mapped[str] = mapped_column(Text)  # JSON of GSS harmonised categories
    submitted_on: Mapped[date] = mapped_column(Date)  # a date only: times could be matched
