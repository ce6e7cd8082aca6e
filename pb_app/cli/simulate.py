"""``flask simulate``: a whole round through the real services and HTTP layer."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from pb_app.models._base import utcnow
from pb_app.simulation import BALLOTS, SimulationFailed, simulate
from pb_app.tally.rules import RULES


@click.command("simulate")
@click.option("--voters", type=click.IntRange(1, 100_000), required=True, help="How many voters.")
@click.option("--ballot", type=click.Choice(BALLOTS), required=True, help="The ballot type.")
@click.option("--rule", type=click.Choice(RULES), required=True, help="The counting rule.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed for the random votes.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("simulations"),
    show_default=True,
    help="Folder for the audit bundle.",
)
@with_appcontext
def simulate_command(voters: int, ballot: str, rule: str, seed: int, out: Path) -> None:
    """Run a round end to end on the configured database; the last line is JSON."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["PB_ENV"] == "production":
        raise click.ClickException("Simulations are not for production databases.")
    if rule in ("sequential-irv", "stv") and ballot != "ordinal":
        raise click.UsageError(f"The rule {rule} needs --ballot ordinal.")
    started = time.monotonic()

    def progress(text: str) -> None:
        click.echo(f"[{time.monotonic() - started:6.1f} s] {text}", err=True)

    upgrade()  # the configured database may be new
    try:
        summary = simulate(
            app,
            voters=voters,
            ballot=ballot,
            rule=rule,
            seed=seed,
            out=out,
            progress=progress,
            now=utcnow(),
        )
    except SimulationFailed as error:
        raise click.ClickException(f"The simulation failed: {error}") from None
    click.echo(f"Voters: {voters:,}; ballot: {ballot}; rule: {rule}")
    click.echo(f"Funded: {', '.join(summary.funded) or 'nothing'}")
    click.echo(f"Spent: £{summary.spent_pence // 100:,}.{summary.spent_pence % 100:02d}")
    click.echo(f"Took {time.monotonic() - started:.1f} s")
    click.echo(json.dumps(asdict(summary)))
