"""Voting in a real browser on a 320 px phone: every ballot type by keyboard alone, with and
without JavaScript, axe-core on every voting page at 320 and 1280 px, and 44 px touch targets."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Browser, Page

from pb_app.extensions import db
from pb_app.models import (
    Bid,
    BidStatus,
    BudgetLine,
    Group,
    GroupKind,
    GroupMembership,
    Round,
    User,
)
from pb_app.models._base import utcnow
from pb_app.passwords import hash_password
from pb_app.services.codes import issue_codes
from tests.browser.actions import DESKTOP, PHONE, sign_in, tab_to
from tests.browser.axe import assert_accessible
from tests.browser.test_keyboard import _walk_focus

if TYPE_CHECKING:
    from tests.browser.conftest import LiveServer

PROJECTS = (
    ("Lunch club", 1_000_00),
    ("Digital buddies", 2_000_00),
    ("Walking football", 3_000_00),
    ("Memory café", 1_500_00),
)
PASSWORD = "correct horse battery"
COLUMNS: dict[str, dict[str, Any]] = {
    "knapsack": {"max_sum_cost_pence": 5_000_00},
    "approval": {"min_length": 1, "max_length": 2},
    "choose-1": {},
    "ordinal": {"min_length": 1, "max_length": 3},
    "scoring": {"min_points": 1, "max_points": 5},
    "cumulative": {"max_sum_points": 10},
}


@pytest.fixture
def browser_context_args(live_server: LiveServer) -> dict[str, Any]:
    """A small, old phone: 320 × 640."""
    return {
        "base_url": live_server.url,
        "viewport": PHONE,
        "locale": "en-GB",
        "timezone_id": "Europe/London",
    }


def make_voting_round(live_server: LiveServer, kind: str, member_email: str | None = None) -> str:
    """A round of ``kind`` in voting with four shortlisted bids; returns its slug.

    With ``member_email``, an account (password ``PASSWORD``) leads the first bid's group.
    """
    slug = f"{kind}-{uuid.uuid4().hex[:8]}"
    now = utcnow()
    with live_server.app.app_context():
        round_ = Round(
            slug=slug,
            title=f"Browser {kind} round",
            pot_pence=10_000_00,
            max_grant_pence=5_000_00,
            ballot_kind=kind,
            postcode_areas="E8",
            min_age=18,
            rule="greedy",
            bids_open_at=now - timedelta(days=30),
            bids_close_at=now - timedelta(days=20),
            voting_open_at=now - timedelta(days=1),
            voting_close_at=now + timedelta(days=10),
            rules_frozen_at=now - timedelta(days=1),
            **COLUMNS[kind],
        )
        db.session.add(round_)
        db.session.flush()
        for number, (title, pence) in enumerate(PROJECTS, 1):
            group = Group(
                name=f"{title} group",
                kind=GroupKind.CONSTITUTED,
                contact_name="Contact",
                contact_email=f"{slug}-{number}@example.org",
            )
            bid = Bid(
                round_id=round_.id,
                group=group,
                ref=f"B{number}",
                title=title,
                summary=f"{title}: a summary of the project.",
                status=BidStatus.SHORTLISTED,
            )
            bid.budget_lines = [BudgetLine(position=0, description="Costs", amount_pence=pence)]
            db.session.add(bid)
            if member_email and number == 1:
                member = User(
                    email=member_email,
                    name="Gita Groupmember",
                    password_hash=hash_password(PASSWORD),
                )
                db.session.add(GroupMembership(group=group, user=member, is_lead=True))
        db.session.commit()
    return slug


def _enter(page: Page) -> None:
    with page.expect_navigation():
        page.keyboard.press("Enter")


def _type_into(page: Page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def register_by_keyboard(page: Page, slug: str) -> None:
    """From the start page to the ballot, with Tab, typing and Enter only."""
    page.goto(f"/rounds/{slug}/vote")
    tab_to(page, "main a:text('Check you can vote and register')")
    _enter(page)
    _type_into(page, "#full_name", f"Kim {uuid.uuid4().hex[:6]}")
    _type_into(page, "#postcode", "E8 1DY")
    _type_into(page, "#dob_day", "27")
    _type_into(page, "#dob_month", "3")
    _type_into(page, "#dob_year", "1958")
    tab_to(page, "main button:text('Continue')")
    _enter(page)
    assert page.locator("h1").text_content() == "Your vote"


def _space(page: Page, selector: str) -> None:
    tab_to(page, selector)
    page.keyboard.press("Space")


def _select_by_arrows(page: Page, selector: str, presses: int) -> None:
    tab_to(page, selector)
    for _ in range(presses):
        page.keyboard.press("ArrowDown")


def fill_by_keyboard(page: Page, kind: str) -> list[str]:
    """Fill in a valid ballot of ``kind`` by keyboard; return what the check page should show."""
    if kind in ("knapsack", "approval"):
        _space(page, "#project-0")
        _space(page, "#project-2")
        return ["Lunch club", "Walking football"]
    if kind == "choose-1":
        tab_to(page, "#project-0")
        page.keyboard.press("ArrowDown")  # arrow keys move and choose within a radio group
        assert page.locator("#project-1").is_checked()
        return ["Digital buddies"]
    if kind == "ordinal":
        _select_by_arrows(page, "#rank-1", 3)
        _select_by_arrows(page, "#rank-2", 1)
        assert page.locator("#rank-1").input_value() == "B3"
        return ["Walking football", "Lunch club"]
    if kind == "scoring":
        for index, presses in enumerate((4, 0, 2, 1)):
            _space(page, f"#project-{index}")
            for _ in range(presses):
                page.keyboard.press("ArrowRight")
        return ["Score: 5", "Score: 1", "Score: 3", "Score: 2"]
    _type_into(page, "#project-0", "6")
    _type_into(page, "#project-3", "4")
    return ["6 points", "4 points"]


def cast_by_keyboard(page: Page, shown: list[str]) -> str:
    """Continue, check the answers, confirm, and return the receipt code."""
    tab_to(page, "main button:text-is('Continue')", limit=60)
    _enter(page)
    assert page.locator("h1").text_content() == "Check your vote before you send it"
    answers = page.locator(".summary-list").text_content() or ""
    for text in shown:
        assert text in answers
    tab_to(page, "main button:text('Confirm and cast my vote')", limit=60)
    _enter(page)
    assert page.locator("h1").text_content() == "Your vote has been cast"
    return (page.locator(".receipt").text_content() or "").strip()


@pytest.mark.parametrize("kind", COLUMNS)
def test_vote_with_the_keyboard_alone(page: Page, live_server: LiveServer, kind: str) -> None:
    slug = make_voting_round(live_server, kind)
    register_by_keyboard(page, slug)
    shown = fill_by_keyboard(page, kind)
    receipt = cast_by_keyboard(page, shown)
    assert len(receipt) == 14

    tab_to(page, "main a:text('Check your receipt')")
    _enter(page)
    assert page.get_by_text("This receipt is in the ballot log.").is_visible()


def test_knapsack_total_updates_live_with_javascript(page: Page, live_server: LiveServer) -> None:
    slug = make_voting_round(live_server, "knapsack")
    register_by_keyboard(page, slug)
    live = page.locator("#running-total")
    assert live.get_attribute("aria-live") == "polite"
    assert live.text_content().strip() == "£0 of £5,000 chosen, £5,000 left"
    assert not page.get_by_role("button", name="Update total").is_visible()

    _space(page, "#project-1")
    assert live.text_content().strip() == "£2,000 of £5,000 chosen, £3,000 left"
    _space(page, "#project-2")
    _space(page, "#project-3")
    assert live.text_content().strip() == "£6,500 of £5,000 chosen, £1,500 over the limit"
    _space(page, "#project-3")
    assert live.text_content().strip() == "£5,000 of £5,000 chosen, £0 left"


def test_cumulative_points_total_updates_live(page: Page, live_server: LiveServer) -> None:
    slug = make_voting_round(live_server, "cumulative")
    register_by_keyboard(page, slug)
    _type_into(page, "#project-0", "3")
    _type_into(page, "#project-1", "4")
    assert page.locator("#running-total").text_content().strip() == ("7 of 10 points used, 3 left")


def test_knapsack_vote_works_without_javascript(browser: Browser, live_server: LiveServer) -> None:
    slug = make_voting_round(live_server, "knapsack")
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, java_script_enabled=False, locale="en-GB"
    )
    try:
        page = context.new_page()
        register_by_keyboard(page, slug)
        page.locator("#project-0").check()
        page.locator("#project-3").check()
        update = page.get_by_role("button", name="Update total")
        assert update.is_visible()
        with page.expect_navigation():
            update.click()
        total = page.locator("#running-total").text_content().strip()
        assert total == "£2,500 of £5,000 chosen, £2,500 left"
        assert page.locator("#project-0").is_checked()  # choices kept across the update
        # Over the limit: the server refuses with the reason, and nothing is cast.
        page.locator("#project-2").check()
        with page.expect_navigation():
            page.get_by_role("button", name="Continue").click()
        assert "Remove £500 or more." in (page.locator(".error-summary").text_content() or "")
        page.locator("#project-2").uncheck()
        receipt = cast_by_keyboard(page, ["Lunch club", "Memory café", "£2,500"])
        assert receipt
    finally:
        context.close()


# ---- axe-core and layout on every voting page, at 320 and 1280 px ----------------------------


def _start(page: Page, server: LiveServer) -> None:
    page.goto(f"/rounds/{make_voting_round(server, 'knapsack')}/vote")


def _code(page: Page, server: LiveServer) -> None:
    page.goto(f"/rounds/{make_voting_round(server, 'knapsack')}/vote/code")


def _code_errors(page: Page, server: LiveServer) -> None:
    _code(page, server)
    page.locator("#code").fill("WRONG-CODE")
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()


def _register(page: Page, server: LiveServer) -> None:
    page.goto(f"/rounds/{make_voting_round(server, 'knapsack')}/vote/register")


def _register_errors(page: Page, server: LiveServer) -> None:
    _register(page, server)
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()


def _not_eligible(page: Page, server: LiveServer) -> None:
    _register(page, server)
    page.locator("#full_name").fill("Young Person")
    page.locator("#postcode").fill("E8 1DY")
    page.locator("#dob_day").fill("1")
    page.locator("#dob_month").fill("1")
    page.locator("#dob_year").fill(str(utcnow().year - 10))
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()


def _ballot(kind: str) -> Callable[[Page, LiveServer], None]:
    def open_ballot(page: Page, server: LiveServer) -> None:
        register_by_keyboard(page, make_voting_round(server, kind))

    return open_ballot


def _ballot_errors(page: Page, server: LiveServer) -> None:
    register_by_keyboard(page, make_voting_round(server, "scoring"))
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()


def _check(page: Page, server: LiveServer) -> None:
    register_by_keyboard(page, make_voting_round(server, "knapsack"))
    page.locator("#project-0").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()


def _done(page: Page, server: LiveServer) -> None:
    _check(page, server)
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm and cast my vote").click()


def _receipts(page: Page, server: LiveServer) -> None:
    _done(page, server)
    with page.expect_navigation():
        page.get_by_role("link", name="Check your receipt").click()


def _with_code(page: Page, server: LiveServer) -> None:
    slug = make_voting_round(server, "approval")
    with server.app.app_context():
        round_ = db.session.query(Round).filter_by(slug=slug).one()
        (code,) = issue_codes(round_, count=1, label="Browser", actor=None)
    page.goto(f"/rounds/{slug}/vote/code")
    page.locator("#code").fill(code)
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()


PAGES: dict[str, Callable[[Page, LiveServer], None]] = {
    "start": _start,
    "code": _code,
    "code-errors": _code_errors,
    "register": _register,
    "register-errors": _register_errors,
    "not-eligible": _not_eligible,
    **{f"ballot-{kind}": _ballot(kind) for kind in COLUMNS},
    "ballot-errors": _ballot_errors,
    "ballot-after-code": _with_code,
    "check-answers": _check,
    "confirmation": _done,
    "receipts": _receipts,
}
WIDTHS = {"320px": PHONE, "1280px": DESKTOP}


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
@pytest.mark.parametrize("open_page", PAGES.values(), ids=PAGES.keys())
def test_voting_page_has_no_wcag_violations(
    page: Page, live_server: LiveServer, open_page: Callable[..., None], width: dict[str, int]
) -> None:
    page.set_viewport_size(width)
    open_page(page, live_server)
    assert_accessible(page)
    if width == PHONE:
        facts = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert facts[0] <= facts[1], "the page scrolls sideways at 320 px"


@pytest.mark.parametrize("kind", COLUMNS)
def test_ballot_controls_are_at_least_44_px(page: Page, live_server: LiveServer, kind: str) -> None:
    register_by_keyboard(page, make_voting_round(live_server, kind))
    # Measure the no-JavaScript "Update total" button too.
    page.evaluate(
        "() => document.querySelectorAll('.is-live').forEach(b => b.classList.remove('is-live'))"
    )
    sizes = page.locator(
        "main form input:not([type=hidden]), main form select, main form button, main form a"
    ).evaluate_all(
        """elements => elements.map(element => {
            const box = element.getBoundingClientRect();
            return [element.id || element.textContent.trim(), box.width, box.height];
        })"""
    )
    assert sizes
    small = [(name, w, h) for name, w, h in sizes if w < 44 or h < 44]
    assert not small, f"touch targets under 44 × 44 px: {small}"


@pytest.mark.parametrize("kind", COLUMNS)
def test_every_ballot_control_shows_focus(page: Page, live_server: LiveServer, kind: str) -> None:
    register_by_keyboard(page, make_voting_round(live_server, kind))
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    kinds = _walk_focus(page)
    assert kinds >= {"a", "button", "select" if kind == "ordinal" else "input"}


@pytest.mark.parametrize("kind", ["knapsack", "scoring"])
def test_group_member_sees_own_bid_marked_and_cannot_choose_it(
    page: Page, live_server: LiveServer, kind: str
) -> None:
    email = f"gita-{uuid.uuid4().hex[:8]}@example.org"
    slug = make_voting_round(live_server, kind, member_email=email)
    sign_in(page, email, PASSWORD)
    register_by_keyboard(page, slug)
    own = page.locator(".choice--excluded").first
    assert own.get_by_text("You cannot vote for your own group's bid.").is_visible()
    if kind == "knapsack":
        assert page.locator("#project-0").is_disabled()
    else:
        assert own.locator("input").count() == 0  # nothing to score
    assert_accessible(page)
