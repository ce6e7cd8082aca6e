"""Every base page meets WCAG 2.2 AA (axe-core) on a 320 px phone and a 1280 px desktop."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, Response

from pb_app.phases import Phase
from pb_app.services.demo import DemoAccount
from tests.browser.actions import DESKTOP, PHONE, sign_in, submit_and_wait
from tests.browser.axe import assert_accessible


def _home(page: Page) -> None:
    page.goto("/")


def _sign_in(page: Page) -> None:
    page.goto("/account/sign-in")


def _sign_in_with_errors(page: Page) -> None:
    page.goto("/account/sign-in")
    submit_and_wait(page, "Sign in")


def _register(page: Page) -> None:
    page.goto("/account/register")


def _register_with_errors(page: Page) -> None:
    page.goto("/account/register")
    submit_and_wait(page, "Create account")


def _not_found(page: Page) -> None:
    response = page.goto("/no-such-page")
    assert response is not None
    assert response.status == 404


PAGES: dict[str, Callable[[Page], None]] = {
    "home": _home,
    "sign-in": _sign_in,
    "sign-in-errors": _sign_in_with_errors,
    "register": _register,
    "register-errors": _register_with_errors,
    "not-found": _not_found,
}
# Pages with an error summary move focus to it on load (app.js), so Tab starts from there.
WITHOUT_ERRORS = {name: action for name, action in PAGES.items() if not name.endswith("errors")}
WIDTHS = {"320px": PHONE, "1280px": DESKTOP}


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
@pytest.mark.parametrize("open_page", PAGES.values(), ids=PAGES.keys())
def test_page_has_no_wcag_violations(
    page: Page, open_page: Callable[[Page], None], width: dict[str, int]
) -> None:
    page.set_viewport_size(width)
    open_page(page)
    assert_accessible(page)


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_signed_in_home_has_no_wcag_violations(
    page: Page, demo_accounts: dict[str, DemoAccount], width: dict[str, int]
) -> None:
    page.set_viewport_size(width)
    resident = demo_accounts["resident"]
    sign_in(page, resident.email, resident.password)
    assert page.get_by_text("Signed in as Rosa Resident").is_visible()
    assert_accessible(page)


@pytest.mark.parametrize("open_page", PAGES.values(), ids=PAGES.keys())
def test_page_structure_on_a_phone(page: Page, open_page: Callable[[Page], None]) -> None:
    page.set_viewport_size(PHONE)
    open_page(page)
    facts = page.evaluate(
        """() => ({
            scrollWidth: document.documentElement.scrollWidth,
            innerWidth: window.innerWidth,
            lang: document.documentElement.lang,
            h1s: document.querySelectorAll("h1").length,
            title: document.title.trim(),
        })"""
    )
    assert facts["scrollWidth"] <= facts["innerWidth"], "the page scrolls sideways at 320 px"
    assert facts["lang"] == "en"
    assert facts["h1s"] == 1
    # "Page – Service", as GOV.UK: the page's own name first, for people with many tabs open.
    page_name, _, service = facts["title"].rpartition(" – ")
    assert service == "Community budgets"
    has_errors = page.locator(".error-summary").count() > 0
    assert page_name.startswith("Error: ") == has_errors  # screen readers hear it first
    assert page_name.removeprefix("Error: ") == page.locator("h1").text_content().strip()


@pytest.mark.parametrize("open_page", WITHOUT_ERRORS.values(), ids=WITHOUT_ERRORS.keys())
def test_skip_link_is_first_and_moves_focus_to_main(
    page: Page, open_page: Callable[[Page], None]
) -> None:
    page.set_viewport_size(PHONE)
    open_page(page)
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    assert skip.text_content() == "Skip to main content"
    box = skip.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["y"] >= 0  # on screen once focused, so sighted keyboard users see it
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


def test_every_phase_tag_has_enough_contrast(page: Page) -> None:
    # The demo round is only ever in voting; draw one tag per phase with the real stylesheet.
    page.goto("/")
    page.evaluate(
        """phases => {
            const list = document.createElement("ul");
            list.className = "phase-samples";
            for (const phase of phases) {
                const item = document.createElement("li");
                const tag = document.createElement("strong");
                tag.className = "tag tag--" + phase;
                tag.textContent = "Phase " + phase;
                item.append(tag);
                list.append(item);
            }
            document.querySelector("main").append(list);
        }""",
        [phase.value for phase in Phase],
    )
    assert_accessible(page, context=".phase-samples")
    colours = page.locator(".phase-samples .tag").evaluate_all(
        "tags => tags.map(tag => getComputedStyle(tag).backgroundColor)"
    )
    assert len(set(colours)) >= 6, "each phase (setup and archived aside) has its own colour"


# WCAG 1.4.12: people who need more space between lines, words and letters set these in their
# browser; no box or text may then stick out of its place or make the page scroll sideways.
# Added through the CSSOM, which the Content-Security-Policy allows, so the real policy stays on.
TEXT_SPACING = """() => {
    const sheet = document.styleSheets[0];
    for (const rule of [
        "* { line-height: 1.5 !important; letter-spacing: 0.12em !important;"
            + " word-spacing: 0.16em !important; }",
        "p { margin-bottom: 2em !important; }",
    ]) { sheet.insertRule(rule, sheet.cssRules.length); }
    const width = window.innerWidth;
    const outside = [...document.querySelectorAll("body *")]
        .filter(element => element.getClientRects().length)
        .filter(element => !element.closest(".skip-link, .visually-hidden"))
        .filter(element => element.getBoundingClientRect().right > width + 0.5
            || (element.clientWidth > 0 && element.scrollWidth > element.clientWidth + 1))
        .map(element => element.outerHTML.slice(0, 80));
    return {scrollWidth: document.documentElement.scrollWidth, width, outside};
}"""


@pytest.mark.parametrize("open_page", PAGES.values(), ids=PAGES.keys())
def test_text_spacing_does_not_break_a_phone_layout(
    page: Page, open_page: Callable[[Page], None]
) -> None:
    page.set_viewport_size(PHONE)
    open_page(page)
    result = page.evaluate(TEXT_SPACING)
    assert result["outside"] == []
    assert result["scrollWidth"] <= result["width"]


def test_pages_are_light_for_old_phones_on_slow_data(page: Page) -> None:
    # product.md §7: no web fonts, images, frameworks or third-party requests.
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))
    page.goto("/account/register", wait_until="networkidle")
    sizes = {response.url.rsplit("/", 1)[-1]: len(response.body()) for response in responses}
    assert len(sizes) <= 3, sizes  # the page, app.css, app.js
    assert all(response.url.startswith(page.url.split("/account")[0]) for response in responses)
    assert sum(sizes.values()) < 40_000, sizes


def test_print_layout_drops_navigation_and_buttons(page: Page) -> None:
    page.goto("/account/sign-in")
    page.emulate_media(media="print")
    assert page.locator(".site-header__name").is_visible()
    for hidden in (".site-nav", "main button", ".language-form"):
        assert not page.locator(hidden).first.is_visible(), hidden
    assert page.locator("h1").evaluate("h1 => getComputedStyle(h1).color") == "rgb(0, 0, 0)"
