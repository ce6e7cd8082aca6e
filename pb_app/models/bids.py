"""Bids: a group's proposal with its itemised budget, review checks, messages and history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pb_app.extensions import Model
from pb_app.models._base import UTCDateTime, created_at_column
from pb_app.models.people import Group
from pb_app.models.rounds import Round, Theme, Ward


class BidStatus(StrEnum):
    """Where a bid stands; every change is kept in BidStatusChange."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    RESUBMITTED = "resubmitted"
    SHORTLISTED = "shortlisted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    FUNDED = "funded"
    NOT_FUNDED = "not_funded"


class Bid(Model):
    """A community group's bid in a round; ``ref`` is its public id and its id in the count."""

    __tablename__ = "bids"
    __table_args__ = (UniqueConstraint("round_id", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    ref: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(80))
    summary: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    beneficiaries: Mapped[str] = mapped_column(Text, default="")
    beneficiaries_count: Mapped[int | None] = mapped_column(Integer)
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("wards.id", ondelete="SET NULL"))
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id", ondelete="SET NULL"))
    timeline: Mapped[str] = mapped_column(Text, default="")
    contact_name: Mapped[str] = mapped_column(String(120), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    status: Mapped[str] = mapped_column(String(20), default=BidStatus.DRAFT, index=True)
    decision_reason: Mapped[str] = mapped_column(Text, default="")  # public: why rejected
    created_at: Mapped[datetime] = created_at_column()
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    round: Mapped[Round] = relationship()
    group: Mapped[Group] = relationship()
    ward: Mapped[Ward | None] = relationship()
    theme: Mapped[Theme | None] = relationship()
    budget_lines: Mapped[list[BudgetLine]] = relationship(
        back_populates="bid", order_by="BudgetLine.position", cascade="all, delete-orphan"
    )
    history: Mapped[list[BidStatusChange]] = relationship(
        back_populates="bid", order_by="BidStatusChange.id", cascade="all, delete-orphan"
    )

    @property
    def amount_pence(self) -> int:
        """The amount requested: always the sum of the itemised budget lines."""
        return sum(line.amount_pence for line in self.budget_lines)


class BudgetLine(Model):
    """One line of a bid's itemised budget."""

    __tablename__ = "budget_lines"
    __table_args__ = (CheckConstraint("amount_pence > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(String(200))
    amount_pence: Mapped[int] = mapped_column(BigInteger)

    bid: Mapped[Bid] = relationship(back_populates="budget_lines")


class BidImage(Model):
    """An optional picture for a bid, checked for type and size on upload."""

    __tablename__ = "bid_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), unique=True)
    content_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    alt_text: Mapped[str] = mapped_column(String(300), default="")


class BidTranslation(Model):
    """A bid's title and summary in another language, or an easy-read version."""

    __tablename__ = "bid_translations"
    __table_args__ = (UniqueConstraint("bid_id", "language", "easy_read"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(10))
    easy_read: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(Text)


class BidStatusChange(Model):
    """A dated entry in a bid's history: from which status to which, by whom, and why."""

    __tablename__ = "bid_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = created_at_column()

    bid: Mapped[Bid] = relationship(back_populates="history")


class BidMessage(Model):
    """A message in the conversation between officers and a group about a bid."""

    __tablename__ = "bid_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = created_at_column()


class BidCheck(Model):
    """An officer's answer to one eligibility checklist item for one bid."""

    __tablename__ = "bid_checks"
    __table_args__ = (UniqueConstraint("bid_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(
        ForeignKey("eligibility_check_items.id", ondelete="CASCADE")
    )
    passed: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = created_at_column()


class ConflictDeclaration(Model):
    """An officer's declared conflict of interest, which keeps them from reviewing the bid."""

    __tablename__ = "conflict_declarations"
    __table_args__ = (UniqueConstraint("bid_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = created_at_column()
