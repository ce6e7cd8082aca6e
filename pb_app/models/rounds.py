"""A round: its pot, sub-pots, wards, themes, voter eligibility, ballot, rule and dates."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pb_app.extensions import Model
from pb_app.models._base import UTCDateTime, created_at_column


class BallotKind(StrEnum):
    """What a voter fills in; ``knapsack`` is an approval ballot capped at the pot."""

    KNAPSACK = "knapsack"
    APPROVAL = "approval"
    CHOOSE_ONE = "choose-1"
    ORDINAL = "ordinal"
    CUMULATIVE = "cumulative"
    SCORING = "scoring"


class SubPotLeftover(StrEnum):
    """Where money left in a sub-pot goes."""

    CENTRAL = "central"
    OVERSUBSCRIBED = "oversubscribed"


class CodeMode(StrEnum):
    """Whether one-time voter codes are anonymous or bound to a checked identity."""

    ANONYMOUS = "anonymous"
    IDENTITY = "identity"


class Round(Model):
    """A participatory budgeting round; rules are frozen from the first ballot on."""

    __tablename__ = "rounds"
    __table_args__ = (
        CheckConstraint("pot_pence > 0", name="pot_positive"),
        CheckConstraint("min_grant_pence >= 0", name="min_grant_not_negative"),
        CheckConstraint("max_grant_pence >= min_grant_pence", name="grant_limits_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    funder_name: Mapped[str] = mapped_column(String(200), default="")
    currency: Mapped[str] = mapped_column(String(3), default="GBP")

    # Money, in pence.
    pot_pence: Mapped[int] = mapped_column(BigInteger)
    min_grant_pence: Mapped[int] = mapped_column(BigInteger, default=0)
    max_grant_pence: Mapped[int] = mapped_column(BigInteger)
    central_pot_pence: Mapped[int] = mapped_column(BigInteger, default=0)
    subpot_leftover: Mapped[str] = mapped_column(String(20), default=SubPotLeftover.CENTRAL)

    # Who may vote.
    min_age: Mapped[int | None] = mapped_column(Integer)
    max_age: Mapped[int | None] = mapped_column(Integer)
    postcode_areas: Mapped[str] = mapped_column(Text, default="")  # "E8, SW9 7" prefixes
    allow_work_study: Mapped[bool] = mapped_column(Boolean, default=False)
    code_mode: Mapped[str] = mapped_column(String(20), default=CodeMode.ANONYMOUS)

    # The ballot and its limits (money limits in pence).
    ballot_kind: Mapped[str] = mapped_column(String(20), default=BallotKind.KNAPSACK)
    min_length: Mapped[int | None] = mapped_column(Integer)
    max_length: Mapped[int | None] = mapped_column(Integer)
    min_sum_cost_pence: Mapped[int | None] = mapped_column(BigInteger)
    max_sum_cost_pence: Mapped[int | None] = mapped_column(BigInteger)
    min_points: Mapped[int | None] = mapped_column(Integer)
    max_points: Mapped[int | None] = mapped_column(Integer)
    min_sum_points: Mapped[int | None] = mapped_column(Integer)
    max_sum_points: Mapped[int | None] = mapped_column(Integer)
    default_score: Mapped[int | None] = mapped_column(Integer)
    allow_ballot_change: Mapped[bool] = mapped_column(Boolean, default=False)

    # The count, declared in advance.
    rule: Mapped[str] = mapped_column(String(40), default="greedy")
    utility: Mapped[str | None] = mapped_column(String(20))
    threshold_percent: Mapped[int | None] = mapped_column(Integer)  # of the maximum score
    tie_break: Mapped[str] = mapped_column(String(120), default="min-cost,max-support,lot")
    lot_seed: Mapped[str | None] = mapped_column(String(64))  # published when voting opens

    # Transparency settings.
    show_live_totals: Mapped[bool] = mapped_column(Boolean, default=False)
    live_event_screen: Mapped[bool] = mapped_column(Boolean, default=False)

    # Phase dates and explicit transitions (the phase itself is derived: pb_app.phases).
    bids_open_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bids_close_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    voting_open_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    voting_close_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rules_frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retention_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = created_at_column()

    wards: Mapped[list[Ward]] = relationship(
        back_populates="round", order_by="Ward.position", cascade="all, delete-orphan"
    )
    themes: Mapped[list[Theme]] = relationship(
        back_populates="round", order_by="Theme.position", cascade="all, delete-orphan"
    )
    sub_pots: Mapped[list[SubPot]] = relationship(
        back_populates="round", cascade="all, delete-orphan"
    )
    checklist: Mapped[list[EligibilityCheckItem]] = relationship(
        back_populates="round",
        order_by="EligibilityCheckItem.position",
        cascade="all, delete-orphan",
    )


class Ward(Model):
    """An area of a round: bids are located in one, sub-pots and turnout are per ward."""

    __tablename__ = "wards"
    __table_args__ = (UniqueConstraint("round_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    population: Mapped[int | None] = mapped_column(Integer)  # for equalities comparison

    round: Mapped[Round] = relationship(back_populates="wards")


class Theme(Model):
    """A theme or priority of a round (e.g. "social isolation")."""

    __tablename__ = "themes"
    __table_args__ = (UniqueConstraint("round_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)

    round: Mapped[Round] = relationship(back_populates="themes")


class SubPot(Model):
    """Part of the pot reserved for one ward or one theme."""

    __tablename__ = "sub_pots"
    __table_args__ = (
        CheckConstraint("budget_pence > 0", name="budget_positive"),
        CheckConstraint(
            "(ward_id IS NULL) <> (theme_id IS NULL)", name="exactly_one_of_ward_or_theme"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("wards.id", ondelete="CASCADE"))
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"))
    budget_pence: Mapped[int] = mapped_column(BigInteger)

    round: Mapped[Round] = relationship(back_populates="sub_pots")


class EligiblePostcode(Model):
    """A full postcode from an uploaded list of eligible addresses (normalised, e.g. "E8 1DY")."""

    __tablename__ = "eligible_postcodes"
    __table_args__ = (UniqueConstraint("round_id", "postcode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    postcode: Mapped[str] = mapped_column(String(10))


class EligibilityCheckItem(Model):
    """One item of a round's bid eligibility checklist (e.g. "safeguarding policy in place")."""

    __tablename__ = "eligibility_check_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    guidance: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    round: Mapped[Round] = relationship(back_populates="checklist")
