"""Community groups: registering, single-use invitations by email, the dashboard, mail."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from pb_app.extensions import db
from pb_app.models import (
    AuditEvent,
    Bid,
    BidMessage,
    BidStatus,
    Group,
    GroupInvite,
    GroupKind,
    GroupMembership,
    Round,
    User,
)
from pb_app.models._base import utcnow
from pb_app.services import groups
from pb_app.services.mail import MailError, send_mail
from pb_app.services.notifications import EVENTS, notify_group
from tests.helpers import post_form

GROUP = {
    "name": "Hackney Tenants' Association",
    "kind": "constituted",
    "area": "Hackney Central",
    "contact_name": "Amina Yusuf",
    "contact_email": "amina@example.org",
    "contact_phone": "020 7946 0000",
    "description": "We run the estate's community room.",
}


@pytest.fixture(autouse=True)
def memory_mail(app: Flask) -> list[EmailMessage]:
    """Send mail to an in-memory outbox."""
    app.config["MAIL_BACKEND"] = "memory"
    outbox: list[EmailMessage] = app.extensions.setdefault("outbox", [])
    return outbox


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_signed_in_person_registers_a_group_and_becomes_its_lead(
    client: FlaskClient, make_user: Callable[..., User], sign_in: Callable[[User], None]
) -> None:
    user = make_user()
    sign_in(user)
    response = post_form(client, "/groups/new", GROUP)
    assert response.status_code == 302
    group = db.session.scalar(select(Group))
    assert group is not None
    assert group.kind == GroupKind.CONSTITUTED
    membership = db.session.scalar(select(GroupMembership))
    assert membership is not None
    assert membership.user_id == user.id
    assert membership.is_lead
    page = client.get(response.headers["Location"])
    assert "Hackney Tenants" in page.text
    assert "Lead member" in page.text


def test_registering_a_group_needs_sign_in(client: FlaskClient) -> None:
    response = client.get("/groups/new")
    assert response.status_code == 302
    assert "/account/sign-in" in response.headers["Location"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "charity"}, "Enter the registered charity number"),
        ({"kind": "cic"}, "Enter the CIC&#39;s company number"),
        ({"kind": "informal"}, "sponsors your informal group"),
        ({"kind": ""}, "Select what kind of group it is"),
        ({"name": "x" * 121}, "Field cannot be longer than 120 characters"),
        ({"contact_email": "nope"}, "Enter an email address in the correct format"),
    ],
)
def test_group_registration_explains_missing_details_and_saves_nothing(
    client: FlaskClient,
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
    change: dict[str, str],
    message: str,
) -> None:
    sign_in(make_user())
    response = post_form(client, "/groups/new", {**GROUP, **change})
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert message in response.text
    assert _count(Group) == 0


def test_charity_keeps_its_number(
    client: FlaskClient, make_user: Callable[..., User], sign_in: Callable[[User], None]
) -> None:
    sign_in(make_user())
    data = {**GROUP, "kind": "charity", "charity_number": "1123456", "sponsor": "ignored"}
    assert post_form(client, "/groups/new", data).status_code == 302
    group = db.session.scalar(select(Group))
    assert group is not None
    assert group.charity_number == "1123456"
    assert group.sponsor is None


def test_missing_csrf_token_is_refused(
    client: FlaskClient, make_user: Callable[..., User], sign_in: Callable[[User], None]
) -> None:
    sign_in(make_user())
    response = client.post("/groups/new", data=GROUP)
    assert response.status_code == 400
    assert _count(Group) == 0


def _invite_link(outbox: list[EmailMessage]) -> str:
    body = outbox[-1].get_content()
    match = re.search(r"(/groups/invites/[A-Za-z0-9_-]+)", body)
    assert match, body
    return match.group(1)


def test_lead_invites_by_email_and_the_link_works_once(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_group: Callable[..., Group],
    sign_in: Callable[[User], None],
    memory_mail: list[EmailMessage],
) -> None:
    lead, newcomer, third = make_user(), make_user(), make_user()
    group = make_group(lead)
    sign_in(lead)
    path = f"/groups/{group.id}"
    response = post_form(client, path, {"email": "Newcomer@Example.org"})
    assert response.status_code == 302
    assert memory_mail[-1]["To"] == "Newcomer@Example.org"
    link = _invite_link(memory_mail)
    token = link.rsplit("/", 1)[1]
    invite = db.session.scalar(select(GroupInvite))
    assert invite is not None
    assert invite.token_digest == groups.digest(token)
    assert token not in invite.token_digest

    client.post("/account/sign-out", data={"csrf_token": _token(client)})
    sign_in(newcomer)  # any account may accept
    assert "Join Group" in client.get(link).text
    assert _count(GroupMembership) == 1  # nothing changes on GET
    response = post_form(client, link, {})
    assert response.status_code == 302
    assert groups.membership(newcomer.id, group.id) is not None

    client.post("/account/sign-out", data={"csrf_token": _token(client)})
    sign_in(third)
    again = post_form(client, link, {}, form_page="/groups/")
    assert again.status_code == 404
    assert "already been used" in again.text
    assert groups.membership(third.id, group.id) is None


def _token(client: FlaskClient) -> str:
    from tests.helpers import csrf_token_from

    return csrf_token_from(client.get("/groups/").text)


def test_invitation_expires_after_14_days(
    app: Flask, make_user: Callable[..., User], make_group: Callable[..., Group]
) -> None:
    lead, other = make_user(), make_user()
    group = make_group(lead)
    now = utcnow()
    with app.test_request_context():
        token = groups.invite_member(lead.id, group.id, "x@example.org", now)
        with pytest.raises(groups.InviteInvalid, match="expired"):
            groups.accept_invite(other.id, token, now + timedelta(days=14, seconds=1))
        groups.accept_invite(other.id, token, now + timedelta(days=13))
    assert groups.membership(other.id, group.id) is not None


def test_only_lead_members_invite_and_non_members_get_403(
    client: FlaskClient,
    make_user: Callable[..., User],
    make_group: Callable[..., Group],
    sign_in: Callable[[User], None],
) -> None:
    lead, member, stranger = make_user(), make_user(), make_user()
    group = make_group(lead, member)
    sign_in(member)
    assert post_form(client, f"/groups/{group.id}", {"email": "a@b.org"}).status_code == 403
    client.post("/account/sign-out", data={"csrf_token": _token(client)})
    sign_in(stranger)
    assert client.get(f"/groups/{group.id}").status_code == 403
    assert _count(GroupInvite) == 0


def test_unknown_invitation_token_is_refused(
    client: FlaskClient, make_user: Callable[..., User], sign_in: Callable[[User], None]
) -> None:
    sign_in(make_user())
    response = client.get("/groups/invites/not-a-real-token")
    assert response.status_code == 404
    assert "not valid" in response.text


def test_a_person_can_belong_to_several_groups_and_sees_them_on_the_dashboard(
    client: FlaskClient,
    make_user: Callable[..., User],
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
    sign_in: Callable[[User], None],
) -> None:
    user, officer = make_user(), make_user(name="Officer Olu")
    first = make_group(user, name="Allotment Friends")
    second = make_group(make_user(), user, name="Youth Boxing Club")
    round_ = make_round(phase="review")
    asked = make_bid(round_, first, status=BidStatus.CHANGES_REQUESTED, title="Raised beds")
    db.session.add(BidMessage(bid_id=asked.id, author_id=officer.id, body="Please add a quote."))
    make_bid(
        round_,
        second,
        status=BidStatus.REJECTED,
        title="Gloves",
        decision_reason="Outside the area of the round.",
    )
    db.session.commit()
    sign_in(user)
    page = client.get("/groups/").text
    for text in (
        "Allotment Friends",
        "Youth Boxing Club",
        "Raised beds",
        "Changes requested",
        "Please add a quote.",
        "Officer Olu",
        "Not shortlisted",
        "Outside the area of the round.",
    ):
        assert text in page


def test_send_mail_memory_backend_and_header_injection(app: Flask) -> None:
    send_mail("a@example.org", "Hello", "Body text")
    assert app.extensions["outbox"][-1]["Subject"] == "Hello"
    with pytest.raises(MailError):
        send_mail("a@example.org\r\nBcc: b@example.org", "Hello", "Body")


def test_send_mail_log_backend_writes_to_the_log(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["MAIL_BACKEND"] = "log"
    with caplog.at_level("INFO"):
        send_mail("a@example.org", "Hello", "Body text")
    assert "a@example.org" in caplog.text


@pytest.mark.parametrize("event", EVENTS)
def test_notify_group_emails_contact_and_members_once_each(
    app: Flask,
    make_user: Callable[..., User],
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
    memory_mail: list[EmailMessage],
    event: str,
) -> None:
    lead = make_user(email="lead@example.org")
    group = make_group(lead, make_user(email="m@example.org"))
    group.contact_email = "LEAD@example.org"
    db.session.commit()
    bid = make_bid(make_round(), group, title="Community fridge")
    notify_group(bid, event, "A note from the officer.")
    assert sorted(m["To"] for m in memory_mail) == ["LEAD@example.org", "m@example.org"]
    body = memory_mail[0].get_content()
    assert "Community fridge" in body
    assert "A note from the officer." in body
    assert f"/bids/{bid.id}" in body


def test_lead_withdraws_an_invitation_and_its_link_stops_working(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_group: Callable[..., Group],
    sign_in: Callable[[User], None],
    memory_mail: list[EmailMessage],
) -> None:
    lead, member = make_user(), make_user()
    group = make_group(lead, member)
    sign_in(lead)
    post_form(client, f"/groups/{group.id}", {"email": "late@example.org"})
    link = _invite_link(memory_mail)
    page = client.get(f"/groups/{group.id}").text
    assert "late@example.org" in page
    assert "Invitations not yet accepted" in page
    invite = db.session.scalar(select(GroupInvite))
    assert invite is not None
    path = f"/groups/{group.id}/invites/{invite.id}/withdraw"
    assert client.post(path).status_code == 400  # no CSRF token: nothing changes
    assert _count(GroupInvite) == 1
    response = post_form(client, path, {}, form_page=f"/groups/{group.id}")
    assert response.status_code == 302
    assert "was withdrawn" in client.get(f"/groups/{group.id}").text
    assert _count(GroupInvite) == 0
    again = post_form(client, path, {}, form_page=f"/groups/{group.id}")
    assert "already been accepted or withdrawn" in client.get(again.location).text
    events = db.session.scalars(select(AuditEvent.action)).all()
    assert "group.invite_withdrawn" in events

    client.post("/account/sign-out", data={"csrf_token": _token(client)})
    sign_in(member)  # an ordinary member cannot see or withdraw invitations
    assert "Invitations not yet accepted" not in client.get(f"/groups/{group.id}").text
    sign_in(make_user())
    assert client.get(link).status_code == 404


def test_ordinary_member_cannot_withdraw_or_remove(
    client: FlaskClient,
    make_user: Callable[..., User],
    make_group: Callable[..., Group],
    sign_in: Callable[[User], None],
) -> None:
    lead, member, other = make_user(), make_user(), make_user()
    group = make_group(lead, member, other)
    with client.application.test_request_context():
        groups.invite_member(lead.id, group.id, "x@example.org", utcnow())
    invite = db.session.scalar(select(GroupInvite))
    assert invite is not None
    sign_in(member)
    page = f"/groups/{group.id}"
    withdraw = post_form(client, f"{page}/invites/{invite.id}/withdraw", {}, form_page=page)
    assert withdraw.status_code == 403
    assert client.get(f"{page}/members/{other.id}/remove").status_code == 403
    remove = post_form(client, f"{page}/members/{other.id}/remove", {}, form_page=page)
    assert remove.status_code == 403
    assert _count(GroupInvite) == 1
    assert groups.membership(other.id, group.id) is not None


def test_lead_removes_a_member_after_confirming(
    client: FlaskClient,
    make_user: Callable[..., User],
    make_group: Callable[..., Group],
    sign_in: Callable[[User], None],
) -> None:
    lead, member = make_user(name="Lena Lead"), make_user(name="Milo Member")
    group = make_group(lead, member)
    sign_in(lead)
    path = f"/groups/{group.id}/members/{member.id}/remove"
    confirm = client.get(path)
    assert confirm.status_code == 200
    assert "Remove Milo Member from" in confirm.text
    assert groups.membership(member.id, group.id) is not None  # nothing changes on GET
    response = post_form(client, path, {})
    assert response.status_code == 302
    assert groups.membership(member.id, group.id) is None
    assert "Milo Member is no longer a member" in client.get(response.location).text
    sign_in(member)
    assert client.get(f"/groups/{group.id}").status_code == 403


def test_the_last_lead_cannot_leave_or_be_removed_but_a_member_can_leave(
    client: FlaskClient,
    make_user: Callable[..., User],
    make_group: Callable[..., Group],
    sign_in: Callable[[User], None],
) -> None:
    lead, member = make_user(), make_user()
    group = make_group(lead, member)
    sign_in(lead)
    leave = f"/groups/{group.id}/members/{lead.id}/remove"
    refused = post_form(client, leave, {}, form_page=f"/groups/{group.id}")
    assert refused.status_code == 302
    assert "only lead member" in client.get(refused.location).text
    assert groups.membership(lead.id, group.id) is not None

    sign_in(member)
    assert "Leave this group" in client.get(f"/groups/{group.id}").text
    path = f"/groups/{group.id}/members/{member.id}/remove"
    assert "Leave " in client.get(path).text
    response = post_form(client, path, {})
    assert response.location.endswith("/groups/")
    assert groups.membership(member.id, group.id) is None
    events = db.session.scalars(select(AuditEvent.action)).all()
    assert "group.left" in events
