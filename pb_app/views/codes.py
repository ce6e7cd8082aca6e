"""Officers issue one-time voter codes and print them as a sheet of slips."""

from __future__ import annotations

from typing import cast

from flask import Blueprint, make_response, render_template, url_for
from flask_login import current_user
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from pb_app.access import role_required
from pb_app.forms.codes import IssueCodesForm
from pb_app.models import Role, User
from pb_app.services import codes, round_setup
from pb_app.views.errors import http_error

bp = Blueprint("voter_codes", __name__, url_prefix="/staff/rounds")


@bp.before_request
@role_required(Role.OFFICER)
def _officers_only() -> None:
    """Every page here is for officers (and admins)."""


@bp.errorhandler(round_setup.RoundNotFound)
def _not_found(error: Exception) -> tuple[str | dict[str, object], int]:
    return http_error(NotFound())


@bp.route("/<int:round_id>/codes", methods=["GET", "POST"])
def issue(round_id: int) -> str | Response:
    """Issue a batch of codes; the sheet is shown once, straight from the POST.

    Not post/redirect/get on purpose: only digests are stored, so this response is the one
    place the codes exist. It is marked no-store so the browser keeps no copy.
    """
    round_ = round_setup.get_round(round_id)
    form = IssueCodesForm()
    if form.validate_on_submit():
        try:
            issued = codes.issue_codes(
                round_,
                count=form.count.data or 0,
                label=form.label.data or "",
                purpose=form.purpose.data or "event",
                actor=cast(User, current_user._get_current_object()),
            )
        except codes.CodesRefused as refused:
            form.count.errors.append(str(refused))
        else:
            page = render_template(
                "officer/code_sheet.html",
                round=round_,
                codes=issued,
                vote_url=url_for("vote.enter_code", slug=round_.slug, _external=True),
            )
            response = make_response(page)
            response.headers["Cache-Control"] = "no-store"
            return response
    return render_template("officer/codes.html", round=round_, form=form)
