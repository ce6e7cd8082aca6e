"""Decision day in real Chromium on a tablet: kiosk mode, three voters, a network drop, paper
ballots keyed twice; plus the inactivity warning, keyboard-only voting at phone width, refusals
and axe-core on every kiosk and paper screen."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from pb_app.extensions import db
from pb_app.models import Ballot, Round
from pb_app.services import voting
from pb_app.services.codes import issue_codes
from tests.browser.actions import PHONE, sign_in, submit_and_wait, tab_to
from tests.browser.axe import assert_accessible
from tests.browser.test_voting import make_voting_round

if TYPE_CHECKING:
    from tests.browser.conftest import LiveServer

TABLET = {"width": 768, "height": 1024}
PIN = "482913"
SLIP = re.compile(r"Ballot number (\d{5})\s*Code: ([0-9A-Z-]+)")


@pytest.fixture
def browser_context_args(live_server: LiveServer) -> dict[str, Any]:
    """A tablet on a stand at the venue: 768 × 1024."""
    return {
        "base_url": live_server.url,
        "viewport": TABLET,
        "locale": "en-GB",
        "timezone_id": "Europe/London",
    }


def _round(live_server: LiveServer) -> tuple[str, int]:
    slug = make_voting_round(live_server, "approval")
    with live_server.app.app_context():
        round_id = db.session.scalars(select(Round.id).where(Round.slug == slug)).one()
    return slug, round_id


def _codes(live_server: LiveServer, round_id: int, count: int) -> list[str]:
    with live_server.app.app_context():
        round_ = db.session.get(Round, round_id)
        assert round_ is not None
        return issue_codes(round_, count=count, label="Decision day", actor=None)


def _open_kiosk(page: Page, live_server: LiveServer, round_id: int, *, check: bool = False) -> None:
    officer = live_server.account("officer")
    sign_in(page, officer.email, officer.password)
    page.goto(f"/staff/rounds/{round_id}/kiosk")
    if check:
        assert_accessible(page)
    page.get_by_label("Venue").fill("St Mark's hall")
    page.get_by_label("PIN to leave kiosk mode").fill(PIN)
    page.get_by_label("PIN again").fill(PIN)
    submit_and_wait(page, "Open kiosk mode")
    expect(page.locator("h1")).to_have_text("Vote for the projects you want funded")


def _choose_and_check(page: Page, project: str, *, check: bool = False) -> None:
    expect(page.locator("h1")).to_have_text("Your vote")
    if check:
        assert_accessible(page)
    page.get_by_label(project).check()
    submit_and_wait(page, "Continue")
    expect(page.locator("h1")).to_have_text("Check your vote before you send it")
    if check:
        assert_accessible(page)


def _confirm_and_finish(page: Page, *, check: bool = False) -> str:
    submit_and_wait(page, "Confirm and cast my vote")
    return _finish(page, check=check)


def _finish(page: Page, *, check: bool = False) -> str:
    expect(page.locator("h1")).to_have_text("Your vote has been cast")
    receipt = page.locator(".receipt").inner_text()
    if check:
        assert_accessible(page)
    submit_and_wait(page, "Finish")
    expect(page.locator("h1")).to_have_text("Vote for the projects you want funded")
    return receipt


def _nothing_left_of(page: Page, *traces: str) -> None:
    """Back shows nothing of the voter who just finished; the browser stores nothing."""
    page.go_back()
    page.wait_for_load_state()
    text = page.locator("body").inner_text()
    for trace in traces:
        assert trace not in text
    assert "Check your vote" not in text
    storage = page.evaluate("() => window.localStorage.length + window.sessionStorage.length")
    assert storage == 0
    page.goto("/kiosk")


def _accessible_at_both_widths(page: Page) -> None:
    assert_accessible(page)
    page.set_viewport_size(PHONE)
    assert_accessible(page)
    page.set_viewport_size(TABLET)


def _paper(browser: Browser, args: dict[str, Any], live_server: LiveServer, round_id: int) -> None:
    """On a staff laptop: print two paper ballots, key each twice, reconcile the one mismatch."""
    context: BrowserContext = browser.new_context(**args)
    page = context.new_page()
    try:
        officer = live_server.account("officer")
        sign_in(page, officer.email, officer.password)
        page.goto(f"/staff/rounds/{round_id}/kiosk")  # the voting point open now, turnout
        expect(page.get_by_text("St Mark's hall, opened")).to_be_visible()
        _accessible_at_both_widths(page)
        page.goto(f"/staff/rounds/{round_id}/paper")
        _accessible_at_both_widths(page)
        page.get_by_label("Event venue").fill("Town hall")
        page.get_by_label("How many paper ballots").fill("2")
        submit_and_wait(page, "Create and print paper ballots")
        _accessible_at_both_widths(page)
        slips = SLIP.findall(page.locator("main").inner_text())
        assert len(slips) == 2
        page.goto(f"/staff/rounds/{round_id}/paper/key")
        _accessible_at_both_widths(page)
        readings = [
            (slips[0], "Lunch club", "Lunch club"),
            (slips[1], "Memory café", "Walking football"),  # the second keying disagrees
        ]
        for (serial, code), first, second in readings:
            for project in (first, second):
                page.locator("#serial").fill(serial)
                page.locator("#code").fill(code)
                page.get_by_label(re.compile(f"^B\\d: {project}")).check()
                submit_and_wait(page, "Save this entry")
        expect(page.locator(".notification").first).to_contain_text("the two entries disagree")
        page.goto(f"/staff/rounds/{round_id}/paper/reconcile")
        _accessible_at_both_widths(page)
        page.get_by_label("Ballot number").fill(slips[1][0])
        page.get_by_label("Code on the ballot").fill(slips[1][1])
        page.get_by_label(re.compile("^B\\d: Memory café")).check()
        submit_and_wait(page, "Count this reading")
        expect(page.locator(".notification").first).to_contain_text("reconciled")
        _accessible_at_both_widths(page)
    finally:
        context.close()


def test_decision_day_at_a_kiosk_and_on_paper(
    page: Page,
    context: BrowserContext,
    browser: Browser,
    browser_context_args: dict[str, Any],
    live_server: LiveServer,
    browser_errors: list[str],
) -> None:
    slug, round_id = _round(live_server)
    scanned, typed = _codes(live_server, round_id, 2)
    _open_kiosk(page, live_server, round_id, check=True)
    assert_accessible(page)

    # Voter 1: identity checked at the desk by a volunteer, who then helps them vote.
    volunteer = live_server.account("volunteer")
    page.get_by_role("button", name="Staff: identity checked at the desk").click()
    assert_accessible(page)
    voter_name = f"Ada Lovelace {uuid.uuid4().hex[:6]}"
    page.get_by_label("Full name").fill(voter_name)
    page.get_by_label("Postcode").fill("E8 1DY")
    page.get_by_label("Day").fill("10")
    page.get_by_label("Month").fill("12")
    page.get_by_label("Year").fill("1950")
    page.get_by_label("Your staff email address").fill(volunteer.email)
    page.get_by_label("Your staff password").fill(volunteer.password)
    page.get_by_label("I am helping this voter").check()
    submit_and_wait(page, "Start this person's vote")
    _choose_and_check(page, "Lunch club", check=True)
    receipt = _confirm_and_finish(page, check=True)
    _nothing_left_of(page, receipt, voter_name, "Lunch club")

    # Voter 2: scans the QR code on their card, which opens the code page with it filled in.
    page.goto(f"/kiosk/code?code={scanned}")
    assert_accessible(page)
    expect(page.get_by_label("Voter code")).to_have_value(scanned)
    submit_and_wait(page, "Continue")
    _choose_and_check(page, "Digital buddies")
    receipt = _confirm_and_finish(page)
    _nothing_left_of(page, receipt, scanned, "Digital buddies")

    # Voter 3: the network drops as they confirm; the vote waits on the device, then is sent.
    page.get_by_role("button", name="Start with your voter code").click()
    page.get_by_label("Voter code").fill(typed)
    submit_and_wait(page, "Continue")
    _choose_and_check(page, "Walking football")
    context.set_offline(True)
    page.get_by_role("button", name="Confirm and cast my vote").click()
    expect(page.get_by_text("Your vote is safely queued")).to_be_visible()
    assert_accessible(page)
    with page.expect_navigation():
        context.set_offline(False)
    receipt = _finish(page)
    _nothing_left_of(page, receipt, typed, "Walking football")
    # The send that failed while offline is the one browser error this test causes.
    browser_errors[:] = [e for e in browser_errors if "/kiosk/cast" not in e]

    _paper(browser, browser_context_args, live_server, round_id)

    with live_server.app.app_context():
        round_ = db.session.scalars(select(Round).where(Round.slug == slug)).one()
        assert voting.verify_log(round_).ok
        assert len(voting.counted_ballots(round_)) == 5
        ballots = db.session.scalars(select(Ballot).where(Ballot.round_id == round_.id)).all()
        assert sorted(b.channel for b in ballots) == ["kiosk"] * 3 + ["paper"] * 2
        assisted = [b for b in ballots if b.assisted]
        assert len(assisted) == 1
        assert assisted[0].venue == "St Mark's hall"
        assert {b.venue for b in ballots if b.channel == "paper"} == {"Town hall"}

    # The code used at the kiosk is refused online.
    other = browser.new_context(**browser_context_args)
    try:
        online = other.new_page()
        online.goto(f"/rounds/{slug}/vote/code")
        online.get_by_label("Voter code").fill(scanned)
        submit_and_wait(online, "Continue")
        expect(online.locator("h1")).to_have_text("You have already voted")
        expect(online.locator("main")).to_contain_text("you voted at a voting point")
        # So is the person whose identity was checked at the desk.
        online.goto(f"/rounds/{slug}/vote/register")
        online.get_by_label("Full name").fill(voter_name)
        online.get_by_label("Postcode").fill("E8 1DY")
        online.get_by_label("Day").fill("10")
        online.get_by_label("Month").fill("12")
        online.get_by_label("Year").fill("1950")
        submit_and_wait(online, "Continue")
        expect(online.locator(".error-summary")).to_contain_text("already registered")
    finally:
        other.close()


def test_the_inactivity_warning_offers_time_and_continue_keeps_the_ballot(
    page: Page, live_server: LiveServer
) -> None:
    _slug, round_id = _round(live_server)
    (code,) = _codes(live_server, round_id, 1)
    page.clock.install()
    _open_kiosk(page, live_server, round_id)
    page.get_by_role("button", name="Start with your voter code").click()
    page.get_by_label("Voter code").fill(code)
    submit_and_wait(page, "Continue")
    page.get_by_label("Memory café").check()
    dialog = page.get_by_role("dialog", name="Are you still voting?")
    expect(dialog).to_be_hidden()
    page.clock.run_for("01:31")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("in 29 seconds")  # at least 20 seconds to respond
    assert_accessible(page)
    dialog.get_by_role("button", name="Continue voting").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_label("Memory café")).to_be_checked()
    # Left alone again: warned, then reset to the start with nothing of the voter kept.
    page.clock.run_for("01:31")
    expect(dialog).to_be_visible()
    with page.expect_navigation():
        page.clock.run_for("00:31")
    expect(page.locator("h1")).to_have_text("Vote for the projects you want funded")
    page.goto("/kiosk/ballot")
    expect(page.locator("h1")).to_have_text("Vote for the projects you want funded")


def test_a_kiosk_vote_by_keyboard_alone_on_a_phone(page: Page, live_server: LiveServer) -> None:
    _slug, round_id = _round(live_server)
    (code,) = _codes(live_server, round_id, 1)
    page.set_viewport_size(PHONE)
    _open_kiosk(page, live_server, round_id)
    assert_accessible(page)
    tab_to(page, "main a:text('Start with your voter code')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert_accessible(page)
    tab_to(page, "#code")
    page.keyboard.type(code)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Your vote")
    assert_accessible(page)
    tab_to(page, "input[value=B1]")
    page.keyboard.press("Space")
    tab_to(page, "main button:text('Continue')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert_accessible(page)
    tab_to(page, "main button:text('Confirm and cast my vote')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Your vote has been cast")
    assert_accessible(page)
    tab_to(page, "main button:text('Finish')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Vote for the projects you want funded")


def test_refusals_are_clear_and_change_nothing(page: Page, live_server: LiveServer) -> None:
    _slug, round_id = _round(live_server)
    (code,) = _codes(live_server, round_id, 1)
    _open_kiosk(page, live_server, round_id)

    page.goto("/staff/")
    expect(page.locator("h1")).to_have_text("This device is a voting point")
    assert_accessible(page)
    page.set_viewport_size(PHONE)
    assert_accessible(page)
    page.set_viewport_size(TABLET)

    page.goto("/kiosk/code")
    page.get_by_label("Voter code").fill("2345-6789-AB")
    submit_and_wait(page, "Continue")
    expect(page.locator(".error-summary")).to_contain_text("That code is not right")
    assert_accessible(page)
    page.get_by_label("Voter code").fill(code)
    submit_and_wait(page, "Continue")
    _choose_and_check(page, "Lunch club")
    _confirm_and_finish(page)
    page.get_by_role("button", name="Start with your voter code").click()
    page.get_by_label("Voter code").fill(code)
    submit_and_wait(page, "Continue")
    expect(page.locator(".error-summary")).to_contain_text("already been used to vote")

    page.set_viewport_size(PHONE)
    page.goto("/kiosk/desk")
    assert_accessible(page)
    page.goto("/kiosk")
    page.get_by_role("link", name="Staff: leave kiosk mode").click()
    assert_accessible(page)
    page.set_viewport_size(TABLET)
    assert_accessible(page)
    page.get_by_label("Officer PIN").fill("111222")
    submit_and_wait(page, "Leave kiosk mode")
    expect(page.locator(".error-summary")).to_contain_text("That PIN is not right")
    assert_accessible(page)
    page.goto("/staff/")
    expect(page.locator("h1")).to_have_text("This device is a voting point")
    page.goto("/kiosk/exit")
    page.get_by_label("Officer PIN").fill(PIN)
    submit_and_wait(page, "Leave kiosk mode")
    expect(page.locator("h1")).to_have_text("Sign in")
    with live_server.app.app_context():
        ballots = db.session.scalars(
            select(Ballot).join(Round, Round.id == Ballot.round_id).where(Round.id == round_id)
        ).all()
        assert len(ballots) == 1


def test_the_live_event_screen_shows_only_turnout_while_voting(
    page: Page, live_server: LiveServer
) -> None:
    slug, round_id = _round(live_server)
    with live_server.app.app_context():
        round_ = db.session.get(Round, round_id)
        assert round_ is not None
        round_.live_event_screen = True
        db.session.commit()
    page.clock.install()
    page.goto(f"/rounds/{slug}/live")
    expect(page.locator("h1")).to_have_text("0 people have voted")
    assert "Lunch club" not in page.locator("main").inner_text()
    assert_accessible(page)
    page.set_viewport_size(PHONE)
    assert_accessible(page)
    with page.expect_navigation():  # it refreshes itself
        page.clock.run_for("00:31")
    expect(page.locator("h1")).to_have_text("0 people have voted")


def _small_targets(page: Page) -> list[str]:
    """Every visible button, link, text box or choice in the main area under 44 × 44 px."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll(
                   'main button, main a, main input:not([type=hidden]), main select, main label')]
                 .filter(el => el.offsetParent !== null)
                 .filter(el => !(el.tagName === 'A' && el.closest('p, li')))  // links in text
                 .filter(el => el.tagName !== 'LABEL'
                     || (el.control && ['radio', 'checkbox'].includes(el.control.type)))
                 .map(el => [el, el.getBoundingClientRect()])
                 .filter(([el, box]) => el.matches('input[type=radio], input[type=checkbox]')
                     ? false : box.height < 44)
                 .map(([el, box]) => el.outerHTML.slice(0, 80) + ' ' + Math.round(box.height))"""
        )
    )


def test_kiosk_touch_targets_are_at_least_44_px(page: Page, live_server: LiveServer) -> None:
    _slug, round_id = _round(live_server)
    (code,) = _codes(live_server, round_id, 1)
    _open_kiosk(page, live_server, round_id)
    assert _small_targets(page) == []
    with page.expect_navigation():
        page.locator("main :text('Start with your voter code')").first.click()
    assert _small_targets(page) == []
    page.get_by_label("Voter code").fill(code)
    submit_and_wait(page, "Continue")
    expect(page.locator("h1")).to_have_text("Your vote")
    assert _small_targets(page) == []
    size = page.evaluate("getComputedStyle(document.body).fontSize")
    assert float(size.removesuffix("px")) >= 20  # large type on the shared screen
