"""Officers' identity pages in real Chromium: codes for checked people, the QR sheet, voiding a
batch and checking a person — axe-core finds nothing at 320 px and 1280 px."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page

from pb_app.models import Round
from pb_app.models._base import utcnow
from tests.browser.actions import DESKTOP, PHONE, sign_in, submit_and_wait
from tests.browser.axe import assert_accessible

WIDTHS = pytest.mark.parametrize("width", [PHONE, DESKTOP], ids=["320px", "1280px"])


def _identity_round(live_server: Any) -> int:
    """A new round on the shared server, open for voting, with identity-bound codes."""
    with live_server.app.app_context():
        from pb_app.extensions import db

        now = utcnow()
        tag = secrets.token_hex(4)
        round_ = Round(
            slug=f"checked-{tag}",
            title=f"Checked people round {tag}",
            pot_pence=10_000_00,
            max_grant_pence=5_000_00,
            max_sum_cost_pence=10_000_00,
            code_mode="identity",
            bids_open_at=now - timedelta(days=30),
            bids_close_at=now - timedelta(days=20),
            voting_open_at=now - timedelta(days=1),
            voting_close_at=now + timedelta(days=10),
            rules_frozen_at=now - timedelta(days=1),
        )
        db.session.add(round_)
        db.session.commit()
        return round_.id


@WIDTHS
def test_officer_issues_codes_for_checked_people_prints_and_voids_them(
    page: Page, live_server: Any, demo_accounts: Any, width: dict[str, int]
) -> None:
    page.set_viewport_size(width)
    round_id = _identity_round(live_server)
    officer = demo_accounts["officer"]
    sign_in(page, officer.email, officer.password)
    page.goto(f"/staff/rounds/{round_id}/codes")
    assert_accessible(page)

    submit_and_wait(page, "Issue codes and show the sheet")  # nobody listed: errors
    assert page.get_by_text("Enter the people, or upload a CSV file").first.is_visible()
    assert_accessible(page)

    people = page.get_by_label("People (name, postcode, date of birth — one person per line)")
    people.fill("Ada Lovelace, E8 1DY, 10/12/1950\nGrace Hopper, XX, 09/12/1956")
    submit_and_wait(page, "Issue codes and show the sheet")  # row 2's postcode is wrong
    assert page.get_by_text("Row 2 (Grace Hopper): Enter a real UK postcode").first.is_visible()
    assert_accessible(page)

    people.fill("Ada Lovelace, E8 1DY, 10/12/1950\nGrace Hopper, E8 2AB, 09/12/1956")
    page.get_by_label("Name of this batch").fill("Members' postal packs")
    submit_and_wait(page, "Issue codes and show the sheet")
    assert page.locator(".slip").count() == 2
    assert page.locator(".slip svg.slip__qr").count() == 2
    assert page.get_by_text("For Ada Lovelace").is_visible()
    assert_accessible(page)
    page.emulate_media(media="print")
    assert not page.get_by_text("Print this page now").is_visible()
    assert page.locator(".slip svg.slip__qr").first.is_visible()
    page.emulate_media(media="screen")

    with page.expect_navigation():
        page.get_by_role("link", name="Back to voter codes").click()
    with page.expect_navigation():
        page.get_by_role("link", name="Withdraw – Members' postal packs").click()
    page.wait_for_load_state("load")
    assert_accessible(page)
    submit_and_wait(page, "Withdraw these codes")  # no reason: an error
    assert page.get_by_text("Say why the codes are being withdrawn").first.is_visible()
    assert_accessible(page)
    page.get_by_label("Why are these codes being withdrawn?").fill("Packs sent to old addresses")
    submit_and_wait(page, "Withdraw these codes")
    assert page.get_by_text("its 2 unused codes no longer work").is_visible()
    assert page.get_by_text("Packs sent to old addresses").is_visible()
    assert_accessible(page)


@WIDTHS
def test_officer_checks_a_person(
    page: Page, live_server: Any, demo_accounts: Any, width: dict[str, int]
) -> None:
    page.set_viewport_size(width)
    round_id = _identity_round(live_server)
    officer = demo_accounts["officer"]
    sign_in(page, officer.email, officer.password)
    page.goto(f"/staff/rounds/{round_id}/codes")
    with page.expect_navigation():
        page.get_by_role("link", name="Check whether a person has voted").click()
    assert_accessible(page)
    submit_and_wait(page, "Check")
    assert page.get_by_text("Enter the person's full name").first.is_visible()
    assert_accessible(page)
    page.get_by_label("Full name").fill("Nobody Known")
    page.get_by_label("Postcode").fill("E8 1DY")
    page.get_by_label("Day").fill("1")
    page.get_by_label("Month").fill("2")
    page.get_by_label("Year").fill("1950")
    submit_and_wait(page, "Check")
    assert page.get_by_role("heading", name="Not voted yet").is_visible()
    assert_accessible(page)
