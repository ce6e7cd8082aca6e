"""The ``recount`` command, run directly with click's CliRunner: no app, no database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pb_app.cli.recount import recount
from tests.tally.conftest import DATA_DIR

AMSTERDAM = DATA_DIR / "Netherlands_Amsterdam_643.pb"  # choose-1, META rule greedy
ASSEN = DATA_DIR / "Netherlands_Assen_2024.pb"  # approval, META rule equalshares/add1
TURK = DATA_DIR / "Worldwide_Mechanical_Turk_Utilities_3.pb"  # cumulative, breaks its limits

SMALL = """META
key;value
budget;100
vote_type;approval
rule;{rule}
{extra}PROJECTS
project_id;cost;name
a;60;Alpha
b;50;Beta
c;30;Gamma
VOTES
voter_id;vote
1;a,b
2;a,b
3;b,c
4;b
"""


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(recount, [str(arg) for arg in args])


def small_file(tmp_path: Path, rule: str = "greedy", extra: str = "") -> Path:
    path = tmp_path / "small.pb"
    path.write_text(SMALL.format(rule=rule, extra=extra), encoding="utf-8")
    return path


def expected_selection(name: str, key: str) -> list[str]:
    entry = json.loads((DATA_DIR / "expected.json").read_text(encoding="utf-8"))["files"][name]
    selected: list[str] = entry["rules"][key]["selected"]
    return selected


def test_json_output_is_one_object_with_the_greedy_result() -> None:
    result = invoke(AMSTERDAM, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["rule"] == "greedy"
    assert data["selected"] == expected_selection(AMSTERDAM.name, "greedy_cost")
    assert data["tie_break"] == ["id"]
    assert {p["id"] for p in data["projects"]} == {"44250", "44251", "44252"}
    assert all(p["reason_text"] for p in data["projects"])


def test_text_output_lists_funded_projects_money_and_reasons(tmp_path: Path) -> None:
    result = invoke(small_file(tmp_path))
    assert result.exit_code == 0, result.output
    assert "1. b Beta — 50; 4 votes" in result.stdout
    assert "Spent: 80 of 100; left over: 20." in result.stdout
    assert "a Alpha: Not funded: it needed 60 and 50 was left when its turn came (step 2)." in (
        result.stdout
    )


def test_rule_option_overrides_the_file(tmp_path: Path) -> None:
    result = invoke(small_file(tmp_path), "--rule", "greedy-no-skip", "--json")
    assert json.loads(result.stdout)["selected"] == ["b"]


def test_file_rule_and_threshold_are_the_default(tmp_path: Path) -> None:
    path = small_file(tmp_path, "greedy-threshold", "min_project_score_threshold;3\n")
    data = json.loads(invoke(path, "--json").stdout)
    assert data["rule"] == "greedy-threshold"
    assert data["selected"] == ["b"]
    reasons = {p["id"]: p["reason"] for p in data["projects"]}
    assert reasons == {"a": "below-threshold", "b": "funded", "c": "below-threshold"}


def test_meta_rule_equal_shares_maps_to_mes_add1() -> None:
    result = invoke(ASSEN, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["rule"] == "mes-add1"
    assert data["selected"] == expected_selection(ASSEN.name, "mes_add1")


def test_rule_we_do_not_count_falls_back_to_greedy_and_says_so(tmp_path: Path) -> None:
    result = invoke(small_file(tmp_path, "greedy-custom"), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["rule"] == "greedy"
    assert "'greedy-custom' is not one we count; using greedy" in result.stderr


def test_share_threshold_option(tmp_path: Path) -> None:
    data = json.loads(invoke(small_file(tmp_path), "--threshold", "75%", "--json").stdout)
    # 4 voters: b has 4 votes (100%), a 2 (50%), c 1 (25%).
    assert data["selected"] == ["b"]
    assert {p["id"]: p["reason"] for p in data["projects"]}["a"] == "below-threshold"


def test_warnings_go_to_stderr_and_output_stays_clean_json() -> None:
    result = invoke(TURK, "--json")
    assert result.exit_code == 0
    assert "warning: 11 ballots giving fewer than min_sum_points 100 points" in result.stderr
    assert json.loads(result.stdout)["warnings"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--rule", "borda"), 2, "Unknown rule 'borda'; choose one of: greedy,"),
        (("--tie-break", "oldest"), 2, "Unknown tie-break key oldest"),
        (("--tie-break", "lot"), 1, "a published seed is needed"),
        (("--rule", "greedy-threshold"), 2, "greedy-threshold needs --threshold"),
        (("--threshold", "many"), 2, "neither a whole number"),
        (("--add1-start", "middle"), 2, "Invalid value for '--add1-start'"),
    ],
)
def test_bad_options_exit_with_one_clear_line(
    tmp_path: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    result = invoke(small_file(tmp_path), *args)
    assert result.exit_code == code
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1
    assert message in error_lines[0]


def test_malformed_file_exits_with_the_line_number(tmp_path: Path) -> None:
    path = tmp_path / "bad.pb"
    path.write_text(SMALL.format(rule="greedy", extra="").replace("b;50;", "b;fifty;"))
    result = invoke(path)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {path}: Line 9: cost 'fifty' is not a number."


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = invoke(tmp_path / "absent.pb")
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {tmp_path / 'absent.pb'}: no such file."
