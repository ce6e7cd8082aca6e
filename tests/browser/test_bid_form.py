"""The group's bid pages in a real browser: the bid form completed with the keyboard alone (a
three-line budget, then submit), and WCAG 2.2 AA (axe-core) at 320 px and 1280 px."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from pb_app.extensions import db
from pb_app.models import (
    Bid,
    BidMessage,
    BidStatus,
    BidStatusChange,
    BudgetLine,
    Group,
    GroupInvite,
    GroupKind,
    GroupMembership,
    Round,
    Theme,
    User,
    Ward,
)
from pb_app.models._base import utcnow
from pb_app.passwords import hash_password
from tests.browser.axe import assert_accessible

PHONE: ViewportSize = {"width": 320, "height": 640}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
WIDTHS = {"320px": PHONE, "1280px": DESKTOP}
PASSWORD = "browser bid password"


@dataclass(frozen=True)
class Setting:
    """What the module's tests share: a round open for bids, a member and their group's bids."""

    email: str
    slug: str
    group_id: int
    draft_id: int
    asked_id: int
    member_id: int


@pytest.fixture(scope="module")
def setting(live_server: Any) -> Setting:
    """A round taking bids, a group with a lead member, a draft and a bid sent back for changes."""
    tag = secrets.token_hex(4)
    now = utcnow()
    with live_server.app.app_context():
        round_ = Round(
            slug=f"browser-bids-{tag}",
            title="Ageing Better",
            pot_pence=20_000_00,
            min_grant_pence=500_00,
            max_grant_pence=5_000_00,
            bids_open_at=now - timedelta(days=2),
            bids_close_at=now + timedelta(days=20),
            voting_open_at=now + timedelta(days=30),
            voting_close_at=now + timedelta(days=40),
            lot_seed="browser-bids",
        )
        round_.wards = [Ward(name="Dalston", position=0), Ward(name="Hoxton", position=1)]
        round_.themes = [Theme(name="Social isolation", position=0)]
        user = User(
            email=f"bidder-{tag}@example.org",
            name="Bea Bidder",
            password_hash=hash_password(PASSWORD),
        )
        group = Group(
            name="Browser Neighbours",
            kind=GroupKind.CONSTITUTED,
            contact_name="Bea Bidder",
            contact_email=f"bidder-{tag}@example.org",
        )
        other = User(email=f"member-{tag}@example.org", name="Max Member", password_hash="unused")
        db.session.add(group)
        db.session.flush()
        invite = GroupInvite(
            group_id=group.id,
            email=f"invited-{tag}@example.org",
            token_digest=secrets.token_hex(32),
        )
        db.session.add_all(
            [
                round_,
                user,
                group,
                GroupMembership(group=group, user=user, is_lead=True),
                GroupMembership(group=group, user=other, is_lead=False),
                invite,
            ]
        )
        draft = Bid(round=round_, group=group, ref=f"D{tag}", title="Lunch club", status="draft")
        draft.budget_lines = [BudgetLine(position=0, description="Food", amount_pence=300_00)]
        draft.history = [BidStatusChange(to_status=BidStatus.DRAFT)]
        asked = Bid(
            round=round_,
            group=group,
            ref=f"C{tag}",
            title="Walking group",
            summary="Weekly walks.",
            status=BidStatus.CHANGES_REQUESTED,
        )
        asked.budget_lines = [BudgetLine(position=0, description="Guides", amount_pence=900_00)]
        db.session.add_all([draft, asked])
        db.session.flush()
        db.session.add(BidMessage(bid_id=asked.id, body="Please say how many walks there are."))
        db.session.commit()
        return Setting(user.email, round_.slug, group.id, draft.id, asked.id, other.id)


def _sign_in(page: Page, setting: Setting) -> None:
    page.goto("/account/sign-in")
    page.get_by_label("Email address").fill(setting.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    with page.expect_navigation():
        page.locator("main").get_by_role("button", name="Sign in").click()


def _tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching ``selector`` has focus."""
    target = page.locator(selector)
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{selector!r} never received focus")


