"""Officers review bids: checklist, change requests, shortlisting, rejection with reasons,
reopening, and conflicts of interest; every decision in the history and the audit log."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from pb_app.extensions import db
from pb_app.models import (
    AuditEvent,
    Bid,
    BidCheck,
    BidMessage,
    BidStatus,
    ConflictDeclaration,
    Group,
    Role,
    Round,
    User,
)
from pb_app.models._base import utcnow
from pb_app.services import review
from tests.helpers import make_test_app, post_form


@dataclass
class Scene:
    """A round in review with one submitted bid, and a signed-in officer."""

    round: Round
    bid: Bid
    group: Group
    officer: User

    @property
    def page(self) -> str:
        """The bid's review page."""
        return f"/staff/rounds/{self.round.id}/bids/{self.bid.id}"


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    """The app with a memory outbox, so tests can read the emails groups get."""
    application = make_test_app(database_url, MAIL_BACKEND="memory")
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def scene(
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
    make_round: Callable[..., Round],
    make_group: Callable[..., Group],
    make_bid: Callable[..., Bid],
) -> Scene:
    """A review-phase round, a submitted bid of £1,500 and a signed-in officer."""
    round_ = make_round("review")
    group = make_group(make_user(email="lead@group.example"), name="Kingsmead Growers")
    bid = make_bid(
        round_,
        group,
        status=BidStatus.SUBMITTED,
        lines=[("Raised beds", 1_000_00), ("Seeds", 500_00)],
        title="Intergenerational gardening",
    )
    officer = make_user(Role.OFFICER, name="Olu Officer")
    sign_in(officer)
    return Scene(round_, bid, group, officer)


def status_of(bid: Bid) -> str:
    """The bid's status as stored now."""
    db.session.refresh(bid)
    return bid.status


def events(action: str) -> list[AuditEvent]:
    """Audit events with this action."""
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def outbox(app: Flask) -> list[Any]:
    """Emails sent so far."""
    return list(app.extensions.get("outbox", []))


def test_queue_lists_submitted_bids(client: FlaskClient, scene: Scene) -> None:
    page = client.get(f"/staff/rounds/{scene.round.id}/bids")
    assert page.status_code == 200
    assert "Waiting for a decision" in page.text
    assert "Intergenerational gardening" in page.text
    assert "Kingsmead Growers" in page.text
    assert "£1,500" in page.text


def test_review_page_shows_group_budget_and_checklist(client: FlaskClient, scene: Scene) -> None:
    page = client.get(scene.page).text
    assert "Kingsmead Growers" in page
    assert "Raised beds" in page
    assert "£1,000" in page
    assert "£1,500" in page
    assert "within the grant limits" in page
    assert "Safeguarding policy in place" in page
    assert "Shortlist the bid" in page
    assert "Reject the bid" in page
    assert "Reopen the bid" not in page


def test_shortlisting_is_recorded_in_history_and_audit_and_the_group_is_told(
    app: Flask, client: FlaskClient, scene: Scene
) -> None:
    response = post_form(
        client,
        f"{scene.page}/shortlist",
        {"shortlist_note": "Meets every item."},
        form_page=scene.page,
    )
    assert response.status_code == 302
    assert status_of(scene.bid) == BidStatus.SHORTLISTED
    change = scene.bid.history[-1]
    assert (change.from_status, change.to_status) == (BidStatus.SUBMITTED, BidStatus.SHORTLISTED)
    assert change.by_user_id == scene.officer.id
    assert change.note == "Meets every item."
    (event,) = events("bid.shortlist")
    assert event.actor_id == scene.officer.id
    assert json.loads(event.before or "{}")["status"] == "submitted"
    assert json.loads(event.after or "{}")["status"] == "shortlisted"
    assert any("shortlisted" in mail["Subject"] for mail in outbox(app))
    assert "The bid has been shortlisted." in client.get(scene.page).text


def test_requesting_changes_stores_the_message_and_emails_the_group(
    app: Flask, client: FlaskClient, scene: Scene
) -> None:
    response = post_form(
        client,
        f"{scene.page}/request-changes",
        {"message": "Please add your safeguarding policy."},
        form_page=scene.page,
    )
    assert response.status_code == 302
    assert status_of(scene.bid) == BidStatus.CHANGES_REQUESTED
    (message,) = db.session.scalars(select(BidMessage)).all()
    assert message.body == "Please add your safeguarding policy."
    assert message.author_id == scene.officer.id
    mails = [m for m in outbox(app) if "Changes requested" in m["Subject"]]
    assert mails
    assert "Please add your safeguarding policy." in mails[0].get_content()
    assert "lead@group.example" in {m["To"] for m in mails}
    page = client.get(scene.page).text
    assert "Please add your safeguarding policy." in page
    assert len(events("bid.request_changes")) == 1


