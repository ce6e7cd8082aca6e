"""Officers issue voter codes on a screen and print them as a sheet of slips."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from pb_app.extensions import db
from pb_app.models import AuditEvent, Bid, CodeBatch, Group, Role, Round, User, VoterCode
from tests.helpers import post_form

CODE = re.compile(r"\b[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{2}\b")


def _codes_stored() -> int:
    return db.session.scalar(select(func.count()).select_from(VoterCode)) or 0


@pytest.fixture
def officer(make_user: Callable[..., User], sign_in: Callable[[User], None]) -> User:
    user = make_user(Role.OFFICER)
    sign_in(user)
    return user


def test_officer_prints_a_sheet_of_codes_that_vote(
    client: FlaskClient,
    officer: User,
    make_round: Callable[..., Round],
    make_group: Callable[..., Group],
    make_bid: Callable[..., Bid],
) -> None:
    round_ = make_round("voting")
    bid = make_bid(round_, make_group())
    response = post_form(
        client,
        f"/staff/rounds/{round_.id}/codes",
        {"label": "Decision day", "count": "3", "purpose": "event"},
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    # Each slip shows its code once as text (the link and the QR code carry it too).
    printed = re.findall(r'class="slip__code">.*?</span>([^<]+)</p>', response.text)
    assert len(printed) == len(set(printed)) == 3
    assert all(CODE.fullmatch(code) for code in printed)
    assert f"/rounds/{round_.slug}/vote/code" in response.text
    assert _codes_stored() == 3
    batch = db.session.scalar(select(CodeBatch))
    assert batch is not None
    assert (batch.label, batch.count, batch.created_by_id) == ("Decision day", 3, officer.id)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "codes.issued"))
    assert event is not None
    assert event.actor_id == officer.id

    cast = client.post(
        f"/api/v1/rounds/{round_.slug}/ballots",
        json={"code": printed[0], "ballot": {"projects": [bid.ref]}},
    )
    assert cast.status_code == 201, cast.json


@pytest.mark.parametrize(
    ("count", "message"),
    [
        ("0", "Print between 1 and 1000 codes at a time"),
        ("5000", "Print between 1 and 1000 codes at a time"),
        ("lots", "Enter how many codes to print"),
        ("", "Enter how many codes to print"),
    ],
)
def test_a_bad_count_is_explained_and_issues_nothing(
    client: FlaskClient, officer: User, make_round: Callable[..., Round], count: str, message: str
) -> None:
    round_ = make_round("voting")
    response = post_form(
        client, f"/staff/rounds/{round_.id}/codes", {"count": count, "purpose": "event"}
    )
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert message in response.text
    assert _codes_stored() == 0


def test_codes_need_a_csrf_token(
    client: FlaskClient, officer: User, make_round: Callable[..., Round]
) -> None:
    round_ = make_round("voting")
    response = client.post(f"/staff/rounds/{round_.id}/codes", data={"count": "2"})
    assert response.status_code == 400
    assert _codes_stored() == 0


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (None, 302),
        (Role.RESIDENT, 403),
        (Role.VOLUNTEER, 403),
        (Role.FUNDER, 403),
        (Role.ADMIN, 200),
    ],
)
def test_only_officers_issue_codes(
    client: FlaskClient,
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
    make_round: Callable[..., Round],
    role: Role | None,
    status: int,
) -> None:
    round_ = make_round("voting")
    if role is not None:
        sign_in(make_user(role))
    assert client.get(f"/staff/rounds/{round_.id}/codes").status_code == status


def test_unknown_round_is_not_found(client: FlaskClient, officer: User) -> None:
    assert client.get("/staff/rounds/99999/codes").status_code == 404
