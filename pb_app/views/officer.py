"""Officers' pages: setting rounds up and reviewing bids."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from pb_app.access import role_required
from pb_app.forms.review import (
    ChecklistForm,
    ConflictForm,
    MessageGroupForm,
    RejectForm,
    ReopenForm,
    RequestChangesForm,
    ShortlistForm,
)
from pb_app.forms.rounds import RoundForm
from pb_app.models import Role, User
from pb_app.models._base import utcnow
from pb_app.services import review, round_setup
from pb_app.views.errors import http_error

bp = Blueprint("officer", __name__, url_prefix="/staff/rounds")


@bp.before_request
@role_required(Role.OFFICER)
def _officers_only() -> None:
    """Every page here is for officers (and admins)."""


@bp.errorhandler(round_setup.RoundNotFound)
@bp.errorhandler(review.BidNotFound)
def _not_found(error: Exception) -> tuple[str | dict[str, object], int]:
    return http_error(NotFound())


@bp.errorhandler(review.ConflictOfInterest)
def _conflicted(error: review.ConflictOfInterest) -> tuple[str, int]:
    return render_template("officer/refused.html", message=str(error)), 403


def _me() -> User:
    return cast(User, current_user._get_current_object())


@bp.get("/")
def index() -> str:
    """Every round, with links to set it up and review its bids."""
    return render_template("officer/index.html", rounds=round_setup.list_for_officers(utcnow()))


@bp.route("/new", methods=["GET", "POST"])
def create() -> str | Response:
    """Set up a new round."""
    form = RoundForm()
    if form.validate_on_submit():
        try:
            round_ = round_setup.create_round(form.settings(), actor=_me(), now=utcnow())
        except round_setup.RoundInvalid as error:
            form.add_problems(error.problems)
        else:
            flash(_("The round has been created."), "success")
            return redirect(url_for(".edit", round_id=round_.id))
    return render_template("officer/round_form.html", form=form, round_id=None, frozen=False)


@bp.route("/<int:round_id>/edit", methods=["GET", "POST"])
def edit(round_id: int) -> str | Response:
    """Change a round's settings; frozen rules are refused with a clear message."""
    round_ = round_setup.get_round(round_id)
    form = RoundForm()
    if form.validate_on_submit():
        try:
            round_setup.update_round(round_id, form.settings(), actor=_me(), now=utcnow())
        except round_setup.RoundInvalid as error:
            form.add_problems(error.problems)
        except round_setup.RulesFrozen as error:
            form.form_errors.append(str(error))
        else:
            flash(_("The round has been saved."), "success")
            return redirect(url_for(".edit", round_id=round_id))
    elif not form.is_submitted():
        form.load(round_setup.settings_of(round_))
    frozen = round_setup.rules_frozen(round_, utcnow())
    return render_template(
        "officer/round_form.html", form=form, round_id=round_id, frozen=frozen, title=round_.title
    )


@bp.get("/<int:round_id>/bids")
def queue(round_id: int) -> str:
    """A round's bids waiting for review, and those decided."""
    return render_template("officer/queue.html", queue=review.review_queue(round_id, utcnow()))


def _review_page(round_id: int, bid_id: int, **forms: FlaskForm) -> str:
    page = review.bid_review(round_id, bid_id, _me(), utcnow())
    checklist = forms.pop("checklist", None)
    if checklist is None:
        checklist = ChecklistForm(formdata=None)
        checklist.load(page.checks)
    defaults: dict[str, FlaskForm] = {
        "changes": RequestChangesForm(formdata=None),
        "message": MessageGroupForm(formdata=None),
        "shortlist": ShortlistForm(formdata=None),
        "reject": RejectForm(formdata=None),
        "reopen": ReopenForm(formdata=None),
        "conflict": ConflictForm(formdata=None),
    }
    defaults.update(forms)
    return render_template("officer/review.html", page=page, checklist=checklist, **defaults)


@bp.get("/<int:round_id>/bids/<int:bid_id>")
def show_bid(round_id: int, bid_id: int) -> str:
    """One bid to review: the group, the budget, the checklist, the conversation, decisions."""
    return _review_page(round_id, bid_id)


