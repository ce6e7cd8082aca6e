"""Checking one ballot against a round's projects and limits, in words a voter understands.

Every message is built from the ``MESSAGES`` table below and nowhere else, so a later
Flask-Babel pass can translate the templates in one place; ``Problem.code`` is the stable key.
A ``code:one`` entry is the singular form used when the limit is 1 (ngettext's pair, later).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pb_app.tally.election import Ballot, BallotType, Limits, Project
from pb_app.tally.outcome import format_money

MESSAGES: Mapping[str, str] = {
    "unknown-project": "One of your choices ({pid}) is not a project in this round.",
    "duplicate-project": "You have chosen '{name}' more than once; choose it once.",
    "duplicate-rank": "You have ranked '{name}' more than once; rank each project once.",
    "duplicate-score": "You have scored '{name}' more than once; score each project once.",
    "choose-one-none": "Choose one project.",
    "choose-one-many": "Choose only one project; you have chosen {count}.",
    "too-few": "Choose at least {limit} projects; you have chosen {count}.",
    "too-few:one": "Choose at least 1 project; you have chosen none.",
    "too-many": "Choose at most {limit} projects; you have chosen {count}.",
    "too-many:one": "Choose at most 1 project; you have chosen {count}.",
    "rank-too-few": "Rank at least {limit} projects; you have ranked {count}.",
    "rank-too-few:one": "Rank at least 1 project; you have ranked none.",
    "rank-too-many": "Rank at most {limit} projects; you have ranked {count}.",
    "rank-too-many:one": "Rank at most 1 project; you have ranked {count}.",
    "cost-too-high": (
        "You have chosen {total} of projects; the limit is {limit}. Remove {difference} or more."
    ),
    "cost-too-low": (
        "You have chosen {total} of projects; choose at least {limit}. Add {difference} or more."
    ),
    "points-not-allowed": "This ballot does not take points or scores; just choose projects.",
    "points-mismatch": (
        "Your ballot lists {projects} projects but {points} numbers of points; "
        "give each chosen project one number."
    ),
    "points-not-whole": "Give '{name}' a whole number of points; '{points}' is not one.",
    "points-not-positive": "Give '{name}' at least 1 point, or leave it out; you gave {points}.",
    "points-too-few": "Give '{name}' at least {limit} points; you gave {points}.",
    "points-too-many": "Give '{name}' at most {limit} points; you gave {points}.",
    "points-too-many:one": "Give '{name}' at most 1 point; you gave {points}.",
    "sum-too-high": (
        "You have given {total} points; the limit is {limit}. Remove {difference} or more."
    ),
    "sum-too-low": (
        "You have given {total} points; give at least {limit}. Add {difference} or more."
    ),
    "score-not-whole": "Give '{name}' a whole-number score; '{points}' is not one.",
    "score-out-of-range": "Give '{name}' a score from {low} to {high}; you gave {points}.",
    "score-too-low": "Give '{name}' a score of at least {low}; you gave {points}.",
    "score-missing": "Give every project a score from {low} to {high}: '{name}' has no score.",
    "score-missing-open": "Give every project a score: '{name}' has no score.",
    "own-bid-score": "You cannot score '{name}' because it is your own group's bid.",
    "own-bid": "You cannot vote for '{name}' because it is your own group's bid.",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a ballot: a stable ``code``, a message for the voter, the project."""

    code: str
    message: str
    project_id: str | None = None


def _problem(code: str, project_id: str | None = None, **params: object) -> Problem:
    template = MESSAGES[code]
    if params.get("limit") == 1:
        template = MESSAGES.get(f"{code}:one", template)
    return Problem(code, template.format(**params), project_id)


def _is_whole(value: Any) -> bool:
    # bool is an int subclass, but True is not a number of points a voter typed.
    return isinstance(value, int) and not isinstance(value, bool)


def validate_ballot(
    ballot_type: BallotType,
    ballot: Ballot,
    projects: Sequence[Project],
    limits: Limits,
    *,
    excluded: Collection[str] = (),
    unit: int = 100,
    currency: str = "GBP",
) -> list[Problem]:
    """Return every problem with this ballot (an empty list when it may be stored)."""
    by_id = {project.id: project for project in projects}
    excluded = frozenset(excluded)

    def name(pid: str) -> str:
        project = by_id.get(pid)
        return project.name if project is not None and project.name else pid

    problems: list[Problem] = []
    chosen: list[str] = []  # known project ids, each once, in ballot order
    counts = Counter(ballot.projects)
    for pid in dict.fromkeys(ballot.projects):
        if pid not in by_id:
            problems.append(_problem("unknown-project", pid, pid=pid))
            continue
        chosen.append(pid)
        if counts[pid] > 1:
            code = {
                BallotType.ORDINAL: "duplicate-rank",
                BallotType.SCORING: "duplicate-score",
            }.get(ballot_type, "duplicate-project")
            problems.append(_problem(code, pid, name=name(pid)))
        if pid in excluded:
            code = "own-bid-score" if ballot_type is BallotType.SCORING else "own-bid"
            problems.append(_problem(code, pid, name=name(pid)))

    takes_points = ballot_type in (BallotType.CUMULATIVE, BallotType.SCORING)
    if ballot.points and not takes_points:
        problems.append(_problem("points-not-allowed"))
    if ballot_type is BallotType.CHOOSE_ONE:
        if not ballot.projects:
            problems.append(_problem("choose-one-none"))
        elif len(chosen) > 1:
            problems.append(_problem("choose-one-many", count=len(chosen)))
        return problems

    if ballot_type is not BallotType.SCORING:
        problems.extend(_length_problems(ballot_type, len(chosen), limits))
    if ballot_type is BallotType.APPROVAL:
        total = sum(by_id[pid].cost for pid in chosen)
        problems.extend(_cost_problems(total, limits, unit, currency))
    elif ballot_type is BallotType.CUMULATIVE:
        problems.extend(_points_problems(ballot, by_id, limits, name))
    elif ballot_type is BallotType.SCORING:
        problems.extend(_score_problems(ballot, projects, limits, excluded, name))
    return problems


