"""Properties every count keeps (tally.md §6): feasible, exhaustive where promised, anonymous,
neutral up to the tie-break, deterministic."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pb_app.tally.election import Ballot, BallotType, Election, Project
from pb_app.tally.greedy import greedy
from pb_app.tally.mes import Utility, equal_shares
from pb_app.tally.outcome import Outcome
from pb_app.tally.tiebreak import tie_break_rank

Count = Callable[[Election, Mapping[str, int]], Outcome]

RULES: dict[str, Count] = {
    "greedy": lambda e, r: greedy(e, r),
    "greedy-per-cost": lambda e, r: greedy(e, r, order_by="per-cost"),
    "greedy-no-skip": lambda e, r: greedy(e, r, skip=False),
    "mes": lambda e, r: equal_shares(e, r),
    "mes-cardinality": lambda e, r: equal_shares(e, r, utility=Utility.CARDINALITY),
    "mes-add1": lambda e, r: equal_shares(e, r, completion="add1"),
    "mes-add1-floor-feasible": lambda e, r: equal_shares(
        e, r, completion="add1", add1_start="floor", add1_stop="feasible"
    ),
    "mes-add1-floor-exhaustive": lambda e, r: equal_shares(
        e, r, completion="add1", add1_start="floor"
    ),
    "mes-add1-greedy": lambda e, r: equal_shares(e, r, completion="add1-greedy"),
    "mes-add1-comparison": lambda e, r: equal_shares(e, r, completion="add1-comparison"),
}
EXHAUSTIVE = ("greedy", "mes-add1-greedy")
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def elections(draw: st.DrawFn, kinds: tuple[BallotType, ...] = (BallotType.APPROVAL,)) -> Election:
    """Small elections, approval or cumulative, in pence with a pot that binds."""
    kind = draw(st.sampled_from(kinds))
    count = draw(st.integers(1, 7))
    ids = [f"P{i}" for i in range(count)]
    costs = [draw(st.integers(1, 20)) * 50 for _ in ids]
    ballots = []
    for voter in range(draw(st.integers(0, 12))):
        chosen = draw(st.lists(st.sampled_from(ids), unique=True, max_size=4))
        points = (
            tuple(draw(st.integers(1, 5)) for _ in chosen) if kind != BallotType.APPROVAL else ()
        )
        ballots.append(Ballot(tuple(chosen), points, voter_id=str(voter)))
    return Election(
        ballot_type=kind,
        budget=draw(st.integers(1, max(1, sum(costs)))),
        projects=tuple(Project(pid, cost) for pid, cost in zip(ids, costs, strict=True)),
        ballots=tuple(ballots),
        unit=100,
        currency="GBP",
    )


ANY_KIND = (BallotType.APPROVAL, BallotType.CUMULATIVE)


@SETTINGS
@given(elections(ANY_KIND))
def test_every_rule_spends_at_most_the_pot(election: Election) -> None:
    rank = tie_break_rank(election)
    for name, rule in RULES.items():
        outcome = rule(election, rank)
        assert outcome.spent == sum(election.project(p).cost for p in outcome.selected), name
        assert outcome.spent <= election.budget, name
        assert len(set(outcome.selected)) == len(outcome.selected), name
        assert set(outcome.reasons) == {p.id for p in election.projects}, name
        funded = {pid for pid, reason in outcome.reasons.items() if reason.funded}
        assert funded == set(outcome.selected), name


@SETTINGS
@given(elections(ANY_KIND))
def test_greedy_and_its_completion_leave_no_supported_project_that_fits(election: Election) -> None:
    rank = tie_break_rank(election)
    supported = {pid for ballot in election.ballots for pid in ballot.projects}
    for name in EXHAUSTIVE:
        outcome = RULES[name](election, rank)
        for project in election.projects:
            if project.id in supported and project.id not in outcome.selected:
                assert project.cost > outcome.leftover, (name, project.id)


@SETTINGS
@given(elections(ANY_KIND), st.randoms(use_true_random=False))
def test_the_order_of_ballots_does_not_matter(election: Election, random: object) -> None:
    ballots = list(election.ballots)
    random.shuffle(ballots)  # type: ignore[attr-defined]
    shuffled = replace(election, ballots=tuple(ballots))
    rank = tie_break_rank(election)
    for name, rule in RULES.items():
        assert rule(election, rank).selected == rule(shuffled, rank).selected, name


@SETTINGS
@given(elections(ANY_KIND), st.randoms(use_true_random=False))
def test_renaming_projects_renames_the_outcome(election: Election, random: object) -> None:
    new_ids = [f"Q{i}" for i in range(len(election.projects))]
    random.shuffle(new_ids)  # type: ignore[attr-defined]
    rename = {p.id: new for p, new in zip(election.projects, new_ids, strict=True)}
    renamed = replace(
        election,
        projects=tuple(replace(p, id=rename[p.id]) for p in election.projects),
        ballots=tuple(
            replace(b, projects=tuple(rename[pid] for pid in b.projects)) for b in election.ballots
        ),
    )
    rank = tie_break_rank(election)
    # The same tie-break order, carried over to the new names.
    moved = {rename[pid]: position for pid, position in rank.items()}
    for name, rule in RULES.items():
        expected = tuple(rename[pid] for pid in rule(election, rank).selected)
        assert rule(renamed, moved).selected == expected, name


@SETTINGS
@given(elections(ANY_KIND))
def test_counting_twice_gives_the_same_outcome(election: Election) -> None:
    rank = tie_break_rank(election)
    for name, rule in RULES.items():
        first, second = rule(election, rank), rule(election, rank)
        assert first == second, name
