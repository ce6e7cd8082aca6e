"""Officers' pages meet WCAG 2.2 AA (axe-core) on a 320 px phone and a 1280 px desktop: the
rounds list, the round form (also with errors), the review queue and a bid's review page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page

from pb_app.extensions import db
from pb_app.models import (
    Bid,
    BidMessage,
    BidStatus,
    BidStatusChange,
    BudgetLine,
    EligibilityCheckItem,
    Group,
    GroupKind,
    Round,
    Ward,
)
from pb_app.models._base import utcnow
from tests.browser.axe import assert_accessible

PHONE = {"width": 320, "height": 640}
DESKTOP = {"width": 1280, "height": 800}
WIDTHS = {"320px": PHONE, "1280px": DESKTOP}


@pytest.fixture(scope="module")
def review_bid(live_server: Any) -> tuple[int, int]:
    """A round in review with a submitted bid, a message and history: (round id, bid id)."""
    now = utcnow()
    with live_server.app.app_context():
        round_ = Round(
            slug="browser-review-round",
            title="Browser review round",
            pot_pence=20_000_00,
            min_grant_pence=500_00,
            max_grant_pence=5_000_00,
            bids_open_at=now - timedelta(days=20),
            bids_close_at=now - timedelta(days=2),
            voting_open_at=now + timedelta(days=10),
            voting_close_at=now + timedelta(days=20),
            lot_seed="browser-seed",
        )
        round_.wards = [Ward(name="Dalston", position=0)]
        round_.checklist = [
            EligibilityCheckItem(label="Safeguarding policy in place", position=0),
            EligibilityCheckItem(label="Within the grant limits", position=1),
        ]
        db.session.add(round_)
        group = Group(
            name="Browser Growers",
            kind=GroupKind.CONSTITUTED,
            contact_name="Contact",
            contact_email="growers@example.org",
        )
        bid = Bid(
            round=round_,
            group=group,
            ref="BR-01",
            title="Community garden",
            summary="Raised beds for older neighbours.",
            description="Longer description.\nSecond line.",
            status=BidStatus.RESUBMITTED,
            submitted_at=now - timedelta(days=3),
        )
        bid.budget_lines = [
            BudgetLine(position=0, description="Raised beds", amount_pence=1_400_00),
            BudgetLine(position=1, description="Seeds", amount_pence=450_00),
        ]
        bid.history = [
            BidStatusChange(to_status=BidStatus.SUBMITTED),
            BidStatusChange(
                from_status=BidStatus.SUBMITTED, to_status=BidStatus.CHANGES_REQUESTED, note="x"
            ),
            BidStatusChange(
                from_status=BidStatus.CHANGES_REQUESTED, to_status=BidStatus.RESUBMITTED
            ),
        ]
        db.session.add(bid)
        db.session.flush()
        db.session.add(BidMessage(bid_id=bid.id, body="Please add your safeguarding policy."))
        db.session.commit()
        return (round_.id, bid.id)


def _sign_in_officer(page: Page, live_server: Any) -> None:
    account = live_server.account("officer")
    page.goto("/account/sign-in")
    page.get_by_label("Email address").fill(account.email)
    page.get_by_label("Password", exact=True).fill(account.password)
    with page.expect_navigation():
        page.locator("main").get_by_role("button", name="Sign in").click()


def _open(page: Page, path: str) -> None:
    response = page.goto(path)
    assert response is not None
    assert response.status == 200, path


PAGES: dict[str, Callable[[Page, tuple[int, int]], None]] = {
    "rounds": lambda page, ids: _open(page, "/staff/rounds/"),
    "new-round": lambda page, ids: _open(page, "/staff/rounds/new"),
    "round-settings": lambda page, ids: _open(page, f"/staff/rounds/{ids[0]}/edit"),
    "review-queue": lambda page, ids: _open(page, f"/staff/rounds/{ids[0]}/bids"),
    "review-bid": lambda page, ids: _open(page, f"/staff/rounds/{ids[0]}/bids/{ids[1]}"),
}


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
@pytest.mark.parametrize("open_page", PAGES.values(), ids=PAGES.keys())
def test_officer_pages_have_no_wcag_violations(
    page: Page,
    live_server: Any,
    review_bid: tuple[int, int],
    open_page: Callable[[Page, tuple[int, int]], None],
    width: dict[str, int],
) -> None:
    page.set_viewport_size(width)
    _sign_in_officer(page, live_server)
    open_page(page, review_bid)
    assert_accessible(page)


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_round_form_with_errors_has_no_wcag_violations(
    page: Page, live_server: Any, width: dict[str, int]
) -> None:
    page.set_viewport_size(width)
    _sign_in_officer(page, live_server)
    _open(page, "/staff/rounds/new")
    page.get_by_label("Pot", exact=True).fill("-5")
    with page.expect_navigation():
        page.get_by_role("button", name="Create the round").click()
    assert page.locator(".error-summary").is_visible()
    assert_accessible(page)


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_review_page_with_a_refused_reason_has_no_wcag_violations(
    page: Page, live_server: Any, review_bid: tuple[int, int], width: dict[str, int]
) -> None:
    page.set_viewport_size(width)
    _sign_in_officer(page, live_server)
    _open(page, f"/staff/rounds/{review_bid[0]}/bids/{review_bid[1]}")
    with page.expect_navigation():
        page.get_by_role("button", name="Reject the bid").click()
    assert page.get_by_text("Give a reason for rejecting the bid").first.is_visible()
    assert_accessible(page)


def test_review_page_does_not_scroll_sideways_on_a_phone(
    page: Page, live_server: Any, review_bid: tuple[int, int]
) -> None:
    page.set_viewport_size(PHONE)
    _sign_in_officer(page, live_server)
    _open(page, f"/staff/rounds/{review_bid[0]}/bids/{review_bid[1]}")
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], "the review page scrolls sideways at 320 px"
