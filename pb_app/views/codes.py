"""Officers issue one-time voter codes, print them as slips, void batches and check people."""

from __future__ import annotations

from datetime import date
from typing import cast

from flask import Blueprint, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from pb_app.access import role_required
from pb_app.forms.codes import CheckPersonForm, IssueCodesForm, PeopleCodesForm, VoidBatchForm
from pb_app.models import CodeMode, Role, Round, User
from pb_app.models._base import utcnow
from pb_app.services import codes, identity, round_setup
from pb_app.services.rounds import ward_choices
from pb_app.slips import make_slips
from pb_app.views.errors import http_error

bp = Blueprint("voter_codes", __name__, url_prefix="/staff/rounds")


@bp.before_request
@role_required(Role.OFFICER)
def _officers_only() -> None:
    """Every page here is for officers (and admins)."""


@bp.errorhandler(round_setup.RoundNotFound)
@bp.errorhandler(codes.BatchNotFound)
def _not_found(error: Exception) -> tuple[str | dict[str, object], int]:
    return http_error(NotFound())


def _officer() -> User:
    return cast(User, current_user._get_current_object())


def _sheet(round_: Round, codes_: list[str], names: list[str] | None = None) -> Response:
    """The printable sheet, straight from the POST and marked no-store.

    Not post/redirect/get on purpose: only digests are stored, so this response is the one
    place the codes exist, and the browser must keep no copy.
    """
    page = render_template(
        "officer/code_sheet.html", round=round_, slips=make_slips(round_.slug, codes_, names)
    )
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


def _codes_page(round_: Round, form: IssueCodesForm | PeopleCodesForm) -> Response:
    page = render_template(
        "officer/codes.html",
        round=round_,
        form=form,
        bound=round_.code_mode == CodeMode.IDENTITY,
        batches=codes.batch_summaries(round_),
    )
    return make_response(page)


@bp.route("/<int:round_id>/codes", methods=["GET", "POST"])
def issue(round_id: int) -> Response:
    """Issue a batch of anonymous codes, or codes for checked people in an identity round."""
    round_ = round_setup.get_round(round_id)
    if round_.code_mode == CodeMode.IDENTITY:
        return _issue_for_people(round_)
    form = IssueCodesForm()
    form.ward.choices = ward_choices(round_, _("Not for one ward"))
    if form.validate_on_submit():
        try:
            issued = codes.issue_codes(
                round_,
                count=form.count.data or 0,
                label=form.label.data or "",
                purpose=form.purpose.data or "event",
                actor=_officer(),
                ward_id=int(form.ward.data) if form.ward.data else None,
            )
        except codes.CodesRefused as refused:
            form.count.errors.append(str(refused))
        else:
            return _sheet(round_, issued)
    return _codes_page(round_, form)


def _issue_for_people(round_: Round) -> Response:
    form = PeopleCodesForm()
    if form.validate_on_submit():
        try:
            issued = codes.issue_codes_from_csv(
                round_,
                form.people_text,
                label=form.label.data or "",
                purpose=form.purpose.data or "event",
                actor=_officer(),
                today=date.today(),  # noqa: DTZ011 - ages are counted in local dates
            )
        except codes.PeopleRefused as refused:
            form.people.errors.extend(refused.problems)
        except codes.CodesRefused as refused:
            form.people.errors.append(str(refused))
        else:
            return _sheet(
                round_, [item.code for item in issued], [item.full_name for item in issued]
            )
    return _codes_page(round_, form)


@bp.route("/<int:round_id>/codes/batches/<int:batch_id>/void", methods=["GET", "POST"])
def void(round_id: int, batch_id: int) -> str | Response:
    """Confirm withdrawing a batch: its unused codes stop working; cast ballots still count."""
    round_ = round_setup.get_round(round_id)
    batch = codes.get_batch(round_, batch_id)
    form = VoidBatchForm()
    if batch.voided_at is None and form.validate_on_submit():
        try:
            codes.void_batch(
                round_, batch_id, reason=form.reason.data or "", actor=_officer(), now=utcnow()
            )
        except codes.CodesRefused as refused:
            form.reason.errors.append(str(refused))
        else:
            flash(
                _(
                    "Batch '%(label)s' withdrawn: its %(unused)d unused codes no longer work.",
                    label=batch.label,
                    unused=batch.unused,
                ),
                "success",
            )
            return redirect(url_for("voter_codes.issue", round_id=round_id))
    return render_template("officer/void_batch.html", round=round_, batch=batch, form=form)


@bp.route("/<int:round_id>/check-person", methods=["GET", "POST"])
def check_person(round_id: int) -> Response:
    """Look a person up: eligible, registered, holding a code, and whether (and how) they voted.

    A POST, not a GET, so names and dates of birth stay out of addresses and server logs.
    """
    round_ = round_setup.get_round(round_id)
    form = CheckPersonForm()
    status = None
    if form.validate_on_submit() and form.date_of_birth is not None:
        status = identity.check_person(
            round_id,
            full_name=form.full_name.data or "",
            postcode=form.postcode.data or "",
            date_of_birth=form.date_of_birth,
            officer=_officer(),
            today=date.today(),  # noqa: DTZ011 - ages are counted in local dates
        )
    page = make_response(
        render_template("officer/check_person.html", round=round_, form=form, status=status)
    )
    page.headers["Cache-Control"] = "no-store"  # whether a named person voted stays off disk
    return page
