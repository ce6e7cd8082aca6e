"""Add1 may skip iterations that provably repeat an outcome: it must stop where every step would.

Each Equal Shares run in Add1 also works out how many further iterations give its very outcome
(``_Run.advance``, see ``mes._Horizon``). These tests check that claim directly, iteration by
iteration, and that Add1 with skipping ends exactly as Add1 run step by step, on random
approval, cumulative and ordinal elections with many identical and near-identical ballots.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pb_app.tally import mes
from pb_app.tally.election import Ballot, BallotType, Election, Project
from pb_app.tally.tiebreak import tie_break_rank
from tests.tally._mes_helpers import approval

IDS = [str(i) for i in range(16)]
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def elections(
    draw: st.DrawFn, most_projects: int = 7, most_voters: int = 25, ample: bool = False
) -> Election:
    """A few projects and ballots (approval, cumulative or ordinal), a binding budget.

    An ``ample`` budget is at least half of what all the projects cost.
    """
    kind = draw(st.sampled_from([BallotType.APPROVAL, BallotType.CUMULATIVE, BallotType.ORDINAL]))
    ids = draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=most_projects, unique=True))
    costs = {pid: draw(st.integers(1, 60)) for pid in ids}
    chosen = st.lists(st.sampled_from(ids), unique=True, min_size=1, max_size=4)
    ballots: list[Ballot] = []
    for i, projects in enumerate(draw(st.lists(chosen, min_size=1, max_size=most_voters))):
        points: tuple[int, ...] = ()
        if kind is BallotType.CUMULATIVE:
            points = tuple(draw(st.integers(1, 5)) for _ in projects)
        ballots.append(Ballot(tuple(projects), points=points, voter_id=str(i)))
    total = sum(costs.values())
    budget = draw(st.integers(max(1, total // 2) if ample else 1, max(1, total)))
    return Election(
        ballot_type=kind,
        budget=budget,
        projects=tuple(Project(pid, cost) for pid, cost in costs.items()),
        ballots=tuple(ballots),
    )


def _add1(election: Election, start: str, stop: str, step: int, jump: bool) -> mes._Add1:
    voters = mes._prepare(election, mes.default_utility(election))
    rank = tie_break_rank(election)
    return mes._add1(election, voters, rank, start, stop, step, None, jump)  # type: ignore[arg-type]


@SETTINGS
@given(
    elections(),
    st.sampled_from([("exact", "exhaustive"), ("floor", "feasible"), ("floor", "exhaustive")]),
    st.integers(1, 3),
)
def test_skipping_ends_exactly_where_running_every_iteration_ends(
    election: Election, variant: tuple[str, str], step: int
) -> None:
    _ends_alike(election, *variant, step)


def _ends_alike(election: Election, start: str, stop: str, step: int) -> None:
    """Add1 skipping iterations ends exactly as Add1 running every one."""
    every = _add1(election, start, stop, step, jump=False)
    skipping = _add1(election, start, stop, step, jump=True)
    if not (every.run.cut_short or skipping.run.cut_short):
        assert skipping.run.selected == every.run.selected
    assert skipping.endowment == every.endowment
    assert skipping.iterations == every.iterations
    assert skipping.stop_reason == every.stop_reason


def _start(
    election: Election, offset: int, step: int
) -> tuple[mes._Voters, Mapping[str, int], int]:
    """The merged ballots, the tie-break ranks and an endowment ``offset`` steps past B."""
    voters = mes._prepare(election, mes.default_utility(election))
    return voters, tie_break_rank(election), election.budget + offset * step * voters.total


@SETTINGS
@given(elections(), st.integers(0, 40), st.integers(1, 3))
def test_every_skipped_iteration_has_the_same_outcome(
    election: Election, offset: int, step: int
) -> None:
    voters, rank, endowment = _start(election, offset, step)
    n = voters.total
    run = mes._run(election, voters, rank, endowment, explain=False, step=step)
    horizon = run.advance if run.advance is not None else 60
    for t in range(1, min(horizon, 60)):
        later = mes._run(election, voters, rank, endowment + t * step * n, explain=False)
        assert later.selected == run.selected, f"iteration +{t} of {horizon}"


@SETTINGS
@given(
    elections(most_projects=14, most_voters=60),
    st.integers(0, 40),
    st.integers(1, 3),
    st.lists(st.tuples(st.integers(1, 4), st.booleans()), max_size=8),
)
def test_a_run_started_at_a_checkpoint_counts_as_a_fresh_run(
    election: Election, offset: int, step: int, gaps: list[tuple[int, bool]]
) -> None:
    # Each run starts at the last checkpoint of the run before that still holds (as Add1 does,
    # including after a jump of several iterations, and in runs that do not track the horizon
    # and pass the checkpoints on); its selection, spend and horizon must be a fresh run's,
    # and what it reports as holding further must hold.
    voters, rank, endowment = _start(election, offset, step)
    n = voters.total
    previous = mes._run(election, voters, rank, endowment, explain=False, step=step)
    for gap, track in gaps:
        endowment += gap * step * n
        resumed = _add1_run(
            election, voters, endowment, step, resume=previous.checkpoints, track=track
        )
        fresh = mes._run(election, voters, rank, endowment, explain=False, step=step)
        assert resumed.selected == fresh.selected
        assert resumed.spent == fresh.spent
        for checkpoint in resumed.checkpoints:
            assert checkpoint.holds_at(endowment)
            assert fresh.selected[: len(checkpoint.selected)] == list(checkpoint.selected)
        if not track:
            assert resumed.advance == 1
        if resumed.advance is not None and resumed.advance > 1:
            later = mes._run(election, voters, rank, endowment + step * n, explain=False)
            assert later.selected == resumed.selected
        previous = resumed


def _add1_run(
    election: Election, voters: mes._Voters, endowment: int, step: int, **options: Any
) -> mes._Run:
    """One Add1 run (not explained) at ``endowment``, with ``_run``'s Add1 options."""
    rank = tie_break_rank(election)
    return mes._run(election, voters, rank, endowment, explain=False, step=step, **options)


