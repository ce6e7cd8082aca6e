"""An outcome for machines (JSON-ready dict) and for people (plain text)."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from pb_app.tally.election import BallotType, Election
from pb_app.tally.greedy import project_scores
from pb_app.tally.outcome import Outcome, Step, Value, format_money
from pb_app.tally.tiebreak import support_counts

JsonDict = dict[str, Any]


def _put(target: JsonDict, key: str, value: Value) -> None:
    """Store ``value``; a Fraction becomes ``"p/q"`` plus ``<key>_float`` for reading only."""
    if isinstance(value, Fraction):
        target[key] = f"{value.numerator}/{value.denominator}"
        target[f"{key}_float"] = float(value)
    else:
        target[key] = value


def _values(mapping: Mapping[str, Value]) -> JsonDict:
    out: JsonDict = {}
    for key, value in mapping.items():
        _put(out, key, value)
    return out


def _step(step: Step) -> JsonDict:
    out: JsonDict = {
        "number": step.number,
        "project_id": step.project_id,
        "decision": step.decision.value,
        "phase": step.phase,
    }
    _put(out, "support", step.support)
    out["money_before"] = step.money_before
    out["money_after"] = step.money_after
    out["detail"] = _values(step.detail)
    return out


def _has_score(election: Election) -> bool:
    return election.ballot_type not in (BallotType.APPROVAL, BallotType.CHOOSE_ONE)


def outcome_to_json(outcome: Outcome, election: Election) -> JsonDict:
    """The outcome as a JSON-ready dict: money in minor units, every step, every project."""
    votes = support_counts(election)
    scores = project_scores(election) if _has_score(election) else None

    def money(amount: int) -> str:
        return format_money(amount, outcome.unit, outcome.currency)

    projects = []
    for project in election.projects:
        reason = outcome.reasons.get(project.id)
        projects.append(
            {
                "id": project.id,
                "name": project.name,
                "cost": project.cost,
                "cost_text": money(project.cost),
                "funded": project.id in outcome.selected,
                "votes": votes[project.id],
                "score": scores[project.id] if scores is not None else None,
                "step": reason.step if reason else None,
                "reason": reason.code if reason else None,
                "reason_text": reason.text if reason else None,
                "params": _values(reason.params) if reason else {},
            }
        )
    return {
        "rule": outcome.rule,
        "selected": list(outcome.selected),
        "budget": outcome.budget,
        "spent": outcome.spent,
        "leftover": outcome.leftover,
        "unit": outcome.unit,
        "currency": outcome.currency,
        "budget_text": money(outcome.budget),
        "spent_text": money(outcome.spent),
        "leftover_text": money(outcome.leftover),
        "notes": list(outcome.notes),
        "steps": [_step(step) for step in outcome.steps],
        "projects": projects,
    }


def outcome_to_text(outcome: Outcome, election: Election) -> str:
    """The outcome for people: funded projects in order, the money, then every explanation."""
    votes = support_counts(election)
    scores = project_scores(election) if _has_score(election) else None

    def money(amount: int) -> str:
        return format_money(amount, outcome.unit, outcome.currency)

    def label(project_id: str) -> str:
        name = election.project(project_id).name
        return f"{project_id} {name}" if name else project_id

    lines = [f"Rule: {outcome.rule}", f"Budget: {money(outcome.budget)}", ""]
    lines.append(f"Funded projects ({len(outcome.selected)}), in order of selection:")
    for position, project_id in enumerate(outcome.selected, start=1):
        count = votes[project_id]
        support = f"{count:,} vote" + ("" if count == 1 else "s")
        if scores is not None:
            support += f", score {scores[project_id]:,}"
        cost = money(election.project(project_id).cost)
        lines.append(f"  {position}. {label(project_id)} — {cost}; {support}")
    if not outcome.selected:
        lines.append("  (none)")
    lines += [
        "",
        f"Spent: {money(outcome.spent)} of {money(outcome.budget)}; "
        f"left over: {money(outcome.leftover)}.",
    ]
    if outcome.notes:
        lines += ["", "Notes:", *(f"  {note}" for note in outcome.notes)]
    lines += ["", "Why each project was or was not funded:"]
    for project in election.projects:
        reason = outcome.reasons.get(project.id)
        text = reason.text if reason else "No explanation was given."
        lines.append(f"  {label(project.id)}: {text}")
    return "\n".join(lines) + "\n"
