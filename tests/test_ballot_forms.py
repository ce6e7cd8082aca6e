"""The pure helpers behind the ballot pages: form fields ↔ tally ballots, running totals."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pb_app import ballot_forms
from pb_app.ballot_forms import EntryProblem, RunningTotal
from pb_app.tally.election import Ballot


@dataclass(frozen=True)
class Card:
    ref: str
    cost_pence: int


CARDS = [Card("A", 100_000), Card("B", 250_050), Card("C", 50_000)]


@pytest.mark.parametrize("kind", ["knapsack", "approval", "choose-1"])
def test_ticked_projects_become_the_ballot(kind: str) -> None:
    draft = ballot_forms.ballot_from_form(kind, {"project": ["A", " C ", ""]}, CARDS)
    assert draft.ballot == Ballot(projects=("A", "C"))
    assert draft.entry_problems == ()


def test_ranks_skip_empty_choices_and_keep_repeats_for_validation() -> None:
    values = {"rank-1": ["B"], "rank-2": [""], "rank-3": ["B"], "rank-4": ["A"]}
    draft = ballot_forms.ballot_from_form("ordinal", values, CARDS, ranks=3)
    assert draft.ballot.projects == ("B", "B")


def test_points_ignore_empty_and_zero_and_report_text_that_is_not_a_number() -> None:
    values = {"points-A": ["3"], "points-B": ["0"], "points-C": ["2.5"]}
    draft = ballot_forms.ballot_from_form("cumulative", values, CARDS)
    assert draft.ballot == Ballot(projects=("A",), points=(3,))
    assert draft.entry_problems == (EntryProblem("points-not-number", "C", "2.5"),)


def test_scores_keep_zero_and_negative_numbers_for_validation() -> None:
    values = {"score-A": ["0"], "score-B": ["-2"], "score-C": ["9999999999"]}
    draft = ballot_forms.ballot_from_form("scoring", values, CARDS)
    assert draft.ballot == Ballot(projects=("A", "B"), points=(0, -2))
    assert draft.entry_problems == (EntryProblem("score-not-number", "C", "9999999999"),)


@pytest.mark.parametrize(
    ("kind", "ballot"),
    [
        ("knapsack", Ballot(projects=("A", "B"))),
        ("choose-1", Ballot(projects=("C",))),
        ("ordinal", Ballot(projects=("C", "A"))),
        ("scoring", Ballot(projects=("A", "B", "C"), points=(1, 5, 3))),
        ("cumulative", Ballot(projects=("B",), points=(7,))),
    ],
)
def test_form_from_ballot_round_trips(kind: str, ballot: Ballot) -> None:
    values = ballot_forms.form_from_ballot(kind, ballot)
    again = ballot_forms.ballot_from_form(kind, values, CARDS, ranks=3).ballot
    if kind in ("scoring", "cumulative"):
        assert dict(zip(again.projects, again.points, strict=True)) == dict(
            zip(ballot.projects, ballot.points, strict=True)
        )
    else:
        assert again == ballot


def test_running_total_counts_each_known_project_once() -> None:
    total = ballot_forms.running_total(Ballot(projects=("A", "B", "A", "X")), CARDS)
    assert total == RunningTotal(count=2, cost_pence=350_050, points=0)
    assert total.left(500_000) == 149_950
    assert total.left(300_000) == -50_050
    assert total.left(None) is None


def test_running_total_adds_points() -> None:
    total = ballot_forms.running_total(Ballot(projects=("A", "C"), points=(4, 3)), CARDS)
    assert total.points == 7
    assert total.points_left(10) == 3


@pytest.mark.parametrize(
    ("max_length", "choosable", "expected"), [(3, 10, 3), (None, 4, 4), (5, 2, 2), (None, 0, 1)]
)
def test_rank_positions(max_length: int | None, choosable: int, expected: int) -> None:
    assert ballot_forms.rank_positions(max_length, choosable) == expected


def test_score_scale_defaults_to_one_to_five() -> None:
    assert ballot_forms.score_scale(None, None) == [1, 2, 3, 4, 5]
    assert ballot_forms.score_scale(0, 3) == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "data",
    [
        None,
        "x",
        {"projects": "A"},
        {"projects": [1], "points": []},
        {"projects": [], "points": [True]},
    ],
)
def test_damaged_session_ballot_is_ignored(data: object) -> None:
    assert ballot_forms.ballot_from_session(data) is None


def test_session_round_trip() -> None:
    ballot = Ballot(projects=("A", "B"), points=(2, 3))
    assert ballot_forms.ballot_from_session(ballot_forms.ballot_to_session(ballot)) == ballot


def test_field_ids_link_errors_to_the_project_or_first_field() -> None:
    field_for = ballot_forms.field_ids("knapsack", CARDS, 0)
    assert field_for("B") == "project-1"
    assert field_for(None) == "project-0"
    assert field_for("X") == "project-0"
    assert ballot_forms.field_ids("ordinal", CARDS, 3)("B") == "rank-1"