def test_requesting_changes_without_a_message_is_refused(client: FlaskClient, scene: Scene) -> None:
    response = post_form(
        client, f"{scene.page}/request-changes", {"message": "  "}, form_page=scene.page
    )
    assert response.status_code == 200
    assert "Write a message telling the group what to change" in response.text
    assert status_of(scene.bid) == BidStatus.SUBMITTED
    assert db.session.scalars(select(BidMessage)).all() == []


def test_an_officer_writes_to_the_group_without_changing_the_bid(
    app: Flask, client: FlaskClient, scene: Scene
) -> None:
    response = post_form(
        client,
        f"{scene.page}/message",
        {"group_message": "Could you send a photo of the garden?"},
        form_page=scene.page,
    )
    assert response.status_code == 302
    assert status_of(scene.bid) == BidStatus.SUBMITTED
    (message,) = db.session.scalars(select(BidMessage)).all()
    assert message.body == "Could you send a photo of the garden?"
    assert message.author_id == scene.officer.id
    (event,) = events("bid.message")
    assert json.loads(event.after or "{}") == {"message": "Could you send a photo of the garden?"}
    mails = [m for m in outbox(app) if "Message about your bid" in m["Subject"]]
    assert "lead@group.example" in {m["To"] for m in mails}
    assert "Could you send a photo of the garden?" in mails[0].get_content()
    page = client.get(scene.page).text
    assert "Your message has been sent to the group." in page
    assert "Could you send a photo of the garden?" in page


def test_an_empty_message_to_the_group_is_refused(
    app: Flask, client: FlaskClient, scene: Scene
) -> None:
    response = post_form(
        client, f"{scene.page}/message", {"group_message": " "}, form_page=scene.page
    )
    assert response.status_code == 200
    assert "Write the message to the group" in response.text
    assert db.session.scalars(select(BidMessage)).all() == []
    assert events("bid.message") == []
    assert outbox(app) == []


def test_rejecting_needs_a_reason(client: FlaskClient, scene: Scene) -> None:
    response = post_form(client, f"{scene.page}/reject", {"reason": ""}, form_page=scene.page)
    assert response.status_code == 200
    assert "Give a reason for rejecting the bid" in response.text
    assert status_of(scene.bid) == BidStatus.SUBMITTED
    assert events("bid.reject") == []


def test_rejecting_keeps_a_public_reason_and_reopening_takes_it_back(
    client: FlaskClient, scene: Scene
) -> None:
    reason = "The project is outside the round's area."
    post_form(client, f"{scene.page}/reject", {"reason": reason}, form_page=scene.page)
    assert status_of(scene.bid) == BidStatus.REJECTED
    assert scene.bid.decision_reason == reason
    (event,) = events("bid.reject")
    assert json.loads(event.after or "{}")["decision_reason"] == reason

    response = post_form(
        client, f"{scene.page}/reopen", {"reopen_note": "New evidence."}, form_page=scene.page
    )
    assert response.status_code == 302
    assert status_of(scene.bid) == BidStatus.SUBMITTED
    assert scene.bid.decision_reason == ""
    assert [(h.from_status, h.to_status) for h in scene.bid.history] == [
        ("submitted", "rejected"),
        ("rejected", "submitted"),
    ]
    assert len(events("bid.reopen")) == 1


def test_a_decision_in_the_wrong_status_gets_the_bid_flows_message(
    client: FlaskClient,
    scene: Scene,
    make_bid: Callable[..., Bid],
) -> None:
    shortlisted = make_bid(scene.round, scene.group, status=BidStatus.SHORTLISTED)
    page = f"/staff/rounds/{scene.round.id}/bids/{shortlisted.id}"
    response = post_form(client, f"{page}/shortlist", {}, form_page=page)
    assert response.status_code == 302
    follow = client.get(page).text
    assert "This bid is shortlisted, so it cannot be shortlisted now." in follow
    assert status_of(shortlisted) == BidStatus.SHORTLISTED
    response = post_form(client, f"{page}/reject", {"reason": "No."}, form_page=page)
    assert "This bid is shortlisted, so it cannot be rejected now." in client.get(page).text
    assert events("bid.shortlist") == events("bid.reject") == []


