"""Pages everyone sees: home, errors, headers; and who may open staff pages."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from pb_app.models import Role, User
from pb_app.models._base import utcnow
from pb_app.services.demo import create_demo
from tests.helpers import make_test_app


def test_home_lists_rounds_with_their_phase(app: Flask, client: FlaskClient) -> None:
    create_demo(utcnow())
    page = client.get("/").text
    assert "Ageing Better small grants" in page
    assert "Voting open" in page
    assert "£50,000" in page


def test_home_says_when_there_are_no_rounds(client: FlaskClient) -> None:
    assert "There are no rounds yet." in client.get("/").text


def test_security_headers_are_set(client: FlaskClient) -> None:
    headers = client.get("/").headers
    csp = headers["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_missing_page_is_friendly(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert '<a href="#main" class="skip-link">' in response.text


def test_unexpected_error_shows_no_details(database_url: str) -> None:
    app = make_test_app(database_url, TESTING=False)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.text
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (None, 302),
        (Role.RESIDENT, 403),
        (Role.VOLUNTEER, 403),
        (Role.OFFICER, 200),
        (Role.FUNDER, 200),
        (Role.ADMIN, 200),
    ],
)
def test_staff_dashboard_is_for_staff_only(
    client: FlaskClient,
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
    role: Role | None,
    status: int,
) -> None:
    if role is not None:
        sign_in(make_user(role))
    response = client.get("/staff/")
    assert response.status_code == status
    if status == 302:
        assert "/account/sign-in" in response.headers["Location"]
    if status == 403:
        assert "You cannot see this page" in response.text


def test_language_choice_only_accepts_offered_languages(client: FlaskClient) -> None:
    from tests.helpers import post_form

    assert (
        post_form(client, "/language", {"language": "xx"}, form_page="/account/sign-in").status_code
        == 400
    )
    response = post_form(
        client,
        "/language",
        {"language": "en", "next": "//evil.example"},
        form_page="/account/sign-in",
    )
    assert response.headers["Location"] == "/"


def test_a_round_in_voting_links_to_the_ballot(app: Flask, client: FlaskClient) -> None:
    create_demo(utcnow())
    vote_path = "/rounds/ageing-better-small-grants/vote"
    assert f'href="{vote_path}"' in client.get("/").text
    assert f'href="{vote_path}"' in client.get("/rounds/ageing-better-small-grants").text
    assert client.get(vote_path).status_code == 200
