"""Turning a ballot page's form fields into a tally ``Ballot``, and back; the running total.

Pure: no Flask, no database. Field names per ballot kind:

- knapsack, approval, choose-1: ``project`` (one value per ticked or chosen project ref);
- ordinal: ``rank-1`` … ``rank-N`` (a project ref, or empty);
- scoring: ``score-<ref>``; cumulative: ``points-<ref>`` (whole numbers as typed).

Limits are checked by ``pb_app.tally.ballots.validate_ballot``; this module reports only what
cannot become a ``Ballot`` at all (a score or number of points that is not a number).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from pb_app.tally.election import Ballot

CHOICE_KINDS = frozenset({"knapsack", "approval", "choose-1"})


class Card(Protocol):
    """What this module needs of a project on the ballot."""

    @property
    def ref(self) -> str:
        """The project's public id."""

    @property
    def cost_pence(self) -> int:
        """What the project costs, in pence."""


# A form's fields: name → every value sent under that name (werkzeug's MultiDict.getlist).
FormValues = Mapping[str, list[str]]


@dataclass(frozen=True)
class EntryProblem:
    """A field whose text is not a whole number (``code``: points-not-number, score-not-number)."""

    code: str
    ref: str
    value: str


@dataclass(frozen=True)
class Draft:
    """A ballot read from a form, with the entries that could not be read."""

    ballot: Ballot
    entry_problems: tuple[EntryProblem, ...] = ()


@dataclass(frozen=True)
class RunningTotal:
    """What a ballot adds up to so far: projects chosen, their cost, the points given."""

    count: int
    cost_pence: int
    points: int

    def left(self, limit: int | None) -> int | None:
        """What is left under ``limit`` (negative when over it), or None without a limit."""
        return None if limit is None else limit - self.cost_pence

    def points_left(self, limit: int | None) -> int | None:
        """Points left under ``limit`` (negative when over it), or None without a limit."""
        return None if limit is None else limit - self.points


def _whole(text: str) -> int | None:
    text = text.strip()
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    # Up to 9 digits: a typed 10**100 must not become a number a database cannot hold.
    if not digits.isascii() or not digits.isdigit() or len(digits) > 9:
        return None
    return sign * int(digits)


def _first(values: FormValues, name: str) -> str:
    found = values.get(name) or [""]
    return found[0].strip()


def ballot_from_form(
    kind: str, values: FormValues, cards: Sequence[Card], *, ranks: int = 0
) -> Draft:
    """Read the ballot a voter filled in (unknown refs are kept, for validation to report)."""
    if kind in CHOICE_KINDS:
        chosen = [value.strip() for value in values.get("project", []) if value.strip()]
        return Draft(Ballot(projects=tuple(chosen)))
    if kind == "ordinal":
        ranked = [_first(values, f"rank-{position}") for position in range(1, ranks + 1)]
        return Draft(Ballot(projects=tuple(ref for ref in ranked if ref)))
    prefix, code = (
        ("score-", "score-not-number") if kind == "scoring" else ("points-", "points-not-number")
    )
    projects: list[str] = []
    points: list[int] = []
    problems: list[EntryProblem] = []
    for card in cards:
        text = _first(values, prefix + card.ref)
        if not text:
            continue
        number = _whole(text)
        if number is None:
            problems.append(EntryProblem(code, card.ref, text))
        elif kind == "cumulative" and number == 0:
            continue  # 0 points means "not this one", as leaving the box empty does
        else:
            projects.append(card.ref)
            points.append(number)
    return Draft(Ballot(projects=tuple(projects), points=tuple(points)), tuple(problems))


def form_from_ballot(kind: str, ballot: Ballot) -> dict[str, list[str]]:
    """The form fields that show ``ballot`` again (for "Change" from the check-answers page)."""
    if kind in CHOICE_KINDS:
        return {"project": list(ballot.projects)}
    if kind == "ordinal":
        return {f"rank-{i}": [ref] for i, ref in enumerate(ballot.projects, 1)}
    prefix = "score-" if kind == "scoring" else "points-"
    return {prefix + ref: [str(p)] for ref, p in zip(ballot.projects, ballot.points, strict=True)}


def running_total(ballot: Ballot, cards: Iterable[Card]) -> RunningTotal:
    """Count the chosen projects (each once), add up their cost and the points given."""
    costs = {card.ref: card.cost_pence for card in cards}
    chosen = [ref for ref in dict.fromkeys(ballot.projects) if ref in costs]
    return RunningTotal(
        count=len(chosen),
        cost_pence=sum(costs[ref] for ref in chosen),
        points=sum(ballot.points),
    )


def rank_positions(max_length: int | None, choosable: int) -> int:
    """How many "choice" drop-downs an ordinal ballot shows: top N, or every project."""
    return max(1, min(max_length or choosable, choosable))


def score_scale(min_points: int | None, max_points: int | None) -> list[int]:
    """The scores a scoring ballot offers, low to high (1 to 5 when the round sets none)."""
    low = 1 if min_points is None else min_points
    high = 5 if max_points is None else max_points
    return list(range(low, max(low, high) + 1))


def ballot_to_session(ballot: Ballot) -> dict[str, list[str] | list[int]]:
    """A ballot as plain JSON-able data, to keep in the session until it is cast."""
    return {"projects": list(ballot.projects), "points": list(ballot.points)}


def ballot_from_session(data: object) -> Ballot | None:
    """The ballot kept by ``ballot_to_session``, or None if there is none or it is damaged."""
    if not isinstance(data, dict):
        return None
    projects, points = data.get("projects"), data.get("points")
    if not isinstance(projects, list) or not isinstance(points, list):
        return None
    if not all(isinstance(p, str) for p in projects) or not all(
        isinstance(p, int) and not isinstance(p, bool) for p in points
    ):
        return None
    return Ballot(projects=tuple(projects), points=tuple(points))


def field_ids(kind: str, cards: Sequence[Card], ranks: int) -> Callable[[str | None], str]:
    """A function giving the id of the field an error about a project should link to."""
    index = {card.ref: i for i, card in enumerate(cards)}

    def field_for(ref: str | None) -> str:
        if kind == "ordinal" or ref is None or ref not in index:
            return (
                "rank-1"
                if kind == "ordinal"
                else (f"project-{index[cards[0].ref]}" if cards else "ballot")
            )
        return f"project-{index[ref]}"

    return field_for
