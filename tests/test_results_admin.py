"""Staff results pages over HTTP: who may see and do what, CSRF, and the close → count →
certify → payment CSV flow."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from pb_app.extensions import db
from pb_app.models import Role, Round, User
from pb_app.services.results import certified_snapshot, draft_snapshot
from tests.helpers import csrf_token_from, post_form
from tests.results_helpers import PASSWORD, voted_round


@pytest.fixture(autouse=True)
def memory_mail(app: Flask) -> list[EmailMessage]:
    """Send mail to an in-memory outbox."""
    app.config["MAIL_BACKEND"] = "memory"
    outbox: list[EmailMessage] = app.extensions.setdefault("outbox", [])
    return outbox


@pytest.fixture
def round_(make_round: Any, make_group: Any, make_bid: Any) -> Round:
    """A voting round with ballots."""
    return voted_round(make_round, make_group, make_bid)


def base(round_id: int) -> str:
    return f"/staff/rounds/{round_id}/results"


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (None, 302),  # to sign in
        (Role.RESIDENT, 403),
        (Role.VOLUNTEER, 403),
        (Role.OFFICER, 200),
        (Role.FUNDER, 200),
        (Role.ADMIN, 200),
    ],
)
def test_who_may_see_the_results_pages(
    client: FlaskClient,
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
    round_: Round,
    role: Role | None,
    status: int,
) -> None:
    if role is not None:
        sign_in(make_user(role))
    for path in (base(round_.id), f"{base(round_.id)}/close", "/staff/rounds/results"):
        assert client.get(path).status_code == status, path
    csv_status = 409 if status == 200 else status  # nothing certified yet
    assert client.get(f"{base(round_.id)}/payments.csv").status_code == csv_status


def test_a_group_member_of_another_group_cannot_close_or_count(
    client: FlaskClient, make_user: Callable[..., User], sign_in: Callable[[User], None],
    make_group: Callable[..., Any], round_: Round,
) -> None:  # fmt: skip
    member = make_user()
    make_group(member)
    sign_in(member)
    page = client.get("/account/sign-in")  # any page with a form, for a valid token
    token = csrf_token_from(page.text) if "csrf_token" in page.text else ""
    for path in ("close", "count", "certify"):
        response = client.post(f"{base(round_.id)}/{path}", data={"csrf_token": token})
        assert response.status_code == 403, path
    assert db.session.get(Round, round_.id).closed_at is None


def test_posts_without_a_csrf_token_change_nothing(
    client: FlaskClient, make_user: Callable[..., User], sign_in: Callable[[User], None],
    round_: Round,
) -> None:  # fmt: skip
    sign_in(make_user(Role.ADMIN))
    for path in ("close", "count", "certify"):
        response = client.post(f"{base(round_.id)}/{path}", data={"password": PASSWORD})
        assert response.status_code in (302, 400), path
    assert db.session.get(Round, round_.id).closed_at is None
    assert draft_snapshot(round_) is None


def test_officer_closes_and_counts_then_funder_certifies(
    app: Flask,
    make_user: Callable[..., User],
    round_: Round,
) -> None:
    officer_client, funder_client = app.test_client(), app.test_client()
    officer, funder = make_user(Role.OFFICER), make_user(Role.FUNDER, name="Fran Funder")
    for client, user in ((officer_client, officer), (funder_client, funder)):
        response = post_form(
            client, "/account/sign-in", {"email": user.email, "password": PASSWORD}
        )
        assert response.status_code == 302

    page = officer_client.get(base(round_.id))
    assert "Close voting" in page.text
    closed = post_form(officer_client, f"{base(round_.id)}/close", {})
    assert closed.status_code == 302
    again = post_form(
        officer_client, f"{base(round_.id)}/close", {}, form_page=f"{base(round_.id)}/close"
    )
    assert again.status_code == 409
    assert "already closed" in again.text

    counted = post_form(officer_client, f"{base(round_.id)}/count", {}, form_page=base(round_.id))
    assert counted.status_code == 302
    draft = officer_client.get(base(round_.id)).text
    assert "Draft result (not published)" in draft
    assert "Funded in step" in draft
    assert "Certify and publish" not in draft  # officers cannot certify

    refused = post_form(
        officer_client, f"{base(round_.id)}/certify",
        {"password": PASSWORD, "statement": "Yes"}, form_page=base(round_.id),
    )  # fmt: skip
    assert refused.status_code == 403

    wrong = post_form(
        funder_client, f"{base(round_.id)}/certify",
        {"password": "wrong password", "statement": "Yes"}, form_page=base(round_.id),
    )  # fmt: skip
    assert wrong.status_code == 400
    assert "That password is not right" in wrong.text
    assert certified_snapshot(round_) is None
    assert funder_client.get(f"/rounds/{round_.slug}/results/bundle.zip").status_code == 404

    empty = post_form(
        funder_client, f"{base(round_.id)}/certify",
        {"password": PASSWORD, "statement": "  "}, form_page=base(round_.id),
    )  # fmt: skip
    assert empty.status_code == 400
    assert certified_snapshot(round_) is None

    certified = post_form(
        funder_client, f"{base(round_.id)}/certify",
        {"password": PASSWORD, "statement": "Checked and certified."}, form_page=base(round_.id),
    )  # fmt: skip
    assert certified.status_code == 302
    shown = funder_client.get(base(round_.id)).text
    assert "Certified by Fran Funder" in shown
    csv = officer_client.get(f"{base(round_.id)}/payments.csv")
    assert csv.status_code == 200
    assert csv.mimetype == "text/csv"
    assert csv.text.startswith("group,bid_ref,bid_title,amount_pence")
    assert app.test_client().get(f"/rounds/{round_.slug}/results/bundle.zip").status_code == 200
    twice = post_form(
        funder_client, f"{base(round_.id)}/certify",
        {"password": PASSWORD, "statement": "Again."}, form_page=base(round_.id),
    )  # fmt: skip
    assert twice.status_code in (400, 409)
