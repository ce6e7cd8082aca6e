"""Settings: safe defaults, DATABASE_URL handling, and refusing unsafe production settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from pb_app import create_app
from pb_app.config import ConfigError, database_url


def test_default_database_is_a_sqlite_file_under_instance(tmp_path: Path) -> None:
    assert database_url(None, tmp_path) == f"sqlite:///{tmp_path / 'pb_app.sqlite'}"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql+psycopg://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("sqlite:////tmp/x.sqlite", "sqlite:////tmp/x.sqlite"),
    ],
)
def test_database_url_names_the_psycopg_driver(given: str, expected: str, tmp_path: Path) -> None:
    assert database_url(given, tmp_path) == expected


def test_production_refuses_the_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PB_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_production_refuses_a_short_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PB_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(ConfigError):
        create_app()


def test_production_starts_with_a_real_secret_and_secure_cookies(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PB_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.sqlite'}")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_gunicorn_entry_point_builds_an_app() -> None:
    # gunicorn 'pb_app:create_app()' calls the factory with no arguments.
    assert create_app().name == "pb_app"
