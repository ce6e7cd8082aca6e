"""Community groups: registering one, inviting members by emailed link, and a member's dashboard."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import has_request_context, url_for
from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from pb_app.extensions import db
from pb_app.models import (
    Bid,
    BidMessage,
    BidStatus,
    Group,
    GroupInvite,
    GroupKind,
    GroupMembership,
    User,
)
from pb_app.services import ServiceError
from pb_app.services.audit import record
from pb_app.services.mail import send_mail
from pb_app.services.results_view import BidOutcome, bid_outcomes

INVITE_LIFETIME = timedelta(days=14)
MAX_ID = 2**31 - 1
DECIDED = frozenset({BidStatus.REJECTED, BidStatus.FUNDED, BidStatus.NOT_FUNDED})
ON_BALLOT = frozenset({BidStatus.SHORTLISTED, BidStatus.FUNDED, BidStatus.NOT_FUNDED})


class GroupInvalid(ServiceError):
    """The group's details are incomplete for its kind; ``field`` names the missing answer."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class NotAMember(ServiceError):
    """The person is not a member (or not a lead member) of the group."""


class InviteInvalid(ServiceError):
    """The invitation link is unknown, used or expired."""


class LastLead(ServiceError):
    """The change would leave the group without a lead member."""


@dataclass(frozen=True)
class GroupDetails:
    """What a person types to register a group."""

    name: str
    kind: GroupKind
    charity_number: str = ""
    company_number: str = ""
    sponsor: str = ""
    area: str = ""
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    description: str = ""


@dataclass(frozen=True)
class MessageView:
    """One message in a bid's conversation, ready to show."""

    author: str
    body: str
    at: datetime


@dataclass(frozen=True)
class BidRow:
    """One bid on the dashboard."""

    id: int
    ref: str
    title: str
    round_title: str
    status: str
    amount_pence: int
    messages: list[MessageView]
    decided: bool
    reason: str
    outcome: BidOutcome | None = None  # the certified result, once the funder has signed it off


@dataclass(frozen=True)
class GroupRow:
    """One of a person's groups on the dashboard, with its bids."""

    id: int
    name: str
    is_lead: bool
    bids: list[BidRow]


def kind_problem(details: GroupDetails) -> tuple[str, str] | None:
    """The field missing for the group's kind and what to say, if anything."""
    if details.kind == GroupKind.CHARITY and not details.charity_number.strip():
        return "charity_number", str(_("Enter the registered charity number"))
    if details.kind == GroupKind.CIC and not details.company_number.strip():
        return "company_number", str(_("Enter the CIC's company number"))
    if details.kind == GroupKind.INFORMAL and not details.sponsor.strip():
        return "sponsor", str(
            _("Enter the name of the organisation that sponsors your informal group")
        )
    return None


def register_group(user_id: int, details: GroupDetails) -> Group:
    """Create a group with ``user_id`` as its lead member; raise GroupInvalid if incomplete."""
    problem = kind_problem(details)
    if problem:
        raise GroupInvalid(problem[1], field=problem[0])
    user = db.session.get(User, user_id)
    if user is None:
        raise NotAMember(_("Sign in to register a group."))
    group = Group(
        name=details.name.strip(),
        kind=details.kind,
        charity_number=details.charity_number.strip() or None
        if details.kind == GroupKind.CHARITY
        else None,
        company_number=details.company_number.strip() or None
        if details.kind == GroupKind.CIC
        else None,
        sponsor=details.sponsor.strip() or None if details.kind == GroupKind.INFORMAL else None,
        area=details.area.strip() or None,
        contact_name=details.contact_name.strip(),
        contact_email=details.contact_email.strip(),
        contact_phone=details.contact_phone.strip() or None,
        description=details.description.strip() or None,
    )
    db.session.add(group)
    db.session.add(GroupMembership(group=group, user=user, is_lead=True))
    db.session.flush()
    record("group.registered", actor=user, object_type="group", object_id=group.id)
    db.session.commit()
    return group


def fits(row_id: int) -> bool:
    """Whether an id from a URL fits the database's integer ids (PostgreSQL refuses others)."""
    return 0 < row_id <= MAX_ID


def membership(user_id: int, group_id: int) -> GroupMembership | None:
    """The person's membership of the group, if any."""
    if not fits(group_id):
        return None
    return db.session.scalar(
        select(GroupMembership).where(
            GroupMembership.user_id == user_id, GroupMembership.group_id == group_id
        )
    )


def group_for_member(user_id: int, group_id: int) -> Group:
    """The group, if ``user_id`` belongs to it; raise NotAMember otherwise."""
    member = membership(user_id, group_id)
    if member is None:
        raise NotAMember(_("You are not a member of that group."))
    return member.group


def groups_of(user_id: int) -> list[Group]:
    """The groups a person belongs to, by name."""
    return list(
        db.session.scalars(
            select(Group)
            .join(GroupMembership)
            .where(GroupMembership.user_id == user_id)
            .order_by(Group.name, Group.id)
        )
    )


