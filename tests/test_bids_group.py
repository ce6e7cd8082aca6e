"""Bids, the group's side: drafts, budgets, submit, withdraw, reply, picture, bad input."""

from __future__ import annotations

import threading
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder

from pb_app.extensions import db
from pb_app.models import (
    Bid,
    BidImage,
    BidMessage,
    BidStatus,
    BidStatusChange,
    BudgetLine,
    Group,
    Round,
    User,
)
from pb_app.models._base import utcnow
from pb_app.services import ServiceError, bids
from tests.helpers import csrf_token_from, post_form

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 64


@pytest.fixture(autouse=True)
def memory_mail(app: Flask) -> list[EmailMessage]:
    """Send mail to an in-memory outbox."""
    app.config["MAIL_BACKEND"] = "memory"
    outbox: list[EmailMessage] = app.extensions.setdefault("outbox", [])
    return outbox


@pytest.fixture
def member(make_user: Callable[..., User], sign_in: Callable[[User], None]) -> User:
    """A signed-in person."""
    user = make_user(name="Amina Yusuf")
    sign_in(user)
    return user


def answers(round_: Round, group: Group | None = None, **changes: Any) -> dict[str, Any]:
    """A complete bid form with a three-line budget of £1,250.50."""
    data: dict[str, Any] = {
        "title": "Warm welcome café",
        "summary": "A weekly café for older neighbours.",
        "description": "Tea, cake and company every Tuesday in the community room.",
        "beneficiaries": "Older people living alone on the estate.",
        "beneficiaries_count": "40",
        "ward_id": str(round_.wards[0].id),
        "theme_id": str(round_.themes[0].id),
        "timeline": "May to December.",
        "contact_name": "Amina Yusuf",
        "contact_email": "amina@example.org",
        "lines-0-description": "Hall hire",
        "lines-0-amount": "£600",
        "lines-1-description": "Food",
        "lines-1-amount": "500.5",
        "lines-2-description": "Leaflets",
        "lines-2-amount": "150",
        "save": "1",
    }
    if group is not None:
        data["group_id"] = str(group.id)
    data.update(changes)
    return data


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _new(client: FlaskClient, round_: Round, group: Group, **changes: Any) -> Any:
    return post_form(client, f"/rounds/{round_.slug}/bids/new", answers(round_, group, **changes))


def post_upload(client: FlaskClient, path: str, data: dict[str, Any]) -> Any:
    """post_form for uploads, closing the temporary file Werkzeug's test client leaves open."""
    token = csrf_token_from(client.get(path).text)
    builder = EnvironBuilder(path=path, method="POST", data={**data, "csrf_token": token})
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()


def _only_bid() -> Bid:
    db.session.expire_all()
    bid = db.session.scalar(select(Bid))
    assert bid is not None
    return bid


# The journey ------------------------------------------------------------------------------


def test_group_saves_a_draft_with_an_itemised_budget_then_submits_it(
    client: FlaskClient,
    member: User,
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    memory_mail: list[EmailMessage],
) -> None:
    group = make_group(member)
    round_ = make_round(title="Ageing Better")
    form_page = client.get(f"/rounds/{round_.slug}/bids/new")
    assert form_page.status_code == 200
    assert form_page.text.count('name="lines-') == 6  # three empty rows, no JavaScript needed

    response = _new(client, round_, group)
    assert response.status_code == 302, response.text
    bid = _only_bid()
    assert bid.ref == "AB-01"
    assert bid.status == BidStatus.DRAFT
    assert [(line.description, line.amount_pence) for line in bid.budget_lines] == [
        ("Hall hire", 60000),
        ("Food", 50050),
        ("Leaflets", 15000),
    ]
    page = client.get(f"/bids/{bid.id}").text
    assert "£1,250.50" in page
    assert "Submit bid" in page

    response = post_form(client, f"/bids/{bid.id}/submit", {}, form_page=f"/bids/{bid.id}")
    assert response.status_code == 302
    bid = _only_bid()
    assert bid.status == BidStatus.SUBMITTED
    assert bid.submitted_at is not None
    history = [(h.from_status, h.to_status, h.by_user_id) for h in bid.history]
    assert history == [(None, "draft", member.id), ("draft", "submitted", member.id)]
    assert any("Bid submitted: Warm welcome" in m["Subject"] for m in memory_mail)
    assert f"http://localhost/bids/{bid.id}" in memory_mail[-1].get_content()


