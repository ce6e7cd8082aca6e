"""The officer's voter-code screen and printed sheet, in real Chromium."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from pb_app.models import Round
from pb_app.services.demo import DEMO_SLUG
from tests.browser.actions import DESKTOP, PHONE, sign_in, submit_and_wait
from tests.browser.axe import assert_accessible

CODE = re.compile(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{2}")


def _demo_round_id(live_server: Any) -> int:
    with live_server.app.app_context():
        from pb_app.extensions import db

        round_ = db.session.scalar(select(Round).where(Round.slug == DEMO_SLUG))
        assert round_ is not None
        return round_.id


@pytest.mark.parametrize("width", [PHONE, DESKTOP], ids=["320px", "1280px"])
def test_officer_issues_and_prints_a_sheet(
    page: Page, live_server: Any, demo_accounts: Any, width: dict[str, int]
) -> None:
    page.set_viewport_size(width)
    officer = demo_accounts["officer"]
    sign_in(page, officer.email, officer.password)
    page.goto("/staff/rounds/")
    # Other tests add rounds to the shared server: pick the demo round's link by its full name.
    page.get_by_role("link", name="Voter codes – Ageing Better small grants", exact=True).click()
    assert page.url.endswith(f"/staff/rounds/{_demo_round_id(live_server)}/codes")
    assert_accessible(page)

    submit_and_wait(page, "Issue codes and show the sheet")  # empty count: errors
    assert page.get_by_text("Enter how many codes to print").first.is_visible()
    assert_accessible(page)

    page.get_by_label("How many codes").fill("4")
    page.get_by_label("Postal packs").check()
    submit_and_wait(page, "Issue codes and show the sheet")
    slips = page.locator(".slip__code")
    assert slips.count() == 4
    assert all(CODE.search(text) for text in slips.all_inner_texts())
    assert_accessible(page)

    page.emulate_media(media="print")
    assert not page.locator(".site-nav").is_visible()
    assert not page.get_by_text("Print this page now").is_visible()
    assert slips.first.is_visible()
