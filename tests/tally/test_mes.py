"""Equal Shares on hand-made elections whose outcomes were worked out by hand (tally.md §2, §4)."""

from __future__ import annotations

import gc
from fractions import Fraction
from typing import Any

import pytest

from pb_app.tally.election import Election
from pb_app.tally.mes import Utility, default_utility, equal_shares
from pb_app.tally.outcome import Decision, Outcome
from pb_app.tally.tiebreak import tie_break_rank
from tests.tally._mes_helpers import approval, cumulative, mes_part

# Four voters, £100 each (pence). Step 1: B (£160, three supporters) at £53.33 each,
# price 1/3 per pound of utility, beats A (£120, two supporters, 1/2). Step 2: A; voter 0 has
# only £46.67 left, below the equal share, so pays it all, and voter 1 pays the other £73.33.
# C (£300) has one supporter with £26.67 left at the end; D has no votes.
SHARES = approval(
    40000,
    {"A": 12000, "B": 16000, "C": 30000, "D": 5000},
    [["A", "B"], ["A", "C"], ["B"], ["B"]],
    unit=100,
    currency="GBP",
)


def count(election: Election, **kwargs: Any) -> Outcome:
    """Count with the file tie-break (project id)."""
    return equal_shares(election, tie_break_rank(election), **kwargs)


def test_equal_split_then_a_supporter_who_cannot_afford_the_share_pays_all_they_have() -> None:
    outcome = count(SHARES)
    assert outcome.selected == ("B", "A")
    assert outcome.spent == 28000
    first, second = outcome.steps
    assert first.support == Fraction(1, 3)
    assert first.detail["max_paid"] == Fraction(16000, 3)
    assert first.detail["effective_votes"] == 3  # £160 ÷ £53.33 per supporter
    assert (first.money_before, first.money_after) == (40000, 24000)
    # A: voter 0 pays 14000/3 pence, voter 1 pays 12000 − 14000/3 = 22000/3 = price · 12000.
    assert second.support == Fraction(22000, 3) / 12000 == Fraction(11, 18)
    assert second.detail["payers"] == 2
    assert second.detail["max_paid"] == Fraction(22000, 3)
    assert all(step.decision is Decision.FUNDED for step in outcome.steps)


def test_every_project_has_a_reason_in_plain_english() -> None:
    reasons = count(SHARES).reasons
    assert list(reasons) == ["A", "B", "C", "D"]
    assert reasons["B"].text == "Funded in step 1: its 3 supporters each paid up to £53.33."
    assert reasons["A"].text == "Funded in step 2: its 2 supporters each paid up to £73.33."
    assert reasons["C"].text == (
        "Not funded: its 1 supporter had £26.67 left of their equal shares; it needed £300."
    )
    assert reasons["C"].params["supporters_money"] == Fraction(8000, 3)
    assert reasons["D"].text == "Not funded: no votes."
    assert [r.funded for r in reasons.values()] == [True, True, False, False]


def test_cardinality_utility_prices_per_supporter_not_per_pound() -> None:
    # A £100 for two voters (£50 each), B £30 for one voter; £60 each.
    election = approval(120, {"A": 100, "B": 30}, [["A", "B"], ["A"]])
    # Cost utility: A costs 1/2 per pound of utility, B 1: A first, then voter 0 has £10.
    assert count(election, utility=Utility.COST).selected == ("A",)
    # Cardinality: A costs £50 a head, B £30: B first, then A's supporters have only £90.
    assert count(election, utility=Utility.CARDINALITY).selected == ("B",)


def test_points_utility_charges_in_proportion_to_points() -> None:
    # Voter 0 gives A 3 points and B 1; voter 1 gives A 1. £60 each.
    election = cumulative(120, {"A": 100, "B": 30}, [{"A": 3, "B": 1}, {"A": 1}])
    assert default_utility(election) is Utility.POINTS
    outcome = count(election)
    # A at 100/4 = 25 a point would cost voter 0 £75, more than £60: voter 0 pays £60 and
    # voter 1 £40, a price of 40 a point; B costs 30 a point, so B wins step 1.
    assert outcome.selected == ("B",)
    assert outcome.steps[0].support == 30
    # Counting support only (cost utility), A at 1/2 per pound goes first instead.
    assert count(election, utility=Utility.COST).selected == ("A",)


def test_add1_raises_the_endowment_until_the_outcome_is_exhaustive() -> None:
    # £50 each: A (£60, both) leaves voter 0 £20, short of B (£40). At £70 each B fits too.
    election = approval(100, {"A": 60, "B": 40}, [["A", "B"], ["A"]])
    assert count(election).selected == ("A",)
    progress: list[str] = []
    outcome = count(election, completion="add1", progress=progress.append)
    assert outcome.selected == ("A", "B")
    assert outcome.spent == 100
    # Endowments 50, 51, …, 70: 51–69 give the outcome of 50, provably, so only 50 and 70 run.
    assert [line.split(":")[0] for line in progress] == ["Add1 iteration 1", "Add1 iteration 21"]
    assert "Endowment per voter in the final iteration: 70." in outcome.notes
    assert any(
        "step 1, 21 iterations, stopped because every supported project funded" in n
        for n in outcome.notes
    )


