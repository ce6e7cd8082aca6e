"""The values a count works on: projects, ballots, ballot limits and the election itself."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from operator import attrgetter


class BallotType(StrEnum):
    """The ballot types of tally.md §1, named as in pabulib's ``vote_type``."""

    APPROVAL = "approval"
    CHOOSE_ONE = "choose-1"
    ORDINAL = "ordinal"
    CUMULATIVE = "cumulative"
    SCORING = "scoring"


@dataclass(frozen=True, slots=True)
class Project:
    """A project on the ballot; ``cost`` is in the election's minor units and positive."""

    id: str
    cost: int
    name: str = ""
    district: str = ""
    categories: tuple[str, ...] = ()
    # Every other pabulib PROJECTS column, kept verbatim so a file round-trips.
    extra: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Ballot:
    """One voter's ballot.

    ``projects`` holds project ids: a set for approval and choose-1 (order kept as cast),
    best first for ordinal, and the scored projects for cumulative and scoring, with
    ``points[i]`` the points given to ``projects[i]``.
    """

    projects: tuple[str, ...]
    points: tuple[int, ...] = ()
    voter_id: str = ""
    # Every other pabulib VOTES column (age, sex, voting_method…), kept verbatim.
    extra: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits a round sets on a ballot (tally.md §1); ``None`` means no limit."""

    min_length: int | None = None
    max_length: int | None = None
    min_sum_cost: int | None = None
    max_sum_cost: int | None = None
    min_points: int | None = None
    max_points: int | None = None
    min_sum_points: int | None = None
    max_sum_points: int | None = None
    # Scoring ballots: the score of a project a voter left unscored (None: unscored is an error).
    default_score: int | None = None


@dataclass(frozen=True)
class Election:
    """Everything a count needs: the pot, the projects in ballot order and the ballots.

    Money is integer: ``budget`` and every cost are in minor units, ``unit`` of them make one
    unit of ``currency`` (100 for pence; 1 for most pabulib files; 100 for a file whose budget
    has two decimals). ``meta`` keeps every pabulib META pair as read so a file round-trips.
    """

    ballot_type: BallotType
    budget: int
    projects: tuple[Project, ...]
    ballots: tuple[Ballot, ...]
    limits: Limits = field(default_factory=Limits)
    unit: int = 1
    currency: str = ""
    meta: tuple[tuple[str, str], ...] = ()

    @cached_property
    def distinct_ballots(self) -> list[tuple[tuple[str, ...], tuple[int, ...], int]]:
        """Each distinct ballot as ``(projects, points, how many voters cast it)``, worked out once.

        Counting works on these, not on every voter's ballot: real elections repeat ballots a
        lot (78,082 Wrocław voters cast 52 different ones), and the ``Counter`` runs in C.
        Ballot types without points are keyed on their projects alone.
        """
        ballots = self.ballots
        projects = map(attrgetter("projects"), ballots)
        if self.ballot_type in (BallotType.CUMULATIVE, BallotType.SCORING):
            pairs = Counter(zip(projects, map(attrgetter("points"), ballots), strict=True))
            return [(chosen, points, count) for (chosen, points), count in pairs.items()]
        return [(chosen, (), count) for chosen, count in Counter(projects).items()]

    def project(self, project_id: str) -> Project:
        """Return the project with this id (KeyError if there is none)."""
        for project in self.projects:
            if project.id == project_id:
                return project
        raise KeyError(project_id)


def distinct_ballots(election: Election) -> list[tuple[tuple[str, ...], tuple[int, ...], int]]:
    """Each distinct ballot of ``election`` with its number of voters (see Election)."""
    return election.distinct_ballots
