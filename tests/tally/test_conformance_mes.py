"""Equal Shares on real pabulib elections equals pabutools 1.2.3 (tally.md §6).

Each expected.json key is one Add1 variant, with or without the greedy completion; the funded
projects AND their selection order must equal pabutools'. One count with the completion serves
both keys of a variant: its Equal Shares steps are the plain Add1 outcome.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

import pytest

from pb_app.tally.election import Election, Project
from pb_app.tally.mes import equal_shares
from pb_app.tally.outcome import Outcome
from pb_app.tally.pabulib import selected_in_file
from pb_app.tally.tiebreak import support_counts, tie_break_rank
from tests.tally._mes_helpers import mes_part
from tests.tally.conftest import SHARED_PABULIB, load

Start = Literal["exact", "floor"]
Stop = Literal["exhaustive", "feasible"]

# expected.json key (without "_greedy") → Add1 start, stop, tie-break keys.
VARIANTS: dict[str, tuple[Start, Stop, tuple[str, ...]]] = {
    "mes_add1": ("exact", "exhaustive", ("id",)),
    "mes_add1_integral_nostop": ("floor", "feasible", ("id",)),
    "mes_add1_integral_exhstop": ("floor", "exhaustive", ("id",)),
    "mes_add1_greedy_eqsh_tiebreak": ("exact", "exhaustive", ("min-cost", "max-support", "id")),
}
# Over 1 MB, or pabutools needed minutes: behind the slow marker (CI still runs them).
SLOW_BYTES = 1_000_000
SLOW_PABUTOOLS_SECONDS = 15.0


def _expected_files() -> dict[str, Any]:
    import json

    for source in (
        SHARED_PABULIB / "expected.json",
        Path(__file__).parents[1] / "data" / "expected.json",
    ):
        if source.is_file():
            files: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))["files"]
            return files
    return {}


def _variant(key: str) -> tuple[str, bool]:
    """The variant a key names and whether it includes the greedy completion."""
    if key == "mes_add1_greedy":
        return "mes_add1", True
    if key.endswith("_greedy"):
        return key.removesuffix("_greedy"), True
    return key, key == "mes_add1_greedy_eqsh_tiebreak"


def _cases() -> list[Any]:
    cases = []
    for name, entry in sorted(_expected_files().items()):
        path = SHARED_PABULIB / name
        size = path.stat().st_size if path.is_file() else 0
        for key, result in sorted(entry["rules"].items()):
            if not key.startswith("mes_add1") or _variant(key)[0] not in VARIANTS:
                continue
            slow = size > SLOW_BYTES or result["pabutools_seconds"] > SLOW_PABUTOOLS_SECONDS
            marks = [pytest.mark.slow] if slow else []
            cases.append(pytest.param(name, key, marks=marks, id=f"{name}-{key}"))
    return cases


def equalshares_net_rank(election: Election) -> dict[str, int]:
    """min-cost, max-support, then ids in number order ("19" < "177"), as equalshares.net.

    expected.json's ``eqsh_tiebreak`` keys were computed with this order. Our ``id`` key is
    pabutools' string order ("177" < "19"); the two differ only when cost and support tie
    between numeric ids of different lengths (France_Toulouse_2022: projects 19 and 177).
    """
    support = support_counts(election)

    def key(project: Project) -> tuple[int, int, int, str]:
        number = int(project.id) if project.id.isdigit() else -1
        return (project.cost, -support[project.id], number, project.id)

    ordered = sorted(election.projects, key=key)
    return {project.id: position for position, project in enumerate(ordered)}


@cache
def count(name: str, variant: str, step: int) -> Outcome:
    """``mes-add1-greedy`` in the given variant; cached so both keys of a variant share it."""
    election = load(name).election
    start, stop, keys = VARIANTS[variant]
    rank = equalshares_net_rank(election) if len(keys) > 1 else tie_break_rank(election, keys)
    return equal_shares(
        election,
        rank,
        completion="add1-greedy",
        add1_start=start,
        add1_stop=stop,
        add1_step=step * election.unit,
    )


@pytest.mark.parametrize(("name", "key"), _cases())
def test_equal_shares_matches_pabutools(name: str, key: str, expected: dict[str, Any]) -> None:
    entry = expected[name]
    result = entry["rules"][key]
    variant, with_completion = _variant(key)
    outcome = count(name, variant, entry["add1_step"])
    zero = set(result["zero_support"])
    want = [pid for pid in result["selected"] if pid not in zero]
    got = list(outcome.selected) if with_completion else mes_part(outcome)
    assert got == want
    unit = load(name).election.unit
    spent = (
        outcome.spent
        if with_completion
        else sum(load(name).election.project(pid).cost for pid in got)
    )
    zero_cost = sum(load(name).election.project(pid).cost for pid in zero)
    assert spent + zero_cost == round(result["total_cost"] * unit)
    assert spent <= outcome.budget


def _city_cases() -> list[Any]:
    cases = []
    for name, entry in sorted(_expected_files().items()):
        city = entry["city_rule"]
        if city["rule"] in ("equalshares/add1", "equalshares/add1-comparison"):
            cases.append(pytest.param(name, id=name))
    return cases


@pytest.mark.parametrize("name", _city_cases())
def test_city_equal_shares_rule_matches_pabutools_emulation(
    name: str, expected: dict[str, Any]
) -> None:
    """The META rule counted our way funds what pabutools' emulation funded."""
    entry = expected[name]
    city = entry["city_rule"]
    election = load(name).election
    completion: Literal["add1", "add1-comparison"] = (
        "add1" if city["rule"] == "equalshares/add1" else "add1-comparison"
    )
    outcome = equal_shares(
        election,
        tie_break_rank(election),
        completion=completion,
        add1_step=entry["add1_step"] * election.unit,
    )
    assert set(outcome.selected) == set(city["selected"])
    if city.get("matches_file_selected"):
        assert set(outcome.selected) == selected_in_file(load(name))


def test_wieliczka_floor_feasible_funds_the_official_result(shared_pabulib_dir: Path) -> None:
    """pabulib's checker variant (start ⌊B/n⌋, keep raising while it fits) is the city's count."""
    name = "Poland_Wieliczka_2023_Green_Budget.pb"
    pbfile = load(name)
    election = pbfile.election
    official = selected_in_file(pbfile)
    assert official  # the file has a selected column
    for completion in ("add1", "add1-comparison"):
        outcome = equal_shares(
            election,
            tie_break_rank(election),
            completion=completion,  # type: ignore[arg-type]
            add1_start="floor",
            add1_stop="feasible",
        )
        assert set(outcome.selected) == official, completion
    # ...while pabutools' variant (exact start, exhaustive stop) does not reproduce it.
    exact = equal_shares(election, tie_break_rank(election), completion="add1")
    assert set(exact.selected) != official