def _type_into(page: Page, selector: str, text: str) -> None:
    _tab_to(page, selector)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def test_bid_form_can_be_completed_and_submitted_with_the_keyboard_alone(
    page: Page, setting: Setting
) -> None:
    _sign_in(page, setting)
    page.goto(f"/rounds/{setting.slug}/bids/new")
    _type_into(page, "#title", "Tea and talk")
    _type_into(page, "#summary", "A weekly drop-in for older neighbours.")
    _type_into(page, "#description", "Tea, cake and company every Tuesday.")
    _type_into(page, "#beneficiaries", "Older people living alone.")
    _type_into(page, "#beneficiaries_count", "40")
    _tab_to(page, "#ward_id")
    page.keyboard.press("ArrowDown")  # Dalston
    _tab_to(page, "#theme_id")
    page.keyboard.press("ArrowDown")  # Social isolation
    _type_into(page, "#timeline", "May to December.")
    for index, (text, amount) in enumerate(
        [("Hall hire", "600"), ("Food", "1,250.50"), ("Leaflets", "149.50")]
    ):
        _type_into(page, f"#lines-{index}-description", text)
        _type_into(page, f"#lines-{index}-amount", amount)
    expect(page.locator("[data-budget-total]")).to_have_text("£2,000")  # the live total (JS)
    _tab_to(page, "button[name=save]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Tea and talk")
    expect(page.locator("main")).to_contain_text("£2,000")
    _tab_to(page, "form[action$='/submit'] button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("main .tag").first).to_have_text("Submitted")


def test_add_another_line_works_without_javascript(
    browser: Any, live_server: Any, setting: Setting
) -> None:
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        _sign_in(page, setting)
        page.goto(f"/rounds/{setting.slug}/bids/new")
        expect(page.locator("[data-budget-line]")).to_have_count(3)
        with page.expect_navigation():
            page.get_by_role("button", name="Add another line").click()
        expect(page.locator("[data-budget-line]")).to_have_count(4)
    finally:
        context.close()


def _form_with_errors(page: Page, setting: Setting) -> None:
    page.goto(f"/rounds/{setting.slug}/bids/new")
    page.locator("#title").fill("")
    page.locator("#lines-0-description").fill("Hall hire")
    page.locator("#lines-0-amount").fill("10.505")
    page.locator("#lines-1-amount").fill("-4")
    with page.expect_navigation():
        page.locator("main").get_by_role("button", name="Save and continue").click()
    expect(page.locator(".error-summary")).to_be_visible()


def _submit_refused(page: Page, setting: Setting) -> None:
    page.goto(f"/bids/{setting.draft_id}")
    expect(page.locator("main")).to_contain_text("Before you can submit")


def _group_form_with_errors(page: Page, setting: Setting) -> None:
    page.goto("/groups/new")
    with page.expect_navigation():
        page.locator("main").get_by_role("button", name="Register group").click()
    expect(page.locator(".error-summary")).to_be_visible()


PAGES: dict[str, Callable[[Page, Setting], None]] = {
    "dashboard": lambda page, s: _open(page, "/groups/"),
    "new-bid": lambda page, s: _open(page, f"/rounds/{s.slug}/bids/new"),
    "new-bid-errors": _form_with_errors,
    "draft-check-answers": _submit_refused,
    "edit-bid": lambda page, s: _open(page, f"/bids/{s.draft_id}/edit"),
    "changes-requested": lambda page, s: _open(page, f"/bids/{s.asked_id}"),
    "withdraw": lambda page, s: _open(page, f"/bids/{s.draft_id}/withdraw"),
    "picture": lambda page, s: _open(page, f"/bids/{s.draft_id}/picture"),
    "group": lambda page, s: _open(page, f"/groups/{s.group_id}"),
    "remove-member": lambda page, s: _open(
        page, f"/groups/{s.group_id}/members/{s.member_id}/remove"
    ),
    "register-group": lambda page, s: _open(page, "/groups/new"),
    "register-group-errors": _group_form_with_errors,
}


def _open(page: Page, path: str) -> None:
    response = page.goto(path)
    assert response is not None
    assert response.status == 200, path


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
@pytest.mark.parametrize("open_page", PAGES.values(), ids=PAGES.keys())
def test_group_and_bid_pages_have_no_wcag_violations(
    page: Page,
    setting: Setting,
    open_page: Callable[[Page, Setting], None],
    width: ViewportSize,
) -> None:
    page.set_viewport_size(width)
    _sign_in(page, setting)
    open_page(page, setting)
    assert_accessible(page)
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow, "the page scrolls sideways"
