"""Flask commands; each command lives in its own module and calls services."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach every command to ``flask --app pb_app``."""
    from pb_app.cli.codes import codes
    from pb_app.cli.demo import demo
    from pb_app.cli.recount import recount
    from pb_app.cli.results import close, verify_bundle
    from pb_app.cli.simulate import simulate_command
    from pb_app.cli.verify import verify

    app.cli.add_command(codes)
    app.cli.add_command(demo)
    app.cli.add_command(recount)
    app.cli.add_command(verify)
    app.cli.add_command(close)
    app.cli.add_command(verify_bundle)
    app.cli.add_command(simulate_command)