def _cannot_stop_add1(election: Election, run: mes._Run, voters: mes._Voters, stop: str) -> None:
    """The whole run at that endowment neither overspends nor is exhaustive nor funds all."""
    budget = election.budget
    assert run.spent <= budget
    costs = [project.cost for project in election.projects]
    unfunded = [p for p, m in enumerate(voters.members) if m.size and p not in run.selected]
    assert unfunded
    if stop == "exhaustive":
        assert any(run.spent + costs[p] <= budget for p in unfunded)


@SETTINGS
@given(
    elections(most_projects=12, most_voters=40, ample=True),
    st.integers(0, 40),
    st.integers(1, 3),
    st.sampled_from(["exhaustive", "feasible"]),
)
def test_a_run_cut_short_could_not_have_stopped_add1(
    election: Election, offset: int, step: int, stop: str
) -> None:
    # An Add1 run may end as soon as its outcome cannot stop Add1; the whole run (and every
    # iteration the cut run says it may skip) must then indeed not stop it.
    voters, rank, endowment = _start(election, offset, step)
    n = voters.total
    cut = _add1_run(election, voters, endowment, step, stop=stop)
    whole = mes._run(election, voters, rank, endowment, explain=False)
    assert whole.selected[: len(cut.selected)] == cut.selected
    if not cut.cut_short:
        assert cut.selected == whole.selected
        return
    _cannot_stop_add1(election, whole, voters, stop)
    if cut.advance is not None and cut.advance > 1:
        last = endowment + (cut.advance - 1) * step * n
        _cannot_stop_add1(
            election, mes._run(election, voters, rank, last, explain=False), voters, stop
        )


