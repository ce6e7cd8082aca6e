"""Sequential instant-runoff and STV: hand-made counts, pyrankvote's faults, and properties."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from unittest import mock

import pyrankvote
import pyrankvote.helpers
import pyrankvote.multiple_seat_ranking_methods
import pyrankvote.single_seat_ranking_methods
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pb_app.tally.election import Ballot, BallotType, Election, Project
from pb_app.tally.outcome import Decision
from pb_app.tally.ranked import droop_quota, sequential_irv, stv
from pb_app.tally.tiebreak import tie_break_rank
from tests.tally.conftest import load


def make_election(
    costs: dict[str, int], ballots: Sequence[Sequence[str]], budget: int, unit: int = 100
) -> Election:
    return Election(
        ballot_type=BallotType.ORDINAL,
        budget=budget,
        projects=tuple(Project(pid, cost) for pid, cost in costs.items()),
        ballots=tuple(Ballot(tuple(ballot)) for ballot in ballots),
        unit=unit,
        currency="GBP",
    )


def by_id(election: Election) -> dict[str, int]:
    return tie_break_rank(election, ("id",))


def pyrankvote_result(
    method: str, ballots: Sequence[Sequence[str]], names: str, *args: int
) -> pyrankvote.helpers.ElectionResults:
    candidates = {name: pyrankvote.Candidate(name) for name in names}
    papers = [pyrankvote.Ballot([candidates[n] for n in ballot]) for ballot in ballots]
    return getattr(pyrankvote, method)(list(candidates.values()), papers, *args)


def pyrankvote_winners(
    method: str, ballots: Sequence[Sequence[str]], names: str, *args: int
) -> list[str]:
    result = pyrankvote_result(method, ballots, names, *args)
    return sorted(candidate.name for candidate in result.get_winners())


def pyrankvote_broke_a_tie(result: pyrankvote.helpers.ElectionResults) -> bool:
    """Whether some round rejected a candidate level with one it kept.

    pyrankvote's IRV is its block voting with one seat: it may reject several candidates in one
    round and settles a tie at that cut by second choices, without calling ``random``.
    """
    for round_ in result.rounds:
        kept = {c.number_of_votes for c in round_.candidate_results if c.status != "Rejected"}
        if any(
            c.status == "Rejected" and c.number_of_votes in kept for c in round_.candidate_results
        ):
            return True
    return False


# --- sequential IRV: a hand-made count ---------------------------------------------------

# B wins the first runoff after D and C go (5 of 9 votes); A (£300) then no longer fits in the
# £200 left; C wins the second count alone-ish; D (£150) does not fit in the last £100.
HAND_COSTS = {"A": 30000, "B": 20000, "C": 10000, "D": 15000}
HAND_BALLOTS = [["A", "C"]] * 4 + [["B", "C"]] * 3 + [["C", "B"]] * 2 + [["D"]]


def test_sequential_irv_funds_runoff_winners_in_turn() -> None:
    election = make_election(HAND_COSTS, HAND_BALLOTS, budget=40000)
    outcome = sequential_irv(election, by_id(election))
    assert outcome.selected == ("B", "C")
    assert outcome.spent == 30000
    assert [(s.project_id, s.decision) for s in outcome.steps] == [
        ("B", Decision.FUNDED),
        ("A", Decision.SKIPPED),
        ("C", Decision.FUNDED),
        ("D", Decision.SKIPPED),
    ]
    first = outcome.steps[0]
    assert first.detail["rounds"] == 3
    assert first.detail["eliminated"] == "D,C"
    assert (first.money_before, first.money_after) == (40000, 20000)


def test_sequential_irv_explains_every_project_in_plain_english() -> None:
    election = make_election(HAND_COSTS, HAND_BALLOTS, budget=40000)
    reasons = sequential_irv(election, by_id(election)).reasons
    assert reasons["B"].text == (
        "Funded in step 1: won the instant-runoff count among the 4 projects that still "
        "fitted, with 5 of 9 votes in the final round."
    )
    assert reasons["A"].text == "Not funded: it needed £300 and £200 was left."
    assert reasons["C"].text == (
        "Funded in step 3: won the instant-runoff count among the 2 projects that still "
        "fitted, with 9 of 10 votes in the final round."
    )
    assert reasons["D"].text == "Not funded: it needed £150 and £100 was left."
    assert [pid for pid, reason in reasons.items() if reason.funded] == ["B", "C"]


def test_sequential_irv_never_funds_an_unranked_project() -> None:
    election = make_election({"A": 100, "Z": 1}, [["A"]], budget=1000)
    outcome = sequential_irv(election, by_id(election))
    assert outcome.selected == ("A",)
    assert outcome.reasons["Z"].code == "no-support"
    assert outcome.reasons["Z"].text == "Not funded: no ballot ranked it."


def test_sequential_irv_strict_majority_not_plurality_wins() -> None:
    # A leads on first preferences (4 of 9) but C's and B's voters prefer B to A.
    election = make_election(
        {"A": 1, "B": 1, "C": 1}, [["A"]] * 4 + [["B"]] * 3 + [["C", "B"]] * 2, budget=1
    )
    assert sequential_irv(election, by_id(election)).selected == ("B",)


# --- caution (a): ties never reach pyrankvote's global random ---------------------------

TIED = [["A"], ["B"], ["C"]]  # a perfectly symmetric three-way tie


def test_pyrankvote_alone_lets_global_random_decide_a_tie() -> None:
    winners = set()
    for seed in range(10):
        random.seed(seed)
        winners.update(pyrankvote_winners("instant_runoff_voting", TIED, "ABC"))
    assert len(winners) > 1  # the caution of tally.md §3: the same ballots, different winners


@pytest.mark.parametrize("order", ["ABC", "CAB", "BCA"])
def test_sequential_irv_tie_follows_the_declared_tie_break(order: str) -> None:
    election = make_election({"A": 1, "B": 1, "C": 1}, TIED, budget=1)
    rank = {pid: order.index(pid) for pid in "ABC"}
    outcomes = []
    for seed in range(25):
        random.seed(seed)
        outcomes.append(sequential_irv(election, rank))
    assert all(outcome == outcomes[0] for outcome in outcomes)
    # The tie-break's last is eliminated first, so its first wins.
    assert outcomes[0].selected == (order[0],)
    assert outcomes[0].steps[0].detail["eliminated"] == f"{order[2]},{order[1]}"
    assert outcomes[0].notes == (
        f"Step 1: {order[0]}, {order[1]} and {order[2]} were tied for fewest votes (1 each); "
        f"the declared tie-break eliminated {order[2]}.",
        f"Step 1: {order[0]} and {order[1]} were tied for fewest votes (1 each); "
        f"the declared tie-break eliminated {order[1]}.",
    )


@pytest.mark.parametrize("order", ["ABCD", "DCBA"])
def test_stv_tie_follows_the_declared_tie_break(order: str) -> None:
    ballots = [["A"], ["B"], ["C"], ["D"]] * 2
    election = make_election(dict.fromkeys("ABCD", 1), ballots, budget=3)
    rank = {pid: order.index(pid) for pid in "ABCD"}
    results = set()
    for seed in range(25):
        random.seed(seed)
        results.add(stv(election, rank).selected)
    assert len(results) == 1
    assert set(results.pop()) == set(order[:3])


class _NoRandom:
    """Stands in for the ``random`` module inside pyrankvote: any use fails the test."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"pyrankvote called random.{name}")


