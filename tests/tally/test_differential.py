"""Our counts equal pabutools' on small random approval elections (tally.md §6)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pb_app.tally import mes
from pb_app.tally.election import Election
from pb_app.tally.greedy import greedy
from pb_app.tally.mes import equal_shares
from pb_app.tally.tiebreak import tie_break_rank
from tests.tally._mes_helpers import approval, pabutools_instance

pabutools = pytest.importorskip("pabutools")

from pabutools.election import Cardinality_Sat, Cost_Sat  # noqa: E402
from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares  # noqa: E402
from pabutools.rules.budgetallocation import BudgetAllocation  # noqa: E402
from pabutools.rules.mes.mes_rule import method_of_equal_shares_scheme  # noqa: E402
from pabutools.tiebreaking import lexico_tie_breaking  # noqa: E402

# Ids compared as strings, so "10" < "9" ties break as pabutools breaks them.
IDS = [str(i) for i in range(13)]


@st.composite
def elections(draw: st.DrawFn) -> Election:
    """Up to 8 projects with small costs, up to 12 approval ballots, a budget that binds."""
    ids = draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=8, unique=True))
    costs = {pid: draw(st.integers(1, 12)) for pid in ids}
    ballots = draw(
        st.lists(st.lists(st.sampled_from(ids), unique=True, max_size=4), min_size=1, max_size=12)
    )
    budget = draw(st.integers(1, max(1, sum(costs.values()))))
    return approval(budget, costs, ballots)


def _names(allocation: Any, election: Election) -> list[str]:
    """pabutools' selection without the zero-support projects its greedy adds at the end."""
    supported = {pid for b in election.ballots for pid in b.projects}
    return [p.name for p in allocation if p.name in supported]


def _floor_feasible(election: Election) -> list[str]:
    """pabulib checker's Add1: MES at ⌊B/n⌋, +1 while the outcome fits; the last that fits."""
    instance, profile = pabutools_instance(election)
    sat_profile = profile.as_sat_profile(Cost_Sat)  # type: ignore[attr-defined]
    supported = {pid for b in election.ballots for pid in b.projects}
    endowment = election.budget // len(election.ballots)
    previous: list[str] = []
    while True:
        outcome = method_of_equal_shares_scheme(
            instance,  # type: ignore[arg-type]
            profile,  # type: ignore[arg-type]
            sat_profile,
            endowment,
            BudgetAllocation(),
            lexico_tie_breaking,
            binary_sat=True,
        )
        names = [p.name for p in outcome]  # type: ignore[union-attr]
        if sum(election.project(n).cost for n in names) > election.budget:
            return previous
        if set(names) == supported:
            return names
        previous = names
        endowment += 1


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(elections())
def test_greedy_by_support_matches_pabutools(election: Election) -> None:
    instance, profile = pabutools_instance(election)
    theirs = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)
    ours = greedy(election, tie_break_rank(election), order_by="support")
    assert list(ours.selected) == _names(theirs, election)


@SETTINGS
@given(elections())
def test_greedy_per_cost_matches_pabutools(election: Election) -> None:
    instance, profile = pabutools_instance(election)
    theirs = greedy_utilitarian_welfare(instance, profile, sat_class=Cardinality_Sat)
    ours = greedy(election, tie_break_rank(election), order_by="per-cost")
    assert list(ours.selected) == _names(theirs, election)


@SETTINGS
@given(elections())
def test_mes_add1_exact_exhaustive_matches_pabutools(election: Election) -> None:
    instance, profile = pabutools_instance(election)
    theirs = method_of_equal_shares(instance, profile, sat_class=Cost_Sat, voter_budget_increment=1)
    ours = equal_shares(election, tie_break_rank(election), completion="add1")
    assert list(ours.selected) == [p.name for p in theirs]


@SETTINGS
@given(elections())
def test_mes_add1_with_budget_classes_renumbered_after_every_purchase_matches_pabutools(
    election: Election,
) -> None:
    instance, profile = pabutools_instance(election)
    theirs = method_of_equal_shares(instance, profile, sat_class=Cost_Sat, voter_budget_increment=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mes, "RENUMBER_SLACK", -1)
        ours = equal_shares(election, tie_break_rank(election), completion="add1")
    assert list(ours.selected) == [p.name for p in theirs]


@SETTINGS
@given(elections())
def test_plain_mes_matches_pabutools(election: Election) -> None:
    instance, profile = pabutools_instance(election)
    theirs = method_of_equal_shares(instance, profile, sat_class=Cost_Sat)
    ours = equal_shares(election, tie_break_rank(election))
    assert list(ours.selected) == [p.name for p in theirs]


@SETTINGS
@given(elections())
def test_mes_add1_floor_feasible_matches_repeated_pabutools_runs(election: Election) -> None:
    ours = equal_shares(
        election,
        tie_break_rank(election),
        completion="add1",
        add1_start="floor",
        add1_stop="feasible",
    )
    assert list(ours.selected) == _floor_feasible(election)
