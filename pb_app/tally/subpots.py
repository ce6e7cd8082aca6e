"""Sub-pots: a round's pot split by ward or theme, each counted on its own projects (tally.md §2).

Each sub-pot is counted by the round's rule on its own projects and on every ballot restricted
to them (a ballot naming none of them is left out of that count, so a voter with no choice in a
ward takes no share of it; scoring ballots are all kept, since every voter scores every project).
Then the money the sub-pots did not spend is used in one of two declared ways:

``central``
    One central pot, ``central_budget`` plus every sub-pot's leftover, is counted last over every
    project still unfunded (from any sub-pot, and the projects in no sub-pot).

``oversubscribed``
    ``central_budget`` and the leftovers are pooled. The sub-pots whose supported projects went
    unfunded are served in order of that unmet demand (the total cost of those projects,
    largest first; equal demands in the order the pots were declared). Each recounts its unfunded
    projects with ``min(pool, its unmet demand)``; what it does not spend stays in the pool for
    the next. Earlier funding is never undone. What is left at the end is not spent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from pb_app.tally.election import Ballot, BallotType, Election
from pb_app.tally.outcome import Outcome, Reason, Step, Value, format_money
from pb_app.tally.tiebreak import support_counts

Leftover = Literal["central", "oversubscribed"]
CENTRAL = "central pot"

_STEP_NUMBER = re.compile(r"\bstep (\d+)\b")


@dataclass(frozen=True)
class SubPot:
    """A share of the pot reserved for some projects (a ward, a theme)."""

    key: str
    label: str
    budget: int
    project_ids: tuple[str, ...]


def restrict(election: Election, project_ids: Collection[str], budget: int) -> Election:
    """The election limited to these projects and budget, ballots restricted to the projects."""
    keep = set(project_ids)
    ballots: list[Ballot] = []
    for ballot in election.ballots:
        pairs = [
            (pid, ballot.points[i] if i < len(ballot.points) else None)
            for i, pid in enumerate(ballot.projects)
            if pid in keep
        ]
        if not pairs and election.ballot_type is not BallotType.SCORING:
            continue
        points = tuple(p for _, p in pairs if p is not None) if ballot.points else ()
        ballots.append(replace(ballot, projects=tuple(pid for pid, _ in pairs), points=points))
    return replace(
        election,
        budget=budget,
        projects=tuple(project for project in election.projects if project.id in keep),
        ballots=tuple(ballots),
    )


def _check(
    election: Election, pots: Sequence[SubPot], leftover: Leftover, central_budget: int
) -> None:
    known = {project.id for project in election.projects}
    owner: dict[str, str] = {}
    if len({pot.key for pot in pots}) != len(pots):
        raise ValueError("Two sub-pots have the same key.")
    for pot in pots:
        if pot.budget < 0:
            raise ValueError(f"Sub-pot {pot.label} has a negative budget.")
        for pid in pot.project_ids:
            if pid not in known:
                raise ValueError(f"Sub-pot {pot.label} names {pid!r}, which is not a project.")
            if pid in owner:
                raise ValueError(f"Project {pid!r} is in sub-pots {owner[pid]} and {pot.label}.")
            owner[pid] = pot.label
    if central_budget < 0:
        raise ValueError("The central budget cannot be negative.")
    total = sum(pot.budget for pot in pots) + central_budget
    if total != election.budget:
        raise ValueError(
            f"The sub-pots and the central budget add up to {total}, "
            f"but the round's budget is {election.budget} (minor units)."
        )
    if leftover == "oversubscribed" and known - set(owner):
        missing = ", ".join(sorted(known - set(owner)))
        raise ValueError(f"With leftovers rolled to sub-pots, every project needs one: {missing}.")


def _sentence(phase: str) -> str:
    """``"sub-pot North"`` → ``"Sub-pot North"`` (``str.capitalize`` would lower the label)."""
    return phase[:1].upper() + phase[1:]


class _Merger:
    """Collects several counts into one outcome: steps renumbered, reasons labelled by pot."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.selected: list[str] = []
        self.reasons: dict[str, Reason] = {}
        self.notes: list[str] = []
        self.rules: list[str] = []
        self.spent = 0

    def add(self, phase: str, outcome: Outcome) -> None:
        offset = max((step.number for step in self.steps), default=0)
        for step in outcome.steps:
            detail: dict[str, Value] = {**step.detail, "rule_phase": step.phase}
            self.steps.append(
                replace(step, number=step.number + offset, phase=phase, detail=detail)
            )
        self.selected.extend(outcome.selected)
        self.spent += outcome.spent
        self.rules.append(outcome.rule)
        self.notes.extend(f"{_sentence(phase)}: {note}" for note in outcome.notes)
        for pid, reason in outcome.reasons.items():
            self.reasons[pid] = self._labelled(phase, reason, offset, self.reasons.get(pid))

    @staticmethod
    def _labelled(phase: str, reason: Reason, offset: int, earlier: Reason | None) -> Reason:
        # The rule numbered its steps from 1; in the merged outcome they follow earlier pots.
        text = _STEP_NUMBER.sub(lambda m: f"step {int(m.group(1)) + offset}", reason.text)
        text = f"{_sentence(phase)}: {text}"
        params: dict[str, Value] = {**reason.params, "phase": phase}
        if earlier is not None:
            text = f"{earlier.text} {text}"
            params["earlier_code"] = earlier.code
        return replace(
            reason,
            text=text,
            step=None if reason.step is None else reason.step + offset,
            params=params,
        )


