"""Money typed by people, read exactly into integer pence (pure: no floats anywhere)."""

from __future__ import annotations

import re

_AMOUNT = re.compile(r"(?P<pounds>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<pence>\d{1,2}))?")


class MoneyError(ValueError):
    """Text that is not an amount of money in pounds; the message says what to type."""

    def __init__(self, message: str, *, negative: bool = False) -> None:
        super().__init__(message)
        self.negative = negative


def parse_pence(text: str) -> int:
    """Read "£50,000", "50000", "1,250.50" or "£0.5" as pence; refuse negatives and nonsense."""
    cleaned = text.strip().replace(" ", "")
    if cleaned.startswith("-") or cleaned.startswith("£-"):
        raise MoneyError("Enter an amount of £0 or more.", negative=True)
    cleaned = cleaned.removeprefix("£")
    match = _AMOUNT.fullmatch(cleaned)
    if match is None:
        raise MoneyError("Enter an amount in pounds, like £50,000 or £1,250.50.")
    pounds = int(match.group("pounds").replace(",", ""))
    pence = (match.group("pence") or "0").ljust(2, "0")
    return pounds * 100 + int(pence)


def format_pounds(pence: int) -> str:
    """Pence as a person would type them back: 5000000 → "50,000", 125050 → "1,250.50"."""
    pounds, rest = divmod(pence, 100)
    return f"{pounds:,}" if rest == 0 else f"{pounds:,}.{rest:02d}"
