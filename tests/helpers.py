"""Helpers shared by tests: building a test app and posting forms the way a browser does."""

from __future__ import annotations

import os
import re
from typing import Any

from flask import Flask, has_app_context
from flask.testing import FlaskClient

from pb_app import create_app
from pb_app.extensions import db

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_SECRET = "test-secret-key-that-is-long-enough-for-production-checks"


class FreshContextClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    Without this, a test holding an app context open would share ``g`` (where Flask-Login and
    Flask-WTF cache the user and CSRF token) and the database session with every request.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        """Send one request inside a fresh app context."""
        if has_app_context():
            # End the test's own transaction first, as a request boundary does in production;
            # on SQLite an open transaction holds the write lock the request needs.
            db.session.rollback()
        with self.application.app_context():
            return super().open(*args, **kwargs)


def make_test_app(uri: str, **overrides: Any) -> Flask:
    """An app on ``uri`` configured for tests (CSRF and rate limits stay on: they are tested)."""
    config: dict[str, Any] = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": uri,
        "SECRET_KEY": TEST_SECRET,
        "PB_ENV": "test",
    }
    config.update(overrides)
    app = create_app(config)
    app.test_client_class = FreshContextClient
    return app


CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token_from(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


def post_form(
    client: FlaskClient, path: str, data: dict[str, Any], *, form_page: str | None = None
) -> Any:
    """GET the form page like a browser, then POST ``data`` with the page's CSRF token."""
    page = client.get(form_page or path)
    return client.post(path, data={**data, "csrf_token": csrf_token_from(page.text)})
