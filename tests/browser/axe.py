"""Run axe-core in the page and fail with a readable list of WCAG 2.2 AA violations."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

# WCAG 2.0, 2.1 and 2.2 at levels A and AA: what UK public bodies must meet (product.md §7).
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
_AXE = Axe()


def _node_lines(node: dict[str, Any]) -> list[str]:
    target = " ".join(str(part) for part in node.get("target", []))
    html = " ".join(str(node.get("html", "")).split())
    lines = [f"    - {target}", f"      {html[:300]}"]
    summary = node.get("failureSummary")
    if summary:
        lines.extend(f"      {line.strip()}" for line in str(summary).splitlines() if line.strip())
    return lines


def format_violations(violations: list[dict[str, Any]]) -> str:
    """Rule id, impact, help text and link, then each offending node's selector and HTML."""
    lines: list[str] = []
    for violation in violations:
        lines.append(
            f"* {violation['id']} ({violation.get('impact') or 'unknown impact'}): "
            f"{violation['help']} – {violation.get('helpUrl', '')}"
        )
        for node in violation.get("nodes", []):
            lines.extend(_node_lines(node))
    return "\n".join(lines)


def assert_accessible(page: Page, *, context: str | dict[str, Any] | None = None) -> None:
    """Fail if axe finds WCAG 2.2 A/AA violations in ``context`` (a CSS selector or axe context;
    the whole document by default) of the page as it is now.
    """
    options = {"runOnly": {"type": "tag", "values": list(WCAG_TAGS)}, "resultTypes": ["violations"]}
    results = _AXE.run(page, context=context, options=options)
    violations = results.response["violations"]
    if violations:
        where = f"{page.url} at {page.viewport_size['width'] if page.viewport_size else '?'} px"
        scope = f" (within {context!r})" if context else ""
        raise AssertionError(
            f"{len(violations)} accessibility violation(s) on {where}{scope}:\n"
            + format_violations(violations)
        )