def test_add_another_line_re_renders_with_one_more_row_and_keeps_answers(
    client: FlaskClient,
    member: User,
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
) -> None:
    round_ = make_round()
    group = make_group(member)
    data = answers(round_, group, add_line="1")
    del data["save"]
    response = post_form(client, f"/rounds/{round_.slug}/bids/new", data)
    assert response.status_code == 200
    assert 'name="lines-3-description"' in response.text
    assert 'value="Hall hire"' in response.text
    assert "£1,250.50" in response.text  # the total, shown without JavaScript
    assert _count(Bid) == 0


def test_refs_are_unique_per_round_and_never_reused(
    client: FlaskClient,
    member: User,
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
) -> None:
    group = make_group(member)
    round_ = make_round(title="Green Spaces 2026")
    other = make_round(title="Green Streets")
    for _ in range(3):
        assert _new(client, round_, group).status_code == 302
    assert _new(client, other, group).status_code == 302
    refs = sorted(db.session.scalars(select(Bid.ref).where(Bid.round_id == round_.id)))
    assert refs == ["GS-01", "GS-02", "GS-03"]
    assert db.session.scalar(select(Bid.ref).where(Bid.round_id == other.id)) == "GS-01"


def test_edit_until_the_deadline_and_submitted_bids_stay_complete(
    client: FlaskClient,
    member: User,
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
) -> None:
    round_ = make_round()
    bid = make_bid(round_, make_group(member), status=BidStatus.SUBMITTED, lines=[("Hall", 60000)])
    page = client.get(f"/bids/{bid.id}/edit")
    assert page.status_code == 200
    assert 'value="Hall"' in page.text
    response = post_form(client, f"/bids/{bid.id}/edit", answers(round_, title="New title"))
    assert response.status_code == 302
    assert _only_bid().title == "New title"
    # Emptying a required answer of a submitted bid is refused, and nothing is saved.
    response = post_form(client, f"/bids/{bid.id}/edit", answers(round_, summary="", title="X"))
    assert response.status_code == 200
    assert "Enter a one-line summary" in response.text
    assert _only_bid().title == "New title"


def test_withdraw_asks_first_then_records_who_and_why(
    client: FlaskClient,
    member: User,
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
    memory_mail: list[EmailMessage],
) -> None:
    bid = make_bid(make_round(), make_group(member), status=BidStatus.SUBMITTED)
    assert "Are you sure" in client.get(f"/bids/{bid.id}/withdraw").text
    response = post_form(client, f"/bids/{bid.id}/withdraw", {"note": "We found other money."})
    assert response.status_code == 302
    bid = _only_bid()
    assert bid.status == BidStatus.WITHDRAWN
    change = bid.history[-1]
    assert (change.from_status, change.to_status, change.by_user_id, change.note) == (
        "submitted",
        "withdrawn",
        member.id,
        "We found other money.",
    )
    assert "withdrawn" in memory_mail[-1]["Subject"]