# £55 each: A (£60, both) first; B and C (£45, one supporter each) wait until £75 each, when
# both are bought and £150 would be spent. Add1 keeps the outcome before: {A}.
OVERSPEND = approval(110, {"A": 60, "B": 45, "C": 45}, [["A", "B"], ["A", "C"]])


@pytest.mark.parametrize(
    ("start", "stop"), [("exact", "exhaustive"), ("floor", "feasible"), ("floor", "exhaustive")]
)
def test_add1_keeps_the_last_outcome_that_fits(start: str, stop: str) -> None:
    outcome = count(OVERSPEND, completion="add1", add1_start=start, add1_stop=stop)
    assert outcome.selected == ("A",)
    assert "Endowment per voter in the final iteration: 74." in outcome.notes


def test_add1_floor_starts_at_whole_currency_units() -> None:
    election = approval(101, {"A": 60, "B": 41}, [["A", "B"], ["A"]])
    exact = count(election, completion="add1")
    floor = count(election, completion="add1", add1_start="floor")
    # B needs voter 0 to keep £41 after paying £30: £71 each. Exact starts at £50.50.
    assert "Endowment per voter in the final iteration: 71.50." in exact.notes
    assert "Endowment per voter in the final iteration: 71." in floor.notes
    assert exact.selected == floor.selected == ("A", "B")


def test_large_endowments_step_by_a_hundred_units_and_say_so() -> None:
    election = approval(40_000, {"A": 30_000, "B": 25_000}, [["A", "B"]])
    outcome = count(election, completion="add1")
    assert any("Add1 step raised to 100" in note for note in outcome.notes)
    assert outcome.selected == ("A",)


def test_greedy_completion_spends_what_equal_shares_left() -> None:
    outcome = count(OVERSPEND, completion="add1-greedy")
    # Equal Shares funds A; greedy then has £50: B and C tie on one vote, B wins on id.
    assert outcome.selected == ("A", "B")
    assert mes_part(outcome) == ["A"]
    assert outcome.spent == 105
    assert [s.phase for s in outcome.steps] == ["equal-shares", "completion", "completion"]
    assert outcome.reasons["A"].text.startswith("Funded in step 1: its 2 supporters")
    assert outcome.reasons["B"].text.startswith("Funded in the completion step 2:")
    assert not outcome.reasons["C"].funded


def test_comparison_takes_greedy_when_strictly_more_voters_prefer_it() -> None:
    # Three voters want A and B (£50 each); one wants C (£25). Equal Shares: A and C;
    # greedy: A and B. Three voters have more of their projects under greedy, one under MES.
    election = approval(
        100, {"A": 50, "B": 50, "C": 25}, [["A", "B"], ["A", "B"], ["A", "B"], ["C"]]
    )
    assert count(election, completion="add1").selected == ("A", "C")
    outcome = count(election, completion="add1-comparison")
    assert outcome.selected == ("A", "B")
    assert any("3 under greedy" in n and "greedy's outcome is used" in n for n in outcome.notes)


def test_comparison_keeps_equal_shares_on_a_tie() -> None:
    # Equal Shares: A and C; greedy: A and B. Voter 0 prefers greedy, voter 3 Equal Shares.
    election = approval(100, {"A": 60, "B": 40, "C": 40}, [["A", "B"], ["A"], ["A"], ["C"]])
    outcome = count(election, completion="add1-comparison")
    assert outcome.selected == ("A", "C")
    assert any("Equal Shares' outcome is kept" in n for n in outcome.notes)


def test_ties_follow_the_declared_order() -> None:
    election = approval(100, {"A": 50, "B": 50}, [["A"], ["B"]])
    by_id = equal_shares(election, tie_break_rank(election, ("id",)), completion="add1")
    assert by_id.selected == ("A", "B")
    first = equal_shares(election, {"A": 1, "B": 0})
    assert first.selected == ("B", "A")


def test_no_ballots_funds_nothing() -> None:
    outcome = count(approval(100, {"A": 50}, []), completion="add1-greedy")
    assert outcome.selected == ()
    assert outcome.reasons["A"].text == "Not funded: no votes."


@pytest.mark.parametrize("completion", ["none", "add1", "add1-greedy"])
def test_outcomes_carry_only_plain_values_never_the_counts_own_rationals(completion: str) -> None:
    # Counting uses gmpy2's mpq inside; what leaves the count must be ints and Fractions that
    # JSON, templates and the audit bundle already know.
    outcome = count(SHARES, completion=completion)
    values: list[object] = []
    for step in outcome.steps:
        values += [step.support, step.money_before, step.money_after, *step.detail.values()]
    for reason in outcome.reasons.values():
        values += list(reason.params.values())
    assert values
    assert {type(v) for v in values} <= {int, Fraction, str, bool, type(None)}


@pytest.mark.parametrize("enabled", [True, False])
def test_a_count_leaves_the_cycle_collector_as_it_found_it(enabled: bool) -> None:
    # equal_shares pauses Python's cycle collector while it counts (allocation-heavy, no
    # cycles); after the count, and after a count that fails, it is as it was before.
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        assert count(SHARES).selected == ("B", "A")
        assert gc.isenabled() is enabled
        with pytest.raises(KeyError):
            equal_shares(SHARES, {})  # no tie-break rank for the projects
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