def digest(token: str) -> str:
    """The SHA-256 hex digest under which an invitation token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def invite_member(user_id: int, group_id: int, email: str, now: datetime) -> str:
    """Email ``email`` a single-use link to join the group (lead members only); return the token."""
    member = membership(user_id, group_id)
    if member is None or not member.is_lead:
        raise NotAMember(_("Only a lead member of the group can invite people."))
    token = secrets.token_urlsafe(32)
    db.session.add(
        GroupInvite(
            group_id=group_id,
            email=email.strip().lower(),
            token_digest=digest(token),
            invited_by_id=user_id,
            created_at=now,
        )
    )
    record(
        "group.invited",
        actor=member.user,
        object_type="group",
        object_id=group_id,
        after={"email": email.strip().lower()},
    )
    db.session.commit()
    group = member.group
    send_mail(
        email.strip(),
        _("Join %(group)s on Community budgets", group=group.name),
        _(
            "%(name)s has invited you to join %(group)s, to work on its bids together.\n\n"
            "Open this link to accept (it works once, for 14 days; you will need to sign in "
            "or create an account):\n%(link)s\n\n"
            "If you did not expect this, ignore this email.\n",
            name=member.user.name,
            group=group.name,
            link=invite_link(token),
        ),
    )
    return token


def invite_link(token: str) -> str:
    """The link a person opens to accept an invitation."""
    if has_request_context():
        return url_for("groups.accept_invite", token=token, _external=True)
    return f"/groups/invites/{token}"


def pending_invite(token: str, now: datetime) -> GroupInvite:
    """The unused, unexpired invitation for ``token``; raise InviteInvalid otherwise."""
    invite = db.session.scalar(select(GroupInvite).where(GroupInvite.token_digest == digest(token)))
    if invite is None:
        raise InviteInvalid(_("This invitation link is not valid. Ask the group for a new one."))
    if invite.accepted_at is not None:
        raise InviteInvalid(_("This invitation has already been used."))
    if invite.created_at + INVITE_LIFETIME < now:
        raise InviteInvalid(
            _("This invitation has expired (links last 14 days). Ask the group for a new one.")
        )
    return invite


def invite_group_name(token: str, now: datetime) -> str:
    """The name of the group a valid invitation is for."""
    group = db.session.get(Group, pending_invite(token, now).group_id)
    return group.name if group else ""


def accept_invite(user_id: int, token: str, now: datetime) -> Group:
    """Make ``user_id`` a member through a single-use invitation; return the group."""
    invite = pending_invite(token, now)
    # Claim the invitation atomically: of two parallel acceptances only one updates the row.
    claimed = db.session.execute(
        update(GroupInvite)
        .where(GroupInvite.id == invite.id, GroupInvite.accepted_at.is_(None))
        .values(accepted_at=now)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        db.session.rollback()
        raise InviteInvalid(_("This invitation has already been used."))
    group_id = invite.group_id
    if membership(user_id, group_id) is None:
        db.session.add(GroupMembership(group_id=group_id, user_id=user_id, is_lead=False))
    user = db.session.get(User, user_id)
    record("group.joined", actor=user, object_type="group", object_id=group_id)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise InviteInvalid(_("This invitation has already been used.")) from None
    group = db.session.get(Group, group_id)
    assert group is not None
    return group


def dashboard(user_id: int) -> list[GroupRow]:
    """Each of the person's groups with its bids, the officers' messages and any outcome."""
    rows = []
    outcomes: dict[int, dict[str, BidOutcome]] = {}  # by round: each round's result read once
    for group in groups_of(user_id):
        member = membership(user_id, group.id)
        bids = db.session.scalars(
            select(Bid).where(Bid.group_id == group.id).order_by(Bid.created_at.desc(), Bid.id)
        )
        rows.append(
            GroupRow(
                id=group.id,
                name=group.name,
                is_lead=bool(member and member.is_lead),
                bids=[_bid_row(bid, outcomes) for bid in bids],
            )
        )
    return rows


def messages_of(bid_id: int) -> list[MessageView]:
    """A bid's conversation, oldest first."""
    found = db.session.execute(
        select(BidMessage, User.name)
        .outerjoin(User, User.id == BidMessage.author_id)
        .where(BidMessage.bid_id == bid_id)
        .order_by(BidMessage.at, BidMessage.id)
    )
    return [
        MessageView(author=name or _("Unknown"), body=message.body, at=message.at)
        for message, name in found
    ]


def _bid_row(bid: Bid, outcomes: dict[int, dict[str, BidOutcome]]) -> BidRow:
    if bid.round_id not in outcomes:
        outcomes[bid.round_id] = bid_outcomes(bid.round_id)
    decided = bid.status in DECIDED
    return BidRow(
        id=bid.id,
        ref=bid.ref,
        title=bid.title,
        round_title=bid.round.title,
        status=bid.status,
        amount_pence=bid.amount_pence,
        messages=messages_of(bid.id),
        decided=decided,
        reason=bid.decision_reason if decided or bid.status == BidStatus.SHORTLISTED else "",
        outcome=outcomes[bid.round_id].get(bid.ref) if bid.status in ON_BALLOT else None,
    )