def test_ranked_rules_never_reach_pyrankvote_random(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pyrankvote.helpers, "random", _NoRandom())
    irv = make_election({"A": 1, "B": 1, "C": 1}, TIED * 3, budget=3)
    assert set(sequential_irv(irv, by_id(irv)).selected) == {"A", "B", "C"}
    election = make_election(dict.fromkeys("ABCD", 1), [["A"], ["B"], ["C"], ["D"]], budget=2)
    assert stv(election, by_id(election)).selected == ("A", "B")


# --- caution (b): the STV quota -----------------------------------------------------------


@pytest.mark.parametrize(
    ("votes", "seats", "quota"), [(4, 2, 2), (9, 2, 4), (100, 1, 51), (6, 2, 3), (0, 3, 1)]
)
def test_droop_quota_is_floor_of_votes_over_seats_plus_one_plus_one(
    votes: int, seats: int, quota: int
) -> None:
    assert droop_quota(votes, seats) == quota
    # What makes it right: seats+1 candidates can never all reach it, and it is the
    # smallest whole number with that property.
    assert (seats + 1) * quota > votes
    assert (seats + 1) * (quota - 1) <= votes


def test_stv_uses_droop_quota_where_pyrankvote_quota_changes_the_winners() -> None:
    # 4 voters, 2 grants. pyrankvote's quota is 4/3, so C (3 votes) passes on a surplus of 5/3,
    # lifting A above B. With the Droop quota 2, C passes on 1 vote: A gets 2/3, B keeps 1,
    # and B takes the second grant.
    ballots = [["C", "A", "B"], ["B", "A", "C"], ["C", "D"], ["C", "A"]]
    for seed in range(5):
        random.seed(seed)
        assert pyrankvote_winners("single_transferable_vote", ballots, "ABCD", 2) == ["A", "C"]
    election = make_election(dict.fromkeys("ABCD", 500), ballots, budget=1000)
    outcome = stv(election, by_id(election))
    assert sorted(outcome.selected) == ["B", "C"]
    elected_c = outcome.steps[0]
    assert (elected_c.project_id, elected_c.support, elected_c.detail["quota"]) == ("C", 3, 2)
    assert "Droop quota 2 votes" in outcome.notes[0]


