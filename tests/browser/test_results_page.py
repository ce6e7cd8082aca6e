"""The public results page and the not-yet page: WCAG 2.2 AA (axe-core) at 320 px and 1280 px,
no sideways scrolling on a phone, a chart with its table, and a clean printout."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from pb_app.extensions import db
from pb_app.models import User
from tests.browser.actions import DESKTOP, PHONE, sign_in
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveServer
from tests.browser.test_accessibility import TEXT_SPACING
from tests.results_helpers import make_counted_round

WIDTHS = {"320px": PHONE, "1280px": DESKTOP}
# The step table scrolls inside its own focusable region on purpose: its cells may overflow it.
SPACING_OUTSIDE_SCROLL_REGIONS = TEXT_SPACING.replace(
    '.closest(".skip-link, .visually-hidden")',
    '.closest(".skip-link, .visually-hidden, .table-scroll")',
)
assert SPACING_OUTSIDE_SCROLL_REGIONS != TEXT_SPACING


@dataclass(frozen=True)
class Rounds:
    """The slugs of a certified round and of a counted but uncertified one."""

    certified: str
    pending: str
    equal_shares: str


@pytest.fixture(scope="module")
def rounds(live_server: LiveServer) -> Rounds:
    """Two rounds on the shared server, with slugs no other test uses."""
    tag = secrets.token_hex(3)
    with live_server.app.app_context():
        funder = db.session.scalar(
            select(User).where(User.email == live_server.account("funder").email)
        )
        assert funder is not None
        password = live_server.account("funder").password
        certified = make_counted_round(f"results-{tag}", funder, password=password).slug
        pending = make_counted_round(
            f"pending-{tag}", funder, certify=False, password=password
        ).slug
        shares = make_counted_round(
            f"shares-{tag}", funder, rule="mes-add1-greedy", password=password
        ).slug
        db.session.remove()
    return Rounds(certified=certified, pending=pending, equal_shares=shares)


def _scrolls_sideways(page: Page) -> bool:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    return bool(widths[0] > widths[1])


@pytest.mark.parametrize("rule", ["greedy", "equal-shares"])
@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_results_page_is_accessible(
    page: Page, rounds: Rounds, width: dict[str, int], rule: str
) -> None:
    page.set_viewport_size(width)
    slug = rounds.certified if rule == "greedy" else rounds.equal_shares
    page.goto(f"/rounds/{slug}/results")
    assert page.get_by_role("heading", level=1).inner_text().endswith("Results")
    assert_accessible(page)
    assert not _scrolls_sideways(page), "the results page scrolls sideways"


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_not_published_page_is_accessible(
    page: Page, rounds: Rounds, width: dict[str, int]
) -> None:
    page.set_viewport_size(width)
    page.goto(f"/rounds/{rounds.pending}/results")
    assert page.get_by_role("heading", level=1).inner_text() == "The results are not published yet"
    assert_accessible(page)
    assert not _scrolls_sideways(page)
    assert page.locator("svg").count() == 0


def test_the_chart_has_a_name_and_a_table_alternative(page: Page, rounds: Rounds) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"/rounds/{rounds.certified}/results")
    chart = page.get_by_role("img", name="Votes for each project")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] <= PHONE["width"]
    table = page.get_by_role("table", name="The chart's figures")
    assert table.locator("tbody tr").count() == 4
    # The chart's bars and the table give the same figures, largest first.
    values = page.locator(".chart__value").all_text_contents()
    assert values == table.locator("tbody td.numeric").all_text_contents()
    assert values == sorted(values, key=int, reverse=True)


def test_the_step_table_scrolls_in_its_own_region(page: Page, rounds: Rounds) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"/rounds/{rounds.certified}/results")
    region = page.get_by_role("region", name="Step by step")
    region.focus()
    assert region.evaluate("element => element === document.activeElement")
    assert not _scrolls_sideways(page)


def test_results_print_without_navigation(page: Page, rounds: Rounds) -> None:
    page.goto(f"/rounds/{rounds.certified}/results")
    page.emulate_media(media="print")
    assert not page.locator(".site-nav").is_visible()
    assert page.get_by_role("img", name="Votes for each project").is_visible()
    steps = page.locator(".table-scroll")
    assert steps.evaluate("element => getComputedStyle(element).overflowX") == "visible"


@pytest.mark.parametrize("path", ["/rounds/{certified}/results", "/staff/audit/"])
def test_text_spacing_does_not_break_the_phone_layout(
    page: Page, rounds: Rounds, live_server: LiveServer, path: str
) -> None:
    # WCAG 1.4.12, as tests/browser/test_accessibility.py checks it.
    officer = live_server.account("officer")
    sign_in(page, officer.email, officer.password)
    page.set_viewport_size(PHONE)
    page.goto(path.format(certified=rounds.certified))
    result = page.evaluate(SPACING_OUTSIDE_SCROLL_REGIONS)
    assert result["outside"] == []
    assert result["scrollWidth"] <= result["width"]
