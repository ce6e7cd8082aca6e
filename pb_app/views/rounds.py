"""Public round pages: the round and its rules, its projects, and each project."""

from __future__ import annotations

import secrets

from flask import Blueprint, render_template, request, session
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import NotFound

from pb_app.forms.rounds import ProjectFilterForm
from pb_app.models import BidStatus
from pb_app.models._base import utcnow
from pb_app.services import public_rounds
from pb_app.views.errors import http_error

bp = Blueprint("rounds", __name__, url_prefix="/rounds")

# A per-visitor seed, so each visitor sees projects in their own stable order (no position bias).
ORDER_SEED = "project_order_seed"
STATUS_LABELS = {
    BidStatus.DRAFT: _l("Draft"),
    BidStatus.SUBMITTED: _l("Submitted"),
    BidStatus.CHANGES_REQUESTED: _l("Changes requested"),
    BidStatus.RESUBMITTED: _l("Resubmitted"),
    BidStatus.SHORTLISTED: _l("Shortlisted"),
    BidStatus.REJECTED: _l("Not shortlisted"),
    BidStatus.WITHDRAWN: _l("Withdrawn"),
    BidStatus.FUNDED: _l("Funded"),
    BidStatus.NOT_FUNDED: _l("Not funded"),
}


@bp.app_template_filter("bid_status")
def bid_status_label(status: str | None) -> str:
    """A bid status in words, translated."""
    return str(STATUS_LABELS.get(BidStatus(status), status)) if status else ""


@bp.errorhandler(public_rounds.PublicNotFound)
def _not_found(error: public_rounds.PublicNotFound) -> tuple[str | dict[str, object], int]:
    return http_error(NotFound())


@bp.get("/<slug>")
def show(slug: str) -> str:
    """A round: what it is, its money, dates, phase and rules in plain English."""
    return render_template("rounds/show.html", page=public_rounds.round_page(slug, utcnow()))


@bp.get("/<slug>/projects")
def projects(slug: str) -> str:
    """The round's projects, in this visitor's own shuffled order, filtered by ward and theme."""
    form = ProjectFilterForm(formdata=request.args)
    seed = session.setdefault(ORDER_SEED, secrets.token_hex(8))
    page = public_rounds.projects_page(
        slug, seed=seed, ward=form.ward.data or "", theme=form.theme.data or "", now=utcnow()
    )
    form.offer(page.wards, page.themes)
    return render_template("rounds/projects.html", page=page, form=form)


@bp.get("/<slug>/projects/<ref>")
def project(slug: str, ref: str) -> str:
    """One project with its budget table and status history."""
    return render_template(
        "rounds/project.html", page=public_rounds.project_page(slug, ref, utcnow())
    )
