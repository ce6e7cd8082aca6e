"""Printed voter-code slips: the link a slip's QR code opens, and the QR code as inline SVG."""

from __future__ import annotations

from dataclasses import dataclass

import segno
from flask import url_for
from markupsafe import Markup


@dataclass(frozen=True)
class Slip:
    """One slip on a printed sheet: the code as text, its link and that link's QR code."""

    code: str
    url: str
    qr: Markup
    name: str = ""


def code_url(slug: str, code: str) -> str:
    """The absolute link to the round's code page with ``code`` filled in (never submitted)."""
    return url_for("vote.enter_code", slug=slug, code=code, _external=True)


def qr_svg(data: str) -> Markup:
    """A QR code for ``data`` as inline SVG, sized by CSS, hidden from screen readers.

    The slip prints the code and the link as text beside it, so the picture adds nothing for
    someone who cannot see it. Medium error correction survives a crease or a smudge.
    """
    svg = segno.make(data, error="m").svg_inline(
        scale=1, border=2, omitsize=True, svgclass="slip__qr", lineclass=None
    )
    # Safe to mark up: segno writes only numbers and path commands here, never ``data`` itself.
    hidden = svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)
    return Markup(hidden)  # noqa: S704


def make_slips(slug: str, codes: list[str], names: list[str] | None = None) -> list[Slip]:
    """The slips for a batch of codes (and the names of the people they are bound to)."""
    names = names or [""] * len(codes)
    slips = []
    for code, name in zip(codes, names, strict=True):
        url = code_url(slug, code)
        slips.append(Slip(code=code, url=url, qr=qr_svg(url), name=name))
    return slips
