"""Things a person does in the browser, shared by the browser tests."""

from __future__ import annotations

from playwright.sync_api import Page

PHONE = {"width": 320, "height": 640}
DESKTOP = {"width": 1280, "height": 800}


def submit_and_wait(page: Page, button_name: str) -> None:
    """Click the named button in the page's main content and wait for the next page to load."""
    with page.expect_navigation():
        page.locator("main").get_by_role("button", name=button_name, exact=True).click()


def sign_in(page: Page, email: str, password: str) -> None:
    """Sign in through the sign-in form (with the mouse; test_keyboard does it by keyboard)."""
    page.goto("/account/sign-in")
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    submit_and_wait(page, "Sign in")


def tab_to(page: Page, selector: str, *, limit: int = 40, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until the element matching ``selector`` has focus."""
    key = "Shift+Tab" if backwards else "Tab"
    target = page.locator(selector)
    for _ in range(limit):
        page.keyboard.press(key)
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{selector!r} never received focus after {limit} presses of {key}")
