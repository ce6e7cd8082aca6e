"""Ballots as columns (BallotColumns), the counts taken from them, and the merge of equal ballots.

Each vectorised count is checked against the plain per-ballot loop it replaced.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pb_app.tally.election import (
    Ballot,
    BallotColumns,
    BallotType,
    Election,
    Limits,
    Project,
    merge_identical,
)
from pb_app.tally.greedy import greedy, maximum_score, project_scores
from pb_app.tally.mes import Utility, _points, _prepare
from pb_app.tally.outcome import format_money
from pb_app.tally.pabulib import PabulibError, read_pb, write_pb
from pb_app.tally.tiebreak import support_counts, tie_break_rank

POINTS_KINDS = (BallotType.CUMULATIVE, BallotType.SCORING)


@st.composite
def elections(draw: st.DrawFn, repeats: bool = True) -> Election:
    """Small elections of every ballot type: empty ballots, none at all, a project named twice."""
    kind = draw(st.sampled_from(list(BallotType)))
    ids = [f"p{i}" for i in range(draw(st.integers(0, 6)))]
    ballots = []
    for number in range(draw(st.integers(0, 12))):
        chosen = draw(st.lists(st.sampled_from(ids), max_size=5, unique=not repeats)) if ids else []
        points = [draw(st.integers(-2, 6)) for _ in chosen] if kind in POINTS_KINDS else []
        ballots.append(Ballot(tuple(chosen), tuple(points), voter_id=f"v{number}"))
    default = draw(st.sampled_from([None, 0, 2])) if kind is BallotType.SCORING else None
    return Election(
        ballot_type=kind,
        budget=draw(st.integers(0, 1000)),
        projects=tuple(Project(pid, draw(st.integers(1, 400))) for pid in ids),
        ballots=tuple(ballots),
        limits=Limits(default_score=default),
    )


def same_columns(a: BallotColumns, b: BallotColumns) -> bool:
    """Whether two column sets hold the same ids and entries."""
    return (
        a.ids == b.ids
        and np.array_equal(a.offsets, b.offsets)
        and np.array_equal(a.index, b.index)
        and (a.points is None) == (b.points is None)
        and (a.points is None or b.points is None or np.array_equal(a.points, b.points))
    )


@settings(max_examples=120, deadline=None)
@given(elections())
def test_the_reader_builds_the_columns_the_ballots_give(election: Election) -> None:
    read = read_pb(write_pb(election)).election
    assert read.columns.ballots is read.ballots  # the reader's own columns were kept
    built = BallotColumns.from_ballots(read.ballots, read.projects, read.ballot_type)
    assert same_columns(read.columns, built)
    assert same_columns(read.columns, election.columns)


@settings(max_examples=120, deadline=None)
@given(elections())
def test_columns_hold_every_ballot_as_cast(election: Election) -> None:
    columns = election.columns
    assert columns.ids == tuple(p.id for p in election.projects)
    assert len(columns.offsets) == len(election.ballots) + 1
    for number, ballot in enumerate(election.ballots):
        entries = slice(columns.offsets[number], columns.offsets[number + 1])
        assert tuple(columns.ids[i] for i in columns.index[entries].tolist()) == ballot.projects
        if columns.points is not None:
            assert tuple(columns.points[entries].tolist()) == ballot.points
    assert (columns.points is not None) == (election.ballot_type in POINTS_KINDS)


def test_an_election_without_ballots_has_empty_columns() -> None:
    election = Election(BallotType.ORDINAL, 10, (Project("A", 5),), ())
    assert election.columns.offsets.tolist() == [0]
    assert election.columns.index.size == 0
    assert support_counts(election) == {"A": 0}
    assert project_scores(election) == {"A": 0}
    assert greedy(election, tie_break_rank(election)).selected == ()


def test_empty_ballots_are_rows_without_entries() -> None:
    projects = (Project("A", 5), Project("B", 5))
    ballots = (Ballot(("A",), (3,)), Ballot(()), Ballot(("B", "A"), (1, 2)), Ballot(()))
    election = Election(BallotType.CUMULATIVE, 10, projects, ballots)
    assert election.columns.offsets.tolist() == [0, 1, 1, 3, 3]
    assert election.columns.index.tolist() == [0, 1, 0]
    assert election.columns.points is not None
    assert election.columns.points.tolist() == [3, 1, 2]
    assert support_counts(election) == {"A": 2, "B": 1}


def test_replace_keeps_the_columns_unless_the_ballots_or_projects_change() -> None:
    projects = (Project("A", 5), Project("B", 5))
    election = Election(BallotType.APPROVAL, 10, projects, (Ballot(("A",)), Ballot(("A", "B"))))
    assert replace(election, budget=7).columns is election.columns
    fewer = replace(election, ballots=election.ballots[:1])
    assert fewer.columns.offsets.tolist() == [0, 1]
    assert support_counts(fewer) == {"A": 1, "B": 0}
    # Same number of ballots, other content: still built again, never stale.
    other = replace(election, ballots=(Ballot(("B",)), Ballot(("B",))))
    assert support_counts(other) == {"A": 0, "B": 2}
    swapped = replace(election, projects=projects[::-1])
    assert support_counts(swapped) == {"A": 2, "B": 1}
    assert swapped.columns.ids == ("B", "A")
    cumulative = replace(election, ballot_type=BallotType.CUMULATIVE, ballots=())
    assert cumulative.columns.points is not None


def test_a_project_named_twice_is_one_vote_but_its_points_add_up() -> None:
    projects = (Project("A", 5), Project("B", 5))
    ballots = (Ballot(("A", "B", "A"), (1, 2, 3)), Ballot(("A",), (4,)))
    election = Election(BallotType.CUMULATIVE, 10, projects, ballots)
    assert support_counts(election) == {"A": 2, "B": 1}
    assert project_scores(election) == {"A": 8, "B": 2}


def test_an_id_that_is_not_a_project_keeps_its_place_but_takes_no_part() -> None:
    projects = (Project("A", 5), Project("B", 5))
    ballots = (Ballot(("gone", "A", "B")), Ballot(("B", "gone")))
    election = Election(BallotType.ORDINAL, 10, projects, ballots)
    assert election.columns.ids == ("A", "B", "gone")
    assert support_counts(election) == {"A": 1, "B": 2, "gone": 2}
    # Ranked 2nd and 3rd of three, and 1st of two: A scores 2, B 1 + 2.
    assert project_scores(election)["A"] == 2
    assert project_scores(election)["B"] == 3
    assert greedy(election, tie_break_rank(election), order_by="score").selected == ("B", "A")


def test_points_must_match_the_projects_named() -> None:
    with pytest.raises(ValueError, match="names 2 projects but gives 1 points"):
        Election(BallotType.CUMULATIVE, 1, (Project("A", 1),), (Ballot(("A", "A"), (1,)),))


def test_points_beyond_int64_are_refused() -> None:
    with pytest.raises(ValueError, match="more points than can be counted"):
        Election(BallotType.CUMULATIVE, 1, (Project("A", 1),), (Ballot(("A",), (2**63,)),))


def test_the_reader_refuses_points_beyond_int64_naming_the_line() -> None:
    text = (
        "META\nkey;value\nbudget;1\nvote_type;cumulative\nPROJECTS\nproject_id;cost\nA;1\n"
        f"VOTES\nvoter_id;vote;points\nv1;A;{2**63}\n"
    )
    with pytest.raises(PabulibError, match="Line 10: voter 'v1' gives more points than can be"):
        read_pb(text)


def test_huge_points_are_summed_exactly() -> None:
    big = 2**62 + 1
    ballots = tuple(Ballot(("A",), (big,)) for _ in range(3))
    election = Election(BallotType.CUMULATIVE, 1, (Project("A", 1),), ballots)
    assert project_scores(election) == {"A": 3 * big}


@settings(max_examples=150, deadline=None)
@given(elections())
def test_support_and_scores_match_the_per_ballot_count(election: Election) -> None:
    support: Counter[str] = Counter({p.id: 0 for p in election.projects})
    scores: Counter[str] = Counter({p.id: 0 for p in election.projects})
    default = election.limits.default_score
    for ballot in election.ballots:
        support.update(set(ballot.projects))
        if election.ballot_type is BallotType.ORDINAL:
            for position, pid in enumerate(ballot.projects):
                scores[pid] += len(ballot.projects) - position
        elif election.ballot_type in POINTS_KINDS:
            for pid, points in zip(ballot.projects, ballot.points, strict=True):
                scores[pid] += points
            if election.ballot_type is BallotType.SCORING and default:
                for project in election.projects:
                    if project.id not in ballot.projects:
                        scores[project.id] += default
        else:
            scores.update(set(ballot.projects))
    assert support_counts(election) == support
    assert project_scores(election) == scores


@settings(max_examples=100, deadline=None)
@given(elections())
def test_maximum_score_is_the_most_any_voter_gave(election: Election) -> None:
    if election.ballot_type not in POINTS_KINDS:
        return
    most = max((max(b.points, default=0) for b in election.ballots), default=0)
    assert maximum_score(election, "score") == len(election.ballots) * most


def merged_by_dicts(election: Election) -> list[tuple[tuple[tuple[int, int], ...], int]]:
    """The merge as it was done before: a dict keyed on each ballot's sorted (project, points)."""
    index = {project.id: i for i, project in enumerate(election.projects)}
    merged: dict[tuple[tuple[int, int], ...], int] = {}
    for ballot in election.ballots:
        key = tuple(sorted(_points(election, index, ballot.projects, ballot.points).items()))
        merged[key] = merged.get(key, 0) + 1
    return list(merged.items())


