"""``flask recount FILE.pb`` or ``flask recount BUNDLE``: count and explain, with no database.

It reads the file, counts with the pure core and prints the outcome, so anyone can check a
published result. Given an audit bundle (zip or directory) it counts the bundle's ballots by the
bundle's declared rule (or ``--rule``) and says whether that matches the bundle's result.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import click

from pb_app.audit_bundle import BundleError, is_bundle, read_bundle, recount_bundle
from pb_app.tally.pabulib import PabulibError, file_threshold, read_pb
from pb_app.tally.report import outcome_to_json, outcome_to_text
from pb_app.tally.rules import (
    ADD1_STARTS,
    ADD1_STOPS,
    RULES,
    UTILITIES,
    CountOptions,
    UnknownRule,
    count,
    rule_from_pabulib,
)
from pb_app.tally.tiebreak import TieBreakError, parse_tie_break


def parse_threshold(text: str) -> int | Fraction:
    """``"1000"`` is an absolute support/score; ``"40%"`` a share of the maximum score."""
    value = text.strip()
    try:
        if value.endswith("%"):
            share = Fraction(value[:-1].strip()) / 100
            if not 0 <= share <= 1:
                raise ValueError(value)
            return share
        number = int(value)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither a whole number (e.g. 1000) nor a percentage (e.g. 40%).",
            param_hint="'--threshold'",
        ) from None
    if number < 0:
        raise click.BadParameter("a threshold cannot be negative.", param_hint="'--threshold'")
    return number


@click.command("recount")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--rule",
    help=f"Counting rule; default: the file's META rule, else greedy. One of: {', '.join(RULES)}.",
)
@click.option("--utility", type=click.Choice(UTILITIES), help="Equal Shares utility.")
@click.option("--add1-start", type=click.Choice(ADD1_STARTS), default="exact", show_default=True)
@click.option("--add1-stop", type=click.Choice(ADD1_STOPS), default="exhaustive", show_default=True)
@click.option("--add1-step", type=click.IntRange(min=1), help="Add1 step in currency units.")
@click.option(
    "--tie-break",
    default="id",
    show_default=True,
    help="Comma-separated keys: min-cost, max-cost, max-support, id, lot.",
)
@click.option("--seed", help="Published seed for the 'lot' tie-break key.")
@click.option(
    "--threshold",
    help="For greedy rules: votes/score (1000) or share of the maximum "
    "(40%); default: the file's min_project_score_threshold with its own rule.",
)
@click.option("--grant", type=click.IntRange(min=1), help="STV: grant size in currency units.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def recount(
    file: Path,
    rule: str | None,
    utility: str | None,
    add1_start: str,
    add1_stop: str,
    add1_step: int | None,
    tie_break: str,
    seed: str | None,
    threshold: str | None,
    grant: int | None,
    as_json: bool,
) -> None:
    """Count a pabulib .pb FILE, or an audit bundle, and print the funded projects and why."""
    try:
        keys = parse_tie_break(tie_break)
    except TieBreakError as error:
        raise click.BadParameter(str(error), param_hint="'--tie-break'") from None
    if rule is not None and rule not in RULES:
        raise click.UsageError(str(UnknownRule(rule)))
    chosen_threshold = parse_threshold(threshold) if threshold is not None else None

    if is_bundle(file):
        _recount_bundle(file, rule, as_json)
        return
    if not file.is_file():
        raise click.ClickException(f"{file}: no such file.")
    try:
        pbfile = read_pb(file)
    except PabulibError as error:
        raise click.ClickException(f"{file}: {error}") from None
    election = pbfile.election
    for warning in pbfile.warnings:
        click.echo(f"warning: {warning}", err=True)

    if rule is None:
        meta_rule = pbfile.rule
        rule = rule_from_pabulib(meta_rule) if meta_rule else None
        if rule is None:
            rule = "greedy"
            if meta_rule:
                click.echo(
                    f"The file's rule {meta_rule!r} is not one we count; using greedy.", err=True
                )
        elif chosen_threshold is None:
            # Counting by the file's own rule: its declared threshold is part of that rule.
            chosen_threshold = file_threshold(election)
    elif rule == "greedy-threshold" and chosen_threshold is None:
        chosen_threshold = file_threshold(election)
    if rule == "greedy-threshold" and chosen_threshold is None:
        raise click.UsageError("greedy-threshold needs --threshold (the file declares none).")

    options = CountOptions(
        rule=rule,
        utility=utility,
        add1_start=add1_start,
        add1_stop=add1_stop,
        add1_step=add1_step * election.unit if add1_step is not None else None,
        tie_break=keys,
        seed=seed,
        threshold=chosen_threshold if rule.startswith("greedy") else None,
        grant=grant * election.unit if grant is not None else None,
    )
    try:
        outcome = count(election, options, progress=_throttled_progress())
    except ImportError:
        raise click.ClickException(f"The rule {rule} is not available in this build.") from None
    except ValueError as error:
        raise click.ClickException(str(error)) from None

    if as_json:
        data = outcome_to_json(outcome, election)
        data = {"file": file.name, "tie_break": list(keys), **data, "warnings": pbfile.warnings}
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(f"File: {file.name}")
        click.echo(f"Tie-break: {', '.join(keys)}")
        click.echo(outcome_to_text(outcome, election), nl=False)


def _recount_bundle(path: Path, rule: str | None, as_json: bool) -> None:
    """Recount a bundle by its declared count (or ``rule``); exit 1 when it differs."""
    try:
        recount = recount_bundle(read_bundle(path), rule)
    except BundleError as error:
        raise click.ClickException(str(error)) from None
    except ValueError as error:
        raise click.ClickException(f"{path}: the count could not run: {error}") from None
    if as_json:
        data = {"bundle": path.name, "matches": recount.matches, **recount.outcome_json}
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(f"Bundle: {path.name}")
        click.echo(outcome_to_text(recount.outcome, recount.election), nl=False)
    if recount.matches:
        click.echo(f"MATCHES: the recount by {recount.rule} is the bundle's result.", err=True)
        return
    click.echo(
        f"DIFFERS: the recount by {recount.rule} is not the bundle's result: "
        f"{'; '.join(recount.differences)}.",
        err=True,
    )
    raise SystemExit(1)


def _throttled_progress(interval: float = 1.0) -> Callable[[str], None]:
    """A progress callback that prints to stderr at most once per ``interval`` seconds.

    The count reports every Add1 iteration; a person needs a sign of life, not hundreds of lines.
    """
    last = -interval

    def report(text: str) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= interval:
            last = now
            click.echo(text, err=True)

    return report