def test_group_replies_and_resubmits_after_a_change_request(
    client: FlaskClient,
    member: User,
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
    memory_mail: list[EmailMessage],
) -> None:
    round_ = make_round(phase="review")
    bid = make_bid(
        round_,
        make_group(member),
        status=BidStatus.CHANGES_REQUESTED,
        lines=[("Hall", 60000)],
        beneficiaries="Older people",
        beneficiaries_count=30,
        timeline="Summer",
        contact_name="Amina",
        contact_email="amina@example.org",
    )
    db.session.add(BidMessage(bid_id=bid.id, author_id=None, body="Please itemise the hall hire."))
    db.session.commit()
    page = client.get(f"/bids/{bid.id}").text
    assert "Please itemise the hall hire." in page
    assert "Send reply" in page
    response = post_form(
        client,
        f"/bids/{bid.id}/messages",
        {"body": "Done: 2 quotes attached."},
        form_page=f"/bids/{bid.id}",
    )
    assert response.status_code == 302
    assert _count(BidMessage) == 2
    # Edits are allowed during review only because changes were asked for.
    edit = post_form(client, f"/bids/{bid.id}/edit", answers(round_, title="Itemised"))
    assert edit.status_code == 302
    response = post_form(client, f"/bids/{bid.id}/submit", {}, form_page=f"/bids/{bid.id}")
    assert response.status_code == 302
    assert _only_bid().status == BidStatus.RESUBMITTED
    assert "resubmitted" in memory_mail[-1]["Subject"]


def test_empty_reply_is_explained(
    client: FlaskClient,
    member: User,
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
) -> None:
    bid = make_bid(
        make_round(phase="review"), make_group(member), status=BidStatus.CHANGES_REQUESTED
    )
    response = post_form(
        client, f"/bids/{bid.id}/messages", {"body": "  "}, form_page=f"/bids/{bid.id}"
    )
    assert response.status_code == 400
    assert "Enter your reply" in response.text
    assert _count(BidMessage) == 0


def test_reply_is_refused_unless_changes_were_requested(
    client: FlaskClient,
    member: User,
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
) -> None:
    bid = make_bid(make_round(), make_group(member), status=BidStatus.SUBMITTED)
    response = post_form(
        client, f"/bids/{bid.id}/messages", {"body": "Hello"}, form_page=f"/bids/{bid.id}"
    )
    assert response.status_code == 409
    assert _count(BidMessage) == 0


# Bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"title": "x" * 81}, "Field cannot be longer than 80 characters"),
        ({"summary": "x" * 201}, "Field cannot be longer than 200 characters"),
        ({"title": ""}, "Enter a title for the project"),
        ({"lines-0-amount": "-5"}, "The amount must be more than £0"),
        ({"lines-0-amount": "0"}, "The amount must be more than £0"),
        ({"lines-0-amount": "0.00"}, "The amount must be more than £0"),
        ({"lines-0-amount": "lots"}, "Enter an amount in pounds and pence"),
        ({"lines-0-amount": "1e3"}, "Enter an amount in pounds and pence"),
        ({"lines-0-amount": "10.505"}, "no more than 2 decimal places"),
        ({"lines-0-amount": "9" * 30}, "Field cannot be longer than 20 characters"),
        ({"lines-0-amount": "99999999999"}, "The amount is too large"),
        ({"lines-0-description": ""}, "Say what this amount is for"),
        ({"lines-0-amount": ""}, "Enter the amount for this line"),
        ({"lines-0-description": "x" * 201}, "Field cannot be longer than 200 characters"),
        ({"beneficiaries_count": "many"}, "Not a valid integer value"),
        ({"beneficiaries_count": "-3"}, "Enter a number from 0 to 10,000,000"),
        ({"ward_id": "999999"}, "Not a valid choice"),
        ({"contact_email": "nope"}, "Enter an email address in the correct format"),
        ({"title": "\x00\x01", "summary": "a\x00b"}, "Enter a title for the bid"),
        ({"lines-0-description": "\x00", "lines-0-amount": "5\x00"}, "Say what this amount"),
    ],
)
def test_bad_answers_are_explained_and_nothing_is_saved(
    client: FlaskClient,
    member: User,
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    change: dict[str, str],
    message: str,
) -> None:
    round_ = make_round()
    response = _new(client, round_, make_group(member), **change)
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert message in response.text
    assert _count(Bid) == 0
    assert _count(BudgetLine) == 0


