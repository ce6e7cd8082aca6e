"""What a count returns: the funded projects, every step, and a reason for every project."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction

# Values a step or reason may carry: JSON-friendly except Fraction, which json output
# renders as a string "p/q" (and a float beside it for reading, never for deciding).
Value = int | str | Fraction | bool | None


class Decision(StrEnum):
    """What a rule decided about a project at a step."""

    FUNDED = "funded"
    SKIPPED = "skipped"  # did not fit in what was left; the rule went on
    STOPPED = "stopped"  # did not fit and the rule stops there (greedy-no-skip)
    BELOW_THRESHOLD = "below-threshold"
    NO_SUPPORT = "no-support"
    NOT_AFFORDABLE = "not-affordable"  # Equal Shares: its supporters' shares could not pay
    ELIMINATED = "eliminated"  # ranked rules: lost a runoff round


@dataclass(frozen=True)
class Step:
    """One step of a rule: the project considered, the figures it was judged on, the money."""

    number: int
    project_id: str
    decision: Decision
    phase: str  # e.g. "greedy", "equal-shares", "completion", "runoff", "sub-pot Ward A"
    support: Value  # votes, score, or for Equal Shares the price rho / effective vote count
    money_before: int
    money_after: int
    detail: Mapping[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class Reason:
    """Why a project was or was not funded, as data (``code``, ``params``) and plain English."""

    code: str  # stable, e.g. "funded", "did-not-fit", "below-threshold", "supporters-short"
    text: str
    funded: bool
    step: int | None = None
    params: Mapping[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """The result of one rule on one election."""

    rule: str
    budget: int
    selected: tuple[str, ...]  # project ids in selection order
    spent: int
    steps: tuple[Step, ...]
    reasons: Mapping[str, Reason]  # one for every project of the election
    notes: tuple[str, ...] = ()  # e.g. "Add1 step: 100 units"; "tie broken by lot"
    unit: int = 1
    currency: str = ""

    @property
    def leftover(self) -> int:
        """Money not spent, in minor units."""
        return self.budget - self.spent


_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


def format_money(amount: int | Fraction, unit: int = 1, currency: str = "") -> str:
    """Format minor units for people: ``format_money(450000, 100, "GBP") == "£4,500"``."""
    symbol = _SYMBOLS.get(currency, "")
    suffix = "" if symbol or not currency else f" {currency}"
    # Exact: whole units, or hundredths rounded half up, without passing through a float.
    if isinstance(amount, int):
        # Integer arithmetic for the common case (a Fraction costs ~10 µs a call):
        # floor(amount / unit · 100 + 1/2) = (200 · amount + unit) // (2 · unit).
        if amount % unit == 0:
            return f"{symbol}{amount // unit:,}{suffix}"
        whole, hundredths = divmod((200 * amount + unit) // (2 * unit), 100)
        return f"{symbol}{whole:,}.{hundredths:02d}{suffix}"
    value = Fraction(amount) / unit
    whole, hundredths = divmod(math.floor(value * 100 + Fraction(1, 2)), 100)
    text = f"{whole:,}" if value.denominator == 1 else f"{whole:,}.{hundredths:02d}"
    return f"{symbol}{text}{suffix}"