def test_no_decisions_once_voting_has_opened(
    client: FlaskClient,
    scene: Scene,
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
) -> None:
    voting = make_round("voting")
    bid = make_bid(voting, scene.group, status=BidStatus.SUBMITTED)
    page = f"/staff/rounds/{voting.id}/bids/{bid.id}"
    assert "No decision can be made on this bid now." in client.get(page).text
    post_form(client, f"{page}/shortlist", {}, form_page=page)
    assert "The round is voting; a bid cannot be shortlisted at this stage." in (
        client.get(page).text
    )
    assert status_of(bid) == BidStatus.SUBMITTED


def test_checklist_answers_are_stored_with_notes_and_can_be_cleared(
    client: FlaskClient, scene: Scene
) -> None:
    first, second = scene.round.checklist
    data = {
        "items-0-item_id": first.id,
        "items-0-result": "pass",
        "items-0-note": "Constitution seen.",
        "items-1-item_id": second.id,
        "items-1-result": "fail",
        "items-1-note": "",
    }
    response = post_form(client, f"{scene.page}/checks", data, form_page=scene.page)
    assert response.status_code == 302
    checks = {c.item_id: c for c in db.session.scalars(select(BidCheck))}
    assert checks[first.id].passed is True
    assert checks[first.id].note == "Constitution seen."
    assert checks[first.id].officer_id == scene.officer.id
    assert checks[second.id].passed is False
    (event,) = events("bid.checked")
    assert json.loads(event.after or "{}") == {
        "Constituted group or named sponsor": "pass: Constitution seen.",
        "Safeguarding policy in place": "fail",
    }
    data["items-1-result"] = ""
    post_form(client, f"{scene.page}/checks", data, form_page=scene.page)
    assert {c.item_id for c in db.session.scalars(select(BidCheck))} == {first.id}


def test_checklist_answers_for_another_rounds_item_are_refused(
    client: FlaskClient, scene: Scene, make_round: Callable[..., Round]
) -> None:
    other = make_round("review")
    data = {"items-0-item_id": other.checklist[0].id, "items-0-result": "pass"}
    post_form(client, f"{scene.page}/checks", data, form_page=scene.page)
    page = html.unescape(client.get(scene.page).text)
    assert "The checklist answers do not match this round's checklist." in page
    assert db.session.scalars(select(BidCheck)).all() == []


def test_checklist_with_a_made_up_result_is_refused(client: FlaskClient, scene: Scene) -> None:
    item = scene.round.checklist[0]
    data = {"items-0-item_id": item.id, "items-0-result": "maybe"}
    response = post_form(client, f"{scene.page}/checks", data, form_page=scene.page)
    assert response.status_code == 200
    assert "Not a valid choice" in response.text
    assert db.session.scalars(select(BidCheck)).all() == []


def test_an_officer_with_a_conflict_is_refused_on_that_bid(
    client: FlaskClient, scene: Scene
) -> None:
    response = post_form(
        client,
        f"{scene.page}/conflict",
        {"conflict_reason": "I am a trustee of this group."},
        form_page=scene.page,
    )
    assert response.status_code == 302
    (declaration,) = db.session.scalars(select(ConflictDeclaration)).all()
    assert declaration.user_id == scene.officer.id
    assert len(events("bid.conflict_declared")) == 1

    queue = client.get(f"/staff/rounds/{scene.round.id}/bids").text
    assert "Olu Officer" in queue
    page = client.get(scene.page).text
    assert "You declared a conflict of interest on this bid" in page
    assert "Shortlist the bid" not in page

    for action, data in (
        ("shortlist", {}),
        ("reject", {"reason": "No."}),
        ("request-changes", {"message": "Change it."}),
        ("message", {"group_message": "Hello."}),
        ("checks", {"items-0-item_id": scene.round.checklist[0].id, "items-0-result": "pass"}),
    ):
        response = post_form(client, f"{scene.page}/{action}", data, form_page=scene.page)
        assert response.status_code == 403, action
        assert "You declared a conflict of interest on this bid" in response.text
    assert status_of(scene.bid) == BidStatus.SUBMITTED
    assert db.session.scalars(select(BidCheck)).all() == []
    assert db.session.scalars(select(BidMessage)).all() == []


