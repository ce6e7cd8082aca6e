"""The schema: migrations up and down, no drift, append-only tables, SQLite concurrency settings."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from pb_app.extensions import db
from pb_app.models import AuditEvent, Ballot, ChainHead, Participation, Round, Voter, VoterCode
from pb_app.models._base import utcnow


def _execute(statement: str) -> None:
    db.session.execute(text(statement))
    db.session.commit()


def _round() -> Round:
    round_ = Round(slug="r", title="R", pot_pence=100_00, max_grant_pence=50_00)
    db.session.add(round_)
    db.session.commit()
    return round_


def test_migrations_leave_no_drift(app: Flask) -> None:
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []
    result = app.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_initial_migration_downgrades_and_upgrades_again(app: Flask) -> None:
    db.session.remove()
    downgrade(revision="base")
    assert "rounds" not in inspect(db.engine).get_table_names()
    upgrade()
    assert {"rounds", "ballots", "participations"} <= set(inspect(db.engine).get_table_names())


def _ballot(round_id: int, seq: int = 1) -> Ballot:
    return Ballot(
        round_id=round_id,
        seq=seq,
        content='{"projects":[]}',
        prev_hash="0" * 64,
        hash=f"{seq:064x}",
        receipt=f"R{seq}",
        channel="online",
    )


@pytest.mark.parametrize(
    "statement", ["UPDATE ballots SET channel = 'paper'", "DELETE FROM ballots"]
)
def test_database_refuses_to_change_a_ballot(app: Flask, statement: str) -> None:
    round_ = _round()
    db.session.add(_ballot(round_.id))
    db.session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        _execute(statement)
    db.session.rollback()
    assert db.session.scalar(text("SELECT channel FROM ballots")) == "online"


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"]
)
def test_database_refuses_to_change_the_audit_log(app: Flask, statement: str) -> None:
    db.session.add(AuditEvent(action="round.created", actor_label="someone"))
    db.session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        _execute(statement)
    db.session.rollback()


def test_ballot_sequence_is_unique_within_a_round(app: Flask) -> None:
    round_ = _round()
    db.session.add_all([_ballot(round_.id, 1), ChainHead(round_id=round_.id, seq=1, hash="a")])
    db.session.commit()
    duplicate = _ballot(round_.id, 1)
    duplicate.hash, duplicate.receipt = "f" * 64, "other"
    db.session.add(duplicate)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_one_participation_per_person_per_round(app: Flask) -> None:
    round_ = _round()
    voter = Voter(
        round_id=round_.id,
        identity_key="k" * 64,
        full_name="A",
        postcode="E8 1AA",
        date_of_birth=utcnow().date(),
    )
    db.session.add(voter)
    db.session.commit()
    db.session.add(Participation(round_id=round_.id, voter_id=voter.id, channel="online"))
    db.session.commit()
    db.session.add(Participation(round_id=round_.id, voter_id=voter.id, channel="kiosk"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_voter_code_is_used_once(app: Flask) -> None:
    round_ = _round()
    code = VoterCode(round_id=round_.id, digest="d" * 64)
    db.session.add(code)
    db.session.commit()
    db.session.add(Participation(round_id=round_.id, voter_code_id=code.id, channel="online"))
    db.session.commit()
    db.session.add(Participation(round_id=round_.id, voter_code_id=code.id, channel="paper"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_ballots_have_no_column_that_points_to_a_person(app: Flask) -> None:
    foreign_keys = inspect(db.engine).get_foreign_keys("ballots")
    assert {fk["referred_table"] for fk in foreign_keys} == {"rounds"}


def test_sqlite_uses_wal_and_waits_for_the_write_lock(app: Flask) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite settings")
    assert db.session.scalar(text("PRAGMA journal_mode")) == "wal"
    assert db.session.scalar(text("PRAGMA busy_timeout")) == 30000
    assert db.session.scalar(text("PRAGMA foreign_keys")) == 1
