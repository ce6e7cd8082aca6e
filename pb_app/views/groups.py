"""Community groups: register a group, invite members, and the "My groups and bids" dashboard."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from pb_app.extensions import limiter
from pb_app.forms.groups import AcceptInviteForm, GroupActionForm, GroupForm, InviteForm
from pb_app.models import GroupKind
from pb_app.models._base import utcnow
from pb_app.services import groups

bp = Blueprint("groups", __name__, url_prefix="/groups")


@bp.get("/")
@login_required
def dashboard() -> str:
    """My groups and bids: each group's bids, status, officers' messages and outcome."""
    return render_template("groups/dashboard.html", rows=groups.dashboard(current_user.id))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def register() -> str | Response:
    """Register a community group; the person registering becomes its lead member."""
    form = GroupForm()
    if form.validate_on_submit():
        details = {name: form.data[name] or "" for name in _DETAIL_FIELDS}
        try:
            group = groups.register_group(
                current_user.id, groups.GroupDetails(kind=GroupKind(form.kind.data), **details)
            )
        except groups.GroupInvalid as error:
            getattr(form, error.field).errors.append(str(error))
        else:
            flash(_("%(name)s is registered. You are its lead member.", name=group.name), "success")
            return redirect(url_for("groups.show", group_id=group.id))
    return render_template("groups/register.html", form=form)


_DETAIL_FIELDS = (
    "name",
    "charity_number",
    "company_number",
    "sponsor",
    "area",
    "contact_name",
    "contact_email",
    "contact_phone",
    "description",
)


@bp.route("/<int:group_id>", methods=["GET", "POST"])
@login_required
@limiter.limit("30 per hour", methods=["POST"])  # invitations are emails to any address
def show(group_id: int) -> str | Response:
    """A group's page: its members, and (for lead members) a form to invite someone."""
    form = InviteForm()
    try:
        group = groups.group_for_member(current_user.id, group_id)
        if form.validate_on_submit():
            groups.invite_member(current_user.id, group_id, form.email.data or "", utcnow())
            flash(_("We have emailed an invitation to %(email)s.", email=form.email.data))
            return redirect(url_for("groups.show", group_id=group_id))
        members = groups.members_of(current_user.id, group_id)
        invites = groups.pending_invites(current_user.id, group_id, utcnow())
    except groups.NotAMember:
        abort(403)
    return render_template(
        "groups/show.html",
        group=group,
        members=members,
        invites=invites,
        viewer_is_lead=groups.is_lead(current_user.id, group_id),
        form=form,
        action_form=GroupActionForm(),
    )


@bp.post("/<int:group_id>/invites/<int:invite_id>/withdraw")
@login_required
def withdraw_invite(group_id: int, invite_id: int) -> Response:
    """Withdraw an invitation that has not been accepted (lead members)."""
    if not GroupActionForm().validate_on_submit():
        abort(400)
    try:
        email = groups.withdraw_invite(current_user.id, group_id, invite_id)
        flash(
            _("The invitation to %(email)s was withdrawn; its link no longer works.", email=email)
        )
    except groups.NotAMember:
        abort(403)
    except groups.InviteInvalid as error:
        flash(str(error), "error")
    return redirect(url_for("groups.show", group_id=group_id))


@bp.route("/<int:group_id>/members/<int:member_id>/remove", methods=["GET", "POST"])
@login_required
def remove_member(group_id: int, member_id: int) -> str | Response:
    """Confirm, then take a member out of the group (lead members; or leave it yourself)."""
    form = GroupActionForm()
    leaving = member_id == current_user.id
    try:
        group = groups.group_for_member(current_user.id, group_id)
        if form.validate_on_submit():
            gone = groups.remove_member(current_user.id, group_id, member_id)
            if leaving:
                flash(_("You have left %(group)s.", group=group.name), "success")
                return redirect(url_for("groups.dashboard"))
            flash(_("%(name)s is no longer a member.", name=gone.name), "success")
            return redirect(url_for("groups.show", group_id=group_id))
        member = None if leaving else groups.member_to_remove(current_user.id, group_id, member_id)
    except groups.NotAMember:
        abort(403)
    except groups.LastLead as error:
        flash(str(error), "error")
        return redirect(url_for("groups.show", group_id=group_id))
    return render_template(
        "groups/remove_member.html", group=group, member=member, leaving=leaving, form=form
    )


@bp.route("/invites/<token>", methods=["GET", "POST"])
@login_required
def accept_invite(token: str) -> str | Response | tuple[str, int]:
    """Accept an invitation to join a group (a button, so nothing changes on GET)."""
    form = AcceptInviteForm()
    try:
        if form.validate_on_submit():
            group = groups.accept_invite(current_user.id, token, utcnow())
            flash(_("You are now a member of %(name)s.", name=group.name), "success")
            return redirect(url_for("groups.dashboard"))
        name = groups.invite_group_name(token, utcnow())
    except groups.InviteInvalid as error:
        return render_template("groups/invite_invalid.html", message=str(error)), 404
    return render_template("groups/accept_invite.html", form=form, group_name=name)
