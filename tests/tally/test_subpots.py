"""Sub-pots per ward or theme, with leftovers to a central pot or to oversubscribed sub-pots."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pb_app.tally.election import Ballot, BallotType, Election, Project
from pb_app.tally.greedy import greedy
from pb_app.tally.outcome import Outcome
from pb_app.tally.ranked import sequential_irv
from pb_app.tally.subpots import Leftover, SubPot, count_with_subpots, restrict
from pb_app.tally.tiebreak import tie_break_rank

COSTS = {"n1": 60, "n2": 50, "s1": 70, "s2": 20, "e1": 30}
BALLOTS = [["n1", "s1"]] * 4 + [["n2", "e1"]] * 3 + [["s2"]] * 2 + [["n1", "n2"]]
NORTH = SubPot("north", "North", 100, ("n1", "n2"))
SOUTH = SubPot("south", "South", 80, ("s1", "s2"))
EAST = SubPot("east", "East", 20, ("e1",))


def make_election(
    costs: dict[str, int],
    ballots: Sequence[Sequence[str]],
    budget: int,
    ballot_type: BallotType = BallotType.APPROVAL,
) -> Election:
    return Election(
        ballot_type=ballot_type,
        budget=budget,
        projects=tuple(Project(pid, cost) for pid, cost in costs.items()),
        ballots=tuple(Ballot(tuple(ballot)) for ballot in ballots),
        unit=1,
        currency="GBP",
    )


def by_greedy(election: Election) -> Outcome:
    return greedy(election, tie_break_rank(election, ("id",)))


def funded_in(outcome: Outcome, phase: str) -> list[str]:
    return [s.project_id for s in outcome.steps if s.phase == phase and s.decision == "funded"]


def assert_explanations_point_at_their_steps(outcome: Outcome) -> None:
    numbers = [step.number for step in outcome.steps]
    assert numbers == sorted(set(numbers))
    steps = {step.number: step for step in outcome.steps}
    for pid, reason in outcome.reasons.items():
        if reason.step is not None:
            assert steps[reason.step].project_id == pid
        for cited in re.findall(r"\bstep (\d+)\b", reason.text):
            assert steps[int(cited)].project_id == pid


def test_leftovers_go_to_the_central_pot_counted_last() -> None:
    # North funds n1 (£40 left), South funds s1 (£10 left); the central pot is £20 declared
    # + £50 = £70 over n2, e1, s2 and c (in no sub-pot), by support: n2 (£50) is funded, e1
    # (£30) does not fit in £20, s2 (£20) does, and then c (£5) does not.
    costs = {**COSTS, "c": 5}
    election = make_election(costs, [*BALLOTS, ["c"]], budget=200)
    outcome = count_with_subpots(election, [NORTH, SOUTH], by_greedy, central_budget=20)
    assert outcome.selected == ("n1", "s1", "n2", "s2")
    assert outcome.spent == 200
    assert funded_in(outcome, "sub-pot North") == ["n1"]
    assert funded_in(outcome, "central pot") == ["n2", "s2"]
    assert set(outcome.reasons) == set(costs)
    assert outcome.reasons["e1"].text.startswith("Central pot: Not funded")
    assert outcome.reasons["c"].text.startswith("Central pot: Not funded")
    n2 = outcome.reasons["n2"]
    assert n2.funded
    assert n2.text.startswith("Sub-pot North: Not funded")
    assert "Central pot: Funded in step" in n2.text
    assert "Central pot: £20 declared and £50 left over by the sub-pots, £70 in all." in (
        outcome.notes
    )
    assert_explanations_point_at_their_steps(outcome)


def test_leftovers_roll_to_oversubscribed_pots_by_unmet_demand() -> None:
    # Pool = £40 (North) + £10 (South) + £20 (East) = £70. Unmet demand: North £50 (n2),
    # East £30 (e1), South £20 (s2). North gets £50 and funds n2; East gets the remaining £20,
    # cannot fund e1 (£30) and passes it on; South gets £20 and funds s2.
    election = make_election(COSTS, BALLOTS, budget=200)
    outcome = count_with_subpots(
        election, [NORTH, SOUTH, EAST], by_greedy, leftover="oversubscribed"
    )
    assert outcome.selected == ("n1", "s1", "n2", "s2")
    assert funded_in(outcome, "sub-pot North top-up") == ["n2"]
    assert funded_in(outcome, "sub-pot South top-up") == ["s2"]
    assert [s.money_before for s in outcome.steps if s.phase == "sub-pot East top-up"] == [20]
    assert (
        "Leftovers pooled: £70, offered to the sub-pots by unmet demand: North £50, "
        in (outcome.notes[-2])
    )
    assert outcome.notes[-1] == "Not spent: £0."
    assert not outcome.reasons["e1"].funded
    assert_explanations_point_at_their_steps(outcome)


def test_a_project_in_no_pot_with_no_central_money_is_explained() -> None:
    # North and South spend everything, no central budget: c is never counted.
    costs = {"n1": 100, "s1": 80, "c": 10}
    election = make_election(costs, [["n1", "s1", "c"]], budget=180)
    outcome = count_with_subpots(
        election,
        [SubPot("n", "North", 100, ("n1",)), SubPot("s", "South", 80, ("s1",))],
        by_greedy,
    )
    assert outcome.selected == ("n1", "s1")
    assert outcome.reasons["c"].text == (
        "Not funded: it was in no sub-pot and the central pot had no money."
    )


def test_unused_pool_is_reported_not_spent() -> None:
    costs = {"n1": 60, "s1": 70}
    election = make_election(costs, [["n1"], ["s1"]], budget=180)
    outcome = count_with_subpots(
        election,
        [SubPot("n", "North", 100, ("n1",)), SubPot("s", "South", 80, ("s1",))],
        by_greedy,
        leftover="oversubscribed",
    )
    assert outcome.spent == 130
    assert outcome.notes[-1] == "Not spent: £50."


def test_each_pot_keeps_what_it_funded_in_the_top_up() -> None:
    election = make_election(COSTS, BALLOTS, budget=200)
    plain = count_with_subpots(election, [NORTH, SOUTH], by_greedy, central_budget=20)
    rolled = count_with_subpots(
        election, [NORTH, SOUTH, EAST], by_greedy, leftover="oversubscribed"
    )
    for outcome in (plain, rolled):
        assert funded_in(outcome, "sub-pot North") == ["n1"]
        assert funded_in(outcome, "sub-pot South") == ["s1"]


@pytest.mark.parametrize(
    ("pots", "central", "leftover", "message"),
    [
        ([NORTH, SOUTH], 0, "central", "add up to 180"),
        ([NORTH, SubPot("x", "X", 100, ("n1",))], 0, "central", "in sub-pots North and X"),
        ([SubPot("x", "X", 200, ("zz",))], 0, "central", "not a project"),
        ([NORTH, SOUTH], 20, "oversubscribed", "every project needs one: e1"),
        ([NORTH, NORTH], 0, "central", "same key"),
    ],
)
def test_badly_declared_pots_are_refused(
    pots: list[SubPot], central: int, leftover: Leftover, message: str
) -> None:
    election = make_election(COSTS, BALLOTS, budget=200)
    with pytest.raises(ValueError, match=message):
        count_with_subpots(election, pots, by_greedy, leftover=leftover, central_budget=central)


def test_restrict_keeps_points_aligned_and_drops_ballots_with_no_choice_there() -> None:
    election = Election(
        BallotType.CUMULATIVE,
        100,
        tuple(Project(pid, 10) for pid in "abc"),
        (Ballot(("a", "b", "c"), (1, 2, 3)), Ballot(("c",), (5,))),
    )
    sub = restrict(election, ["a", "c"], 40)
    assert sub.budget == 40
    assert [p.id for p in sub.projects] == ["a", "c"]
    assert sub.ballots == (Ballot(("a", "c"), (1, 3)), Ballot(("c",), (5,)))
    assert restrict(election, ["b"], 10).ballots == (Ballot(("b",), (2,)),)


def test_subpots_work_with_a_ranked_rule() -> None:
    ballots = [["n2", "n1", "s2"]] * 3 + [["n1", "s1"]] * 2
    election = make_election(COSTS, ballots, budget=200, ballot_type=BallotType.ORDINAL)
    rank = tie_break_rank(election, ("id",))
    outcome = count_with_subpots(
        election, [NORTH, SOUTH], lambda e: sequential_irv(e, rank), central_budget=20
    )
    # North: n2 wins 3-2 and leaves £50, so n1 (£60) no longer fits; South: s2 wins 3-2.
    # Central: £20 + £50 + £60 = £130 funds n1, then s1 (£70); e1 is ranked by nobody.
    assert funded_in(outcome, "sub-pot North") == ["n2"]
    assert funded_in(outcome, "sub-pot South") == ["s2"]
    assert funded_in(outcome, "central pot") == ["n1", "s1"]
    assert outcome.reasons["e1"].text == "Central pot: Not funded: no ballot ranked it."
    assert outcome.spent <= election.budget
    assert set(outcome.reasons) == set(COSTS)
    assert_explanations_point_at_their_steps(outcome)


@st.composite
def elections_with_pots(draw: st.DrawFn) -> tuple[Election, list[SubPot], int]:
    ids = [f"p{i}" for i in range(draw(st.integers(1, 7)))]
    costs = {pid: draw(st.integers(1, 20)) for pid in ids}
    ballots = draw(st.lists(st.lists(st.sampled_from(ids), unique=True), max_size=10))
    pot_of = {pid: draw(st.sampled_from(["A", "B", "-"])) for pid in ids}
    pots = [
        SubPot(key, key, draw(st.integers(0, 40)), tuple(p for p in ids if pot_of[p] == key))
        for key in "AB"
    ]
    central = draw(st.integers(0, 20))
    budget = central + sum(pot.budget for pot in pots)
    return make_election(costs, ballots, budget), pots, central


@settings(max_examples=40, deadline=None)
@given(elections_with_pots(), st.sampled_from(["central", "oversubscribed"]))
def test_subpots_are_feasible_and_explain_every_project(
    case: tuple[Election, list[SubPot], int], leftover: Leftover
) -> None:
    election, pots, central = case
    if leftover == "oversubscribed":
        # Every project needs a pot: give the unassigned ones to the first.
        assigned = {pid for pot in pots for pid in pot.project_ids}
        rest = tuple(p.id for p in election.projects if p.id not in assigned)
        pots = [SubPot("A", "A", pots[0].budget, pots[0].project_ids + rest), pots[1]]
    outcome = count_with_subpots(
        election, pots, by_greedy, leftover=leftover, central_budget=central
    )
    costs = {project.id: project.cost for project in election.projects}
    assert outcome.spent == sum(costs[pid] for pid in outcome.selected) <= election.budget
    assert len(set(outcome.selected)) == len(outcome.selected)
    assert set(outcome.reasons) == set(costs)
    assert all(r.funded == (pid in outcome.selected) for pid, r in outcome.reasons.items())
    for pot in pots:  # a sub-pot's own count never spends more than the sub-pot
        spent = sum(costs[pid] for pid in funded_in(outcome, f"sub-pot {pot.label}"))
        assert spent <= pot.budget
    assert_explanations_point_at_their_steps(outcome)