def test_a_draft_may_be_incomplete_and_over_the_limit_but_submit_refuses(
    client: FlaskClient,
    member: User,
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
) -> None:
    round_ = make_round()
    response = _new(
        client,
        round_,
        make_group(member),
        summary="",
        **{"lines-0-amount": "5,550", "lines-1-amount": "500", "lines-2-amount": "150"},
    )
    assert response.status_code == 302
    bid = _only_bid()
    before = (bid.status, bid.title, [line.amount_pence for line in bid.budget_lines])
    response = post_form(client, f"/bids/{bid.id}/submit", {}, form_page=f"/bids/{bid.id}")
    assert response.status_code == 302
    page = client.get(f"/bids/{bid.id}").text
    assert "cannot be submitted yet" in page
    assert "The total is £6,200; grants in this round are from £500 to £5,000." in page
    assert "Enter a one-line summary" in page
    bid = _only_bid()
    assert (bid.status, bid.title, [line.amount_pence for line in bid.budget_lines]) == before
    assert [h.to_status for h in bid.history] == ["draft"]


def test_total_below_the_minimum_is_refused_on_submit(
    app: Flask,
    make_user: Callable[..., User],
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
) -> None:
    user = make_user()
    bid = make_bid(
        make_round(),
        make_group(user),
        status=BidStatus.DRAFT,
        lines=[("Tea", 100_00)],
        summary="s",
        beneficiaries="b",
        beneficiaries_count=1,
        timeline="t",
        contact_name="c",
        contact_email="c@example.org",
    )
    with app.test_request_context(), pytest.raises(bids.BidInvalid) as refused:
        bids.submit_bid(user.id, bid.id, utcnow())
    assert [p.message for p in refused.value.problems] == [
        "The total is £100; grants in this round are from £500 to £5,000."
    ]
    assert _only_bid().status == BidStatus.DRAFT


@pytest.mark.parametrize(
    ("phase", "status", "path"),
    [
        ("review", BidStatus.SUBMITTED, "edit"),
        ("review", BidStatus.DRAFT, "edit"),
        ("voting", BidStatus.SHORTLISTED, "edit"),
        ("review", BidStatus.DRAFT, "submit"),
        ("counting", BidStatus.SHORTLISTED, "withdraw"),
    ],
)
def test_changes_after_the_deadline_are_refused_with_a_reason(
    client: FlaskClient,
    member: User,
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
    phase: str,
    status: BidStatus,
    path: str,
) -> None:
    round_ = make_round(phase=phase)
    bid = make_bid(round_, make_group(member), status=status, title="Before")
    response = post_form(
        client,
        f"/bids/{bid.id}/{path}",
        answers(round_, title="After"),
        form_page=f"/bids/{bid.id}",
    )
    assert response.status_code == 409
    assert "cannot be" in response.text
    bid = _only_bid()
    assert (bid.title, bid.status) == ("Before", status)
    page = "edit" if path == "submit" else path  # the form pages refuse too, not only the POST
    assert client.get(f"/bids/{bid.id}/{page}").status_code == 409


@pytest.mark.parametrize("phase", ["setup", "review", "voting"])
def test_no_new_bids_when_the_round_is_not_open_for_bids(
    client: FlaskClient,
    member: User,
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    phase: str,
) -> None:
    round_ = make_round(phase=phase)
    group = make_group(member)
    assert client.get(f"/rounds/{round_.slug}/bids/new").status_code == 409
    values = bids.BidValues(title="X")
    with (
        client.application.test_request_context(),
        pytest.raises(bids.BidLocked, match="not open for bids"),
    ):
        bids.create_bid(member.id, round_.slug, group.id, values, utcnow())
    assert _count(Bid) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/bids/99999999999999999999",
        "/bids/99999999999/edit",
        "/bids/2147483648/image",
        "/groups/99999999999999",
    ],
)
def test_ids_beyond_the_database_integer_range_are_404(
    client: FlaskClient, member: User, path: str
) -> None:
    assert client.get(path).status_code in (403, 404)


def test_unknown_round_is_404(client: FlaskClient, member: User) -> None:
    assert client.get("/rounds/no-such-round/bids/new").status_code == 404
    assert client.get("/rounds/nul%00round/bids/new").status_code == 404