# --- caution (c): preferential block voting ------------------------------------------------

PBV_BALLOTS = [["A", "B", "C"]] * 5 + [["D", "C"]] * 4


def test_pyrankvote_block_voting_elects_more_than_the_seats() -> None:
    winners = pyrankvote_winners("preferential_block_voting", PBV_BALLOTS, "ABCD", 2)
    assert winners == ["A", "B", "C"]  # three winners for two seats


def test_stv_elects_exactly_the_seats_without_block_voting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("pb_app must not call pyrankvote's own counting functions")

    for module in (
        pyrankvote,
        pyrankvote.multiple_seat_ranking_methods,
        pyrankvote.single_seat_ranking_methods,
    ):
        for name in ("preferential_block_voting", "instant_runoff_voting"):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, forbidden)
    election = make_election(dict.fromkeys("ABCD", 100), PBV_BALLOTS, budget=200)
    outcome = stv(election, by_id(election))
    assert outcome.selected == ("A", "D")
    assert outcome.reasons["C"].code == "not-elected"
    assert sequential_irv(election, by_id(election)).selected == ("A", "B")


# --- STV grants and explanations ----------------------------------------------------------


def test_stv_refuses_unequal_costs_without_a_grant() -> None:
    election = make_election({"A": 100, "B": 250}, [["A"]], budget=1000)
    with pytest.raises(ValueError, match="equal-cost grants"):
        stv(election, by_id(election))


def test_stv_refuses_a_project_dearer_than_the_grant() -> None:
    election = make_election({"A": 100, "B": 250}, [["A"]], budget=1000)
    with pytest.raises(ValueError, match="cost more than the grant"):
        stv(election, by_id(election), grant=200)


def test_stv_with_an_explicit_grant_spends_actual_costs() -> None:
    election = make_election({"A": 100, "B": 250, "C": 300}, [["A", "B"], ["C"]], budget=600)
    outcome = stv(election, by_id(election), grant=300)
    assert sorted(outcome.selected) == ["A", "C"]
    assert outcome.spent == 400


