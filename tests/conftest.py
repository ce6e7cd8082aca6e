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
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, make_url, text

from pb_app.extensions import db
from pb_app.models import (
    Bid,
    BidStatus,
    BudgetLine,
    EligibilityCheckItem,
    Group,
    GroupKind,
    GroupMembership,
    Role,
    Round,
    Theme,
    User,
    Ward,
)
from pb_app.models._base import utcnow
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


PHASE_DATES: dict[str, tuple[int, int, int, int]] = {
    # days from now: bids open, bids close, voting opens, voting closes
    "setup": (5, 20, 30, 40),
    "bids": (-5, 10, 20, 30),
    "review": (-20, -5, 10, 20),
    "voting": (-30, -20, -1, 10),
    "counting": (-40, -30, -20, -1),
}


@pytest.fixture
def make_round(app: Flask) -> Callable[..., Round]:
    """Factory: ``make_round(phase="bids", **columns)`` — a round with two wards and two themes.

    Defaults: £10,000 pot, grants £500–£5,000, a knapsack ballot capped at the pot, rule greedy.
    """
    counter = iter(range(1, 10_000))

    def make(phase: str = "bids", **columns: Any) -> Round:
        number = next(counter)
        now = utcnow()
        opens, closes, voting_opens, voting_closes = (
            now + timedelta(days=d) for d in PHASE_DATES[phase]
        )
        values: dict[str, Any] = {
            "slug": f"round-{number}",
            "title": f"Test round {number}",
            "pot_pence": 10_000_00,
            "min_grant_pence": 500_00,
            "max_grant_pence": 5_000_00,
            "ballot_kind": "knapsack",
            "max_sum_cost_pence": 10_000_00,
            "rule": "greedy",
            "tie_break": "min-cost,max-support,lot",
            "lot_seed": f"seed-{number}",
            "bids_open_at": opens,
            "bids_close_at": closes,
            "voting_open_at": voting_opens,
            "voting_close_at": voting_closes,
        }
        if phase in ("voting", "counting"):
            values["rules_frozen_at"] = voting_opens
        values.update(columns)
        round_ = Round(**values)
        round_.wards = [Ward(name="North", position=0), Ward(name="South", position=1)]
        round_.themes = [
            Theme(name="Older people", position=0),
            Theme(name="Green spaces", position=1),
        ]
        round_.checklist = [
            EligibilityCheckItem(label="Constituted group or named sponsor", position=0),
            EligibilityCheckItem(label="Safeguarding policy in place", position=1),
        ]
        db.session.add(round_)
        db.session.commit()
        return round_

    return make


@pytest.fixture
def make_group(app: Flask) -> Callable[..., Group]:
    """Factory: ``make_group(*members, name=...)`` — a constituted group; the first member leads."""
    counter = iter(range(1, 10_000))

    def make(*members: User, name: str | None = None) -> Group:
        number = next(counter)
        group = Group(
            name=name or f"Group {number}",
            kind=GroupKind.CONSTITUTED,
            contact_name="Contact",
            contact_email=f"group{number}@example.org",
        )
        db.session.add(group)
        for position, member in enumerate(members):
            db.session.add(GroupMembership(group=group, user=member, is_lead=position == 0))
        db.session.commit()
        return group

    return make


@pytest.fixture
def make_bid(app: Flask) -> Callable[..., Bid]:
    """Factory: ``make_bid(round_, group, status=..., lines=[("Hall", 120000)], **columns)``."""
    counter = iter(range(1, 10_000))

    def make(
        round_: Round,
        group: Group,
        *,
        status: BidStatus = BidStatus.SHORTLISTED,
        lines: list[tuple[str, int]] | None = None,
        **columns: Any,
    ) -> Bid:
        number = next(counter)
        values: dict[str, Any] = {
            "round_id": round_.id,
            "group": group,
            "ref": f"P{number:02d}",
            "title": f"Project {number}",
            "summary": f"Summary of project {number}.",
            "description": "Description.",
            "ward_id": round_.wards[0].id if round_.wards else None,
            "theme_id": round_.themes[0].id if round_.themes else None,
            "status": status,
        }
        values.update(columns)
        bid = Bid(**values)
        bid.budget_lines = [
            BudgetLine(position=i, description=text, amount_pence=amount)
            for i, (text, amount) in enumerate(lines or [("Hall hire", 1_000_00)])
        ]
        db.session.add(bid)
        db.session.commit()
        return bid

    return make
