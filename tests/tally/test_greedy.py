"""Greedy rules on hand-made elections: each variant, thresholds, explanations, properties."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from pb_app.tally.election import Ballot, BallotType, Election, Limits, Project
from pb_app.tally.greedy import greedy, maximum_score, project_scores
from pb_app.tally.outcome import Decision
from pb_app.tally.tiebreak import tie_break_rank


def make(
    costs: dict[str, int],
    ballots: Sequence[Sequence[str]],
    budget: int,
    *,
    kind: BallotType = BallotType.APPROVAL,
    points: Sequence[Sequence[int]] | None = None,
    limits: Limits | None = None,
) -> Election:
    """An election in pounds and pence from project costs (in pence) and ballots."""
    return Election(
        ballot_type=kind,
        budget=budget,
        projects=tuple(Project(pid, cost, name=f"Project {pid}") for pid, cost in costs.items()),
        ballots=tuple(
            Ballot(tuple(b), tuple(points[i]) if points else (), voter_id=str(i))
            for i, b in enumerate(ballots)
        ),
        limits=limits or Limits(),
        unit=100,
        currency="GBP",
    )


def run(election: Election, **kwargs: object) -> tuple[str, ...]:
    return greedy(election, tie_break_rank(election), **kwargs).selected  # type: ignore[arg-type]


# A: 3 votes, £45; B: 2 votes, £30; C: 1 vote, £10. Budget £50.
SKIP = make({"A": 4500, "B": 3000, "C": 1000}, [["A", "B"], ["A", "B", "C"], ["A"]], 5000)


def test_greedy_skips_a_project_that_does_not_fit_and_goes_on() -> None:
    outcome = greedy(SKIP, tie_break_rank(SKIP))
    assert outcome.selected == ("A",)
    assert [s.decision for s in outcome.steps] == [
        Decision.FUNDED,
        Decision.SKIPPED,
        Decision.SKIPPED,
    ]
    assert outcome.spent == 4500
    assert outcome.leftover == 500


def test_greedy_funds_a_later_cheaper_project_after_a_skip() -> None:
    election = replace(SKIP, budget=5500)
    assert run(election) == ("A", "C")


def test_greedy_no_skip_stops_at_the_first_project_that_does_not_fit() -> None:
    election = replace(SKIP, budget=5500)
    outcome = greedy(election, tie_break_rank(election), skip=False, rule="greedy-no-skip")
    assert outcome.selected == ("A",)
    assert outcome.steps[-1].decision is Decision.STOPPED
    assert outcome.reasons["B"].text == (
        "Not funded: it needed £30 and £10 was left when its turn came (step 2), "
        "so counting stopped there."
    )
    assert outcome.reasons["C"].code == "stopped-before"
    assert "counting stopped at step 2" in outcome.reasons["C"].text
    assert outcome.rule == "greedy-no-skip"


def test_explanations_read_as_in_the_spec() -> None:
    election = replace(SKIP, budget=5500)
    outcome = greedy(election, tie_break_rank(election))
    assert outcome.reasons["A"].text == "Funded in step 1: 3 votes, cost £45; £10 was left."
    assert outcome.reasons["B"].text == (
        "Not funded: it needed £30 and £10 was left when its turn came (step 2)."
    )
    assert outcome.reasons["A"].params["money_before"] == 5500
    assert outcome.reasons["A"].params["money_after"] == 1000
    assert outcome.reasons["B"].step == 2


def test_zero_support_is_never_funded_even_with_money_to_spare() -> None:
    election = make({"A": 100, "Z": 100}, [["A"]], 10_000)
    outcome = greedy(election, tie_break_rank(election))
    assert outcome.selected == ("A",)
    assert outcome.reasons["Z"].code == "no-support"
    assert outcome.reasons["Z"].text == "Not funded: no votes."
    assert all(step.project_id != "Z" for step in outcome.steps)


def test_every_project_has_a_reason_in_ballot_order() -> None:
    election = make({"C": 1, "A": 50, "B": 2}, [["A"], ["B"]], 3)
    outcome = greedy(election, tie_break_rank(election))
    assert list(outcome.reasons) == ["C", "A", "B"]
    assert {r.funded for r in outcome.reasons.values()} == {True, False}


def test_ties_follow_the_precomputed_rank() -> None:
    election = make({"A": 300, "B": 200, "C": 100}, [["A", "B", "C"]], 300)
    by_id = tie_break_rank(election, ("id",))
    by_cost = tie_break_rank(election, ("min-cost",))
    assert greedy(election, by_id).selected == ("A",)
    assert greedy(election, by_cost).selected == ("C", "B")


def test_greedy_is_not_limit_monotone_documented_example() -> None:
    """tally.md §6: greedy is not limit-monotone; do not assert that property.

    The spec's example, {A: cost 4, 1 vote; B: cost 1, 0 votes}, funds {B} at budget 3 in
    pabutools, which funds zero-support projects; pb_app never funds them, so it funds nothing
    at 3 and {A} at 4. With one vote for B the same effect shows in pb_app too: raising the
    budget from 3 to 4 drops B.
    """
    spec = make({"A": 4, "B": 1}, [["A"]], 3)
    assert run(spec) == ()
    assert run(replace(spec, budget=4)) == ("A",)
    voted = make({"A": 4, "B": 1}, [["A"], ["A"], ["B"]], 3)
    assert run(voted) == ("B",)
    assert run(replace(voted, budget=4)) == ("A",)


# --- scores and thresholds -------------------------------------------------------------------


def test_ordinal_score_is_positional() -> None:
    election = make(
        {"A": 1, "B": 1, "C": 1}, [["A", "B", "C"], ["C", "B"]], 3, kind=BallotType.ORDINAL
    )
    assert project_scores(election) == {"A": 3, "B": 2 + 1, "C": 1 + 2}


def test_ordinal_greedy_orders_by_score_not_support() -> None:
    # B appears on 3 ballots but always last; A is first on 2 ballots.
    ballots = [["A", "B"], ["A", "B"], ["C", "B"]]
    election = make({"A": 60, "B": 60, "C": 60}, ballots, 60, kind=BallotType.ORDINAL)
    assert run(election, order_by="score") == ("A",)
    assert run(election, order_by="support") == ("B",)


def test_cumulative_score_sums_points() -> None:
    election = make(
        {"A": 1, "B": 1},
        [["A", "B"], ["B"]],
        1,
        kind=BallotType.CUMULATIVE,
        points=[[1, 4], [2]],
    )
    assert project_scores(election) == {"A": 1, "B": 6}
    assert run(election, order_by="score") == ("B",)


def test_absolute_threshold_excludes_projects_below_it() -> None:
    election = replace(SKIP, budget=10_000)
    outcome = greedy(election, tie_break_rank(election), threshold=2, rule="greedy-threshold")
    assert outcome.selected == ("A", "B")
    assert outcome.reasons["C"].code == "below-threshold"
    assert outcome.reasons["C"].text == "Not funded: 1 vote, below the threshold of 2 votes."


def test_threshold_is_reached_at_equality() -> None:
    election = replace(SKIP, budget=10_000)
    assert run(election, threshold=1) == ("A", "B", "C")


def test_share_threshold_of_the_maximum_score_for_a_decision_day() -> None:
    """UK decision day: scores 1–5 for every project; a project fails below 40% of the maximum."""
    limits = Limits(min_points=1, max_points=5)
    points = [[5, 1], [4, 1], [5, 1], [3, 1], [5, 3]]  # A: 22 of 25 = 88%, B: 7 of 25 = 28%
    election = make(
        {"A": 100, "B": 100},
        [["A", "B"]] * 5,
        1000,
        kind=BallotType.SCORING,
        points=points,
        limits=limits,
    )
    assert maximum_score(election, "score") == 25
    outcome = greedy(election, tie_break_rank(election), order_by="score", threshold=Fraction(2, 5))
    assert outcome.selected == ("A",)
    reason = outcome.reasons["B"]
    assert reason.text == "Not funded: 28% of the maximum score, below the 40% threshold."
    assert reason.params["share"] == Fraction(7, 25)


def test_share_threshold_compares_exactly_at_the_boundary() -> None:
    limits = Limits(max_points=5)
    election = make(
        {"A": 1}, [["A"]] * 5, 10, kind=BallotType.SCORING, points=[[2]] * 5, limits=limits
    )
    # 10 of 25 is exactly 40%: it reaches the threshold.
    assert run(election, order_by="score", threshold=Fraction(2, 5)) == ("A",)
    assert run(election, order_by="score", threshold=Fraction(2, 5) + Fraction(1, 10**9)) == ()


def test_a_share_just_below_the_threshold_never_reads_as_reaching_it() -> None:
    # 79 of 200 is 39.5%: shown rounded down, so the text never says "40% ... below 40%".
    election = make({"A": 1, "B": 1}, [["A"]] * 79 + [["B"]] * 121, 10)
    outcome = greedy(election, tie_break_rank(election), threshold=Fraction(2, 5))
    assert outcome.reasons["A"].text == (
        "Not funded: 39% of the maximum support, below the 40% threshold."
    )
    third = greedy(election, tie_break_rank(election), threshold=Fraction(1, 3))
    assert third.reasons["A"].funded
    assert third.notes == (
        "Threshold: 33.33% of the maximum support; projects below it take no part.",
    )


# --- per cost ---------------------------------------------------------------------------------


def test_per_cost_orders_by_votes_per_pound() -> None:
    # A: 3 votes / £45 = 1/15; B: 2 / £30 = 1/15 (tie, A first by id); C: 1 / £10 = 1/10.
    outcome = greedy(replace(SKIP, budget=5500), tie_break_rank(SKIP), order_by="per-cost")
    assert [s.project_id for s in outcome.steps] == ["C", "A", "B"]
    assert outcome.selected == ("C", "A")
    assert outcome.steps[0].detail["votes_per_cost"] == Fraction(1, 1000)


def test_per_cost_is_exact_where_floats_would_tie() -> None:
    # 1 vote for £c and 1 vote for £(c+1) are equal votes per pound as floats when c = 2**60;
    # exactly, the cheaper y is better, although a float tie would go to x by id.
    c = 2**60
    assert 1 / c == 1 / (c + 1)
    election = make({"x": c + 1, "y": c}, [["x"], ["y"]], c + 1)
    outcome = greedy(election, tie_break_rank(election), order_by="per-cost")
    assert [s.project_id for s in outcome.steps] == ["y", "x"]
    assert outcome.selected == ("y",)


# --- completion after Equal Shares -----------------------------------------------------------


def test_initial_projects_are_paid_for_and_steps_continue() -> None:
    election = replace(SKIP, budget=5500)
    outcome = greedy(election, tie_break_rank(election), initial=("B",), first_step=4)
    assert outcome.selected == ("B", "C")
    assert outcome.spent == 4000
    assert [s.number for s in outcome.steps] == [4, 5]
    assert outcome.reasons["B"].code == "funded-before"
    assert outcome.reasons["A"].text == (
        "Not funded: it needed £45 and £25 was left when its turn came (step 4)."
    )
    assert outcome.reasons["C"].step == 5


# --- properties --------------------------------------------------------------------------------


@st.composite
def elections(draw: st.DrawFn) -> Election:
    n_projects = draw(st.integers(1, 6))
    ids = [f"p{i}" for i in range(n_projects)]
    costs = {pid: draw(st.integers(1, 20)) for pid in ids}
    ballots = draw(st.lists(st.lists(st.sampled_from(ids), unique=True), max_size=12))
    return make(costs, ballots, draw(st.integers(0, 60)))


@settings(max_examples=60, deadline=None)
@given(elections(), st.randoms(use_true_random=False), st.sampled_from(["support", "per-cost"]))
def test_feasible_explained_and_invariant_under_ballot_order(
    election: Election, rnd: random.Random, order_by: str
) -> None:
    rank = tie_break_rank(election)
    outcome = greedy(election, rank, order_by=order_by)  # type: ignore[arg-type]
    assert outcome.spent <= election.budget
    assert set(outcome.reasons) == {p.id for p in election.projects}
    assert {pid for pid, r in outcome.reasons.items() if r.funded} == set(outcome.selected)
    shuffled = list(election.ballots)
    rnd.shuffle(shuffled)
    again = greedy(replace(election, ballots=tuple(shuffled)), rank, order_by=order_by)  # type: ignore[arg-type]
    assert again == outcome
    # Exhaustive (with skipping): no supported unfunded project fits in what is left.
    support = {p.id for b in election.ballots for p in map(election.project, b.projects)}
    for project in election.projects:
        if project.id in support and project.id not in outcome.selected:
            assert project.cost > outcome.leftover


@settings(max_examples=60, deadline=None)
@given(elections())
def test_matches_pabutools_greedy_on_small_approval_elections(election: Election) -> None:
    from pabutools.election import ApprovalBallot, ApprovalProfile, Cost_Sat, Instance
    from pabutools.election import Project as PabuProject
    from pabutools.rules import greedy_utilitarian_welfare

    projects = {p.id: PabuProject(p.id, p.cost) for p in election.projects}
    instance = Instance(projects.values(), budget_limit=election.budget)
    profile = ApprovalProfile(
        [ApprovalBallot(projects[pid] for pid in b.projects) for b in election.ballots]
    )
    theirs = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)
    supported = {pid for b in election.ballots for pid in b.projects}
    expected = [p.name for p in theirs if p.name in supported]
    assert list(run(election)) == expected
