"""The staff results pages meet WCAG 2.2 AA (axe-core) at 320 px and 1280 px: the draft result
with the certify form, the certify form with an error, the close confirmation and the certified
result."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page

from pb_app.extensions import db
from pb_app.models import Bid, BidStatus, BudgetLine, Channel, Group, GroupKind, Round, Ward
from pb_app.models._base import utcnow
from pb_app.services.codes import issue_codes
from pb_app.services.results import close_voting, count_round
from pb_app.services.voting import cast_ballot
from pb_app.tally.election import Ballot
from tests.browser.actions import DESKTOP, PHONE, sign_in, submit_and_wait
from tests.browser.axe import assert_accessible

WIDTHS = {"320px": PHONE, "1280px": DESKTOP}


def _round(slug: str, *, closed: bool) -> int:
    now = utcnow()
    round_ = Round(
        slug=slug,
        title=f"Browser results round {slug}",
        pot_pence=6_000_00,
        min_grant_pence=500_00,
        max_grant_pence=5_000_00,
        ballot_kind="approval",
        bids_open_at=now - timedelta(days=30),
        bids_close_at=now - timedelta(days=20),
        voting_open_at=now - timedelta(days=2),
        voting_close_at=now + timedelta(days=5),
        rules_frozen_at=now - timedelta(days=2),
        lot_seed="browser-results-seed",
    )
    round_.wards = [Ward(name="Dalston", position=0)]
    db.session.add(round_)
    group = Group(
        name="Browser Results Group",
        kind=GroupKind.CONSTITUTED,
        contact_name="Contact",
        contact_email="results-group@example.org",
    )
    for number, pounds in enumerate((1_500, 2_500, 4_000), start=1):
        bid = Bid(
            round=round_,
            group=group,
            ref=f"BRR-{number}",
            title=f"A project with a fairly long title number {number}",
            summary="Summary.",
            status=BidStatus.SHORTLISTED,
        )
        bid.budget_lines = [BudgetLine(position=0, description="Costs", amount_pence=pounds * 100)]
        db.session.add(bid)
    db.session.commit()
    refs = ["BRR-1", "BRR-2", "BRR-3"]
    for code, choice in zip(
        issue_codes(round_, count=5, label="Browser", actor=None),
        [(0, 1), (1, 2), (2,), (0, 2), (1,)],
        strict=True,
    ):
        ballot = Ballot(tuple(refs[i] for i in choice))
        cast_ballot(round_.id, ballot, code=code, channel=Channel.API, now=utcnow())
    if closed:
        close_voting(round_.id, actor=None, now=utcnow())
        count_round(round_.id, actor=None, now=utcnow())
    return round_.id


@pytest.fixture(scope="module")
def rounds(live_server: Any) -> dict[str, int]:
    """Two rounds counted (one stays a draft, one gets certified) and one still voting."""
    with live_server.app.app_context():
        return {
            "draft": _round("browser-results-draft", closed=True),
            "voting": _round("browser-results-voting", closed=False),
            "to-certify": _round("browser-results-certify", closed=True),
        }


def _as_funder(page: Page, live_server: Any) -> None:
    account = live_server.account("funder")
    sign_in(page, account.email, account.password)


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_draft_result_and_certify_form_are_accessible(
    page: Page, live_server: Any, rounds: dict[str, int], width: dict[str, int]
) -> None:
    page.set_viewport_size(width)
    _as_funder(page, live_server)
    response = page.goto(f"/staff/rounds/{rounds['draft']}/results")
    assert response is not None
    assert response.status == 200
    assert page.get_by_text("Draft result (not published)").is_visible()
    assert page.get_by_role("button", name="Certify and publish").is_visible()
    assert_accessible(page)
    page.get_by_label("Your password", exact=True).fill("not the password")
    submit_and_wait(page, "Certify and publish")
    assert page.locator(".error-summary").is_visible()
    assert_accessible(page)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], "the results page scrolls sideways"


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_close_confirmation_is_accessible(
    page: Page, live_server: Any, rounds: dict[str, int], width: dict[str, int]
) -> None:
    page.set_viewport_size(width)
    _as_funder(page, live_server)
    response = page.goto(f"/staff/rounds/{rounds['voting']}/results/close")
    assert response is not None
    assert response.status == 200
    assert_accessible(page)


def test_funder_certifies_and_the_certified_page_is_accessible(
    page: Page, live_server: Any, rounds: dict[str, int]
) -> None:
    account = live_server.account("funder")
    page.set_viewport_size(PHONE)
    sign_in(page, account.email, account.password)
    page.goto(f"/staff/rounds/{rounds['to-certify']}/results")
    page.get_by_label("Your password", exact=True).fill(account.password)
    submit_and_wait(page, "Certify and publish")
    assert page.get_by_text("Certified by").is_visible()
    assert_accessible(page)
    page.set_viewport_size(DESKTOP)
    assert_accessible(page)
