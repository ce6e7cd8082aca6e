"""Counted results, funder certification and the staff audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pb_app.extensions import Model
from pb_app.models._base import BigId, created_at_column


class ResultSnapshot(Model):
    """One count of a round: the rule, the ballots it saw and the full outcome as JSON."""

    __tablename__ = "result_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(40))
    options: Mapped[str] = mapped_column(Text)  # JSON: utility, tie-break, seed, add1 options
    ballots_counted: Mapped[int] = mapped_column(Integer)
    chain_head: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(Text)  # JSON from pb_app.tally.report
    spent_pence: Mapped[int] = mapped_column(BigInteger)
    code_version: Mapped[str] = mapped_column(String(40))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()


class Certification(Model):
    """A funder's immutable sign-off of one snapshot: who, when, and the digest certified."""

    __tablename__ = "certifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), unique=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("result_snapshots.id"), unique=True)
    certified_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    certified_by_name: Mapped[str] = mapped_column(String(120))
    bundle_digest: Mapped[str] = mapped_column(String(64))
    statement: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = created_at_column()


class AuditEvent(Model):
    """An append-only record of an officer's, funder's or admin's action, and of auth events."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = created_at_column()
    # No foreign key: the log is append-only, so deleting an account must not rewrite it.
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_label: Mapped[str] = mapped_column(String(160))  # kept if the account is deleted
    action: Mapped[str] = mapped_column(String(60), index=True)
    round_id: Mapped[int | None] = mapped_column(Integer, index=True)
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[str] = mapped_column(String(40), default="")
    before: Mapped[str | None] = mapped_column(Text)  # JSON
    after: Mapped[str | None] = mapped_column(Text)  # JSON
    ip: Mapped[str | None] = mapped_column(String(45))
