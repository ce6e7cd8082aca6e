"""The public round pages meet WCAG 2.2 AA (axe-core) on a 320 px phone and a 1280 px desktop,
and read at 320 px without sideways scrolling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from pb_app.services.demo import DEMO_SLUG
from tests.browser.axe import assert_accessible

PHONE = {"width": 320, "height": 640}
DESKTOP = {"width": 1280, "height": 800}
WIDTHS = {"320px": PHONE, "1280px": DESKTOP}


def _round(page: Page) -> None:
    page.goto(f"/rounds/{DEMO_SLUG}")


def _projects(page: Page) -> None:
    page.goto(f"/rounds/{DEMO_SLUG}/projects")


def _projects_filtered(page: Page) -> None:
    page.goto(f"/rounds/{DEMO_SLUG}/projects")
    page.get_by_label("Theme").select_option(label="Social isolation")
    with page.expect_navigation():
        page.get_by_role("button", name="Show projects").click()


def _project(page: Page) -> None:
    page.goto(f"/rounds/{DEMO_SLUG}/projects/AB-01")


PAGES: dict[str, Callable[[Page], None]] = {
    "round": _round,
    "projects": _projects,
    "projects-filtered": _projects_filtered,
    "project": _project,
}


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
@pytest.mark.parametrize("open_page", PAGES.values(), ids=PAGES.keys())
def test_public_round_pages_have_no_wcag_violations(
    page: Page, open_page: Callable[[Page], None], width: dict[str, int]
) -> None:
    page.set_viewport_size(width)
    open_page(page)
    assert_accessible(page)


@pytest.mark.parametrize("open_page", PAGES.values(), ids=PAGES.keys())
def test_public_round_pages_do_not_scroll_sideways_on_a_phone(
    page: Page, open_page: Callable[[Page], None]
) -> None:
    page.set_viewport_size(PHONE)
    open_page(page)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], "the page scrolls sideways at 320 px"
    assert page.locator("h1").count() == 1


def test_filter_works_without_javascript(browser: Browser, live_server: Any) -> None:
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"/rounds/{DEMO_SLUG}/projects")
        page.get_by_label("Ward").select_option(label="Homerton")
        with page.expect_navigation():
            page.get_by_role("button", name="Show projects").click()
        assert "ward=" in page.url
        titles = page.locator(".card__title").all_text_contents()
        assert titles
        assert "Friday lunch club" not in " ".join(titles)  # a Dalston project
    finally:
        context.close()


def test_projects_print_without_navigation_or_filters(page: Page) -> None:
    page.goto(f"/rounds/{DEMO_SLUG}/projects")
    page.emulate_media(media="print")
    assert not page.locator(".filter-form").is_visible()
    assert not page.locator(".site-nav").is_visible()
    assert page.locator(".card").first.is_visible()
