"""The harness itself: axe really runs, and the page fixture really sees CSP refusals."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.axe import assert_accessible


def test_axe_reports_a_known_violation(page: Page) -> None:
    page.goto("/")
    page.evaluate(
        """() => {
            const image = document.createElement("img");
            image.src = "data:,";
            document.querySelector("main").append(image);
        }"""
    )
    with pytest.raises(AssertionError, match=r"image-alt \(critical\)"):
        assert_accessible(page)


def test_inline_styles_are_refused_and_reported(page: Page, browser_errors: list[str]) -> None:
    page.goto("/")
    page.evaluate(
        """() => {
            const box = document.createElement("div");
            box.innerHTML = '<p style="color: red">inline</p>';
            document.querySelector("main").append(box);
        }"""
    )
    page.wait_for_function("() => true")  # let the console event arrive
    assert page.locator("main p:text('inline')").evaluate("e => getComputedStyle(e).color") != (
        "rgb(255, 0, 0)"
    )
    assert any("Content Security Policy" in error for error in browser_errors)
    browser_errors.clear()
