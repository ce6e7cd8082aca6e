"""pb_app: participatory budgeting for community grant rounds."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flask import Flask

from pb_app.config import ROOT, check_production, from_environment


def create_app(config: Mapping[str, object] | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, CLI, error pages and headers."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(from_environment(Path(app.instance_path)))
    if config:
        app.config.from_mapping(config)
    check_production(app.config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from pb_app import access, cli, views, web
    from pb_app.extensions import babel, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=web.select_locale)
    login_manager.init_app(app)
    access.init_login(login_manager)

    for blueprint in views.blueprints():
        app.register_blueprint(blueprint)
    cli.register(app)
    web.init_app(app)
    return app