@settings(max_examples=200, deadline=None)
@given(elections())
def test_the_vectorised_merge_equals_the_dict_merge(election: Election) -> None:
    voters = _prepare(election, Utility.POINTS)
    entries: list[list[tuple[int, int]]] = [[] for _ in range(voters.size)]
    for project, (members, values) in enumerate(zip(voters.members, voters.values, strict=True)):
        for member, value in zip(members.tolist(), values.tolist(), strict=True):
            entries[member].append((project, value))
    assert [
        (tuple(e), w) for e, w in zip(entries, voters.weight.tolist(), strict=True)
    ] == merged_by_dicts(election)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(st.integers(0, 5), st.sampled_from([1, 2, 2**40, -(2**40)])),
            max_size=5,
            unique_by=lambda pair: pair[0],
        ),
        max_size=10,
    )
)
def test_merge_identical_compares_long_ballots_byte_wise(
    ballots: list[list[tuple[int, int]]],
) -> None:
    _merges_like_a_dict(ballots)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(st.sampled_from([0, 1, 2, 2999, 3000]), st.sampled_from([1, 2])),
            min_size=1,
            max_size=3,
            unique_by=lambda pair: pair[0],
        ),
        max_size=12,
    )
)
def test_merge_identical_ranks_keys_too_many_for_a_table_by_sorting(
    ballots: list[list[tuple[int, int]]],
) -> None:
    # With 3,001 project indices a ballot of 2 or 3 entries is one int64 key, but there are
    # far more possible keys than ballots: they are ranked by sorting, not by a table.
    _merges_like_a_dict(ballots)


