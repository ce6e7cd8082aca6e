"""Greedy rules against pabutools 1.2.3 and the cities' own results on real pabulib files.

``expected.json`` (tally.md §6) holds what pabutools computed with tie-break by id; pabutools'
greedy also funds zero-support projects at the end, which pb_app never does, so those
(listed in ``zero_support``) are dropped before comparing. Files over 1 MB are marked slow.
"""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from pb_app.tally.election import BallotType
from pb_app.tally.outcome import Outcome
from pb_app.tally.pabulib import file_threshold, selected_in_file
from pb_app.tally.rules import CountOptions, count, rule_from_pabulib
from tests.tally.conftest import DATA_DIR, SHARED_PABULIB, load

SUPPORT_BALLOTS = (BallotType.APPROVAL, BallotType.CHOOSE_ONE)
GREEDY_META_RULES = ("greedy", "greedy-no-skip", "greedy-threshold")


def _expected_files() -> dict[str, Any]:
    source = SHARED_PABULIB / "expected.json"
    if not source.is_file():
        source = DATA_DIR / "expected.json"
    files: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))["files"]
    return files


EXPECTED = _expected_files()


def _size(name: str) -> int:
    for folder in (DATA_DIR, SHARED_PABULIB):
        if (folder / name).is_file():
            return (folder / name).stat().st_size
    return 0


def _cases(keys: tuple[str, ...]) -> list[Any]:
    cases = []
    for name, entry in sorted(EXPECTED.items()):
        for key in keys:
            if key not in entry["rules"]:
                continue
            if key == "greedy_cost" and entry["vote_type"] not in SUPPORT_BALLOTS:
                continue  # by support alone on scored ballots: no pb_app rule (tally.md §6)
            marks = [pytest.mark.slow] if _size(name) > 1_000_000 else []
            cases.append(pytest.param(name, key, marks=marks, id=f"{name}-{key}"))
    return cases


RULE_FOR_KEY = {
    "greedy_cost": "greedy",
    "greedy_score": "greedy",
    "greedy_cardinality": "greedy-per-cost",
}


@pytest.mark.parametrize(
    ("name", "key"), _cases(("greedy_cost", "greedy_score", "greedy_cardinality"))
)
def test_greedy_matches_pabutools(name: str, key: str) -> None:
    election = load(name).election
    want = EXPECTED[name]["rules"][key]
    outcome = count(election, CountOptions(RULE_FOR_KEY[key]))
    dropped = [pid for pid in want["selected"] if pid not in want["zero_support"]]
    assert list(outcome.selected) == dropped
    assert set(outcome.selected) == set(dropped)
    zero_cost = sum(election.project(pid).cost for pid in want["zero_support"])
    total = Fraction(Decimal(repr(want["total_cost"]))) * election.unit
    assert outcome.spent == total - zero_cost
    _assert_explained(outcome, election.projects)


def _city_cases() -> list[Any]:
    cases = []
    for name, entry in sorted(EXPECTED.items()):
        city = entry["city_rule"]
        if city["rule"] in GREEDY_META_RULES and city.get("matches_file_selected"):
            marks = [pytest.mark.slow] if _size(name) > 1_000_000 else []
            cases.append(pytest.param(name, marks=marks, id=name))
    return cases


@pytest.mark.parametrize("name", _city_cases())
def test_city_rule_reproduces_the_official_result(name: str) -> None:
    pbfile = load(name)
    election = pbfile.election
    city = EXPECTED[name]["city_rule"]
    assert pbfile.rule == city["rule"]
    rule = rule_from_pabulib(city["rule"])
    assert rule is not None
    threshold = file_threshold(election)
    assert (threshold or 0) == city["threshold"]
    outcome = count(election, CountOptions(rule, threshold=threshold))
    assert set(outcome.selected) == set(city["selected"]) == selected_in_file(pbfile)
    assert list(outcome.selected) == city["order"]


def _assert_explained(outcome: Outcome, projects: Any) -> None:
    assert set(outcome.reasons) == {p.id for p in projects}
    for project in projects:
        reason = outcome.reasons[project.id]
        assert reason.text.startswith("Funded" if reason.funded else "Not funded")