def test_person_without_a_group_is_told_to_register_one(
    client: FlaskClient, member: User, make_round: Callable[..., Round]
) -> None:
    response = client.get(f"/rounds/{make_round().slug}/bids/new")
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "", None),
        ("get", "/edit", None),
        ("post", "/edit", {"title": "Hijacked"}),
        ("post", "/submit", {}),
        ("get", "/withdraw", None),
        ("post", "/withdraw", {"note": ""}),
        ("post", "/messages", {"body": "Hijacked"}),
        ("get", "/picture", None),
        ("get", "/image", None),
        ("post", "/picture/remove", {}),
    ],
)
def test_member_of_group_a_cannot_open_or_change_group_b_bid(
    client: FlaskClient,
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
    method: str,
    path: str,
    data: dict[str, str] | None,
) -> None:
    a_member, b_member = make_user(), make_user()
    make_group(a_member)
    round_ = make_round()
    bid = make_bid(
        round_, make_group(b_member), status=BidStatus.CHANGES_REQUESTED, title="B's bid"
    )
    db.session.add(BidImage(bid_id=bid.id, content_type="image/png", data=PNG, alt_text="x"))
    db.session.commit()
    sign_in(a_member)
    url = f"/bids/{bid.id}{path}"
    if method == "get":
        response = client.get(url)
    else:
        response = post_form(client, url, {**answers(round_), **(data or {})}, form_page="/groups/")
    assert response.status_code == 403
    bid = _only_bid()
    assert (bid.title, bid.status) == ("B's bid", BidStatus.CHANGES_REQUESTED)
    assert _count(BidMessage) == 0
    assert _count(BidImage) == 1


def test_bidding_for_a_group_you_do_not_belong_to_is_refused(
    client: FlaskClient,
    member: User,
    make_user: Callable[..., User],
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
) -> None:
    make_group(member)
    theirs = make_group(make_user())
    round_ = make_round()
    response = _new(client, round_, theirs)
    assert response.status_code == 200  # not one of the choices offered
    assert "Not a valid choice" in response.text
    with client.application.test_request_context(), pytest.raises(bids.NotYourBid):
        bids.create_bid(member.id, round_.slug, theirs.id, bids.BidValues(title="X"), utcnow())
    assert _count(Bid) == 0


@pytest.mark.parametrize("path", ["/submit", "/withdraw", "/edit", "/messages"])
def test_missing_csrf_token_is_400_and_changes_nothing(
    client: FlaskClient,
    member: User,
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
    path: str,
) -> None:
    round_ = make_round()
    bid = make_bid(round_, make_group(member), status=BidStatus.DRAFT, title="Before")
    response = client.post(f"/bids/{bid.id}{path}", data=answers(round_, title="After"))
    assert response.status_code == 400
    assert (_only_bid().title, _only_bid().status) == ("Before", BidStatus.DRAFT)
    new = client.post(f"/rounds/{round_.slug}/bids/new", data=answers(round_))
    assert new.status_code == 400
    assert _count(Bid) == 1


# Pictures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type"), [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp")]
)
def test_picture_is_checked_by_its_bytes_and_served_with_its_type(
    client: FlaskClient,
    member: User,
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
    data: bytes,
    content_type: str,
) -> None:
    import io

    bid = make_bid(make_round(), make_group(member), status=BidStatus.DRAFT)
    response = post_upload(
        client,
        f"/bids/{bid.id}/picture",
        {"image": (io.BytesIO(data), "photo.gif"), "alt_text": "Volunteers planting trees"},
    )
    assert response.status_code == 302
    served = client.get(f"/bids/{bid.id}/image")
    assert served.status_code == 200
    assert served.mimetype == content_type
    assert served.data == data
    assert 'alt="Volunteers planting trees"' in client.get(f"/bids/{bid.id}").text


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"GIF89a" + b"\x00" * 64, "photo.png", "must be a PNG, JPEG or WebP image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "photo.jpg", "must be a PNG, JPEG"),
        (PNG + b"\x00" * (2 * 1024 * 1024), "big.png", "smaller than 2 MB"),
    ],
)
def test_wrong_or_too_big_picture_is_explained_and_not_saved(
    client: FlaskClient,
    member: User,
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
    data: bytes,
    name: str,
    message: str,
) -> None:
    import io

    bid = make_bid(make_round(), make_group(member), status=BidStatus.DRAFT)
    response = post_upload(
        client, f"/bids/{bid.id}/picture", {"image": (io.BytesIO(data), name), "alt_text": "A"}
    )
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert message in response.text
    assert _count(BidImage) == 0