def count_with_subpots(
    election: Election,
    pots: Sequence[SubPot],
    count_one: Callable[[Election], Outcome],
    *,
    leftover: Leftover = "central",
    central_budget: int = 0,
) -> Outcome:
    """Count each sub-pot with ``count_one``, then its leftovers as declared (module docstring)."""
    _check(election, pots, leftover, central_budget)

    def money(amount: int) -> str:
        return format_money(amount, election.unit, election.currency)

    merged = _Merger()
    unfunded: dict[str, list[str]] = {}
    pool = central_budget
    for pot in pots:
        phase = f"sub-pot {pot.label}"
        outcome = count_one(restrict(election, pot.project_ids, pot.budget))
        merged.add(phase, outcome)
        funded = set(outcome.selected)
        unfunded[pot.key] = [pid for pid in pot.project_ids if pid not in funded]
        pool += pot.budget - outcome.spent
        merged.notes.append(
            f"Sub-pot {pot.label}: {money(pot.budget)}, spent {money(outcome.spent)}, "
            f"{money(pot.budget - outcome.spent)} left."
        )

    if leftover == "central":
        _count_central(election, count_one, merged, pool, central_budget, money)
    else:
        _roll_to_oversubscribed(election, pots, count_one, merged, unfunded, pool, money)

    return Outcome(
        rule=merged.rules[0] if merged.rules else "sub-pots",
        budget=election.budget,
        selected=tuple(merged.selected),
        spent=merged.spent,
        steps=tuple(merged.steps),
        reasons=merged.reasons,
        notes=tuple(merged.notes),
        unit=election.unit,
        currency=election.currency,
    )


def _count_central(
    election: Election,
    count_one: Callable[[Election], Outcome],
    merged: _Merger,
    budget: int,
    central_budget: int,
    money: Callable[[int], str],
) -> None:
    funded = set(merged.selected)
    remaining = [project.id for project in election.projects if project.id not in funded]
    merged.notes.append(
        f"Central pot: {money(central_budget)} declared and {money(budget - central_budget)} "
        f"left over by the sub-pots, {money(budget)} in all."
    )
    if remaining and budget > 0:
        merged.add(CENTRAL, count_one(restrict(election, remaining, budget)))
    for pid in remaining:
        if pid not in merged.reasons:  # in no sub-pot, and the central pot had nothing to count
            merged.reasons[pid] = Reason(
                code="no-money",
                text="Not funded: it was in no sub-pot and the central pot had no money.",
                funded=False,
                params={"phase": CENTRAL},
            )


def _roll_to_oversubscribed(
    election: Election,
    pots: Sequence[SubPot],
    count_one: Callable[[Election], Outcome],
    merged: _Merger,
    unfunded: Mapping[str, list[str]],
    pool: int,
    money: Callable[[int], str],
) -> None:
    support = support_counts(election)
    cost = {project.id: project.cost for project in election.projects}
    demand = {
        pot.key: sum(cost[pid] for pid in unfunded[pot.key] if support[pid] > 0) for pot in pots
    }
    order = sorted(
        (pot for pot in pots if demand[pot.key] > 0),
        key=lambda pot: -demand[pot.key],  # sorted is stable: equal demands keep declared order
    )
    merged.notes.append(
        f"Leftovers pooled: {money(pool)}, offered to the sub-pots by unmet demand: "
        + (", ".join(f"{pot.label} {money(demand[pot.key])}" for pot in order) or "none")
        + "."
    )
    for pot in order:
        if pool <= 0:
            break
        top_up = min(pool, demand[pot.key])
        outcome = count_one(restrict(election, unfunded[pot.key], top_up))
        merged.add(f"sub-pot {pot.label} top-up", outcome)
        pool -= outcome.spent
    merged.notes.append(f"Not spent: {money(pool)}.")
