"""``flask codes issue SLUG --count N --out codes.csv``: print a batch of one-time voter codes."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import click

from pb_app.services.codes import MAX_BATCH, PURPOSES, CodesRefused, issue_codes
from pb_app.services.elections import find_round


@click.group("codes")
def codes() -> None:
    """One-time voter codes."""


@codes.command("issue")
@click.argument("slug")
@click.option("--count", type=int, required=True, help=f"How many codes (1 to {MAX_BATCH:,}).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="CSV file to write, with a 'code' column. It is the only copy: keep it safe.",
)
@click.option("--label", default="", help="A name for the batch, e.g. 'Decision day 14 June'.")
@click.option("--purpose", type=click.Choice(PURPOSES), default="event", show_default=True)
def issue(slug: str, count: int, out: Path, label: str, purpose: str) -> None:
    """Issue COUNT codes for the round SLUG and write them to a CSV file."""
    round_ = find_round(slug)
    if round_ is None:
        raise click.ClickException(f"There is no round called {slug!r}.")
    if not 1 <= count <= MAX_BATCH:
        raise click.BadParameter(f"give a number from 1 to {MAX_BATCH:,}.", param_hint="'--count'")
    if out.exists():
        raise click.ClickException(f"{out} already exists; choose a new file (codes are secret).")
    # Open the file before issuing, so an unwritable path issues no codes nobody can print.
    # Readable by its owner only (0600): the file is the only copy of live credentials.
    try:
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        handle = os.fdopen(descriptor, "w", newline="", encoding="utf-8")
    except OSError as problem:
        raise click.ClickException(f"Cannot write {out}: {problem.strerror}.") from None
    with handle:
        try:
            issued = issue_codes(round_, count=count, label=label, purpose=purpose, actor=None)
        except CodesRefused as refused:
            handle.close()
            out.unlink()
            raise click.ClickException(str(refused)) from None
        writer = csv.writer(handle)
        writer.writerow(["code"])
        writer.writerows([code] for code in issued)
    click.echo(f"Issued {count} codes for {round_.title}; written to {out}.")
