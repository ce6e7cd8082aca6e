"""Property tests: whatever is posted to the kiosk's signed-ballot endpoint or the paper keying
form, the answer is a clear 4xx (or a success), never a 5xx, and a refusal stores nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from pb_app.extensions import db
from pb_app.models import Bid, Group, Kiosk, PaperEntry, Role, Round, User
from pb_app.services import kiosk as kiosks
from pb_app.services.codes import issue_codes
from tests.helpers import csrf_token_from, post_form
from tests.voting_helpers import ballot_count, open_round, refs

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
field_text = st.text(max_size=30) | st.sampled_from(["", "00001", "1", "-1", "💥", "x" * 500])


def test_any_body_sent_to_the_kiosk_cast_endpoint_is_a_clear_refusal(
    client: FlaskClient,
    make_round: Callable[..., Round],
    make_group: Callable[..., Group],
    make_bid: Callable[..., Bid],
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
) -> None:
    round_ = open_round(make_round, make_group, make_bid)
    round_id, choice = round_.id, refs(round_)[0]
    sign_in(make_user(Role.OFFICER))
    post_form(
        client,
        f"/staff/rounds/{round_id}/kiosk",
        {"venue": "Hall", "pin": "246810", "pin_again": "246810"},
    )
    (code,) = issue_codes(round_, count=1, label="p", actor=None)
    post_form(client, "/kiosk/code", {"code": code})
    post_form(client, "/kiosk/ballot", {"project": [choice]})
    token = csrf_token_from(client.get("/kiosk/check").text)
    kiosk = db.session.scalars(select(Kiosk)).one()
    db.session.rollback()

    def send(body: Any) -> None:
        response = client.post(
            "/kiosk/cast", data=json.dumps(body), headers={"X-CSRFToken": token},
            content_type="application/json",
        )  # fmt: skip
        assert 400 <= response.status_code < 500, response.text
        assert response.json["message"]
        assert ballot_count(round_id) == 0

    send({"message": "\ud800", "signature": "\ud800"})  # a lone surrogate, as JSON allows
    bodies = (
        json_values
        | st.fixed_dictionaries({"message": st.text(max_size=200), "signature": json_values})
        | st.text(max_size=40).map(
            lambda text: {"message": text, "signature": kiosks.sign(kiosk, text)}
        )
    )
    SETTINGS(given(body=bodies)(send))()


def test_any_paper_keying_is_a_clear_refusal_and_saves_nothing(
    client: FlaskClient,
    make_round: Callable[..., Round],
    make_group: Callable[..., Group],
    make_bid: Callable[..., Bid],
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
) -> None:
    round_ = open_round(make_round, make_group, make_bid)
    round_id = round_.id
    sign_in(make_user(Role.VOLUNTEER))
    path = f"/staff/rounds/{round_id}/paper/key"
    token = csrf_token_from(client.get(path).text)

    @SETTINGS
    @given(
        serial=field_text,
        code=field_text,
        projects=st.lists(st.text(max_size=6) | st.sampled_from(refs(round_)), max_size=4),
        extra=st.dictionaries(st.sampled_from(["rank-1", "score-P01", "points-P01"]), field_text),
    )
    def check(serial: str, code: str, projects: list[str], extra: dict[str, str]) -> None:
        data = {"csrf_token": token, "serial": serial, "code": code, "project": projects, **extra}
        response = client.post(path, data=data)
        assert response.status_code == 422, response.text
        assert "There is a problem" in response.text
        count = db.session.scalar(select(func.count()).select_from(PaperEntry))
        db.session.rollback()
        assert count == 0

    check()
