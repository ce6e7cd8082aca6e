"""``flask verify SLUG``: recompute a round's ballot log hash chain and say if it holds."""

from __future__ import annotations

import click

from pb_app.services.elections import find_round
from pb_app.services.voting import verify_log


@click.command("verify")
@click.argument("slug")
def verify(slug: str) -> None:
    """Check every link of the round SLUG's ballot log; exit 1 at the first broken one."""
    round_ = find_round(slug)
    if round_ is None:
        raise click.ClickException(f"There is no round called {slug!r}.")
    check = verify_log(round_)
    if check.ok:
        click.echo(f"OK: {check.count} ballots, chain head {check.head}")
        return
    click.echo(
        f"BROKEN at ballot {check.first_broken_seq}: {check.reason} "
        f"({check.count} ballots before it verify; last good hash {check.head})",
        err=True,
    )
    raise SystemExit(1)
