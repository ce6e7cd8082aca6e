"""Browser fixtures: the real app on a local port, one Chromium per session, a fresh page per test.

Session-wide (built once, shared by every browser test):

- ``live_server``: the app on 127.0.0.1 with a fresh, migrated SQLite database and the demo round
  (in voting). ``live_server.url``; ``live_server("/path")`` is an absolute URL;
  ``live_server.app`` for arranging data (``with live_server.app.app_context(): ...``).
  The database is shared by all tests: make your own rows (unique emails) rather than relying on
  what another test left behind.
- ``demo_accounts``: role → ``DemoAccount(role, email, password)`` for admin, officer, funder,
  volunteer, resident and "group member" (this run's passwords).
- ``playwright`` and ``browser``: Playwright's sync API and one headless Chromium.

Per test:

- ``browser_context_args``: options for the context (``base_url``, 1280×800 viewport, en-GB,
  Europe/London); override it in a module to change them, or call ``page.set_viewport_size``.
- ``context`` and ``page``: a new context (no cookies) and page; relative URLs go to the live
  server; actions time out after 10 s. The test fails if the server answered 5xx or the page
  logged a console error or threw (CSP refusals appear only there).
- ``browser_errors``: that list of errors, for a test that causes one on purpose.

Helpers: ``tests.browser.actions`` (``PHONE``, ``DESKTOP``, ``sign_in``, ``submit_and_wait``,
``tab_to``) and ``tests.browser.axe.assert_accessible``.

Chromium comes from ``PB_CHROMIUM`` (default ``/usr/bin/chromium``). When it is missing the
browser tests are skipped locally and fail under CI (``CI`` set), so CI never passes silently.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    sync_playwright,
)
from werkzeug.serving import make_server

from pb_app import create_app
from pb_app.extensions import db
from pb_app.models._base import utcnow
from pb_app.services.demo import DemoAccount, create_demo

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("PB_CHROMIUM", "/usr/bin/chromium")
# The test machine has no network: without these Chromium keeps trying to phone home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEFAULT_TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/browser as ``browser`` (this hook sees the whole session)."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


def _chromium_path() -> str | None:
    found = shutil.which(CHROMIUM)
    return found if found and os.access(found, os.X_OK) else None


def pytest_report_header() -> str:
    """Say which Chromium the browser tests drive, or that they cannot run."""
    path = _chromium_path()
    return f"browser: {path}" if path else f"browser: no Chromium at {CHROMIUM} (PB_CHROMIUM)"


@dataclass(frozen=True)
class LiveServer:
    """The app served over real HTTP, with the demo accounts (role → account) it was loaded with."""

    url: str
    app: Flask
    accounts: dict[str, DemoAccount] = field(repr=False)

    def __call__(self, path: str = "/") -> str:
        """An absolute URL for ``path`` on this server."""
        return self.url + path

    def account(self, role: str) -> DemoAccount:
        """The demo account for a role: admin, officer, funder, resident, "group member", …"""
        return self.accounts[role]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app with a fresh migrated SQLite database and the demo round, on 127.0.0.1."""
    database = tmp_path_factory.mktemp("browser-db") / "pb_app.sqlite"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "TESTING": False,  # errors go through the real error pages, as in production
            "RATELIMIT_ENABLED": False,
            "SECRET_KEY": secrets.token_urlsafe(32),
            # Two languages, so the footer's language form is rendered and checked too.
            "PB_LANGUAGES": ["en", "cy"],
        }
    )
    with app.app_context():
        upgrade()
        accounts = {account.role: account for account in create_demo(utcnow())}
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app, accounts=accounts)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def demo_accounts(live_server: LiveServer) -> dict[str, DemoAccount]:
    """The demo accounts by role, with this run's passwords."""
    return live_server.accounts


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Playwright's sync API (its own event loop, in a greenlet), for the whole session."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One headless Chromium for the whole session; skipped (or failed under CI) if missing."""
    path = _chromium_path()
    if path is None:
        reason = f"Chromium not found at {CHROMIUM!r}; set PB_CHROMIUM to run the browser tests"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set: browser tests must not be skipped)", pytrace=False)
        pytest.skip(reason)
    browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def browser_context_args(live_server: LiveServer) -> dict[str, Any]:
    """Options for each test's browser context; override in a module to change them."""
    return {
        "base_url": live_server.url,
        "viewport": {"width": 1280, "height": 800},
        "locale": "en-GB",
        "timezone_id": "Europe/London",
    }


@pytest.fixture
def context(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[BrowserContext]:
    """A fresh browser context (no cookies, no storage) per test."""
    context = browser.new_context(**browser_context_args)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    yield context
    context.close()


def _is_expected(message: ConsoleMessage) -> bool:
    # An error page's own status (404, 400…) is logged as a failed load of the document itself;
    # a failed stylesheet, script or image is not expected and still counts.
    location = message.location.get("url", "")
    return "Failed to load resource" in message.text and location == message.page.url


@pytest.fixture
def browser_errors() -> list[str]:
    """Server errors (5xx), JavaScript errors and console errors (CSP refusals among them).

    The ``page`` fixture fails the test at teardown if any are left; a test that causes one on
    purpose checks this list and then clears it.
    """
    return []


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test, so ``page`` can tell whether the test failed."""
    report = yield
    setattr(item, f"browser_report_{report.when}", report)
    return report


@pytest.fixture
def page(
    context: BrowserContext,
    browser_errors: list[str],
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Page]:
    """A new page in the test's own context; relative URLs go to the live server.

    Fails the test if the server answered 5xx, or the page logged a console error or threw: a
    Content-Security-Policy refusal (an inline style or script) shows up only there. When a test
    fails, a screenshot of the page is saved and its path printed in the report.
    """
    page = context.new_page()
    page.on("pageerror", lambda error: browser_errors.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            browser_errors.append(f"console {message.type}: {message.text} ({message.location})")
            if message.type == "error" and not _is_expected(message)
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            browser_errors.append(f"server error: {response.status} on {response.url}")
            if response.status >= 500
            else None
        ),
    )
    yield page
    report = getattr(request.node, "browser_report_call", None)
    if report is not None and report.failed and not page.is_closed():
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)[-120:]
        path = tmp_path_factory.getbasetemp() / "browser-failures" / f"{name}.png"
        path.parent.mkdir(exist_ok=True)
        page.screenshot(path=path, full_page=True)
        report.sections.append(("browser", f"screenshot of the failing page: {path}"))
    if browser_errors:
        pytest.fail("The browser reported errors:\n" + "\n".join(browser_errors), pytrace=False)
