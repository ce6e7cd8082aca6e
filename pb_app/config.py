"""Settings from the environment, with safe defaults for development."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - refused in production by check_production


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete for the chosen mode."""


def database_url(url: str | None, instance_path: Path) -> str:
    """Normalise DATABASE_URL for SQLAlchemy; default to a SQLite file under instance/."""
    if not url:
        return f"sqlite:///{instance_path / 'pb_app.sqlite'}"
    # Heroku-style and plain URLs name no driver; we ship psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def from_environment(instance_path: Path) -> dict[str, object]:
    """Build the Flask config mapping from environment variables."""
    env = os.environ.get("PB_ENV", "development")
    production = env == "production"
    return {
        "PB_ENV": env,
        "SECRET_KEY": os.environ.get("SECRET_KEY", DEV_SECRET_KEY),
        "SQLALCHEMY_DATABASE_URI": database_url(os.environ.get("DATABASE_URL"), instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 8,  # staff sessions time out after a working day
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead, so long forms do not expire
        # Explicit, because the limiter is one object shared by every app built in a process.
        "RATELIMIT_ENABLED": os.environ.get("RATELIMIT_ENABLED", "1") != "0",
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "BABEL_DEFAULT_LOCALE": "en",
        # Dates are shown in UK time, which is what residents read on posters and letters.
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("PB_TIMEZONE", "Europe/London"),
        # Only languages with a translation catalogue: a page marked lang="pl" must be in Polish.
        "PB_LANGUAGES": os.environ.get("PB_LANGUAGES", "en").split(","),
        "MAIL_BACKEND": os.environ.get("MAIL_BACKEND", "smtp" if production else "log"),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "587")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "pb_app <no-reply@localhost>"),
        # Bodies are read (CSRF checks) before views run: cap them. Bid pictures are ≤ 2 MB.
        "MAX_CONTENT_LENGTH": 3 * 1024 * 1024,
        "PB_HSTS": production,
        # Kiosk mode: a voter's screen resets after this many idle seconds, warning this many
        # seconds before (WCAG 2.2.1 asks for at least 20 to respond).
        "KIOSK_IDLE_SECONDS": int(os.environ.get("KIOSK_IDLE_SECONDS", "120")),
        "KIOSK_WARNING_SECONDS": max(20, int(os.environ.get("KIOSK_WARNING_SECONDS", "30"))),
    }


def check_production(config: dict[str, object]) -> None:
    """Refuse to run in production with the development secret or an unsafe setting."""
    if config.get("PB_ENV") != "production":
        return
    secret = config.get("SECRET_KEY")
    if not isinstance(secret, str) or secret == DEV_SECRET_KEY or len(secret) < 32:
        raise ConfigError(
            "PB_ENV=production needs SECRET_KEY set to a random value of 32 characters or more "
            '(for example: python -c "import secrets; print(secrets.token_urlsafe(48))").'
        )
