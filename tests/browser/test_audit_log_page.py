"""The staff audit log page meets WCAG 2.2 AA (axe-core) at 320 px and 1280 px, with and without
a filter, and does not scroll sideways on a phone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from pb_app.extensions import db
from pb_app.services import audit
from tests.browser.actions import DESKTOP, PHONE, sign_in
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveServer

WIDTHS = {"320px": PHONE, "1280px": DESKTOP}


@pytest.fixture(scope="module", autouse=True)
def events(live_server: LiveServer) -> None:
    """An event with a long before/after diff, so wrapping at 320 px is exercised."""
    with live_server.app.app_context():
        audit.record(
            "round.rules_changed",
            actor=None,
            actor_label="browser test <a-very-long-address-for-wrapping@example.org>",
            object_type="round",
            object_id=1,
            before={"tie_break": "min-cost,max-support,lot", "description": "short"},
            after={"tie_break": "id", "description": "a much longer text " * 8},
        )
        db.session.commit()
        db.session.remove()


def _all(page: Page) -> None:
    page.goto("/staff/audit/")
    assert page.locator(".audit-event").count() >= 1


def _filtered(page: Page) -> None:
    page.goto("/staff/audit/")
    page.get_by_label("Action").select_option("round.rules_changed")
    page.get_by_label("Done by").fill("browser test")
    page.get_by_label("From (date)").fill("2020-01-01")
    with page.expect_navigation():
        page.get_by_role("button", name="Show events").click()
    assert "action=round.rules_changed" in page.url
    assert page.locator(".audit-event").count() == 1
    assert page.get_by_role("table", name="What changed").is_visible()


def _refused(page: Page) -> None:
    page.goto("/staff/audit/?date_from=2026-03-09&date_to=2026-03-01")
    assert page.get_by_role("alert").is_visible()


PAGES: dict[str, Callable[[Page], None]] = {
    "all": _all,
    "filtered": _filtered,
    "refused": _refused,
}


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
@pytest.mark.parametrize("open_page", PAGES.values(), ids=PAGES.keys())
def test_audit_log_page_is_accessible(
    page: Page,
    live_server: LiveServer,
    open_page: Callable[[Page], None],
    width: dict[str, int],
) -> None:
    officer = live_server.account("officer")
    sign_in(page, officer.email, officer.password)
    page.set_viewport_size(width)
    open_page(page)
    assert page.get_by_role("heading", level=1).inner_text() == "Audit log"
    assert_accessible(page)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], "the audit log scrolls sideways"