def test_a_far_too_big_upload_is_refused_clearly(
    client: FlaskClient,
    member: User,
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
) -> None:
    import io

    bid = make_bid(make_round(), make_group(member), status=BidStatus.DRAFT)
    big = PNG + b"\x00" * (5 * 1024 * 1024)
    response = post_upload(
        client, f"/bids/{bid.id}/picture", {"image": (io.BytesIO(big), "a.png"), "alt_text": "A"}
    )
    # Past the app's request cap (MAX_CONTENT_LENGTH) the body is refused before it is read.
    assert response.status_code == 413
    assert "That upload is too large" in response.text
    assert _count(BidImage) == 0


def test_picture_needs_a_description(
    client: FlaskClient,
    member: User,
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
) -> None:
    import io

    bid = make_bid(make_round(), make_group(member), status=BidStatus.DRAFT)
    response = post_upload(
        client, f"/bids/{bid.id}/picture", {"image": (io.BytesIO(PNG), "a.png"), "alt_text": ""}
    )
    assert "Describe the picture for people who cannot see it" in response.text
    assert _count(BidImage) == 0


def test_shortlisted_bid_picture_is_public_and_draft_picture_is_not(
    client: FlaskClient,
    make_user: Callable[..., User],
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
) -> None:
    group = make_group(make_user())
    round_ = make_round()
    public = make_bid(round_, group, status=BidStatus.SHORTLISTED)
    draft = make_bid(round_, group, status=BidStatus.DRAFT)
    for bid in (public, draft):
        db.session.add(BidImage(bid_id=bid.id, content_type="image/png", data=PNG, alt_text="x"))
    db.session.commit()
    assert client.get(f"/bids/{public.id}/image").status_code == 200
    assert client.get(f"/bids/{draft.id}/image").status_code == 403
    assert client.get("/bids/999999/image").status_code == 404


# Service level ----------------------------------------------------------------------------


def test_status_changes_always_go_through_the_state_machine(
    app: Flask,
    make_user: Callable[..., User],
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
) -> None:
    user = make_user()
    bid = make_bid(make_round(), make_group(user), status=BidStatus.WITHDRAWN)
    with app.test_request_context():
        with pytest.raises(bids.BidLocked, match="withdrawn"):
            bids.submit_bid(user.id, bid.id, utcnow())
        with pytest.raises(bids.BidLocked):
            bids.withdraw_bid(user.id, bid.id, "", utcnow())
    assert _count(BidStatusChange) == 0


def test_a_person_in_two_groups_bids_for_the_one_they_choose(
    client: FlaskClient,
    member: User,
    make_user: Callable[..., User],
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
) -> None:
    make_group(member, name="Allotment Friends")
    second = make_group(make_user(), member, name="Youth Club")
    round_ = make_round()
    assert "Youth Club" in client.get(f"/rounds/{round_.slug}/bids/new").text
    assert _new(client, round_, second).status_code == 302
    assert _only_bid().group_id == second.id


@pytest.mark.parametrize(
    ("title", "prefix"),
    [("Ageing Better", "AB"), ("Greenfield", "GR"), ("2026", "PB"), ("Test round 7", "TR")],
)
def test_ref_prefix_comes_from_the_round_title(title: str, prefix: str) -> None:
    assert bids.ref_prefix(title) == prefix


def test_dashboard_links_to_each_bid(
    client: FlaskClient,
    member: User,
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
) -> None:
    bid = make_bid(make_round(), make_group(member), status=BidStatus.DRAFT, title="Café")
    page = client.get("/groups/").text
    assert f'href="/bids/{bid.id}"' in page
    assert "Draft" in page


