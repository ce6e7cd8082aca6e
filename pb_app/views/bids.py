"""Bids, the group's side: start, edit, check and submit, withdraw, reply, and a picture."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.exceptions import Forbidden, NotFound
from werkzeug.wrappers import Response as BaseResponse

from pb_app.access import has_role
from pb_app.forms.bids import (
    BidForm,
    ConfirmForm,
    ImageForm,
    MessageForm,
    NewBidForm,
    WithdrawForm,
    bid_data,
)
from pb_app.models import BidStatus
from pb_app.models._base import utcnow
from pb_app.services import bids
from pb_app.services.bids import MAX_IMAGE_BYTES
from pb_app.views.errors import http_error

bp = Blueprint("bids", __name__)

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


@bp.app_template_filter("bid_status_label")
def bid_status_label(status: str) -> str:
    """A bid status's name for people, translated."""
    return str(STATUS_LABELS.get(BidStatus(status), status))


@bp.errorhandler(bids.NotYourBid)
def not_your_bid(_error: bids.NotYourBid) -> tuple[str | dict[str, object], int]:
    """Someone else's bid: 403, and nothing changed."""
    return http_error(Forbidden())


@bp.errorhandler(bids.BidNotFound)
def bid_not_found(_error: bids.BidNotFound) -> tuple[str | dict[str, object], int]:
    """No such bid or round."""
    return http_error(NotFound())


@bp.errorhandler(bids.BidLocked)
def bid_locked(error: bids.BidLocked) -> tuple[str, int]:
    """The round's phase or the bid's status refuses the change: say why."""
    return render_template("bids/refused.html", message=str(error)), 409


@bp.errorhandler(bids.BidInvalid)
@bp.errorhandler(bids.ImageInvalid)
def bid_invalid(error: bids.BidInvalid | bids.ImageInvalid) -> tuple[str, int]:
    """A rule the form did not already check: say what is wrong (nothing was saved)."""
    return render_template("bids/refused.html", message=str(error)), 400


@bp.route("/rounds/<slug>/bids/new", methods=["GET", "POST"])
@login_required
def new(slug: str) -> str | BaseResponse:
    """Start a bid: the answers and the itemised budget, saved as a draft."""
    round_, groups = bids.round_for_new_bid(current_user.id, slug, utcnow())
    form = NewBidForm(
        wards=[(w.id, w.name) for w in round_.wards],
        themes=[(t.id, t.name) for t in round_.themes],
        groups=[(g.id, g.name) for g in groups],
        data={"contact_name": current_user.name, "contact_email": current_user.email},
    )
    if form.add_line.data:
        form.add_row()
    elif form.validate_on_submit():
        try:
            bid = bids.create_bid(
                current_user.id, slug, form.group_id.data or 0, form.values(), utcnow()
            )
        except bids.BidInvalid as error:
            form.attach(error.problems)
        else:
            flash(_("Your draft bid %(ref)s is saved.", ref=bid.ref), "success")
            return redirect(url_for("bids.show", bid_id=bid.id))
    return render_template("bids/form.html", form=form, round=round_, bid=None)


@bp.route("/bids/<int:bid_id>/edit", methods=["GET", "POST"])
@login_required
def edit(bid_id: int) -> str | BaseResponse:
    """Change a bid's answers while the round and its status allow."""
    bid = bids.bid_for_editing(current_user.id, bid_id, utcnow())
    form = BidForm(
        wards=[(w.id, w.name) for w in bid.round.wards],
        themes=[(t.id, t.name) for t in bid.round.themes],
        data=bid_data(bid) if request.method == "GET" else None,
    )
    if form.add_line.data:
        form.add_row()
    elif form.validate_on_submit():
        try:
            bids.update_bid(current_user.id, bid_id, form.values(), utcnow())
        except bids.BidInvalid as error:
            form.attach(error.problems)
        else:
            flash(_("Your changes are saved."), "success")
            return redirect(url_for("bids.show", bid_id=bid_id))
    return render_template("bids/form.html", form=form, round=bid.round, bid=bid)


