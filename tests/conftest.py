"""Fixtures: a real database per test (SQLite, or PostgreSQL when TEST_DATABASE_URL is set).

The schema is built once per session by the real migrations (so triggers and constraints are
the production ones), then copied for each test: a file copy on SQLite, ``CREATE DATABASE …
TEMPLATE`` on PostgreSQL. Tests that use ``app`` are marked ``db`` and run on both databases.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, make_url, text

from pb_app.extensions import db
from pb_app.models import Role, User
from pb_app.passwords import hash_password
from tests.helpers import PG_URL, make_test_app, post_form


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the database, so .ci/run can rerun exactly those on PostgreSQL."""
    for item in items:
        if "app" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


def pytest_report_header() -> str:
    """Say which database this run uses."""
    return (
        f"database: {'PostgreSQL ' + make_url(PG_URL).render_as_string() if PG_URL else 'SQLite'}"
    )


def _pg_admin_url() -> str:
    return (
        make_url(PG_URL).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    )


def _pg_execute(sql: str) -> None:
    engine = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(sql))
    engine.dispose()


def _pg_database_url(name: str) -> str:
    return make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)


def _migrate(uri: str) -> None:
    app = make_test_app(uri)
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def new_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], str]]:
    """A callable giving the URL of a fresh, fully migrated database."""
    created: list[str] = []
    if PG_URL:
        template = f"pbtest_template_{os.getpid()}"
        _pg_execute(f"DROP DATABASE IF EXISTS {template}")
        _pg_execute(f"CREATE DATABASE {template}")
        _migrate(_pg_database_url(template))

        def make() -> str:
            name = f"pbtest_{uuid.uuid4().hex[:12]}"
            _pg_execute(f"CREATE DATABASE {name} TEMPLATE {template}")
            created.append(name)
            return _pg_database_url(name)

        yield make
        for name in [*created, template]:
            _pg_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    else:
        folder = tmp_path_factory.mktemp("databases")
        template_path = folder / "template.sqlite"
        _migrate(f"sqlite:///{template_path}")

        def make() -> str:
            path = folder / f"{uuid.uuid4().hex[:12]}.sqlite"
            shutil.copyfile(template_path, path)
            return f"sqlite:///{path}"

        yield make


@pytest.fixture
def database_url(new_database: Callable[[], str]) -> str:
    """The URL of this test's own database."""
    return new_database()


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    """The application on this test's own database, inside an app context."""
    application = make_test_app(database_url)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client speaking real HTTP semantics to the app."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    """A CLI runner for ``flask`` commands."""
    return app.test_cli_runner()


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    """Factory: ``make_user(role=Role.OFFICER, email=..., password=...)`` creates an account."""
    counter = iter(range(1, 10_000))

    def make(
        role: Role = Role.RESIDENT,
        *,
        email: str | None = None,
        password: str = "correct horse battery",
        name: str = "Test Person",
    ) -> User:
        user = User(
            email=email or f"person{next(counter)}@example.org",
            name=name,
            role=role,
            password_hash=hash_password(password),
        )
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def sign_in(client: FlaskClient) -> Callable[[User], None]:
    """Sign a user in through the real sign-in form (password 'correct horse battery')."""

    def do(user: User, password: str = "correct horse battery") -> None:
        response = post_form(
            client, "/account/sign-in", {"email": user.email, "password": password}
        )
        assert response.status_code == 302, response.text

    return do