def _length_problems(ballot_type: BallotType, count: int, limits: Limits) -> list[Problem]:
    ranked = ballot_type is BallotType.ORDINAL
    problems = []
    if limits.min_length is not None and count < limits.min_length:
        code = "rank-too-few" if ranked else "too-few"
        problems.append(_problem(code, limit=limits.min_length, count=count))
    if limits.max_length is not None and count > limits.max_length:
        code = "rank-too-many" if ranked else "too-many"
        problems.append(_problem(code, limit=limits.max_length, count=count))
    return problems


def _cost_problems(total: int, limits: Limits, unit: int, currency: str) -> list[Problem]:
    def money(amount: int) -> str:
        return format_money(amount, unit, currency)

    problems = []
    if limits.max_sum_cost is not None and total > limits.max_sum_cost:
        problems.append(
            _problem(
                "cost-too-high",
                total=money(total),
                limit=money(limits.max_sum_cost),
                difference=money(total - limits.max_sum_cost),
            )
        )
    if limits.min_sum_cost is not None and total < limits.min_sum_cost:
        problems.append(
            _problem(
                "cost-too-low",
                total=money(total),
                limit=money(limits.min_sum_cost),
                difference=money(limits.min_sum_cost - total),
            )
        )
    return problems


def _aligned_points(ballot: Ballot) -> Problem | None:
    if len(ballot.points) != len(ballot.projects):
        return _problem("points-mismatch", projects=len(ballot.projects), points=len(ballot.points))
    return None


def _points_problems(
    ballot: Ballot, by_id: Mapping[str, Project], limits: Limits, name: Callable[[str], str]
) -> list[Problem]:
    mismatch = _aligned_points(ballot)
    if mismatch is not None:
        return [mismatch]
    problems = []
    total = 0
    seen: set[str] = set()
    for pid, points in zip(ballot.projects, ballot.points, strict=True):
        if pid not in by_id or pid in seen:
            continue  # already reported as unknown or repeated
        seen.add(pid)
        if not _is_whole(points):
            problems.append(_problem("points-not-whole", pid, name=name(pid), points=points))
            continue
        total += points
        if points < 1:
            problems.append(_problem("points-not-positive", pid, name=name(pid), points=points))
        elif limits.min_points is not None and points < limits.min_points:
            problems.append(
                _problem(
                    "points-too-few", pid, name=name(pid), limit=limits.min_points, points=points
                )
            )
        if limits.max_points is not None and points > limits.max_points:
            problems.append(
                _problem(
                    "points-too-many", pid, name=name(pid), limit=limits.max_points, points=points
                )
            )
    if limits.max_sum_points is not None and total > limits.max_sum_points:
        problems.append(
            _problem(
                "sum-too-high",
                total=total,
                limit=limits.max_sum_points,
                difference=total - limits.max_sum_points,
            )
        )
    if limits.min_sum_points is not None and total < limits.min_sum_points:
        problems.append(
            _problem(
                "sum-too-low",
                total=total,
                limit=limits.min_sum_points,
                difference=limits.min_sum_points - total,
            )
        )
    return problems


def _score_problems(
    ballot: Ballot,
    projects: Sequence[Project],
    limits: Limits,
    excluded: Collection[str],
    name: Callable[[str], str],
) -> list[Problem]:
    mismatch = _aligned_points(ballot)
    if mismatch is not None:
        return [mismatch]
    # Without a declared minimum a score is at least 0: a negative score is never meant.
    low = limits.min_points if limits.min_points is not None else 0
    high = limits.max_points
    scores = dict(zip(ballot.projects, ballot.points, strict=True))
    problems = []
    for project in projects:
        pid = project.id
        if pid in excluded:
            continue  # a score there is already refused as the voter's own bid
        if pid not in scores:
            if limits.default_score is None:
                if high is None:
                    problems.append(_problem("score-missing-open", pid, name=name(pid)))
                else:
                    problems.append(
                        _problem("score-missing", pid, name=name(pid), low=low, high=high)
                    )
            continue
        points = scores[pid]
        if not _is_whole(points):
            problems.append(_problem("score-not-whole", pid, name=name(pid), points=points))
        elif high is not None and not low <= points <= high:
            problems.append(
                _problem(
                    "score-out-of-range", pid, name=name(pid), low=low, high=high, points=points
                )
            )
        elif points < low:
            problems.append(_problem("score-too-low", pid, name=name(pid), low=low, points=points))
    return problems


def normalise_ballot(
    ballot_type: BallotType,
    ballot: Ballot,
    limits: Limits,
    projects: Sequence[Project],
    *,
    excluded: Collection[str] = (),
) -> Ballot:
    """The canonical form of a valid ballot for storage and hashing (see the module tests)."""
    if ballot_type in (BallotType.APPROVAL, BallotType.CHOOSE_ONE):
        return replace(ballot, projects=tuple(sorted(set(ballot.projects))), points=())
    if ballot_type is BallotType.ORDINAL:
        return replace(ballot, points=())
    scores = dict(zip(ballot.projects, ballot.points, strict=True))
    if ballot_type is BallotType.SCORING and limits.default_score is not None:
        for project in projects:
            # The voter's own group's bids stay unscored: a default there would be a vote.
            if project.id not in scores and project.id not in excluded:
                scores[project.id] = limits.default_score
    ordered = sorted(scores)
    return replace(ballot, projects=tuple(ordered), points=tuple(scores[pid] for pid in ordered))
