"""``flask simulate``: a whole round through services and HTTP, for each ballot and rule pair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask

from pb_app.audit_bundle import read_bundle, recount_bundle
from pb_app.tally.pabulib import read_pb


@pytest.mark.parametrize(
    ("ballot", "rule"),
    [
        ("knapsack", "greedy"),
        ("approval", "mes-add1-greedy"),
        ("ordinal", "sequential-irv"),
        ("scoring", "greedy-threshold"),
    ],
)
def test_simulate_runs_a_round_and_its_bundle_recounts(
    app: Flask, tmp_path: Path, ballot: str, rule: str
) -> None:
    result = app.test_cli_runner().invoke(
        args=["simulate", "--voters", "30", "--ballot", ballot, "--rule", rule, "--seed", "3",
              "--out", str(tmp_path)]
    )  # fmt: skip
    assert result.exit_code == 0, (result.output, result.stderr)
    assert "30 of 30 ballots cast" in result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["recount_agrees"] is True
    bundle = Path(summary["bundle"])
    files = read_bundle(bundle)
    election = read_pb(files["ballots.pb"].decode()).election
    assert len(election.ballots) == 30
    assert set(summary["funded"]) <= {project.id for project in election.projects}
    recount = recount_bundle(files)
    assert recount.matches
    assert summary["spent_pence"] == recount.outcome_json["spent"]
    assert summary["funded"] == recount.outcome_json["selected"]
    assert len(summary["chain_head"]) == 64


def test_simulate_refuses_a_ranked_rule_on_another_ballot(app: Flask, tmp_path: Path) -> None:
    result = app.test_cli_runner().invoke(
        args=["simulate", "--voters", "3", "--ballot", "approval", "--rule", "sequential-irv",
              "--out", str(tmp_path)]
    )  # fmt: skip
    assert result.exit_code == 2
    assert "needs --ballot ordinal" in result.output
