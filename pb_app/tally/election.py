"""The values a count works on: projects, ballots, ballot limits and the election itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


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


POINTS_TYPES = (BallotType.CUMULATIVE, BallotType.SCORING)
# An int64 sum of weights whose magnitudes add up to less than this cannot overflow.
INT64_SAFE = 2**63


@dataclass(frozen=True, eq=False)
class BallotColumns:
    """The ballots as flat integer arrays, one entry per project named: parsed data, not merged.

    Ballot ``b`` names ``index[offsets[b]:offsets[b + 1]]``, in the order cast and with any
    repeat kept, each an index into ``ids``: the election's project ids in ballot order, then
    every other id a ballot names (ballots stored before a project was withdrawn may name it).
    Points ballots also carry ``points``, the points of each entry; other types carry ``None``.
    ``ballots`` is the very tuple these columns were built with, so an Election can tell
    whether they still describe its ballots.
    """

    ids: tuple[str, ...]
    offsets: IntArray
    index: IntArray
    points: IntArray | None
    ballots: tuple[Ballot, ...] = field(repr=False)

    @classmethod
    def build(
        cls,
        ballots: tuple[Ballot, ...],
        ids: tuple[str, ...],
        lengths: Sequence[int],
        index: Sequence[int],
        points: Sequence[int] | None,
    ) -> BallotColumns:
        """Columns from each ballot's length and the flat entries, checked against ``ballots``."""
        if len(lengths) != len(ballots) or any(
            length != len(ballot.projects) for length, ballot in zip(lengths, ballots, strict=True)
        ):
            raise ValueError("Ballot columns: the lengths do not match the ballots.")
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.array(index, dtype=np.int64)
        if flat.shape != (int(offsets[-1]),) or (
            flat.size and (int(flat.min()) < 0 or int(flat.max()) >= len(ids))
        ):
            raise ValueError("Ballot columns: the entries do not match the lengths and ids.")
        given = None
        if points is not None:
            try:
                given = np.array(points, dtype=np.int64)
            except OverflowError:
                raise ValueError("A ballot gives more points than can be counted.") from None
            if given.shape != flat.shape:
                raise ValueError("Ballot columns: points do not match the entries.")
        return cls(ids=ids, offsets=offsets, index=flat, points=given, ballots=ballots)

    @classmethod
    def from_ballots(
        cls, ballots: tuple[Ballot, ...], projects: tuple[Project, ...], ballot_type: BallotType
    ) -> BallotColumns:
        """Columns built from ballots (an Election made without the reader's)."""
        position = {project.id: i for i, project in enumerate(projects)}
        with_points = ballot_type in POINTS_TYPES
        lengths: list[int] = []
        index: list[int] = []
        points: list[int] | None = [] if with_points else None
        for ballot in ballots:
            for pid in ballot.projects:
                if pid not in position:
                    position[pid] = len(position)
            lengths.append(len(ballot.projects))
            index.extend(map(position.__getitem__, ballot.projects))
            if points is not None:
                if len(ballot.points) != len(ballot.projects):
                    raise ValueError(
                        f"Voter {ballot.voter_id!r} names {len(ballot.projects)} projects but "
                        f"gives {len(ballot.points)} points."
                    )
                points.extend(ballot.points)
        return cls.build(ballots, tuple(position), lengths, index, points)

    def describes(
        self, ballots: tuple[Ballot, ...], projects: tuple[Project, ...], ballot_type: BallotType
    ) -> bool:
        """Whether these are the columns of exactly these ballots, projects and ballot type."""
        return (
            self.ballots is ballots
            and len(self.ids) >= len(projects)
            and all(pid == project.id for pid, project in zip(self.ids, projects, strict=False))
            and (self.points is not None) == (ballot_type in POINTS_TYPES)
        )

    def support(self) -> IntArray:
        """Ballots naming each id, a ballot counted once however often it names it."""
        index = self.index
        lengths = np.diff(self.offsets)
        if index.size and int(lengths.max()) > 1:
            # Only a ballot with two entries or more can repeat one: sort (ballot, id) keys and
            # keep the first of each run.
            rows = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)
            keys = np.sort(rows * len(self.ids) + index)
            first = np.empty(keys.size, dtype=bool)
            first[0] = True
            np.not_equal(keys[1:], keys[:-1], out=first[1:])
            if not first.all():
                index = keys[first] % len(self.ids)
        return np.bincount(index, minlength=len(self.ids))

    def totals(self, weights: IntArray) -> list[int]:
        """Σ of each entry's weight per id, exactly (``weights`` is one int64 per entry)."""
        largest = max(-int(weights.min()), int(weights.max())) if weights.size else 0
        if largest * weights.size < INT64_SAFE:
            # No partial sum can exceed the sum of all magnitudes, so int64 cannot overflow.
            sums = np.zeros(len(self.ids), dtype=np.int64)
            np.add.at(sums, self.index, weights)
            return [int(total) for total in sums.tolist()]
        exact = [0] * len(self.ids)
        for i, weight in zip(self.index.tolist(), weights.tolist(), strict=True):
            exact[i] += weight
        return exact


