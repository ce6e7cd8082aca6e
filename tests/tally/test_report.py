"""Outcomes as JSON for machines and as text for people."""

from __future__ import annotations

import json
from fractions import Fraction

from pb_app.tally.election import Ballot, BallotType, Election, Project
from pb_app.tally.greedy import greedy
from pb_app.tally.report import outcome_to_json, outcome_to_text
from pb_app.tally.tiebreak import tie_break_rank

ELECTION = Election(
    ballot_type=BallotType.CUMULATIVE,
    budget=10_000,
    projects=(
        Project("a", 6000, "Allotments"),
        Project("b", 5000, "Bus shelter"),
        Project("z", 10),
    ),
    ballots=(Ballot(("a", "b"), (3, 1)), Ballot(("b",), (2,)), Ballot(("a",), (1,))),
    unit=100,
    currency="GBP",
)


def counted(order_by: str = "score") -> dict[str, object]:
    outcome = greedy(ELECTION, tie_break_rank(ELECTION), order_by=order_by)  # type: ignore[arg-type]
    return outcome_to_json(outcome, ELECTION)


def test_json_has_the_money_and_selection() -> None:
    data = counted()
    assert data["rule"] == "greedy"
    assert data["selected"] == ["a"]
    assert (data["budget"], data["spent"], data["leftover"]) == (10_000, 6000, 4000)
    assert (data["unit"], data["currency"]) == (100, "GBP")
    assert data["leftover_text"] == "£40"
    json.dumps(data)  # serialisable as it stands


def test_json_explains_every_project_with_votes_and_score() -> None:
    projects = {p["id"]: p for p in counted()["projects"]}  # type: ignore[attr-defined]
    assert list(projects) == ["a", "b", "z"]
    assert projects["a"]["votes"] == 2
    assert projects["a"]["score"] == 4
    assert projects["a"]["funded"] is True
    assert projects["b"]["reason"] == "did-not-fit"
    assert projects["b"]["params"]["money_before"] == 4000
    assert projects["z"]["reason_text"] == "Not funded: no votes."


def test_fractions_become_a_string_and_a_float_for_reading() -> None:
    steps = counted("per-cost")["steps"]
    detail = steps[0]["detail"]  # type: ignore[index]
    assert detail["votes_per_cost"] == "1/2500"  # b: 2 votes for 5000 pence
    assert detail["votes_per_cost_float"] == float(Fraction(1, 2500))


def test_text_lists_funded_projects_spend_and_explanations() -> None:
    outcome = greedy(ELECTION, tie_break_rank(ELECTION), order_by="score")
    text = outcome_to_text(outcome, ELECTION)
    assert "  1. a Allotments — £60; 2 votes, score 4\n" in text
    assert "Spent: £60 of £100; left over: £40.\n" in text
    assert "  b Bus shelter: Not funded: it needed £50 and £40 was left" in text
    assert text.index("Funded projects") < text.index("Spent:") < text.index("Why each")