@bp.get("/bids/<int:bid_id>")
@login_required
def show(bid_id: int) -> str:
    """Check your answers: the bid, what is missing, the conversation and what can be done."""
    page = bids.bid_page(current_user.id, bid_id, utcnow())
    return render_template("bids/show.html", page=page, confirm=ConfirmForm(), reply=MessageForm())


@bp.post("/bids/<int:bid_id>/submit")
@login_required
def submit(bid_id: int) -> BaseResponse:
    """Submit (or resubmit) the bid; if anything is missing, the bid page lists it."""
    if ConfirmForm().validate_on_submit():
        try:
            bid = bids.submit_bid(current_user.id, bid_id, utcnow())
        except bids.BidInvalid:
            flash(_("Your bid cannot be submitted yet. Fix the problems listed."), "error")
        else:
            flash(
                _("Bid %(ref)s is submitted. We have emailed your group.", ref=bid.ref), "success"
            )
    return redirect(url_for("bids.show", bid_id=bid_id))


@bp.route("/bids/<int:bid_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(bid_id: int) -> str | BaseResponse:
    """Confirm, then withdraw the bid."""
    bid = bids.bid_for_withdrawal(current_user.id, bid_id, utcnow())
    form = WithdrawForm()
    if form.validate_on_submit():
        bids.withdraw_bid(current_user.id, bid_id, form.note.data or "", utcnow())
        flash(_("Bid %(ref)s is withdrawn.", ref=bid.ref), "success")
        return redirect(url_for("bids.show", bid_id=bid_id))
    return render_template("bids/withdraw.html", form=form, bid=bid)


@bp.post("/bids/<int:bid_id>/messages")
@login_required
def reply(bid_id: int) -> BaseResponse | tuple[str, int]:
    """Reply to the officers while they have asked for changes."""
    form = MessageForm()
    if form.validate_on_submit():
        bids.reply(current_user.id, bid_id, form.body.data or "", utcnow())
        flash(_("Your reply has been sent to the officers."), "success")
        return redirect(url_for("bids.show", bid_id=bid_id))
    page = bids.bid_page(current_user.id, bid_id, utcnow())
    return render_template("bids/show.html", page=page, confirm=ConfirmForm(), reply=form), 400


@bp.route("/bids/<int:bid_id>/picture", methods=["GET", "POST"])
@login_required
def picture(bid_id: int) -> str | BaseResponse:
    """Add or replace the bid's picture, checked by its content, not its name."""
    bid = bids.bid_for_editing(current_user.id, bid_id, utcnow())
    form = ImageForm()
    if form.validate_on_submit():
        data = form.image.data.stream.read(MAX_IMAGE_BYTES + 1)  # never more than the limit
        try:
            bids.set_image(current_user.id, bid_id, data, form.alt_text.data or "", utcnow())
        except bids.ImageInvalid as error:
            form.image.errors.append(str(error))
        else:
            flash(_("The picture is saved."), "success")
            return redirect(url_for("bids.show", bid_id=bid_id))
    return render_template("bids/picture.html", form=form, bid=bid)


@bp.post("/bids/<int:bid_id>/picture/remove")
@login_required
def remove_picture(bid_id: int) -> BaseResponse:
    """Remove the bid's picture."""
    if ConfirmForm().validate_on_submit():
        bids.remove_image(current_user.id, bid_id, utcnow())
        flash(_("The picture is removed."), "success")
    return redirect(url_for("bids.show", bid_id=bid_id))


@bp.get("/bids/<int:bid_id>/image")
def image(bid_id: int) -> Response:
    """The bid's picture, with the type its content proved on upload."""
    data, content_type = bids.image_of(
        bid_id,
        current_user.id if current_user.is_authenticated else None,
        staff=has_role(current_user, "officer", "funder"),
    )
    response = Response(data, mimetype=content_type)
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