@dataclass(frozen=True, eq=False)
class MergedBallots:
    """Identical ballots merged, in the order first cast, with how many voters cast each.

    Merged ballot ``m`` names ``index[offsets[m]:offsets[m + 1]]`` with ``values`` beside
    them, and ``weight[m]`` voters cast it.
    """

    weight: IntArray
    offsets: IntArray
    index: IntArray
    values: IntArray


# Keys below this many times the number of ballots are ranked by a table of every key, not
# by sorting (see _ranks).
DENSE_KEYS = 8


def _ranks(keys: IntArray, bound: int) -> tuple[IntArray, int]:
    """Each key's rank among the distinct ``keys`` (all below ``bound``); how many are distinct."""
    if bound <= DENSE_KEYS * keys.size + 1024:
        seen = np.zeros(bound, dtype=bool)
        seen[keys] = True
        rank_of = np.cumsum(seen) - 1
        return rank_of[keys], int(rank_of[-1]) + 1
    order = np.argsort(keys)
    ordered = keys[order]
    new = np.empty(ordered.size, dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    ranks = np.empty(keys.size, dtype=np.int64)
    ranks[order] = np.cumsum(new) - 1
    return ranks, int(new.sum())


def merge_identical(
    rows: IntArray, index: IntArray, values: IntArray, ballots: int
) -> MergedBallots:
    """Merge the ballots ``0 … ballots − 1`` that have the very same (index, value) entries.

    Entries are sorted by ballot, then index, with each index once per ballot. Ballots of one
    length are compared as one int64 key each where a mixed-radix number fits, else byte-wise.
    """
    lengths = np.bincount(rows, minlength=ballots)
    offsets = np.zeros(ballots + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    low = int(values.min()) if values.size else 0
    span = (int(values.max()) - low + 1) if values.size else 1
    radix = (int(index.max()) + 1 if index.size else 1) * span
    # One number per entry when (index, value) pairs fit one int64, else the pair itself.
    entry = index * span + (values - low) if radix < INT64_SAFE else None
    group = np.empty(ballots, dtype=np.int64)
    distinct = 0
    for length in np.flatnonzero(np.bincount(lengths)).tolist():
        members = np.flatnonzero(lengths == length)
        at = offsets[members][:, None] + np.arange(length, dtype=np.int64)
        if length == 0:
            ranks, found = np.zeros(members.size, dtype=np.int64), 1
        elif entry is not None and radix**length < INT64_SAFE:
            numbers = entry[at] @ (radix ** np.arange(length - 1, -1, -1, dtype=np.int64))
            ranks, found = _ranks(numbers, radix**length)
        else:
            table = np.ascontiguousarray(
                entry[at] if entry is not None else np.hstack((index[at], values[at]))
            )
            keys = table.view(np.dtype((np.void, table.itemsize * table.shape[1]))).ravel()
            unique, ranks = np.unique(keys, return_inverse=True)
            found = unique.size
        group[members] = distinct + ranks
        distinct += found
    # Number the merged ballots in the order they were first cast.
    first = np.full(distinct, ballots, dtype=np.int64)
    np.minimum.at(first, group, np.arange(ballots, dtype=np.int64))
    order = np.argsort(first)
    renumber = np.empty(distinct, dtype=np.int64)
    renumber[order] = np.arange(distinct, dtype=np.int64)
    weight = np.bincount(renumber[group], minlength=distinct)
    kept = first[order]
    kept_lengths = lengths[kept]
    merged_offsets = np.zeros(distinct + 1, dtype=np.int64)
    np.cumsum(kept_lengths, out=merged_offsets[1:])
    take = np.repeat(offsets[kept] - merged_offsets[:-1], kept_lengths) + np.arange(
        int(merged_offsets[-1]), dtype=np.int64
    )
    return MergedBallots(weight, merged_offsets, index[take], values[take])


# The columns of no ballot and no project: the default of Election.columns, built again by any
# Election they do not describe.
NO_COLUMNS = BallotColumns.build((), (), (), (), None)


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
    # The ballots as arrays. The reader passes the ones it built while parsing, and
    # ``replace`` carries them over; any that do not describe these very ballots and projects
    # (none given, or ``replace(election, ballots=…)``) are built from ``ballots`` here.
    columns: BallotColumns = field(default=NO_COLUMNS, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.columns.describes(self.ballots, self.projects, self.ballot_type):
            columns = BallotColumns.from_ballots(self.ballots, self.projects, self.ballot_type)
            object.__setattr__(self, "columns", columns)

    def project(self, project_id: str) -> Project:
        """Return the project with this id (KeyError if there is none)."""
        for project in self.projects:
            if project.id == project_id:
                return project
        raise KeyError(project_id)