def test_another_officer_may_still_decide_on_a_bid_with_a_declared_conflict(
    request_context: None,
    scene: Scene,
    make_user: Callable[..., User],
) -> None:
    review.declare_conflict(
        scene.round.id, scene.bid.id, "Trustee.", officer=scene.officer, now=utcnow()
    )
    colleague = make_user(Role.OFFICER, name="Colleague")
    review.shortlist(scene.round.id, scene.bid.id, "", officer=colleague, now=utcnow())
    assert status_of(scene.bid) == BidStatus.SHORTLISTED
    with pytest.raises(review.ReviewInvalid):
        review.declare_conflict(
            scene.round.id, scene.bid.id, "Again.", officer=scene.officer, now=utcnow()
        )


def test_declaring_a_conflict_needs_a_reason(client: FlaskClient, scene: Scene) -> None:
    response = post_form(
        client, f"{scene.page}/conflict", {"conflict_reason": ""}, form_page=scene.page
    )
    assert response.status_code == 200
    assert "Say what the conflict of interest is" in response.text
    assert db.session.scalars(select(ConflictDeclaration)).all() == []


@pytest.fixture
def request_context(app: Flask) -> Iterator[None]:
    """Services speak translated messages, which need a request to pick the language."""
    with app.test_request_context():
        yield


def test_the_service_refuses_a_reason_made_of_spaces(request_context: None, scene: Scene) -> None:
    with pytest.raises(review.ReasonRequired):
        review.reject(scene.round.id, scene.bid.id, "   ", officer=scene.officer, now=utcnow())
    assert status_of(scene.bid) == BidStatus.SUBMITTED


def test_drafts_and_other_rounds_bids_are_not_found(
    client: FlaskClient,
    scene: Scene,
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
) -> None:
    draft = make_bid(scene.round, scene.group, status=BidStatus.DRAFT)
    assert client.get(f"/staff/rounds/{scene.round.id}/bids/{draft.id}").status_code == 404
    other = make_round("review")
    assert client.get(f"/staff/rounds/{other.id}/bids/{scene.bid.id}").status_code == 404
    assert client.get("/staff/rounds/999/bids").status_code == 404
    response = post_form(
        client, f"/staff/rounds/{other.id}/bids/{scene.bid.id}/shortlist", {}, form_page="/"
    )
    assert response.status_code == 404
    assert status_of(scene.bid) == BidStatus.SUBMITTED


def test_a_decision_without_its_csrf_token_is_refused(client: FlaskClient, scene: Scene) -> None:
    response = client.post(f"{scene.page}/reject", data={"reason": "No."})
    assert response.status_code == 400
    assert status_of(scene.bid) == BidStatus.SUBMITTED


def test_a_group_member_cannot_review_even_their_own_bid(app: Flask, scene: Scene) -> None:
    member = scene.group.memberships[0].user
    theirs = app.test_client()
    signed_in = post_form(
        theirs, "/account/sign-in", {"email": member.email, "password": "correct horse battery"}
    )
    assert signed_in.status_code == 302
    assert theirs.get(scene.page).status_code == 403
    assert post_form(theirs, f"{scene.page}/shortlist", {}, form_page="/").status_code == 403
    assert status_of(scene.bid) == BidStatus.SUBMITTED


def test_two_officers_deciding_at_once_make_exactly_one_decision(
    app: Flask, scene: Scene, make_user: Callable[..., User]
) -> None:
    """The bid row is locked while deciding: a parallel rejection sees the shortlisting."""
    import threading

    colleague = make_user(Role.OFFICER, name="Colleague")
    officer_ids = (scene.officer.id, colleague.id)
    round_id, bid_id = scene.round.id, scene.bid.id
    db.session.rollback()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(officer_id: int, shortlisting: bool) -> None:
        with app.test_request_context():
            # Wait first: on SQLite even a read takes the write lock (BEGIN IMMEDIATE).
            barrier.wait()
            try:
                officer = db.session.get(User, officer_id)
                assert officer is not None
                if shortlisting:
                    review.shortlist(round_id, bid_id, "", officer=officer, now=utcnow())
                else:
                    review.reject(round_id, bid_id, "Late.", officer=officer, now=utcnow())
                outcomes.append("decided")
            except review.DecisionRefused:
                outcomes.append("refused")
            except Exception as error:  # reported by the assertion below
                outcomes.append(repr(error))
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=decide, args=(officer_ids[0], True)),
        threading.Thread(target=decide, args=(officer_ids[1], False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["decided", "refused"]
    db.session.refresh(scene.bid)
    assert len(scene.bid.history) == 1
    assert len(events("bid.shortlist")) + len(events("bid.reject")) == 1
