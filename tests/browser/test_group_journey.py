"""A group's whole journey in a real browser, as a new user would make it.

"A group registers, creates a group, submits a bid with a three-line budget, gets a change request
from an officer, edits and resubmits, is shortlisted, and the bid appears on the public projects
list; every officer step is in the staff audit log."

Only the round is arranged in the database (the demo round is already voting); every person's step
is clicked and typed. The officer reviews during the bids phase, which the bid flow allows.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from pb_app.extensions import db
from pb_app.models import AuditEvent, Bid, EligibilityCheckItem, Round, Theme, User, Ward
from pb_app.models._base import utcnow
from tests.browser.actions import sign_in, submit_and_wait

PASSWORD = "three quiet otters swim home"
TITLE = "Tuesday tea and talk"
BUDGET = [("Hall hire", "600"), ("Tea and cake", "250.50"), ("Leaflets", "149.50")]
CHANGE_REQUEST = "Please cost the tea and cake for all twenty sessions, not twelve."
CHECKLIST = ("Constituted group or named sponsor", "Safeguarding policy in place")


def _round_taking_bids(live_server: Any, tag: str) -> tuple[int, str]:
    """A round open for bids (dates as PHASE_DATES["bids"] in tests/conftest.py): (id, slug)."""
    now = utcnow()
    with live_server.app.app_context():
        round_ = Round(
            slug=f"journey-{tag}",
            title=f"Ageing Well {tag}",
            pot_pence=10_000_00,
            min_grant_pence=500_00,
            max_grant_pence=5_000_00,
            ballot_kind="knapsack",
            max_sum_cost_pence=10_000_00,
            rule="greedy",
            tie_break="min-cost,max-support,lot",
            lot_seed=f"journey-{tag}",
            bids_open_at=now - timedelta(days=5),
            bids_close_at=now + timedelta(days=10),
            voting_open_at=now + timedelta(days=20),
            voting_close_at=now + timedelta(days=30),
        )
        round_.wards = [Ward(name="North", position=0), Ward(name="South", position=1)]
        round_.themes = [
            Theme(name="Older people", position=0),
            Theme(name="Green spaces", position=1),
        ]
        round_.checklist = [
            EligibilityCheckItem(label=label, position=i) for i, label in enumerate(CHECKLIST)
        ]
        db.session.add(round_)
        db.session.commit()
        return round_.id, round_.slug


def _sign_out(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.locator("main")).to_contain_text("You are signed out.")


def _flash(page: Page, text: str) -> None:
    expect(page.locator("main")).to_contain_text(text)


def _status(page: Page, label: str) -> None:
    expect(page.locator("main .tag").first).to_have_text(label)


def _register_and_create_group(page: Page, email: str, contact_email: str) -> None:
    page.goto("/account/register")
    page.get_by_label("Full name", exact=True).fill("Gwen Group")
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_label("Create a password", exact=True).fill(PASSWORD)
    page.get_by_label("Type your password again", exact=True).fill(PASSWORD)
    submit_and_wait(page, "Create account")
    _flash(page, "Your account has been created and you are signed in.")

    page.goto("/groups/new")
    page.get_by_label("Name of the group", exact=True).fill("Northside Neighbours")
    page.get_by_label("Constituted group (with a written constitution)").check()
    page.get_by_label("Area or ward the group works in").fill("North")
    page.get_by_label("Contact name", exact=True).fill("Gwen Group")
    page.get_by_label("Contact email address", exact=True).fill(contact_email)
    submit_and_wait(page, "Register group")
    _flash(page, "Northside Neighbours is registered. You are its lead member.")


def _start_and_submit_bid(page: Page, slug: str) -> int:
    page.goto(f"/rounds/{slug}/bids/new")
    expect(page.locator("h1")).to_have_text("Start a bid")
    page.get_by_label("Which group is bidding?").select_option(label="Northside Neighbours")
    page.get_by_label("Title of the project").fill(TITLE)
    page.get_by_label("Summary in one line").fill("A weekly drop-in for older neighbours.")
    page.get_by_label("Describe the project").fill("Tea, cake and company every Tuesday.")
    page.get_by_label("Who will benefit, and how?").fill("Older people who live alone.")
    page.get_by_label("Roughly how many people will benefit?").fill("40")
    page.get_by_label("Ward", exact=True).select_option(label="North")
    page.get_by_label("Theme", exact=True).select_option(label="Older people")
    page.get_by_label("When will it happen?").fill("Twenty Tuesdays from May.")
    for n, (text, amount) in enumerate(BUDGET, start=1):
        page.get_by_label(f"Line {n}: what it is for").fill(text)
        page.get_by_label(f"Line {n}: amount in £").fill(amount)
    expect(page.locator("[data-budget-total]")).to_have_text("£1,000")
    submit_and_wait(page, "Save and continue")
    _flash(page, "is saved.")
    expect(page.locator("h1")).to_have_text(TITLE)
    _status(page, "Draft")
    match = re.search(r"/bids/(\d+)$", page.url)
    assert match, page.url
    submit_and_wait(page, "Submit bid")
    _flash(page, "is submitted. We have emailed your group.")
    _status(page, "Submitted")
    return int(match.group(1))


def _officer_requests_changes(page: Page, round_id: int) -> None:
    page.goto(f"/staff/rounds/{round_id}/bids")
    waiting = page.locator("table", has=page.get_by_text("Waiting for a decision"))
    with page.expect_navigation():
        waiting.get_by_role("link", name=TITLE).click()
    expect(page.locator("h1")).to_have_text(TITLE)
    budget = page.locator("table.budget-table")
    for text, _amount in BUDGET:
        expect(budget).to_contain_text(text)
    expect(budget.locator("tfoot")).to_contain_text("£1,000")
    page.get_by_label("What should the group change?").fill(CHANGE_REQUEST)
    submit_and_wait(page, "Send the request")
    _flash(page, "The group has been asked to make changes.")
    expect(page.locator("main .tag").first).to_contain_text("Changes requested")


def _group_edits_and_resubmits(page: Page, bid_id: int) -> None:
    page.goto("/groups/")
    card = page.locator("li", has=page.get_by_role("link", name=TITLE))
    expect(card).to_contain_text("Changes requested")
    expect(card).to_contain_text(CHANGE_REQUEST)
    with page.expect_navigation():
        card.get_by_role("link", name=TITLE).click()
    assert page.url.endswith(f"/bids/{bid_id}")
    _status(page, "Changes requested")
    expect(page.locator("main .messages")).to_contain_text(CHANGE_REQUEST)
    with page.expect_navigation():
        page.get_by_role("link", name="Change your answers").click()
    expect(page.locator("h1")).to_have_text("Change your bid")
    expect(page.get_by_label("Line 2: amount in £")).to_have_value("250.50")
    page.get_by_label("Line 2: amount in £").fill("400.50")
    expect(page.locator("[data-budget-total]")).to_have_text("£1,150")
    submit_and_wait(page, "Save and continue")
    _flash(page, "Your changes are saved.")
    expect(page.locator("main table tfoot")).to_contain_text("£1,150")
    submit_and_wait(page, "Resubmit bid")
    _status(page, "Resubmitted")


def _officer_checks_and_shortlists(page: Page, round_id: int, bid_id: int) -> None:
    page.goto(f"/staff/rounds/{round_id}/bids")
    waiting = page.locator("table", has=page.get_by_text("Waiting for a decision"))
    with page.expect_navigation():
        waiting.get_by_role("link", name=TITLE).click()
    assert page.url.endswith(f"/staff/rounds/{round_id}/bids/{bid_id}")
    expect(page.locator("table.budget-table tfoot")).to_contain_text("£1,150")
    for label in CHECKLIST:
        page.get_by_role("group", name=label).get_by_label("Pass", exact=True).check()
    submit_and_wait(page, "Save the checklist")
    _flash(page, "The checklist has been saved.")
    page.get_by_label("Note for the record (optional)").fill("Costs now match the sessions.")
    submit_and_wait(page, "Shortlist the bid")
    _flash(page, "The bid has been shortlisted.")
    expect(page.locator("main .tag").first).to_contain_text("Shortlisted")


def _visitor_sees_the_project(browser: Browser, context_args: dict[str, Any], slug: str) -> None:
    context = browser.new_context(**context_args)  # no cookies: an anonymous visitor
    try:
        page = context.new_page()
        response = page.goto(f"/rounds/{slug}/projects")
        assert response is not None
        assert response.status == 200
        card = page.locator("li.card", has=page.get_by_role("link", name=TITLE))
        expect(card).to_contain_text("Northside Neighbours")
        expect(card).to_contain_text("£1,150")
        with page.expect_navigation():
            card.get_by_role("link", name=TITLE).click()
        expect(page.locator("h1")).to_have_text(TITLE)
        rows = page.locator("table.budget-table tbody tr")
        expect(rows).to_have_count(3)
        expected = [("Hall hire", "£600"), ("Tea and cake", "£400.50"), ("Leaflets", "£149.50")]
        for row, (text, amount) in zip(rows.all(), expected, strict=True):
            expect(row.locator("td").first).to_have_text(text)
            expect(row.locator("td").last).to_have_text(amount)
        expect(page.locator("table.budget-table tfoot")).to_contain_text("£1,150")
    finally:
        context.close()


def _sent_mail(
    live_server: Any, caplog: pytest.LogCaptureFixture
) -> list[tuple[str, str, str]] | None:
    """(to, subject, body) of every email the app sent; None when the backend hides them."""
    backend = live_server.app.config.get("MAIL_BACKEND")
    if backend == "memory":
        outbox = live_server.app.extensions.get("outbox", [])
        return [(m["To"], m["Subject"], m.get_content()) for m in outbox]
    if backend == "log":
        return [
            tuple(map(str, record.args))  # type: ignore[misc]
            for record in caplog.records
            if record.msg == "Mail to %s: %s\n%s" and isinstance(record.args, tuple)
        ]
    return None  # smtp: the mail left the app, so there is nothing here to read


def test_a_new_group_takes_a_bid_from_registration_to_the_public_projects_list(
    page: Page,
    browser: Browser,
    browser_context_args: dict[str, Any],
    live_server: Any,
    demo_accounts: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=live_server.app.logger.name)  # the "log" mail backend
    tag = secrets.token_hex(4)
    email, contact_email = f"gwen-{tag}@example.org", f"northside-{tag}@example.org"
    officer = demo_accounts["officer"]
    round_id, slug = _round_taking_bids(live_server, tag)

    _register_and_create_group(page, email, contact_email)
    bid_id = _start_and_submit_bid(page, slug)
    _sign_out(page)

    sign_in(page, officer.email, officer.password)
    _officer_requests_changes(page, round_id)
    _sign_out(page)

    sign_in(page, email, PASSWORD)
    _group_edits_and_resubmits(page, bid_id)
    _sign_out(page)

    sign_in(page, officer.email, officer.password)
    _officer_checks_and_shortlists(page, round_id, bid_id)
    _sign_out(page)

    _visitor_sees_the_project(browser, browser_context_args, slug)

    with live_server.app.app_context():
        officer_id = db.session.scalar(select(User.id).where(User.email == officer.email))
        bid = db.session.get(Bid, bid_id)
        assert bid is not None
        assert bid.status == "shortlisted"
        assert bid.amount_pence == 1_150_00
        events = {
            event.action: event
            for event in db.session.scalars(
                select(AuditEvent).where(
                    AuditEvent.object_type == "bid", AuditEvent.object_id == str(bid_id)
                )
            )
        }
    for action, before, after in [
        ("bid.request_changes", "submitted", "changes_requested"),
        ("bid.shortlist", "resubmitted", "shortlisted"),
    ]:
        assert action in events, f"no {action} audit event for bid {bid_id}: {sorted(events)}"
        event = events[action]
        assert event.actor_id == officer_id
        assert event.round_id == round_id
        assert json.loads(event.before or "{}")["status"] == before
        assert json.loads(event.after or "{}")["status"] == after
    assert json.loads(events["bid.request_changes"].after or "{}")["note"] == CHANGE_REQUEST
    checked = events.get("bid.checked")
    assert checked is not None, f"no bid.checked audit event for bid {bid_id}"
    assert checked.actor_id == officer_id
    assert json.loads(checked.after or "{}") == dict.fromkeys(CHECKLIST, "pass")

    mail = _sent_mail(live_server, caplog)
    if mail is not None:  # only when the test app's MAIL_BACKEND lets us read what was sent
        for address in (email, contact_email):
            subjects = [subject for to, subject, _body in mail if to == address]
            assert subjects == [
                f"Bid submitted: {TITLE}",
                f"Changes requested: {TITLE}",
                f"Bid resubmitted: {TITLE}",
                f"Bid shortlisted: {TITLE}",
            ], address
        asked = next(body for to, subject, body in mail if subject.startswith("Changes requested"))
        assert CHANGE_REQUEST in asked
        assert f"/bids/{bid_id}" in asked