def _merges_like_a_dict(ballots: list[list[tuple[int, int]]]) -> None:
    """merge_identical gives each distinct ballot, first cast first, with its voters."""
    rows, index, values = [], [], []
    for number, pairs in enumerate(ballots):
        for project, value in sorted(pairs):
            rows.append(number)
            index.append(project)
            values.append(value)
    merged = merge_identical(
        np.array(rows, dtype=np.int64),
        np.array(index, dtype=np.int64),
        np.array(values, dtype=np.int64),
        len(ballots),
    )
    expected: dict[tuple[tuple[int, int], ...], int] = {}
    for pairs in ballots:
        key = tuple(sorted(pairs))
        expected[key] = expected.get(key, 0) + 1
    got = [
        (
            tuple(
                zip(
                    merged.index[start:end].tolist(),
                    merged.values[start:end].tolist(),
                    strict=True,
                )
            ),
            weight,
        )
        for start, end, weight in zip(
            merged.offsets[:-1].tolist(),
            merged.offsets[1:].tolist(),
            merged.weight.tolist(),
            strict=True,
        )
    ]
    assert got == list(expected.items())


def format_by_fraction(amount: int, unit: int, currency: str) -> str:
    """format_money as it was: through a Fraction."""
    value = Fraction(amount) / unit
    symbol = {"GBP": "£", "EUR": "€", "USD": "$"}.get(currency, "")
    suffix = "" if symbol or not currency else f" {currency}"
    whole, hundredths = divmod(math.floor(value * 100 + Fraction(1, 2)), 100)
    text = f"{whole:,}" if value.denominator == 1 else f"{whole:,}.{hundredths:02d}"
    return f"{symbol}{text}{suffix}"


@settings(max_examples=300, deadline=None)
@given(
    st.integers(-(10**15), 10**15),
    st.sampled_from([1, 3, 10, 100, 1000, 7919]),
    st.sampled_from(["", "GBP", "EUR", "PLN"]),
)
def test_format_money_of_an_int_reads_as_through_a_fraction(
    amount: int, unit: int, currency: str
) -> None:
    assert format_money(amount, unit, currency) == format_by_fraction(amount, unit, currency)
