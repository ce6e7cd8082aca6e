"""Staff pages for a round's result: close voting, count, review, certify, payment export."""

from __future__ import annotations

from typing import cast

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from pb_app.access import role_required
from pb_app.forms.results import CertifyForm, ConfirmForm
from pb_app.models import Role, User
from pb_app.models._base import utcnow
from pb_app.services import ServiceError, results, round_setup

bp = Blueprint("results_admin", __name__, url_prefix="/staff/rounds")


@bp.before_request
@role_required(Role.OFFICER, Role.FUNDER)
def _staff_only() -> None:
    """Every page here is for officers and funders (and admins)."""


@bp.errorhandler(results.RoundNotFound)
def _not_found(error: results.RoundNotFound) -> tuple[str, int]:
    return render_template("errors/error.html", title=_("Page not found"), detail=str(error)), 404


@bp.errorhandler(ServiceError)
def _refused(error: ServiceError) -> tuple[str, int]:
    status = 403 if isinstance(error, results.NotAllowed) else 409
    return render_template("results_admin/refused.html", message=str(error)), status


def _me() -> User:
    return cast(User, current_user._get_current_object())


def _page(round_id: int, certify_form: CertifyForm | None = None) -> str:
    page = results.results_page(round_id, utcnow())
    return render_template(
        "results_admin/show.html",
        page=page,
        confirm=ConfirmForm(),
        certify_form=certify_form or CertifyForm(),
        may_certify=results.may_certify(current_user),
    )


@bp.get("/results")
def index() -> str:
    """Every round, each with a link to its result page."""
    rounds = round_setup.list_for_officers(utcnow())
    return render_template("results_admin/index.html", rounds=rounds)


@bp.get("/<int:round_id>/results")
def show(round_id: int) -> str:
    """The round's result as counted, and the buttons for the next step."""
    return _page(round_id)


@bp.route("/<int:round_id>/results/close", methods=["GET", "POST"])
def close(round_id: int) -> str | Response:
    """Confirm, then close voting now."""
    form = ConfirmForm()
    if form.validate_on_submit():
        results.close_voting(round_id, actor=_me(), now=utcnow())
        flash(_("Voting is closed. You can now count the votes."), "success")
        return redirect(url_for(".show", round_id=round_id))
    page = results.results_page(round_id, utcnow())
    return render_template("results_admin/close.html", page=page, form=form)


@bp.post("/<int:round_id>/results/count")
def count(round_id: int) -> Response:
    """Count the closed round by its declared rule."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for(".show", round_id=round_id))
    results.count_round(round_id, actor=_me(), now=utcnow())
    flash(_("The votes have been counted. Check the draft result below."), "success")
    return redirect(url_for(".show", round_id=round_id))


@bp.post("/<int:round_id>/results/certify")
@role_required(Role.FUNDER)
def certify(round_id: int) -> str | Response | tuple[str, int]:
    """The funder certifies the draft result with their password and a statement."""
    form = CertifyForm()
    if form.validate_on_submit():
        try:
            results.certify(
                round_id,
                funder=_me(),
                password=form.password.data or "",
                statement=form.statement.data or "",
                now=utcnow(),
            )
        except (results.WrongPassword, results.StatementInvalid) as error:
            field = form.password if isinstance(error, results.WrongPassword) else form.statement
            field.errors = [*field.errors, str(error)]
        else:
            flash(_("The result is certified and published."), "success")
            return redirect(url_for(".show", round_id=round_id))
    return _page(round_id, form), 400


@bp.get("/<int:round_id>/results/payments.csv")
def payments(round_id: int) -> Response:
    """The certified funded bids as CSV, for paying the grants."""
    page = results.results_page(round_id, utcnow())
    text = results.funded_bids_csv(page.round)
    name = f"{page.round.slug}-funded-bids.csv"
    return Response(
        text,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
