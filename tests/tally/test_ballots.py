"""Ballot validation: each ballot type against each limit, in messages a voter understands."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pb_app.tally.ballots import MESSAGES, Problem, normalise_ballot, validate_ballot
from pb_app.tally.election import Ballot, BallotType, Limits, Project

PROJECTS = (
    Project("lunch", 150000, name="Lunch club"),
    Project("garden", 200000, name="Community garden"),
    Project("art", 120000, name="Mural"),
    Project("bus", 100000, name="Minibus"),
    Project("nameless", 50000),
)
IDS = [project.id for project in PROJECTS]


def check(
    ballot_type: BallotType,
    projects: Sequence[str],
    points: Sequence[object] = (),
    excluded: Sequence[str] = (),
    **limits: int,
) -> list[Problem]:
    ballot = Ballot(tuple(projects), tuple(points))  # type: ignore[arg-type]
    return validate_ballot(ballot_type, ballot, PROJECTS, Limits(**limits), excluded=excluded)


def messages(problems: list[Problem]) -> list[str]:
    return [problem.message for problem in problems]


# --- approval, with the knapsack limit -------------------------------------------------------


def test_approval_within_limits_is_accepted() -> None:
    assert check(BallotType.APPROVAL, ["lunch", "bus"], max_length=3, max_sum_cost=500000) == []


def test_approval_over_the_budget_says_how_much_to_remove() -> None:
    problems = check(BallotType.APPROVAL, ["lunch", "garden", "art"], max_sum_cost=400000)
    assert messages(problems) == [
        "You have chosen £4,700 of projects; the limit is £4,000. Remove £700 or more."
    ]
    assert problems[0].code == "cost-too-high"


def test_approval_under_the_minimum_cost_says_how_much_to_add() -> None:
    assert messages(check(BallotType.APPROVAL, ["bus"], min_sum_cost=150000)) == [
        "You have chosen £1,000 of projects; choose at least £1,500. Add £500 or more."
    ]


def test_approval_too_many_and_too_few() -> None:
    assert messages(check(BallotType.APPROVAL, IDS, max_length=3)) == [
        "Choose at most 3 projects; you have chosen 5."
    ]
    assert messages(check(BallotType.APPROVAL, ["bus"], min_length=2)) == [
        "Choose at least 2 projects; you have chosen 1."
    ]


@pytest.mark.parametrize(
    ("ballot_type", "chosen", "limits", "expected"),
    [
        (
            BallotType.APPROVAL,
            [],
            {"min_length": 1},
            "Choose at least 1 project; you have chosen none.",
        ),
        (
            BallotType.APPROVAL,
            ["art", "bus"],
            {"max_length": 1},
            "Choose at most 1 project; you have chosen 2.",
        ),
        (
            BallotType.ORDINAL,
            [],
            {"min_length": 1},
            "Rank at least 1 project; you have ranked none.",
        ),
        (
            BallotType.ORDINAL,
            ["art", "bus"],
            {"max_length": 1},
            "Rank at most 1 project; you have ranked 2.",
        ),
    ],
)
def test_a_limit_of_one_reads_in_the_singular(
    ballot_type: BallotType, chosen: list[str], limits: dict[str, int], expected: str
) -> None:
    assert messages(check(ballot_type, chosen, **limits)) == [expected]


def test_approval_refuses_points() -> None:
    assert [p.code for p in check(BallotType.APPROVAL, ["bus"], [3])] == ["points-not-allowed"]


def test_approval_reports_unknown_and_repeated_projects() -> None:
    problems = check(BallotType.APPROVAL, ["bus", "pool", "bus"])
    assert [(p.code, p.project_id) for p in problems] == [
        ("duplicate-project", "bus"),
        ("unknown-project", "pool"),
    ]
    assert problems[0].message == "You have chosen 'Minibus' more than once; choose it once."


def test_approval_reports_every_problem_at_once() -> None:
    problems = check(
        BallotType.APPROVAL,
        ["lunch", "garden", "art", "bus", "pool", "lunch"],
        [1],
        excluded=["art"],
        max_length=2,
        max_sum_cost=300000,
    )
    assert {p.code for p in problems} == {
        "duplicate-project",
        "unknown-project",
        "own-bid",
        "points-not-allowed",
        "too-many",
        "cost-too-high",
    }


# --- choose-1 --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        (["bus"], []),
        ([], ["Choose one project."]),
        (["bus", "art"], ["Choose only one project; you have chosen 2."]),
    ],
)
def test_choose_one_takes_exactly_one(chosen: list[str], expected: list[str]) -> None:
    assert messages(check(BallotType.CHOOSE_ONE, chosen)) == expected


# --- ordinal ----------------------------------------------------------------------------------


def test_ordinal_top_n_and_minimum() -> None:
    assert check(BallotType.ORDINAL, ["art", "bus", "lunch"], max_length=3) == []
    assert messages(check(BallotType.ORDINAL, IDS[:4], max_length=3)) == [
        "Rank at most 3 projects; you have ranked 4."
    ]
    assert messages(check(BallotType.ORDINAL, ["art"], min_length=2)) == [
        "Rank at least 2 projects; you have ranked 1."
    ]


def test_ordinal_refuses_a_repeat() -> None:
    assert messages(check(BallotType.ORDINAL, ["art", "bus", "art"])) == [
        "You have ranked 'Mural' more than once; rank each project once."
    ]


# --- cumulative ---------------------------------------------------------------------------


def test_cumulative_within_limits_is_accepted() -> None:
    assert (
        check(
            BallotType.CUMULATIVE,
            ["art", "bus"],
            [3, 7],
            min_points=1,
            max_points=7,
            max_sum_points=10,
            min_sum_points=10,
            max_length=2,
        )
        == []
    )


@pytest.mark.parametrize(
    ("points", "limits", "expected"),
    [
        ([0], {}, "Give 'Mural' at least 1 point, or leave it out; you gave 0."),
        ([-2], {}, "Give 'Mural' at least 1 point, or leave it out; you gave -2."),
        ([1.5], {}, "Give 'Mural' a whole number of points; '1.5' is not one."),
        ([True], {}, "Give 'Mural' a whole number of points; 'True' is not one."),
        ([1], {"min_points": 2}, "Give 'Mural' at least 2 points; you gave 1."),
        ([9], {"max_points": 5}, "Give 'Mural' at most 5 points; you gave 9."),
    ],
)
def test_cumulative_points_per_project(
    points: list[object], limits: dict[str, int], expected: str
) -> None:
    assert messages(check(BallotType.CUMULATIVE, ["art"], points, **limits)) == [expected]


def test_cumulative_sum_of_points() -> None:
    assert messages(check(BallotType.CUMULATIVE, ["art", "bus"], [6, 6], max_sum_points=10)) == [
        "You have given 12 points; the limit is 10. Remove 2 or more."
    ]
    assert messages(check(BallotType.CUMULATIVE, ["art"], [4], min_sum_points=10)) == [
        "You have given 4 points; give at least 10. Add 6 or more."
    ]


def test_cumulative_length_limits() -> None:
    assert [p.code for p in check(BallotType.CUMULATIVE, IDS[:3], [1, 1, 1], max_length=2)] == [
        "too-many"
    ]
    assert [p.code for p in check(BallotType.CUMULATIVE, ["art"], [1], min_length=2)] == ["too-few"]


def test_cumulative_points_must_line_up_with_projects() -> None:
    assert [p.code for p in check(BallotType.CUMULATIVE, ["art", "bus"], [3])] == [
        "points-mismatch"
    ]


def test_cumulative_reports_a_problem_for_each_project() -> None:
    problems = check(BallotType.CUMULATIVE, ["art", "bus", "lunch"], [0, 2.5, 9], max_points=5)
    assert [(p.code, p.project_id) for p in problems] == [
        ("points-not-positive", "art"),
        ("points-not-whole", "bus"),
        ("points-too-many", "lunch"),
    ]


# --- scoring ------------------------------------------------------------------------------

SCORE_LIMITS = {"min_points": 1, "max_points": 5}


def test_scoring_every_project_scored_is_accepted() -> None:
    assert check(BallotType.SCORING, IDS, [1, 2, 3, 4, 5], **SCORE_LIMITS) == []


def test_scoring_names_each_unscored_project() -> None:
    problems = check(BallotType.SCORING, ["garden", "art", "bus"], [1, 2, 3], **SCORE_LIMITS)
    assert messages(problems) == [
        "Give every project a score from 1 to 5: 'Lunch club' has no score.",
        "Give every project a score from 1 to 5: 'nameless' has no score.",
    ]


def test_scoring_default_score_fills_the_gaps() -> None:
    assert check(BallotType.SCORING, ["art"], [4], default_score=1, **SCORE_LIMITS) == []


def test_scoring_out_of_range_and_not_whole() -> None:
    problems = check(BallotType.SCORING, IDS, [0, 6, 2.5, 3, 3], **SCORE_LIMITS)
    assert messages(problems) == [
        "Give 'Lunch club' a score from 1 to 5; you gave 0.",
        "Give 'Community garden' a score from 1 to 5; you gave 6.",
        "Give 'Mural' a whole-number score; '2.5' is not one.",
    ]


def test_scoring_without_a_declared_minimum_refuses_negative_scores() -> None:
    problems = check(BallotType.SCORING, IDS, [-1, 0, 0, 0, 0])
    assert messages(problems) == ["Give 'Lunch club' a score of at least 0; you gave -1."]


def test_group_cannot_score_own_bid() -> None:
    problems = check(BallotType.SCORING, IDS, [3, 3, 3, 3, 3], excluded=["garden"], **SCORE_LIMITS)
    assert messages(problems) == [
        "You cannot score 'Community garden' because it is your own group's bid."
    ]
    assert problems[0].project_id == "garden"


def test_group_leaving_own_bid_unscored_is_accepted() -> None:
    others = [pid for pid in IDS if pid != "garden"]
    assert check(BallotType.SCORING, others, [3] * 4, excluded=["garden"], **SCORE_LIMITS) == []


def test_group_cannot_vote_for_own_bid_on_other_ballots() -> None:
    assert messages(check(BallotType.APPROVAL, ["garden"], excluded=["garden"])) == [
        "You cannot vote for 'Community garden' because it is your own group's bid."
    ]


def test_every_message_comes_from_the_template_table() -> None:
    # Every code a test above met must be in the one table a translator will read.
    problems = check(BallotType.SCORING, ["x", "art", "art"], [1, 2, 3], **SCORE_LIMITS)
    assert problems
    assert all(problem.code in MESSAGES for problem in problems)
    assert all(code.split(":")[0] in MESSAGES for code in MESSAGES)


# --- canonical form -----------------------------------------------------------------------


def test_normalise_sorts_approval_and_keeps_ranking() -> None:
    limits = Limits()
    approval = normalise_ballot(BallotType.APPROVAL, Ballot(("lunch", "art")), limits, PROJECTS)
    assert approval.projects == ("art", "lunch")
    ranking = normalise_ballot(BallotType.ORDINAL, Ballot(("lunch", "art")), limits, PROJECTS)
    assert ranking.projects == ("lunch", "art")


def test_normalise_fills_default_scores_but_not_own_bid() -> None:
    limits = Limits(min_points=1, max_points=5, default_score=2)
    ballot = Ballot(("lunch", "art"), (5, 4), voter_id="v1")
    normal = normalise_ballot(BallotType.SCORING, ballot, limits, PROJECTS, excluded=["bus"])
    assert normal.projects == ("art", "garden", "lunch", "nameless")
    assert normal.points == (4, 2, 5, 2)
    assert normal.voter_id == "v1"


def test_normalise_gives_the_same_form_for_the_same_choices() -> None:
    limits = Limits()
    first = Ballot(("bus", "art"), (2, 7))
    second = Ballot(("art", "bus"), (7, 2))
    assert normalise_ballot(BallotType.CUMULATIVE, first, limits, PROJECTS) == normalise_ballot(
        BallotType.CUMULATIVE, second, limits, PROJECTS
    )


# --- properties ---------------------------------------------------------------------------


def optional(values: st.SearchStrategy[int]) -> st.SearchStrategy[int | None]:
    """A limit that is usually not set, so that many ballots are tested against a few limits."""
    return st.none() | st.none() | values


optional_small = optional(st.integers(-2, 8))
limits_strategy = st.builds(
    Limits,
    min_length=optional_small,
    max_length=optional_small,
    min_sum_cost=optional(st.integers(0, 700000)),
    max_sum_cost=optional(st.integers(0, 700000)),
    min_points=optional_small,
    max_points=optional_small,
    min_sum_points=optional(st.integers(-5, 30)),
    max_sum_points=optional(st.integers(-5, 30)),
    default_score=optional_small,
)
any_id = st.sampled_from([*IDS, "pool", ""]) | st.text(max_size=3)
any_points = st.integers(-3, 9) | st.floats(allow_nan=True) | st.booleans() | st.none()


@st.composite
def ballots(
    draw: st.DrawFn, ballot_type: BallotType
) -> tuple[BallotType, Ballot, Limits, frozenset[str]]:
    if draw(st.integers(0, 3)):
        # Plausible ballots (known ids once each, whole points) so many are accepted and the
        # limits themselves are what is tested.
        projects = draw(st.lists(st.sampled_from(IDS), unique=True, max_size=5))
        points: list[object] = list(
            draw(st.lists(st.integers(-1, 7), min_size=len(projects), max_size=len(projects)))
        )
        if ballot_type not in (BallotType.CUMULATIVE, BallotType.SCORING):
            points = []
    else:
        projects = draw(st.lists(any_id, max_size=7))
        points = draw(st.lists(any_points, max_size=7))
    excluded = frozenset(draw(st.lists(st.sampled_from(IDS), max_size=1)))
    ballot = Ballot(tuple(projects), tuple(points))  # type: ignore[arg-type]
    return ballot_type, ballot, draw(limits_strategy), excluded


def satisfies_every_limit(
    ballot_type: BallotType, ballot: Ballot, limits: Limits, excluded: frozenset[str]
) -> bool:
    """An independent, plain restatement of tally.md §1 for an accepted ballot."""
    costs = {project.id: project.cost for project in PROJECTS}
    ids = ballot.projects
    if len(set(ids)) != len(ids) or not set(ids) <= set(costs) or set(ids) & excluded:
        return False
    n = len(ids)

    def within(value: int, low: int | None, high: int | None) -> bool:
        return (low is None or value >= low) and (high is None or value <= high)

    if ballot_type is BallotType.CHOOSE_ONE:
        return n == 1 and not ballot.points
    if ballot_type is BallotType.APPROVAL:
        total = sum(costs[pid] for pid in ids)
        return (
            not ballot.points
            and within(n, limits.min_length, limits.max_length)
            and within(total, limits.min_sum_cost, limits.max_sum_cost)
        )
    if ballot_type is BallotType.ORDINAL:
        return not ballot.points and within(n, limits.min_length, limits.max_length)
    points = ballot.points
    if len(points) != n or not all(type(p) is int for p in points):
        return False
    if ballot_type is BallotType.CUMULATIVE:
        return (
            within(n, limits.min_length, limits.max_length)
            and all(p >= 1 and within(p, limits.min_points, limits.max_points) for p in points)
            and within(sum(points), limits.min_sum_points, limits.max_sum_points)
        )
    low = 0 if limits.min_points is None else limits.min_points
    every = set(costs) - excluded
    return all(within(p, low, limits.max_points) for p in points) and (
        limits.default_score is not None or set(ids) >= every
    )


@pytest.mark.parametrize("ballot_type", list(BallotType))
@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_validate_never_raises_and_accepts_only_ballots_within_every_limit(
    ballot_type: BallotType, data: st.DataObject
) -> None:
    _, ballot, limits, excluded = data.draw(ballots(ballot_type))
    problems = validate_ballot(ballot_type, ballot, PROJECTS, limits, excluded=excluded)
    assert all(problem.message and problem.code in MESSAGES for problem in problems)
    if not problems:
        assert satisfies_every_limit(ballot_type, ballot, limits, excluded)
    else:
        # And the converse: a ballot within every limit is never refused.
        assert not satisfies_every_limit(ballot_type, ballot, limits, excluded)
