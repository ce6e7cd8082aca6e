"""``flask demo``: create the demo round and print the demo accounts."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from pb_app.models._base import utcnow
from pb_app.services.demo import create_demo


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Create the demo rounds (one voting, one with certified results) and accounts (idempotent)."""
    if current_app.config["PB_ENV"] == "production":
        raise click.ClickException("The demo is not for production databases.")
    accounts = create_demo(utcnow())
    click.echo('Demo round "Ageing Better small grants" is ready (voting is open).')
    click.echo(
        'Last year\'s round "Ageing Better small grants 2025" is counted and certified: '
        "see /rounds/ageing-better-2025/results"
    )
    click.echo("Accounts (passwords are new each time you run this command):")
    for account in accounts:
        click.echo(f"  {account.role:<13} {account.email:<26} {account.password}")
