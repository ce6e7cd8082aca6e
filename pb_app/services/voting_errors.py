"""The named errors of casting a ballot; imported from ``pb_app.services.voting``.

They live in their own module so that ``codes`` and ``voting`` can both raise them without
importing each other.
"""

from __future__ import annotations

from datetime import datetime

from pb_app.services import ServiceError
from pb_app.tally.ballots import Problem


def channel_words(channel: str) -> str:
    """How a channel reads in a sentence: "online", "at a voting point", "on paper"."""
    return {
        "online": "online",
        "api": "online",
        "kiosk": "at a voting point",
        "paper": "on paper",
    }.get(channel, "online")


class VotingClosed(ServiceError):
    """The round is not in its voting phase; the message says when it opens or closed."""


class BallotInvalid(ServiceError):
    """The ballot breaks the round's rules; ``problems`` holds every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(" ".join(problem.message for problem in problems))
        self.problems = problems


class AlreadyVoted(ServiceError):
    """This person or code has already voted in the round (by ``channel``, on ``at``'s date)."""

    def __init__(self, channel: str, at: datetime, venue: str | None = None) -> None:
        super().__init__(
            f"You have already voted in this round ({channel_words(channel)}, on "
            f"{at.day} {at:%B %Y}). Thank you for taking part: each person can vote once."
        )
        self.channel = channel
        self.at = at
        self.venue = venue


class CodeInvalid(ServiceError):
    """The code is not a code of this round, or its batch was withdrawn."""

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message or "That code is not right. Check it against your letter or card and try again."
        )


class NotRegistered(ServiceError):
    """The voter record given is not registered in this round."""


class CodeWithdrawn(CodeInvalid):
    """The code's batch was voided (``withdrawn_at``) before the code was used."""

    def __init__(self, withdrawn_at: datetime) -> None:
        super().__init__(
            f"This code was withdrawn on {withdrawn_at.day} {withdrawn_at:%B %Y}; "
            "ask at the desk or the organisers for a new one."
        )
        self.withdrawn_at = withdrawn_at


class CodeNotBound(CodeInvalid):
    """An anonymous code in a round where every code belongs to a checked person."""

    def __init__(self) -> None:
        super().__init__(
            "In this round every code belongs to a named person, and this one does not. "
            "Ask at the desk or the organisers for help."
        )