# Generated input --------------------------------------------------------------------------

_TEXT = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=300),
    st.text(st.sampled_from("a\x00\x1f\r\n\t£,.-0"), max_size=20),
)
_AMOUNT = st.one_of(
    _TEXT,
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.integers(min_value=-(10**15), max_value=10**15).map(str),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    title=_TEXT,
    summary=_TEXT,
    count=_TEXT,
    ward=_TEXT,
    descriptions=st.lists(_TEXT, max_size=4),
    amounts=st.lists(_AMOUNT, max_size=4),
)
def test_generated_answers_never_cause_a_500_or_a_partial_save(
    client: FlaskClient,
    member: User,
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    title: str,
    summary: str,
    count: str,
    ward: str,
    descriptions: list[str],
    amounts: list[str],
) -> None:
    round_ = db.session.scalar(select(Round)) or make_round()
    group = db.session.scalar(select(Group)) or make_group(member)
    data = answers(round_, group, title=title, summary=summary, beneficiaries_count=count)
    data["ward_id"] = ward
    for index, text in enumerate(descriptions):
        data[f"lines-{index}-description"] = text
    for index, amount in enumerate(amounts):
        data[f"lines-{index}-amount"] = amount
    before = _count(Bid), _count(BudgetLine)
    response = _new(client, round_, group, **{k: v for k, v in data.items() if k != "group_id"})
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert "There is a problem" in response.text
        assert (_count(Bid), _count(BudgetLine)) == before
    else:
        bid = db.session.scalars(select(Bid).order_by(Bid.id.desc())).first()
        assert bid is not None
        assert all(line.amount_pence > 0 for line in bid.budget_lines)
        assert len(bid.title) <= 80


# Concurrency ------------------------------------------------------------------------------


def _in_parallel(app: Flask, calls: list[Callable[[], object]]) -> list[object]:
    """Run each call in its own thread and app context, released together by a barrier."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        with app.test_request_context():
            barrier.wait()
            try:
                results[index] = calls[index]()
            except ServiceError as error:
                results[index] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_parallel_new_bids_in_one_round_get_distinct_refs(
    app: Flask,
    make_user: Callable[..., User],
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
) -> None:
    user = make_user()
    group_id = make_group(user).id
    slug = make_round(title="Ageing Better").slug
    user_id = user.id
    db.session.remove()
    values = bids.BidValues(title="Same moment", lines=(("Hall", 600_00),))
    results = _in_parallel(
        app,
        [lambda: bids.create_bid(user_id, slug, group_id, values, utcnow()) for _ in range(4)],
    )
    made = [r for r in results if isinstance(r, Bid)]
    refused = [r for r in results if isinstance(r, bids.BidLocked)]
    assert len(made) + len(refused) == 4
    refs = list(db.session.scalars(select(Bid.ref)))
    assert len(refs) == len(set(refs)) == len(made) >= 1


def test_parallel_submits_of_one_bid_make_exactly_one_status_change(
    app: Flask,
    make_user: Callable[..., User],
    make_group: Callable[..., Group],
    make_round: Callable[..., Round],
    make_bid: Callable[..., Bid],
) -> None:
    user = make_user()
    bid = make_bid(
        make_round(),
        make_group(user),
        status=BidStatus.DRAFT,
        lines=[("Hall", 600_00)],
        beneficiaries="b",
        beneficiaries_count=1,
        timeline="t",
        contact_name="c",
        contact_email="c@example.org",
    )
    user_id, bid_id = user.id, bid.id
    db.session.remove()
    results = _in_parallel(app, [lambda: bids.submit_bid(user_id, bid_id, utcnow())] * 3)
    assert sum(isinstance(r, Bid) for r in results) == 1
    assert sum(isinstance(r, bids.BidLocked) for r in results) == 2
    changes = db.session.scalars(
        select(BidStatusChange.to_status).where(BidStatusChange.bid_id == bid_id)
    )
    assert list(changes) == ["submitted"]