# Runs near B / n leave many supporters with empty purses: the cases these comparisons need.
NEAR_START = st.integers(0, 4)
# Voter 7 spends all they have on project 2, then supports project 0, which is bought next:
# their purse must stay empty, as project 3's supporters' money at the end shows.
EMPTIED_THEN_BUYING = approval(
    162,
    {"0": 1, "1": 2, "2": 60, "3": 1},
    [["0"], ["1"], ["1"], ["1"], ["1"], ["2"], ["2"], ["0", "1", "2", "3"]],
)


def _paired_runs(test: Callable[..., None]) -> Callable[..., None]:
    """Examples for a test comparing two ways to the same run: (election, offset, step, track)."""
    examples = given(
        elections(most_projects=12, most_voters=40), NEAR_START, st.integers(1, 3), st.booleans()
    )
    return settings(SETTINGS, max_examples=400)(
        examples(example(EMPTIED_THEN_BUYING, 0, 1, True)(test))
    )


def _runs_alike(
    election: Election,
    voters: mes._Voters,
    other: mes._Voters,
    endowment: int,
    step: int,
    track: bool,
) -> None:
    """Runs on two preparations of the same ballots buy alike, with the same horizon."""
    rank = tie_break_rank(election)
    one = mes._run(election, voters, rank, endowment, explain=True, step=step, track=track)
    two = mes._run(election, other, rank, endowment, explain=True, step=step, track=track)
    assert one.steps == two.steps  # projects, prices, money, payers, most paid
    assert one.leftover == two.leftover
    assert one.advance == two.advance
    assert [c.until for c in one.checkpoints] == [c.until for c in two.checkpoints]


@_paired_runs
def test_a_price_kept_from_before_other_purchases_is_the_price_worked_out_again(
    election: Election, offset: int, step: int, track: bool
) -> None:
    # A run keeps a project's price while no purchase touches its supporters (_State.fresh).
    # With every project made every other's neighbour, each purchase drops every kept price:
    # both runs must buy alike, at the same prices, with the same payers and horizon.
    voters, _, endowment = _start(election, offset, step)
    everything = frozenset(range(len(election.projects)))
    recounted = replace(voters, neighbours=[everything] * len(election.projects))
    _runs_alike(election, voters, recounted, endowment, step, track)


@SETTINGS
@given(elections(most_projects=12, most_voters=40))
def test_neighbours_are_the_projects_sharing_a_supporter(election: Election) -> None:
    voters = mes._prepare(election, mes.default_utility(election))
    index = {project.id: p for p, project in enumerate(election.projects)}
    on_ballots = [ballot.projects for ballot in election.ballots]
    for p, members in enumerate(voters.members):
        supporting = [b for b in on_ballots if election.projects[p].id in b]
        assert voters.neighbours[p] == {index[q] for b in supporting for q in b}
        assert bool(members.size) == bool(supporting)


@_paired_runs
def test_grouping_supporters_in_python_loops_or_numpy_gives_the_same_run(
    election: Election, offset: int, step: int, track: bool
) -> None:
    # Projects with few supporters are grouped by Python loops over a class list (_Voters.few);
    # grouping every project with NumPy must give the very same purchases and horizon.
    voters, _, endowment = _start(election, offset, step)
    _runs_alike(election, voters, _numpy_only(voters), endowment, step, track)


def _numpy_only(voters: mes._Voters) -> mes._Voters:
    """These merged ballots with every project grouped by NumPy, none by Python loops."""
    count = len(voters.members)
    return replace(voters, few=[False] * count, few_supporters=[[] for _ in range(count)])


@_paired_runs
def test_a_price_located_with_floats_is_the_exact_price(
    election: Election, offset: int, step: int, track: bool
) -> None:
    # Large elections price projects with many budget classes by ordering them with floats
    # and confirming exactly (_State.price_located). Made to do so from one class on, a run
    # must buy alike, at the same prices, with the same payers and horizon, as the exact way.
    voters, _, endowment = _start(election, offset, step)
    located = replace(voters, located_from=1, floated=True)
    _runs_alike(election, located, replace(voters, located_from=None), endowment, step, track)


