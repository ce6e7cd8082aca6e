"""``flask codes issue SLUG --count N --out codes.csv``: print a batch of one-time voter codes.

``--people people.csv`` (name, postcode, date of birth) issues codes bound to checked people
instead, in a round whose codes are identity-bound.
"""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path

import click
from flask import current_app

from pb_app.models import Round
from pb_app.services.codes import (
    MAX_BATCH,
    PURPOSES,
    CodesRefused,
    PeopleRefused,
    issue_codes,
    issue_codes_from_csv,
)
from pb_app.services.elections import find_round
from pb_app.slips import code_url


@click.group("codes")
def codes() -> None:
    """One-time voter codes."""


@codes.command("issue")
@click.argument("slug")
@click.option("--count", type=int, help=f"How many anonymous codes (1 to {MAX_BATCH:,}).")
@click.option(
    "--people",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV of checked people (name, postcode, date of birth): one bound code each.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="CSV file to write, with 'code' and 'url' columns. It is the only copy: keep it safe.",
)
@click.option("--label", default="", help="A name for the batch, e.g. 'Decision day 14 June'.")
@click.option("--purpose", type=click.Choice(PURPOSES), default="event", show_default=True)
@click.option(
    "--base-url",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="The site's public address, for each code's link (the QR code on a slip).",
)
def issue(
    slug: str,
    count: int | None,
    people: Path | None,
    out: Path,
    label: str,
    purpose: str,
    base_url: str,
) -> None:
    """Issue codes for the round SLUG (COUNT anonymous ones, or one per person) into a CSV."""
    round_ = find_round(slug)
    if round_ is None:
        raise click.ClickException(f"There is no round called {slug!r}.")
    if (count is None) == (people is None):
        raise click.UsageError("Give either --count N or --people FILE.")
    if count is not None and not 1 <= count <= MAX_BATCH:
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
            rows = _issue(round_, count, people, label, purpose)
        except (CodesRefused, PeopleRefused) as refused:
            handle.close()
            out.unlink()
            problems = getattr(refused, "problems", None) or [str(refused)]
            raise click.ClickException("no codes issued:\n" + "\n".join(problems)) from None
        with current_app.test_request_context(base_url=base_url.rstrip("/")):
            links = [code_url(round_.slug, row[-1]) for row in rows]
        writer = csv.writer(handle)
        writer.writerow(["name", "postcode", "code", "url"] if people else ["code", "url"])
        writer.writerows([*row, link] for row, link in zip(rows, links, strict=True))
    click.echo(f"Issued {len(rows)} codes for {round_.title}; written to {out}.")


def _issue(
    round_: Round, count: int | None, people: Path | None, label: str, purpose: str
) -> list[tuple[str, ...]]:
    """The issued codes as CSV rows: (code,) or (name, postcode, code)."""
    if people is None:
        assert count is not None
        return [
            (code,)
            for code in issue_codes(round_, count=count, label=label, purpose=purpose, actor=None)
        ]
    try:
        text = people.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as problem:
        raise CodesRefused(f"Cannot read {people}: save it as CSV (UTF-8). ({problem})") from None
    bound = issue_codes_from_csv(
        round_,
        text,
        label=label,
        purpose=purpose,
        actor=None,
        today=date.today(),  # noqa: DTZ011 - ages are counted in local dates
    )
    return [(item.full_name, item.postcode, item.code) for item in bound]
