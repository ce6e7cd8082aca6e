"""The public results page of a round: shown only once the funder has certified the result."""

from __future__ import annotations

from flask import Blueprint, render_template
from werkzeug.exceptions import NotFound

from pb_app.models._base import utcnow
from pb_app.services import results_view
from pb_app.services.public_rounds import PublicNotFound
from pb_app.views.errors import http_error

bp = Blueprint("results", __name__, url_prefix="/rounds")


@bp.errorhandler(PublicNotFound)
def _not_found(error: PublicNotFound) -> tuple[str | dict[str, object], int]:
    return http_error(NotFound())


@bp.get("/<slug>/results")
def show(slug: str) -> str:
    """The certified result with every explanation, or a page saying it is not published yet."""
    page = results_view.results_page(slug, utcnow())
    if isinstance(page, results_view.NotPublished):
        return render_template("results/not_published.html", page=page)
    return render_template("results/show.html", page=page)