@_paired_runs
def test_screening_projects_out_of_reach_with_floats_gives_the_same_run(
    election: Election, offset: int, step: int, track: bool
) -> None:
    # Outside the horizon's work, float budgets screen out projects surely out of reach
    # (_State._surely_short) among those grouped by NumPy: runs with and without them must
    # buy alike.
    voters, _, endowment = _start(election, offset, step)
    numpy_only = _numpy_only(voters)
    floated = replace(numpy_only, floated=True)
    _runs_alike(election, floated, replace(numpy_only, floated=False), endowment, step, track)


# Relative nudges of float budgets, in units of 1e-13 (see _nudged).
NUDGES = st.lists(st.integers(-4, 4), min_size=1, max_size=20)


def _nudged(state: mes._State, nudges: list[int]) -> mes._State:
    """A copy of ``state`` whose float budgets are off by ``nudges`` × 1e-13 (relative), in turn."""
    twin = state.moved(0)
    twin.floats = twin.floats * (1 + 1e-13 * np.resize(np.array(nudges), twin.floats.size))
    return twin


@settings(SETTINGS, max_examples=300)
@given(elections(most_projects=12, most_voters=40), NEAR_START, st.integers(1, 3), NUDGES)
def test_floats_a_hair_off_never_make_a_located_price_wrong(
    election: Election, offset: int, step: int, nudges: list[int]
) -> None:
    # A float budget may be off by half a unit in its last place, and float sums by more:
    # price_located must then either give the exact price and split or leave it to the exact
    # way (_UNSURE). Floats nudged by up to 4e-13 (relative; FLOAT_MARGIN is 1e-9), on the
    # budgets a run ends with, where classes often pay exactly what they have.
    voters, rank, endowment = _start(election, offset, step)
    located = replace(voters, located_from=1, floated=True)
    state = mes._run(election, located, rank, endowment, explain=False, step=step).state
    assert state is not None
    nudged, exact = _nudged(state, nudges), state.moved(0)
    exact.voters = replace(voters, located_from=None)
    for p, project in enumerate(election.projects):
        if not voters.members[p].size or voters.max_value[p] != 1:
            continue
        found = nudged.price_located(p, project.cost, None)
        if isinstance(found, mes._Unsure):
            continue
        price = exact.price(p, project.cost)
        assert (found is None) == (price is None)
        if found is not None and price is not None:
            assert (found.rho, found.pi, found.poor) == (price.rho, price.pi, price.poor)


# Three voters with 10 each and a project costing 30: they can pay it to the last unit.
EXACTLY_AFFORDABLE = approval(30, {"0": 30, "1": 31}, [["0", "1"], ["0", "1"], ["0", "1"]])


@settings(SETTINGS, max_examples=300)
@given(
    elections(most_projects=12, most_voters=40),
    NEAR_START,
    st.integers(1, 3),
    NUDGES,
    st.booleans(),
)
@example(EXACTLY_AFFORDABLE, 0, 1, [-4], False)
def test_floats_a_hair_off_never_screen_out_a_project_in_reach(
    election: Election, offset: int, step: int, nudges: list[int], ended: bool
) -> None:
    # _State._surely_short tells projects out of reach from float budgets. Nudged by up to
    # 4e-13 (relative), they must never screen out a project whose supporters can pay for it,
    # to the last unit included: at the start of a run, and on the budgets a run ends with.
    voters, rank, endowment = _start(election, offset, step)
    voters = replace(voters, floated=True)
    state = mes._State(voters, endowment, step)
    if ended:
        at_end = mes._run(election, voters, rank, endowment, explain=False, step=step).state
        assert at_end is not None
        state = at_end
    nudged = _nudged(state, nudges)
    for p, project in enumerate(election.projects):
        members = voters.members[p]
        if members.size and nudged._surely_short(
            nudged.class_of[members], voters.weights[p], project.cost
        ):
            assert state.groups(p)[1] < project.cost * state.denominator