def test_stv_explains_elected_eliminated_and_unfunded() -> None:
    ballots = [["A"]] * 4 + [["B"]] * 2 + [["C", "B"]] + [["D"]] * 2
    election = make_election(dict.fromkeys("ABCDE", 10000), ballots, budget=20000)
    outcome = stv(election, by_id(election))
    # 9 votes, 2 grants: quota 4. A elected; C eliminated (1) to B (3); D (2) eliminated;
    # B is then the only project left for the last grant.
    assert outcome.selected == ("A", "B")
    reasons = outcome.reasons
    assert reasons["A"].text == (
        "Funded in step 1: elected in round 1 of the single-transferable-vote count with "
        "4 votes, reaching the quota of 4."
    )
    assert reasons["C"].text == (
        "Not funded: eliminated in round 2 of the single-transferable-vote count with the "
        "fewest votes (1)."
    )
    assert reasons["D"].code == "eliminated"
    assert reasons["E"].text == "Not funded: no ballot ranked it."
    assert reasons["B"].funded
    assert set(reasons) == set("ABCDE")


def test_stv_with_budget_below_one_grant_funds_nothing() -> None:
    election = make_election({"A": 10000}, [["A"]], budget=5000)
    outcome = stv(election, by_id(election))
    assert outcome.selected == ()
    assert outcome.reasons["A"].text == (
        "Not funded: the budget of £50 does not cover one grant of £100."
    )


# --- properties ----------------------------------------------------------------------------

IDS = "ABCDEF"


@st.composite
def ordinal_elections(draw: st.DrawFn, equal_costs: bool = False) -> Election:
    ids = IDS[: draw(st.integers(1, len(IDS)))]
    if equal_costs:
        cost = draw(st.integers(1, 10))
        costs = dict.fromkeys(ids, cost)
    else:
        costs = {pid: draw(st.integers(1, 10)) for pid in ids}
    ballot = st.permutations(list(ids)).flatmap(
        lambda order: st.integers(0, len(order)).map(lambda n: order[:n])
    )
    ballots = draw(st.lists(ballot, max_size=12))
    return make_election(costs, ballots, budget=draw(st.integers(0, 40)), unit=1)


@settings(max_examples=60, deadline=None)
@given(ordinal_elections())
def test_sequential_irv_is_feasible_exhaustive_and_explains_all(election: Election) -> None:
    outcome = sequential_irv(election, by_id(election))
    costs = {project.id: project.cost for project in election.projects}
    assert outcome.spent == sum(costs[pid] for pid in outcome.selected) <= election.budget
    assert len(set(outcome.selected)) == len(outcome.selected)
    assert set(outcome.reasons) == set(costs)
    ranked = {pid for ballot in election.ballots for pid in ballot.projects}
    for pid, cost in costs.items():
        if pid not in outcome.selected and pid in ranked:
            assert cost > outcome.leftover  # it stops only when nothing supported fits
    reordered = sequential_irv(replace(election, ballots=election.ballots[::-1]), by_id(election))
    assert reordered.selected == outcome.selected


@settings(max_examples=60, deadline=None)
@given(ordinal_elections(equal_costs=True))
def test_stv_is_feasible_and_fills_at_most_the_seats(election: Election) -> None:
    outcome = stv(election, by_id(election))
    grant = election.projects[0].cost
    assert outcome.spent == grant * len(outcome.selected) <= election.budget
    assert len(outcome.selected) <= election.budget // grant
    assert set(outcome.reasons) == {project.id for project in election.projects}
    assert all(
        reason.funded == (pid in outcome.selected) for pid, reason in outcome.reasons.items()
    )


def test_pyrankvote_irv_fails_on_a_single_ballot_where_ours_counts() -> None:
    # Another reason not to call its instant_runoff_voting: with one ballot its majority test
    # (votes − 1e-6 ≥ ⌈n/2⌉) fails and it raises instead of electing.
    with pytest.raises(RuntimeError, match="Illigal state"):
        pyrankvote_winners("instant_runoff_voting", [["A"]], "A")
    election = make_election({"A": 1}, [["A"]], budget=1)
    assert sequential_irv(election, by_id(election)).selected == ("A",)


def test_ranked_rules_refuse_unranked_ballots() -> None:
    election = replace(make_election({"A": 1}, [["A"]], budget=1), ballot_type=BallotType.APPROVAL)
    with pytest.raises(ValueError, match="counts ranked ballots"):
        sequential_irv(election, by_id(election))
    with pytest.raises(ValueError, match="counts ranked ballots"):
        stv(election, by_id(election))


