"""``flask close ROUND`` and ``flask verify-bundle BUNDLE``: closing voting, checking bundles."""

from __future__ import annotations

from pathlib import Path

import click

from pb_app.audit_bundle import (
    BundleError,
    ballots_match,
    bundle_election,
    check_chain,
    digest,
    read_bundle,
    recount_bundle,
    sum_problems,
)
from pb_app.models._base import utcnow
from pb_app.services import ServiceError
from pb_app.services.elections import find_round
from pb_app.services.results import close_voting


@click.command("close")
@click.argument("round_slug", metavar="ROUND")
def close(round_slug: str) -> None:
    """Close voting in ROUND (its slug) now, or record that its close date has passed."""
    round_ = find_round(round_slug)
    if round_ is None:
        raise click.ClickException(f"There is no round called {round_slug!r}.")
    try:
        closed = close_voting(round_.id, actor=None, now=utcnow())
    except ServiceError as error:
        raise click.ClickException(str(error)) from None
    assert closed.closed_at is not None
    click.echo(f"Voting in {closed.slug} closed at {closed.closed_at.isoformat()}.")


@click.command("verify-bundle")
@click.argument("bundle", type=click.Path(exists=True, path_type=Path))
@click.option("--digest", "expected", help="The certified digest to compare with.")
def verify_bundle(bundle: Path, expected: str | None) -> None:
    """Check an audit BUNDLE (zip or directory): digests, the ballot chain, and a recount."""
    try:
        failures = check_bundle(bundle, expected)
    except BundleError as error:
        failures = [str(error)]
    if failures:
        for failure in failures:
            click.echo(f"FAILED: {failure}", err=True)
        raise SystemExit(1)
    click.echo("OK: the bundle verifies.")


def check_bundle(bundle: Path, expected: str | None) -> list[str]:
    """Every check of verify-bundle, printing what holds; return what failed."""
    files = read_bundle(bundle)
    problems = sum_problems(files)
    if problems:
        return problems
    found = digest(files)
    click.echo(f"Digests: every file matches SHA256SUMS. Bundle digest: {found}")
    if expected is not None and expected.strip().lower() != found:
        return [f"The bundle digest {found} is not the certified digest {expected}."]
    chain = check_chain(files)
    if not chain.ok:
        return [chain.message]
    click.echo(f"Chain: {chain.message}")
    failures = []
    if not ballots_match(chain.counted, bundle_election(files)):
        failures.append("ballots.pb does not hold exactly the ballots the log counts.")
    recount = recount_bundle(files)
    if recount.recorded.get("chain_head") != chain.head:
        failures.append("result.json's chain head is not the log's final hash.")
    if recount.matches:
        click.echo(f"Recount by {recount.rule}: matches result.json.")
    else:
        failures.append(f"Recount by {recount.rule} differs: {'; '.join(recount.differences)}.")
    return failures
