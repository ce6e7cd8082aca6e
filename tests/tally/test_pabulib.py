"""Reading and writing pabulib .pb files: every vote type, quirks of real files, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pb_app.tally.election import Ballot, BallotType, Election, Limits, Project
from pb_app.tally.pabulib import (
    PabulibError,
    PbFile,
    file_threshold,
    read_pb,
    selected_in_file,
    write_pb,
)
from tests.tally.conftest import DATA_DIR, SHARED_PABULIB, load

APPROVAL = """META
key;value
budget;1000
vote_type;approval
currency;EUR
max_length;3
PROJECTS
project_id;cost;votes;name;category;selected
L010;600;2;"Park; with a pond";green,leisure;1
BO.OM.97/24;300;1;Library;culture;0
3;999999999;1;Unfundable;;0
VOTES
voter_id;vote;age
v1;L010,BO.OM.97/24;34
v2;L010,3;
v3;;51
"""


def test_approval_file_keeps_string_ids_quoted_names_and_extra_columns() -> None:
    pbfile = read_pb(APPROVAL)
    election = pbfile.election
    assert pbfile.warnings == []
    assert election.ballot_type is BallotType.APPROVAL
    assert (election.budget, election.unit, election.currency) == (1000, 1, "EUR")
    assert [p.id for p in election.projects] == ["L010", "BO.OM.97/24", "3"]
    park = election.project("L010")
    assert park.name == "Park; with a pond"
    assert park.categories == ("green", "leisure")
    assert dict(park.extra) == {"votes": "2", "selected": "1"}
    assert election.ballots[0] == Ballot(("L010", "BO.OM.97/24"), (), "v1", (("age", "34"),))
    assert election.limits.max_length == 3
    assert ("max_length", "3") in election.meta


def test_unfundable_sentinel_project_is_kept_with_its_cost() -> None:
    election = read_pb(APPROVAL).election
    assert election.project("3").cost == 999_999_999


def test_empty_vote_is_a_ballot_with_no_projects() -> None:
    election = read_pb(APPROVAL).election
    assert election.ballots[2].projects == ()
    assert election.ballots[2].voter_id == "v3"


def test_selected_column_and_meta_rule() -> None:
    pbfile = read_pb(APPROVAL)
    assert selected_in_file(pbfile) == {"L010"}
    assert pbfile.rule is None
    assert selected_in_file(read_pb(APPROVAL.replace(";selected", ";kept"))) == set()


CUMULATIVE = """META
key;value
budget;400000.0
vote_type;cumulative
max_sum_points;5
rule;greedy-threshold
min_project_score_threshold;4
PROJECTS
project_id;cost;score
1;250000.5;6
2;100000;3
VOTES
voter_id;vote;points
a;1,2;3,2
b;1;3
"""


def test_float_money_chooses_a_power_of_ten_unit() -> None:
    election = read_pb(CUMULATIVE).election
    assert election.unit == 10
    assert election.budget == 4_000_000
    assert [p.cost for p in election.projects] == [2_500_005, 1_000_000]
    assert election.ballots[0].points == (3, 2)


def test_krakow_budget_with_two_decimals_is_counted_in_grosze() -> None:
    election = load_shared("Poland_Krakow_2023_Swoszowice.pb").election
    assert election.unit == 100
    assert election.budget == 145_973_046


def test_writing_uses_the_files_units_and_spelling() -> None:
    text = write_pb(read_pb(CUMULATIVE).election)
    assert "budget;400000.0\n" in text  # the file's own spelling of an unchanged value
    assert "\n1;250000.5;" in text
    assert "\n2;100000;" in text


def test_meta_rule_and_threshold() -> None:
    pbfile = read_pb(CUMULATIVE)
    assert pbfile.rule == "greedy-threshold"
    assert file_threshold(pbfile.election) == 4
    assert file_threshold(read_pb(APPROVAL).election) is None


@pytest.mark.parametrize(
    ("vote_type", "votes", "expected_points"),
    [
        ("choose-1", "voter_id;vote\n1;a\n2;b\n", ((), ())),
        ("ordinal", "voter_id;vote;points\n1;b,a;2,1\n2;b;1\n", ((), ())),
        ("cumulative", "voter_id;vote;points\n1;b,a;2,1\n2;b;1\n", ((2, 1), (1,))),
        ("scoring", "voter_id;vote;points\n1;a,b;5,0\n2;a,b;3,4\n", ((5, 0), (3, 4))),
    ],
)
def test_every_vote_type_reads_and_round_trips(
    vote_type: str, votes: str, expected_points: tuple[tuple[int, ...], ...]
) -> None:
    text = (
        f"META\nkey;value\nbudget;10\nvote_type;{vote_type}\n"
        f"PROJECTS\nproject_id;cost\na;5\nb;5\nVOTES\n{votes}"
    )
    election = read_pb(text).election
    assert election.ballot_type == vote_type
    assert tuple(b.points for b in election.ballots) == expected_points
    assert read_pb(write_pb(election)).election == election


def test_ordinal_points_column_is_kept_verbatim_not_used() -> None:
    text = (
        "META\nkey;value\nbudget;10\nvote_type;ordinal\n"
        "PROJECTS\nproject_id;cost\na;5\nb;5\nVOTES\nvoter_id;vote;points\n1;b,a;3,2\n"
    )
    ballot = read_pb(text).election.ballots[0]
    assert ballot.projects == ("b", "a")
    assert ballot.points == ()
    assert dict(ballot.extra) == {"points": "3,2"}


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.pb"
    path.write_bytes(b"\xef\xbb\xbf" + APPROVAL.encode())
    assert read_pb(path).election == read_pb(APPROVAL).election


def test_quoted_field_with_semicolon_and_quote_round_trips() -> None:
    text = APPROVAL.replace('"Park; with a pond"', '"Park ""Zielony""; north"')
    election = read_pb(text).election
    assert election.project("L010").name == 'Park "Zielony"; north'
    assert read_pb(write_pb(election)).election == election


def test_too_long_ballot_is_a_warning_naming_voter_and_line() -> None:
    text = APPROVAL.replace("v2;L010,3;", "v2;L010,3,BO.OM.97/24,L010;")
    warnings = read_pb(text).warnings
    assert any("max_length 3" in w and "'v2' (line 15)" in w for w in warnings)
    assert any("naming a project twice" in w for w in warnings)


def test_unknown_project_in_a_vote_is_dropped_with_a_warning() -> None:
    pbfile = read_pb(APPROVAL.replace("v1;L010,BO.OM.97/24;34", "v1;L010,ZZ;34"))
    assert pbfile.election.ballots[0].projects == ("L010",)
    assert any("'ZZ'" in w and "'v1' (line 14)" in w for w in pbfile.warnings)


def test_points_limits_and_counts_are_warned_about() -> None:
    text = CUMULATIVE.replace("b;1;3", "b;1;6").replace("rule;", "num_votes;3\nrule;")
    warnings = read_pb(text).warnings
    assert any("max_sum_points 5" in w and "'b'" in w for w in warnings)
    assert any("num_votes 3 but the file has 2" in w for w in warnings)


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (APPROVAL.replace("L010;600;", "L010;six hundred;"), "Line 9: cost 'six hundred'"),
        (APPROVAL.replace("vote_type;approval", "vote_type;borda"), "Line 4: unknown vote_type"),
        (APPROVAL.replace("3;999999999;1;", "3;999999999;1;x;y;"), "Line 11: this PROJECTS row"),
        (APPROVAL.replace("BO.OM.97/24;300", "L010;300"), "Line 10: project 'L010' already"),
        (APPROVAL.replace("budget;1000\n", ""), "META has no budget"),
        (APPROVAL.replace("VOTES\n", ""), "no VOTES section"),
        (APPROVAL.replace("L010;600;", "L010;-600;"), "Line 9: cost '-600' is negative"),
        (CUMULATIVE.replace("a;1,2;3,2", "a;1,2;3"), "Line 14: voter 'a' names 2 projects"),
        (CUMULATIVE.replace("a;1,2;3,2", "a;1,2;3,x"), "Line 14: points 'x' is not a number"),
        ("hello;world\n" + APPROVAL, "Line 1: expected a META"),
        (APPROVAL.replace("budget;1000", "budget;-5"), "Line 3: budget '-5' is negative"),
        (APPROVAL.replace("max_length;3", "max_length;three"), "Line 6: max_length 'three'"),
    ],
)
def test_malformed_input_raises_pabulib_error_naming_the_line(broken: str, message: str) -> None:
    with pytest.raises(PabulibError) as caught:
        read_pb(broken)
    assert message in str(caught.value)


def test_missing_file_is_a_pabulib_error(tmp_path: Path) -> None:
    with pytest.raises(PabulibError, match="Cannot read"):
        read_pb(tmp_path / "absent.pb")


def test_windows_line_endings_read_the_same() -> None:
    assert read_pb(APPROVAL.replace("\n", "\r\n")).election == read_pb(APPROVAL).election


def test_a_voter_id_twice_is_a_warning() -> None:
    warnings = read_pb(APPROVAL.replace("v3;;51", "v1;;51")).warnings
    assert warnings == ["Line 16: voter 'v1' already voted on line 14; both ballots are counted."]


TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
IDS = st.text("abcXYZ019./-_", min_size=1, max_size=6)


@st.composite
def elections(draw: st.DrawFn) -> Election:
    kind = draw(st.sampled_from(list(BallotType)))
    ids = draw(st.lists(IDS, min_size=1, max_size=5, unique=True))
    unit = draw(st.sampled_from([1, 10, 100]))
    projects = tuple(
        Project(pid, draw(st.integers(1, 10**9)), name=draw(TEXT), extra=(("note", draw(TEXT)),))
        for pid in ids
    )
    ballots = []
    for number in range(draw(st.integers(0, 5))):
        chosen = draw(st.lists(st.sampled_from(ids), unique=True))
        points = tuple(draw(st.integers(0, 9)) for _ in chosen)
        ballots.append(
            Ballot(
                tuple(chosen),
                points if kind in (BallotType.CUMULATIVE, BallotType.SCORING) else (),
                voter_id=f"v{number}",
                extra=(("age", draw(TEXT)),),
            )
        )
    return Election(
        ballot_type=kind,
        budget=draw(st.integers(0, 10**12)),
        projects=projects,
        ballots=tuple(ballots),
        limits=Limits(max_length=draw(st.none() | st.integers(1, 5))),
        unit=unit,
        currency=draw(st.sampled_from(["", "EUR", "PLN"])),
        meta=(("description", draw(TEXT)),),
    )


@settings(max_examples=80, deadline=None)
@given(elections())
def test_any_election_survives_write_then_read(election: Election) -> None:
    once = read_pb(write_pb(election)).election
    assert read_pb(write_pb(once)).election == once
    assert [p.cost * once.unit for p in election.projects] == [
        p.cost * election.unit for p in once.projects
    ]
    assert once.budget * election.unit == election.budget * once.unit
    assert [p.name for p in once.projects] == [p.name for p in election.projects]
    assert [(b.projects, b.points, b.extra) for b in once.ballots] == [
        (b.projects, b.points, b.extra) for b in election.ballots
    ]
    assert dict(once.meta)["description"] == dict(election.meta)["description"]


# --- real files -----------------------------------------------------------------------------


def load_shared(name: str) -> PbFile:
    """``load`` for a shared-only file, skipping when ../shared is absent."""
    if not (DATA_DIR / name).is_file() and not (SHARED_PABULIB / name).is_file():
        pytest.skip(f"{name} is not in tests/data and ../shared is absent")
    return load(name)


def _real_files() -> list[object]:
    names = {p.name for p in DATA_DIR.glob("*.pb")}
    sizes = {p.name: p.stat().st_size for p in SHARED_PABULIB.glob("*.pb")}
    names |= set(sizes)
    return [
        pytest.param(name, marks=pytest.mark.slow) if sizes.get(name, 0) > 1_000_000 else name
        for name in sorted(names)
    ]


@pytest.mark.parametrize("name", _real_files())
def test_real_file_round_trips_to_an_equal_election(name: str) -> None:
    election = load(name).election
    again = read_pb(write_pb(election))
    assert again.election == election
    assert again.warnings == load(name).warnings


def test_local_copies_match_the_expected_slice() -> None:
    slice_ = json.loads((DATA_DIR / "expected.json").read_text(encoding="utf-8"))["files"]
    assert set(slice_) == {p.name for p in DATA_DIR.glob("*.pb")}
    for name, entry in slice_.items():
        election = load(name).election
        assert entry["vote_type"] == election.ballot_type
        assert entry["voters"] == len(election.ballots)
        assert entry["projects"] == len(election.projects)


def test_local_copies_are_faithful_to_the_shared_folder(
    shared_pabulib_dir: Path, expected: dict[str, Any]
) -> None:
    slice_ = json.loads((DATA_DIR / "expected.json").read_text(encoding="utf-8"))["files"]
    for name, entry in slice_.items():
        assert (DATA_DIR / name).read_bytes() == (shared_pabulib_dir / name).read_bytes()
        assert entry == expected[name]


def test_real_cumulative_file_warns_about_its_own_limits() -> None:
    warnings = load("Worldwide_Mechanical_Turk_Utilities_3.pb").warnings
    assert warnings == [
        "11 ballots giving fewer than min_sum_points 100 points: e.g. voter '1992' (line 44)."
    ]