def _act(
    round_id: int, bid_id: int, name: str, form: FlaskForm, act: Callable[[], None], done: str
) -> str | Response:
    """Validate ``form``, run ``act``, flash the outcome, go back to the bid (or show errors)."""
    if not form.validate_on_submit():
        return _review_page(round_id, bid_id, **{name: form})
    try:
        act()
    except (review.DecisionRefused, review.ReasonRequired, review.ReviewInvalid) as error:
        flash(str(error), "error")
    else:
        flash(done, "success")
    return redirect(url_for(".show_bid", round_id=round_id, bid_id=bid_id))


@bp.post("/<int:round_id>/bids/<int:bid_id>/checks")
def record_checks(round_id: int, bid_id: int) -> str | Response:
    """Save the checklist answers."""
    form = ChecklistForm()
    return _act(
        round_id,
        bid_id,
        "checklist",
        form,
        lambda: review.record_checks(round_id, bid_id, form.answers(), officer=_me(), now=utcnow()),
        _("The checklist has been saved."),
    )


@bp.post("/<int:round_id>/bids/<int:bid_id>/request-changes")
def request_changes(round_id: int, bid_id: int) -> str | Response:
    """Send the bid back to the group with a message."""
    form = RequestChangesForm()
    return _act(
        round_id,
        bid_id,
        "changes",
        form,
        lambda: review.request_changes(
            round_id, bid_id, form.message.data or "", officer=_me(), now=utcnow()
        ),
        _("The group has been asked to make changes."),
    )


@bp.post("/<int:round_id>/bids/<int:bid_id>/message")
def message_group(round_id: int, bid_id: int) -> str | Response:
    """Write to the group without changing the bid's status."""
    form = MessageGroupForm()
    return _act(
        round_id,
        bid_id,
        "message",
        form,
        lambda: review.message_group(
            round_id, bid_id, form.group_message.data or "", officer=_me(), now=utcnow()
        ),
        _("Your message has been sent to the group."),
    )


@bp.post("/<int:round_id>/bids/<int:bid_id>/shortlist")
def shortlist(round_id: int, bid_id: int) -> str | Response:
    """Shortlist the bid."""
    form = ShortlistForm()
    return _act(
        round_id,
        bid_id,
        "shortlist",
        form,
        lambda: review.shortlist(
            round_id, bid_id, form.shortlist_note.data or "", officer=_me(), now=utcnow()
        ),
        _("The bid has been shortlisted."),
    )


@bp.post("/<int:round_id>/bids/<int:bid_id>/reject")
def reject(round_id: int, bid_id: int) -> str | Response:
    """Reject the bid with a public reason."""
    form = RejectForm()
    return _act(
        round_id,
        bid_id,
        "reject",
        form,
        lambda: review.reject(
            round_id, bid_id, form.reason.data or "", officer=_me(), now=utcnow()
        ),
        _("The bid has been rejected."),
    )


@bp.post("/<int:round_id>/bids/<int:bid_id>/reopen")
def reopen(round_id: int, bid_id: int) -> str | Response:
    """Take back a decision during review."""
    form = ReopenForm()
    return _act(
        round_id,
        bid_id,
        "reopen",
        form,
        lambda: review.reopen(
            round_id, bid_id, form.reopen_note.data or "", officer=_me(), now=utcnow()
        ),
        _("The decision has been taken back; the bid is waiting for review again."),
    )


@bp.post("/<int:round_id>/bids/<int:bid_id>/conflict")
def declare_conflict(round_id: int, bid_id: int) -> str | Response:
    """Declare a conflict of interest on the bid."""
    form = ConflictForm()
    return _act(
        round_id,
        bid_id,
        "conflict",
        form,
        lambda: review.declare_conflict(
            round_id, bid_id, form.conflict_reason.data or "", officer=_me(), now=utcnow()
        ),
        _("Your conflict of interest has been recorded. You will not review this bid."),
    )
