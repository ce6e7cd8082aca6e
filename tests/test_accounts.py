"""Registering, signing in and out: argon2id, clear messages, CSRF, rate limits."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from pb_app.extensions import db
from pb_app.models import AuditEvent, User
from tests.helpers import post_form

GOOD = {
    "name": "Amina Yusuf",
    "email": "Amina@Example.org ",
    "password": "kettle garden lantern",
    "confirm": "kettle garden lantern",
}


def _users() -> int:
    return db.session.scalar(select(func.count()).select_from(User)) or 0


def test_register_creates_an_argon2id_account_and_signs_in(client: FlaskClient) -> None:
    response = post_form(client, "/account/register", GOOD)
    assert response.status_code == 302
    user = db.session.scalar(select(User))
    assert user is not None
    assert user.email == "amina@example.org"
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert "Signed in as Amina Yusuf" in client.get("/").text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"password": "short", "confirm": "short"}, "Use at least 8 characters"),
        ({"password": "password123", "confirm": "password123"}, "most common"),
        ({"confirm": "something else"}, "The two passwords do not match"),
        ({"email": "not-an-email"}, "Enter an email address in the correct format"),
        ({"name": ""}, "Enter your full name"),
        ({"name": "x" * 121}, "Field cannot be longer than 120 characters"),
    ],
)
def test_register_explains_bad_input_and_saves_nothing(
    client: FlaskClient, change: dict[str, str], message: str
) -> None:
    response = post_form(client, "/account/register", {**GOOD, **change})
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert message in response.text
    assert _users() == 0


def test_register_with_a_taken_email_says_so(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    make_user(email="amina@example.org")
    response = post_form(client, "/account/register", GOOD)
    assert response.status_code == 200
    assert "An account with that email address already exists" in response.text
    assert _users() == 1


def test_post_without_csrf_token_is_refused_clearly(client: FlaskClient) -> None:
    response = client.post("/account/register", data=GOOD)
    assert response.status_code == 400
    assert "Your form could not be sent" in response.text
    assert _users() == 0


def test_sign_in_and_out(client: FlaskClient, make_user: Callable[..., User]) -> None:
    user = make_user(name="Olu Officer")
    response = post_form(
        client,
        "/account/sign-in",
        {"email": user.email.upper(), "password": "correct horse battery"},
    )
    assert response.status_code == 302
    assert "Signed in as Olu Officer" in client.get("/").text
    response = post_form(client, "/account/sign-out", {}, form_page="/")
    assert response.status_code == 302
    assert "Signed in as" not in client.get("/").text


def test_sign_out_is_not_possible_by_get(client: FlaskClient) -> None:
    assert client.get("/account/sign-out").status_code == 405


def test_wrong_password_is_explained_and_logged(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    response = post_form(
        client, "/account/sign-in", {"email": user.email, "password": "wrong one!"}
    )
    assert response.status_code == 200
    assert "The email address or password is not right" in response.text
    assert db.session.scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc())) == (
        "auth.sign_in_failed"
    )


def test_unknown_email_gets_the_same_message(client: FlaskClient) -> None:
    response = post_form(
        client, "/account/sign-in", {"email": "nobody@example.org", "password": "x" * 9}
    )
    assert "The email address or password is not right" in response.text


def test_deactivated_account_cannot_sign_in(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    user.active = False
    db.session.commit()
    response = post_form(
        client, "/account/sign-in", {"email": user.email, "password": "correct horse battery"}
    )
    assert response.status_code == 200


def test_sign_in_is_rate_limited(client: FlaskClient, make_user: Callable[..., User]) -> None:
    user = make_user()
    statuses = [
        post_form(
            client, "/account/sign-in", {"email": user.email, "password": "wrong one!"}
        ).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429
    last = post_form(client, "/account/sign-in", {"email": user.email, "password": "wrong one!"})
    assert "Too many attempts" in last.text


def test_sign_in_starts_a_new_session(client: FlaskClient, make_user: Callable[..., User]) -> None:
    user = make_user()
    client.get("/account/sign-in")
    with client.session_transaction() as session:
        session["left_over"] = "from before signing in"
    post_form(
        client, "/account/sign-in", {"email": user.email, "password": "correct horse battery"}
    )
    with client.session_transaction() as session:
        assert "left_over" not in session


def test_next_parameter_cannot_send_people_off_site(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    page = client.get("/account/sign-in?next=//evil.example/")
    from tests.helpers import csrf_token_from

    response = client.post(
        "/account/sign-in?next=//evil.example/",
        data={
            "email": user.email,
            "password": "correct horse battery",
            "csrf_token": csrf_token_from(page.text),
        },
    )
    assert response.headers["Location"] == "/"


def test_register_race_gives_one_account(app: Flask) -> None:
    from pb_app.services.accounts import EmailTaken, register_user

    register_user("A", "same@example.org", "kettle garden lantern")
    with pytest.raises(EmailTaken):
        register_user("B", "SAME@example.org", "kettle garden lantern")
    assert _users() == 1