@dataclass(frozen=True)
class MemberView:
    """One member of a group, as other members see them."""

    user_id: int
    name: str
    email: str
    is_lead: bool


@dataclass(frozen=True)
class InviteView:
    """An invitation not yet accepted, as lead members see it."""

    id: int
    email: str
    sent_at: datetime
    expired: bool


def members_of(user_id: int, group_id: int) -> list[MemberView]:
    """The group's members, lead members first, for a member to see."""
    group = group_for_member(user_id, group_id)
    return sorted(
        (MemberView(m.user_id, m.user.name, m.user.email, m.is_lead) for m in group.memberships),
        key=lambda row: (not row.is_lead, row.name.lower()),
    )


def is_lead(user_id: int, group_id: int) -> bool:
    """Whether ``user_id`` is a lead member of the group."""
    member = membership(user_id, group_id)
    return bool(member and member.is_lead)


def pending_invites(user_id: int, group_id: int, now: datetime) -> list[InviteView]:
    """The group's unaccepted invitations, newest first; empty unless ``user_id`` is a lead."""
    member = membership(user_id, group_id)
    if member is None or not member.is_lead:
        return []
    invites = db.session.scalars(
        select(GroupInvite)
        .where(GroupInvite.group_id == group_id, GroupInvite.accepted_at.is_(None))
        .order_by(GroupInvite.created_at.desc(), GroupInvite.id.desc())
    )
    return [
        InviteView(i.id, i.email, i.created_at, i.created_at + INVITE_LIFETIME < now)
        for i in invites
    ]


def _lead(user_id: int, group_id: int, refusal: str) -> GroupMembership:
    member = membership(user_id, group_id)
    if member is None:
        raise NotAMember(_("You are not a member of this group."))
    if not member.is_lead:
        raise NotAMember(refusal)
    return member


def withdraw_invite(user_id: int, group_id: int, invite_id: int) -> str:
    """Cancel an unaccepted invitation (lead members only) so its link stops working."""
    member = _lead(
        user_id, group_id, _("Only a lead member of the group can withdraw invitations.")
    )
    invite = db.session.get(GroupInvite, invite_id) if fits(invite_id) else None
    if invite is None or invite.group_id != group_id or invite.accepted_at is not None:
        raise InviteInvalid(_("That invitation has already been accepted or withdrawn."))
    email = invite.email
    db.session.delete(invite)
    record(
        "group.invite_withdrawn",
        actor=member.user,
        object_type="group",
        object_id=group_id,
        before={"email": email},
    )
    db.session.commit()
    return email


def _other_leads(group_id: int, user_id: int) -> int:
    return len(
        db.session.scalars(
            select(GroupMembership.id).where(
                GroupMembership.group_id == group_id,
                GroupMembership.is_lead.is_(True),
                GroupMembership.user_id != user_id,
            )
        ).all()
    )


def member_to_remove(user_id: int, group_id: int, member_user_id: int) -> MemberView:
    """The member a lead is about to remove; refuse what ``remove_member`` would refuse."""
    _lead(user_id, group_id, _("Only a lead member of the group can remove members."))
    target = membership(member_user_id, group_id) if fits(member_user_id) else None
    if target is None:
        raise NotAMember(_("That person is not a member of this group."))
    if target.is_lead and _other_leads(group_id, member_user_id) == 0:
        raise LastLead(_("A group needs at least one lead member, so its last lead cannot go."))
    return MemberView(target.user_id, target.user.name, target.user.email, target.is_lead)


def remove_member(user_id: int, group_id: int, member_user_id: int) -> MemberView:
    """Take a member out of the group (a lead's action, or a member leaving themselves)."""
    # Lock the group row: two leads removing each other at once must not leave it leaderless.
    db.session.get(Group, group_id, with_for_update=True)
    if member_user_id == user_id:
        target = membership(user_id, group_id)
        if target is None:
            raise NotAMember(_("You are not a member of this group."))
        if target.is_lead and _other_leads(group_id, user_id) == 0:
            raise LastLead(
                _("You are the group's only lead member. Make sure another lead is added first.")
            )
        view = MemberView(target.user_id, target.user.name, target.user.email, target.is_lead)
        action = "group.left"
    else:
        view = member_to_remove(user_id, group_id, member_user_id)
        action = "group.member_removed"
    db.session.execute(
        delete(GroupMembership).where(
            GroupMembership.group_id == group_id, GroupMembership.user_id == member_user_id
        )
    )
    record(
        action,
        actor=db.session.get(User, user_id),
        object_type="group",
        object_id=group_id,
        before={"member": view.email, "lead": view.is_lead},
    )
    db.session.commit()
    return view
