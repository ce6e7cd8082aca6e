"""Keyboard-only use, visible focus and touch-target sizes (WCAG 2.1.1, 2.4.7 and 2.5.8)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Browser, Locator, Page

from pb_app.services.demo import DemoAccount
from tests.browser.actions import DESKTOP, PHONE, sign_in, submit_and_wait, tab_to

if TYPE_CHECKING:
    from tests.browser.conftest import LiveServer

# Styles that can show focus. Text colour alone is not enough to see where focus is.
_STYLE_SCRIPT = """element => {
    const style = getComputedStyle(element);
    return {
        outlineStyle: style.outlineStyle,
        outlineWidth: parseFloat(style.outlineWidth),
        outlineColor: style.outlineColor,
        boxShadow: style.boxShadow,
        backgroundColor: style.backgroundColor,
        borderColor: style.borderColor,
    };
}"""


def _type_into(page: Page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def _press_enter_and_wait(page: Page) -> None:
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_register_sign_out_and_sign_in_with_the_keyboard_alone(page: Page) -> None:
    name = "Kim Keyboard"
    email = f"kim-{uuid.uuid4().hex[:8]}@example.org"
    password = "marmalade teapot bicycle"
    page.goto("/account/register")

    _type_into(page, "#name", name)
    _type_into(page, "#email", email)
    _type_into(page, "#password", password)
    _type_into(page, "#confirm", password)
    tab_to(page, "main button[type=submit]")
    _press_enter_and_wait(page)

    assert page.locator(".notification").text_content().strip() == (
        "Your account has been created and you are signed in."
    )
    assert page.locator(".site-header").get_by_text(f"Signed in as {name}").is_visible()

    tab_to(page, ".site-header button:text('Sign out')")
    _press_enter_and_wait(page)
    assert page.locator(".notification").text_content().strip() == "You are signed out."

    tab_to(page, ".site-header a:text('Sign in')")
    _press_enter_and_wait(page)
    assert page.locator("h1").text_content() == "Sign in"
    _type_into(page, "#email", email)
    _type_into(page, "#password", password)
    _press_enter_and_wait(page)  # Enter in a field submits its form

    assert page.locator(".notification").text_content().strip() == "You are signed in."
    assert page.locator(".site-header").get_by_text(f"Signed in as {name}").is_visible()


def test_error_summary_takes_focus_and_links_to_each_field(page: Page) -> None:
    page.goto("/account/register")
    submit_and_wait(page, "Create account")

    summary = page.locator(".error-summary")
    assert summary.evaluate("element => element === document.activeElement")
    page.keyboard.press("Tab")
    assert page.locator(":focus").text_content() == "Enter your full name"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "name"
    page.keyboard.type("Kim")
    assert page.locator("#name").input_value() == "Kim"


def test_show_password_button_works_from_the_keyboard(page: Page) -> None:
    page.goto("/account/sign-in")
    _type_into(page, "#password", "marmalade teapot")
    toggle = page.locator("#password ~ button")
    page.keyboard.press("Tab")
    assert toggle.evaluate("element => element === document.activeElement")

    page.keyboard.press("Enter")
    assert page.locator("#password").get_attribute("type") == "text"
    assert toggle.text_content() == "Hide"
    assert toggle.get_attribute("aria-label") == "Hide password"
    assert page.locator("[aria-live=polite]").text_content() == "Your password is visible"

    page.keyboard.press("Space")
    assert page.locator("#password").get_attribute("type") == "password"
    assert toggle.get_attribute("aria-label") == "Show password"
    assert page.locator("[aria-live=polite]").text_content() == "Your password is hidden"


def test_forms_work_without_javascript(browser: Browser, live_server: LiveServer) -> None:
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/account/register")
        submit_and_wait(page, "Create account")
        assert page.locator(".error-summary").is_visible()
        assert page.locator(".error-summary a").count() == 4
        assert page.title().startswith("Error: ")
        assert page.locator(".password-input__toggle").count() == 2
        assert not page.locator(".password-input__toggle").first.is_visible()
    finally:
        context.close()


def _visible_outline(style: dict[str, Any]) -> bool:
    transparent = style["outlineColor"] in ("transparent", "rgba(0, 0, 0, 0)")
    return style["outlineStyle"] != "none" and style["outlineWidth"] >= 2 and not transparent


def _shows_focus(before: dict[str, Any], after: dict[str, Any]) -> bool:
    return (
        (_visible_outline(after) and after != before)
        or (after["boxShadow"] != before["boxShadow"] and after["boxShadow"] != "none")
        or after["backgroundColor"] != before["backgroundColor"]
    )


_REMEMBER_UNFOCUSED = (
    """() => {
    const style = """
    + _STYLE_SCRIPT
    + """;
    window.pbUnfocused = new Map();
    for (const element of document.querySelectorAll("a[href], button, input, select, textarea")) {
        window.pbUnfocused.set(element, style(element));
    }
}"""
)
_FOCUSED_NOW = (
    """() => {
    const element = document.activeElement;
    if (!element || element === document.body || !window.pbUnfocused.has(element)) return null;
    const style = """
    + _STYLE_SCRIPT
    + """;
    return {
        kind: element.tagName.toLowerCase(),
        html: element.outerHTML.slice(0, 100),
        before: window.pbUnfocused.get(element),
        after: style(element),
    };
}"""
)


def _walk_focus(page: Page) -> set[str]:
    """Tab through the whole page; every element that takes focus must show it. Returns kinds."""
    page.evaluate(_REMEMBER_UNFOCUSED)
    seen: list[str] = []
    kinds: set[str] = set()
    for _ in range(300):  # the shared server's home page lists every test's rounds
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED_NOW)
        if focused is None or focused["html"] in seen:
            break  # past the last element, or wrapped round
        seen.append(focused["html"])
        kinds.add(focused["kind"])
        assert _shows_focus(focused["before"], focused["after"]), (
            f"no visible focus on {focused['html']}: {focused['before']} → {focused['after']}"
        )
    return kinds


def test_every_element_shows_focus_when_signed_out(page: Page) -> None:
    page.goto("/account/sign-in")
    kinds = _walk_focus(page)
    assert kinds >= {"a", "input", "button", "select"}


def test_every_element_shows_focus_on_a_form_with_errors(page: Page) -> None:
    page.goto("/account/register")
    submit_and_wait(page, "Create account")  # focus starts on the error summary
    kinds = _walk_focus(page)
    assert kinds >= {"a", "input", "button", "select"}


def test_every_element_shows_focus_when_signed_in(
    page: Page, demo_accounts: dict[str, DemoAccount]
) -> None:
    resident = demo_accounts["resident"]
    sign_in(page, resident.email, resident.password)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    kinds = _walk_focus(page)
    assert kinds >= {"a", "button", "select"}


def _size(locator: Locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None
    return box["width"], box["height"]


def _assert_targets(page: Page, selector: str, minimum: float) -> None:
    targets = page.locator(selector)
    assert targets.count() > 0, f"nothing matches {selector}"
    for target in targets.all():
        width, height = _size(target)
        label = target.evaluate("element => element.outerHTML.slice(0, 120)")
        assert width >= minimum, f"{label} is {width:.0f} px wide (< {minimum})"
        assert height >= minimum, f"{label} is {height:.0f} px high (< {minimum})"


WIDTHS = {"320px": PHONE, "1280px": DESKTOP}


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_touch_targets_are_big_enough(
    page: Page, demo_accounts: dict[str, DemoAccount], width: dict[str, int]
) -> None:
    page.set_viewport_size(width)
    page.goto("/account/register")
    # WCAG 2.2 AA asks 24 px for every target; we give buttons and fields the 44 px GOV.UK uses.
    _assert_targets(page, ".site-header a, .site-header button", 24)
    _assert_targets(page, "main input:not([type=hidden]), main button", 44)
    _assert_targets(page, ".site-footer select, .site-footer button", 44)

    resident = demo_accounts["resident"]
    sign_in(page, resident.email, resident.password)
    _assert_targets(page, ".site-header a, .site-header button", 24)
    _assert_targets(page, ".site-header button", 44)