# --- real ordinal elections ------------------------------------------------------------------

REAL_ORDINAL = [
    "Switzerland_Zurich_S5R.pb",
    "US_Stanford_Dataset_PB_Chicago_39th_Ward_2021_vote_rankings.pb",
    "Poland_Krakow_2023_Swoszowice.pb",
]


@pytest.mark.parametrize("name", REAL_ORDINAL)
def test_sequential_irv_on_real_ballots_is_feasible_deterministic_and_explained(
    name: str, shared_pabulib_dir: Path
) -> None:
    election = load(name).election
    rank = tie_break_rank(election, ("min-cost", "max-support", "lot"), seed="published")
    random.seed(1)
    outcome = sequential_irv(election, rank)
    random.seed(2)
    assert sequential_irv(election, rank) == outcome
    costs = {project.id: project.cost for project in election.projects}
    assert outcome.selected
    assert outcome.spent == sum(costs[pid] for pid in outcome.selected) <= election.budget
    assert set(outcome.reasons) == set(costs)
    for pid, reason in outcome.reasons.items():
        assert reason.text.startswith("Funded in step" if reason.funded else "Not funded")
        assert reason.funded == (pid in outcome.selected)
        if not reason.funded and reason.code != "no-support":
            assert costs[pid] > outcome.leftover


def test_stv_on_real_ballots_with_a_declared_grant() -> None:
    election = load("Switzerland_Zurich_S5R.pb").election  # costs £5,000 and £10,000
    outcome = stv(election, by_id(election), grant=10000)
    assert 0 < len(outcome.selected) <= election.budget // 10000
    assert outcome.spent <= election.budget
    assert set(outcome.reasons) == {project.id for project in election.projects}


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.permutations(list("ABCDE")).flatmap(
            lambda order: st.integers(1, 5).map(lambda n: order[:n])
        ),
        min_size=1,
        max_size=15,
    )
)
def test_instant_runoff_agrees_with_pyrankvote_when_no_tie_arises(
    ballots: list[list[str]],
) -> None:
    # Where no tie arises, our rounds must count exactly as pyrankvote's own IRV does.
    election = make_election(dict.fromkeys("ABCDE", 1), ballots, budget=1)
    outcome = sequential_irv(election, by_id(election))
    assume(not outcome.notes)
    ranked = sorted({pid for ballot in ballots for pid in ballot})
    with mock.patch.object(pyrankvote.helpers, "random", _NoRandom()):
        try:
            result = pyrankvote_result("instant_runoff_voting", ballots, "".join(ranked))
        except AssertionError:
            assume(False)  # pyrankvote would have drawn lots: not comparable
            raise
        except RuntimeError:
            assume(False)  # pyrankvote's "Illigal state" (see the single-ballot test)
            raise
    assume(not pyrankvote_broke_a_tie(result))  # a tie of its own making: not comparable
    assert [*outcome.selected] == sorted(c.name for c in result.get_winners())


def test_pyrankvote_settles_a_tie_it_made_itself_where_one_at_a_time_has_none() -> None:
    # Found by the test above: one at a time, D (0) then E (1) then C (2 against B's 3) go and
    # A wins 5 to 3. pyrankvote rejects B, E and D at once, B level with C on 2, and then
    # elects C on a 5–5 tie without drawing lots. Our count has no tie to break.
    ballots = [["A"]] * 4 + [["E", "B", "C"], ["B", "C"], ["A", "B", "C"]]
    ballots += [["C"], ["C"], ["B", "D", "C"]]
    election = make_election(dict.fromkeys("ABCDE", 1), ballots, budget=1)
    outcome = sequential_irv(election, by_id(election))
    assert outcome.selected == ("A",)
    assert not outcome.notes
    with mock.patch.object(pyrankvote.helpers, "random", _NoRandom()):
        result = pyrankvote_result("instant_runoff_voting", ballots, "ABCDE")
    assert [c.name for c in result.get_winners()] == ["C"]
    assert pyrankvote_broke_a_tie(result)
