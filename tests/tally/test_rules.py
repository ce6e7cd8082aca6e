"""The rule registry: names, pabulib names, options and dispatch."""

from __future__ import annotations

from fractions import Fraction

import pytest

from pb_app.tally.election import Ballot, BallotType, Election, Project
from pb_app.tally.rules import RULES, CountOptions, UnknownRule, count, rule_from_pabulib
from pb_app.tally.tiebreak import TieBreakError

ELECTION = Election(
    ballot_type=BallotType.APPROVAL,
    budget=100,
    projects=(Project("a", 60), Project("b", 50), Project("c", 30)),
    ballots=(Ballot(("a", "b")), Ballot(("a", "b")), Ballot(("b", "c")), Ballot(("b",))),
)


def test_rule_names_are_those_of_the_spec() -> None:
    assert RULES == (
        "greedy",
        "greedy-no-skip",
        "greedy-threshold",
        "greedy-per-cost",
        "mes",
        "mes-add1",
        "mes-add1-greedy",
        "mes-add1-comparison",
        "sequential-irv",
        "stv",
    )


@pytest.mark.parametrize(
    ("meta", "rule"),
    [
        ("greedy", "greedy"),
        ("greedy-no-skip", "greedy-no-skip"),
        ("greedy-threshold", "greedy-threshold"),
        ("equalshares", "mes"),
        ("equalshares/add1", "mes-add1"),
        ("equalshares/add1-comparison", "mes-add1-comparison"),
        ("greedy-exclusive", None),
        ("greedy-custom", None),
        ("unknown", None),
    ],
)
def test_pabulib_rule_names(meta: str, rule: str | None) -> None:
    assert rule_from_pabulib(meta) == rule


def test_unknown_rule_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownRule) as caught:
        count(ELECTION, CountOptions("borda"))
    assert str(caught.value) == f"Unknown rule 'borda'; choose one of: {', '.join(RULES)}."


@pytest.mark.parametrize(
    ("options", "selected"),
    [
        (CountOptions("greedy"), ("b", "c")),
        (CountOptions("greedy-no-skip"), ("b",)),
        (CountOptions("greedy-threshold", threshold=2), ("b",)),
        (CountOptions("greedy-threshold", threshold=Fraction(1, 2)), ("b",)),
        (CountOptions("greedy-per-cost"), ("b", "c")),
        (CountOptions("greedy", tie_break=("min-cost",)), ("b", "c")),
    ],
)
def test_greedy_rules_dispatch(options: CountOptions, selected: tuple[str, ...]) -> None:
    outcome = count(ELECTION, options)
    assert outcome.selected == selected
    assert outcome.rule == options.rule


def test_greedy_threshold_without_a_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a threshold"):
        count(ELECTION, CountOptions("greedy-threshold"))


def test_tie_break_errors_surface() -> None:
    with pytest.raises(TieBreakError):
        count(ELECTION, CountOptions("greedy", tie_break=("lot",)))


def test_scored_ballots_default_to_score_order() -> None:
    ordinal = Election(
        ballot_type=BallotType.ORDINAL,
        budget=60,
        projects=(Project("a", 60), Project("b", 60)),
        ballots=(Ballot(("a", "b")), Ballot(("a", "b")), Ballot(("b",))),
    )
    # Support: b 3, a 2; positional score: a 4, b 3.
    assert count(ordinal, CountOptions("greedy")).selected == ("a",)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (CountOptions("mes", utility="happiness"), "Unknown utility 'happiness'"),
        (CountOptions("mes-add1", add1_start="middle"), "Unknown Add1 start 'middle'"),
        (CountOptions("mes-add1", add1_stop="never"), "Unknown Add1 stop 'never'"),
        (CountOptions("mes-add1", add1_step=0), "Add1 step must be a positive"),
    ],
)
def test_bad_equal_shares_options_are_refused(options: CountOptions, message: str) -> None:
    pytest.importorskip("pb_app.tally.mes")
    with pytest.raises(ValueError, match=message):
        count(ELECTION, options)


@pytest.mark.parametrize("rule", ["mes", "mes-add1", "mes-add1-greedy", "mes-add1-comparison"])
def test_equal_shares_rules_dispatch(rule: str) -> None:
    pytest.importorskip("pb_app.tally.mes")
    outcome = count(ELECTION, CountOptions(rule))
    assert outcome.rule == rule
    assert outcome.spent <= ELECTION.budget
    assert set(outcome.reasons) == {"a", "b", "c"}


def test_ranked_rules_dispatch() -> None:
    pytest.importorskip("pb_app.tally.ranked")
    ranked = Election(
        ballot_type=BallotType.ORDINAL,
        budget=100,
        projects=(Project("a", 50), Project("b", 50), Project("c", 50)),
        ballots=(Ballot(("a", "b")), Ballot(("a", "c")), Ballot(("b", "a")), Ballot(("c",))),
    )
    irv = count(ranked, CountOptions("sequential-irv"))
    stv = count(ranked, CountOptions("stv", grant=50))
    assert irv.rule == "sequential-irv"
    assert irv.selected[0] == "a"
    assert stv.rule == "stv"
    assert "a" in stv.selected
    assert len(stv.selected) == 2
