"""Kiosk mode over real HTTP: opening it, voting by code or desk check, the signed send, leaving."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from pb_app.extensions import db
from pb_app.models import (
    AuditEvent,
    Ballot,
    Bid,
    Certification,
    Group,
    Kiosk,
    Participation,
    ResultSnapshot,
    Role,
    Round,
    User,
    Voter,
)
from pb_app.models._base import utcnow
from pb_app.services import kiosk as kiosks
from pb_app.services import voting
from pb_app.services.codes import issue_codes
from tests.helpers import csrf_token_from, post_form
from tests.live import serve
from tests.voting_helpers import ballot_count, open_round, participation_count, refs

PIN = "246810"


@pytest.fixture
def voting_round(
    make_round: Callable[..., Round],
    make_group: Callable[..., Group],
    make_bid: Callable[..., Bid],
) -> Round:
    return open_round(make_round, make_group, make_bid, postcode_areas="E8")


@pytest.fixture
def kiosk_client(
    client: FlaskClient,
    voting_round: Round,
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
) -> FlaskClient:
    """A device on which an officer has opened kiosk mode at "St Mark's hall"."""
    officer = make_user(Role.OFFICER, email="officer@example.org")
    sign_in(officer)
    response = post_form(
        client,
        f"/staff/rounds/{voting_round.id}/kiosk",
        {"venue": "St Mark's hall", "pin": PIN, "pin_again": PIN},
    )
    assert response.status_code == 302, response.text
    assert response.headers["Location"].endswith("/kiosk")
    return client


def _codes(round_: Round, count: int = 1) -> list[str]:
    codes = issue_codes(round_, count=count, label="Event", actor=None)
    db.session.rollback()
    return codes


def _vote_by_code(client: FlaskClient, round_: Round, code: str, choice: str) -> Any:
    response = post_form(client, "/kiosk/code", {"code": code})
    assert response.status_code == 302, response.text
    response = post_form(client, "/kiosk/ballot", {"project": [choice]})
    assert response.status_code == 302, response.text
    return post_form(client, "/kiosk/check", {})


def test_opening_kiosk_mode_signs_the_officer_out_and_sets_a_secure_cookie(
    kiosk_client: FlaskClient, voting_round: Round
) -> None:
    cookie = kiosk_client.get_cookie("pb_kiosk")
    assert cookie is not None
    assert cookie.http_only
    kiosk = db.session.scalars(select(Kiosk)).one()
    assert (kiosk.venue, kiosk.round_id) == ("St Mark's hall", voting_round.id)
    assert kiosk.closed_at is None
    assert kiosk.token_digest == kiosks.token_digest(cookie.value)
    assert kiosk.pin_hash.startswith("$argon2id$")
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "kiosk.opened")).one()
    db.session.rollback()
    start = kiosk_client.get("/kiosk")
    assert start.status_code == 200
    assert "Start with your voter code" in start.text
    assert "Signed in as" not in start.text
    assert start.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/staff/", "/staff/rounds/1/codes", "/account/sign-in", "/"])
def test_a_kiosk_cannot_reach_staff_or_other_pages(kiosk_client: FlaskClient, path: str) -> None:
    response = kiosk_client.get(path)
    assert response.status_code == 403
    assert "This device is a voting point" in response.text
    assert response.headers["Cache-Control"] == "no-store"


def test_a_weak_or_mismatched_pin_opens_nothing(
    client: FlaskClient,
    voting_round: Round,
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
) -> None:
    sign_in(make_user(Role.OFFICER))
    path = f"/staff/rounds/{voting_round.id}/kiosk"
    weak = post_form(client, path, {"venue": "Hall", "pin": "111111", "pin_again": "111111"})
    assert weak.status_code == 422
    assert "repeats the same few digits" in weak.text
    different = post_form(client, path, {"venue": "Hall", "pin": PIN, "pin_again": "135791"})
    assert different.status_code == 422
    assert "The two PINs are different" in different.text
    assert db.session.scalars(select(Kiosk)).first() is None
    assert client.get_cookie("pb_kiosk") is None


def test_residents_and_volunteers_cannot_open_kiosk_mode(
    client: FlaskClient,
    voting_round: Round,
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
) -> None:
    sign_in(make_user(Role.VOLUNTEER))
    assert client.get(f"/staff/rounds/{voting_round.id}/kiosk").status_code == 403


def test_a_voter_votes_by_code_at_the_kiosk(kiosk_client: FlaskClient, voting_round: Round) -> None:
    (code,) = _codes(voting_round)
    choice = refs(voting_round)[0]
    response = _vote_by_code(kiosk_client, voting_round, code, choice)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/kiosk/done")
    done = kiosk_client.get("/kiosk/done")
    assert "Your vote has been cast" in done.text
    assert done.headers["Cache-Control"] == "no-store"
    # Shown once: going back to it (or to the check page) shows nothing of this voter.
    assert kiosk_client.get("/kiosk/done").headers["Location"].endswith("/kiosk")
    assert kiosk_client.get("/kiosk/check").headers["Location"].endswith("/kiosk")
    ballot = db.session.scalars(select(Ballot)).one()
    assert (ballot.channel, ballot.venue, ballot.assisted) == ("kiosk", "St Mark's hall", False)
    assert json.loads(ballot.content)["projects"] == [choice]
    participation = db.session.scalars(select(Participation)).one()
    assert participation.channel == "kiosk"


def test_a_voter_can_read_a_bid_without_leaving_the_kiosk(
    kiosk_client: FlaskClient, voting_round: Round
) -> None:
    (code,) = _codes(voting_round)
    post_form(kiosk_client, "/kiosk/code", {"code": code})
    ballot = kiosk_client.get("/kiosk/ballot")
    ref = refs(voting_round)[0]
    assert f"/kiosk/projects/{ref}" in ballot.text
    assert f"/rounds/{voting_round.slug}/projects" not in ballot.text
    bid = kiosk_client.get(f"/kiosk/projects/{ref}")
    assert bid.status_code == 200
    assert "Back to your vote" in bid.text
    assert kiosk_client.get("/kiosk/projects/NOPE").status_code == 404


def test_a_used_code_is_refused_and_nothing_changes(
    kiosk_client: FlaskClient, voting_round: Round
) -> None:
    (code,) = _codes(voting_round)
    _vote_by_code(kiosk_client, voting_round, code, refs(voting_round)[0])
    again = post_form(kiosk_client, "/kiosk/code", {"code": code})
    assert again.status_code == 422
    assert "already been used to vote" in again.text
    wrong = post_form(kiosk_client, "/kiosk/code", {"code": "2345-6789-AB"})
    assert wrong.status_code == 422
    assert "That code is not right" in wrong.text
    assert ballot_count(voting_round.id) == 1
    assert kiosk_client.get("/kiosk/ballot").headers["Location"].endswith("/kiosk")


def test_an_over_budget_ballot_is_explained_and_not_cast(
    kiosk_client: FlaskClient, voting_round: Round
) -> None:
    voting_round.max_sum_cost_pence = 2_500_00
    db.session.commit()
    (code,) = _codes(voting_round)
    post_form(kiosk_client, "/kiosk/code", {"code": code})
    response = post_form(kiosk_client, "/kiosk/ballot", {"project": refs(voting_round)[1:]})
    assert response.status_code == 422
    assert "There is a problem" in response.text
    assert ballot_count(voting_round.id) == 0


def _desk(client: FlaskClient, staff: User, *, assisted: bool, name: str = "Ada Lovelace") -> Any:
    data = {
        "full_name": name,
        "postcode": "E8 1DY",
        "dob_day": "10",
        "dob_month": "12",
        "dob_year": "1950",
        "staff_email": staff.email,
        "staff_password": "correct horse battery",
    }
    if assisted:
        data["assisted"] = "y"
    return post_form(client, "/kiosk/desk", data)


def test_an_assisted_vote_records_the_volunteer_never_the_voter(
    kiosk_client: FlaskClient, voting_round: Round, make_user: Callable[..., User]
) -> None:
    volunteer = make_user(Role.VOLUNTEER, email="vol@example.org")
    response = _desk(kiosk_client, volunteer, assisted=True)
    assert response.status_code == 302, response.text
    post_form(kiosk_client, "/kiosk/ballot", {"project": [refs(voting_round)[0]]})
    assert post_form(kiosk_client, "/kiosk/check", {}).status_code == 302
    ballot = db.session.scalars(select(Ballot)).one()
    assert (ballot.channel, ballot.assisted, ballot.volunteer_id) == ("kiosk", True, volunteer.id)
    assert "Ada" not in ballot.content
    assert "E8" not in ballot.content
    turnout = kiosks.turnout(voting_round)
    assert turnout.by_channel == {"kiosk": 1}
    assert turnout.assisted_by_venue == {"St Mark's hall": 1}
    # The same person again, at the desk: refused, with how and when they voted.
    again = _desk(kiosk_client, volunteer, assisted=False)
    assert again.status_code == 422
    assert "This person has already voted at a voting point (" in again.text
    assert ballot_count(voting_round.id) == 1


def test_the_desk_check_needs_a_staff_password(
    kiosk_client: FlaskClient, voting_round: Round, make_user: Callable[..., User]
) -> None:
    resident = make_user(Role.RESIDENT)
    response = _desk(kiosk_client, resident, assisted=False)
    assert response.status_code == 422
    assert "not the email address and password of a volunteer or officer" in response.text
    assert kiosk_client.get("/kiosk/ballot").headers["Location"].endswith("/kiosk")
    failed = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "kiosk.staff_check_failed")
    ).one()
    assert failed.actor_id is None
    assert db.session.scalars(select(Voter)).first() is None


def test_a_desk_checked_person_outside_the_area_is_told_why(
    kiosk_client: FlaskClient, voting_round: Round, make_user: Callable[..., User]
) -> None:
    volunteer = make_user(Role.VOLUNTEER)
    response = post_form(
        kiosk_client,
        "/kiosk/desk",
        {
            "full_name": "Bo Far",
            "postcode": "SW9 7AB",
            "dob_day": "1",
            "dob_month": "2",
            "dob_year": "1960",
            "staff_email": volunteer.email,
            "staff_password": "correct horse battery",
        },
    )
    assert response.status_code == 422
    assert "This person cannot vote here" in response.text
    assert "SW9 7AB is outside that area" in response.text
    assert db.session.scalars(select(Voter)).first() is None


def _signed(client: FlaskClient, kiosk: Kiosk, message: str, signature: str | None = None) -> Any:
    page = client.get("/kiosk/check")
    token = csrf_token_from(page.text)
    body = {"message": message, "signature": signature or kiosks.sign(kiosk, message)}
    return client.post("/kiosk/cast", json=body, headers={"X-CSRFToken": token})


def test_a_signed_ballot_is_cast_once_and_a_replay_is_already_counted(
    kiosk_client: FlaskClient, voting_round: Round
) -> None:
    (code,) = _codes(voting_round)
    choice = refs(voting_round)[0]
    post_form(kiosk_client, "/kiosk/code", {"code": code})
    post_form(kiosk_client, "/kiosk/ballot", {"project": [choice]})
    kiosk = db.session.scalars(select(Kiosk)).one()
    message = json.dumps(
        {"kiosk": kiosk.id, "points": [], "projects": [choice]}, separators=(",", ":")
    )
    forged = _signed(kiosk_client, kiosk, message, signature="0" * 64)
    assert forged.status_code == 400
    assert forged.json["message"] == "The vote's signature is not right."
    other = json.dumps({"kiosk": kiosk.id, "points": [], "projects": [refs(voting_round)[1]]})
    assert _signed(kiosk_client, kiosk, other).status_code == 400  # not the ballot checked
    assert ballot_count(voting_round.id) == 0

    # The answer to the first send is "lost": the device still holds its old session cookie.
    session_cookie = kiosk_client.get_cookie("session")
    assert session_cookie is not None
    first = _signed(kiosk_client, kiosk, message)
    assert first.status_code == 200
    assert first.json["status"] == "counted"
    kiosk_client.set_cookie("session", session_cookie.value)
    replay = _signed(kiosk_client, kiosk, message)
    assert replay.status_code == 409
    assert replay.json["status"] == "already counted"
    assert ballot_count(voting_round.id) == 1


def test_a_vote_queued_for_longer_than_the_idle_time_still_counts(
    app: Flask, kiosk_client: FlaskClient, voting_round: Round
) -> None:
    (code,) = _codes(voting_round)
    choice = refs(voting_round)[0]
    post_form(kiosk_client, "/kiosk/code", {"code": code})
    post_form(kiosk_client, "/kiosk/ballot", {"project": [choice]})
    token = csrf_token_from(kiosk_client.get("/kiosk/check").text)
    kiosk = db.session.scalars(select(Kiosk)).one()
    message = json.dumps(
        {"kiosk": kiosk.id, "points": [], "projects": [choice]}, separators=(",", ":")
    )
    app.config["KIOSK_IDLE_SECONDS"] = -1  # the network came back long after "Confirm"
    body = {"message": message, "signature": kiosks.sign(kiosk, message)}
    response = kiosk_client.post("/kiosk/cast", json=body, headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert response.json["status"] == "counted"
    assert ballot_count(voting_round.id) == 1


def test_the_cast_endpoint_refuses_a_device_that_is_not_a_kiosk(client: FlaskClient) -> None:
    client.get("/")
    response = client.post("/kiosk/cast", json={"message": "{}", "signature": ""})
    assert response.status_code in (400, 403)
    assert client.get("/kiosk").status_code == 403


def test_a_wrong_pin_changes_nothing_and_the_right_pin_leaves_kiosk_mode(
    kiosk_client: FlaskClient,
) -> None:
    wrong = post_form(kiosk_client, "/kiosk/exit", {"pin": "999999"})
    assert wrong.status_code == 422
    assert "That PIN is not right" in wrong.text
    kiosk = db.session.scalars(select(Kiosk)).one()
    assert kiosk.closed_at is None
    assert db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "kiosk.exit_refused")
    ).one()
    db.session.rollback()
    right = post_form(kiosk_client, "/kiosk/exit", {"pin": PIN})
    assert right.status_code == 302
    assert right.headers["Location"].endswith("/account/sign-in")
    assert kiosk_client.get_cookie("pb_kiosk") is None
    db.session.refresh(kiosk)
    assert kiosk.closed_at is not None
    db.session.rollback()
    assert kiosk_client.get("/account/sign-in").status_code == 200


def test_a_kiosk_left_signed_in_overnight_is_no_longer_a_kiosk(
    kiosk_client: FlaskClient,
) -> None:
    kiosk = db.session.scalars(select(Kiosk)).one()
    kiosk.opened_at = utcnow() - timedelta(hours=17)
    db.session.commit()
    response = kiosk_client.get("/kiosk")
    assert response.status_code == 403
    assert "This device is not a voting point" in response.text


def test_wrong_pins_are_rate_limited(kiosk_client: FlaskClient) -> None:
    statuses = [
        post_form(kiosk_client, "/kiosk/exit", {"pin": "999999"}).status_code for _ in range(6)
    ]
    assert statuses[-1] == 429
    assert db.session.scalars(select(Kiosk)).one().closed_at is None


def test_an_idle_voter_is_forgotten_on_the_next_request(
    app: Flask, kiosk_client: FlaskClient, voting_round: Round
) -> None:
    (code,) = _codes(voting_round)
    post_form(kiosk_client, "/kiosk/code", {"code": code})
    app.config["KIOSK_IDLE_SECONDS"] = -1
    response = kiosk_client.get("/kiosk/ballot")
    assert response.headers["Location"].endswith("/kiosk")
    assert "went back to the start" in kiosk_client.get("/kiosk").text


def test_the_live_screen_is_off_by_default_then_shows_turnout_then_results(
    client: FlaskClient, voting_round: Round, make_user: Callable[..., User]
) -> None:
    assert client.get(f"/rounds/{voting_round.slug}/live").status_code == 404
    voting_round.live_event_screen = True
    db.session.commit()
    (code,) = _codes(voting_round)
    client.post(
        f"/api/v1/rounds/{voting_round.slug}/ballots",
        json={"code": code, "ballot": {"projects": [refs(voting_round)[0]]}},
    )
    live = client.get(f"/rounds/{voting_round.slug}/live")
    assert live.status_code == 200
    assert "1 people have voted" in live.text
    assert "Project" not in live.text  # no counts or projects while voting
    funder = make_user(Role.FUNDER)
    outcome = {"projects": [{"name": "Lunch club", "cost_text": "£1,000", "funded": True}]}
    snapshot = ResultSnapshot(
        round_id=voting_round.id,
        rule="greedy",
        options="{}",
        ballots_counted=1,
        chain_head="0" * 64,
        outcome=json.dumps(outcome),
        spent_pence=1_000_00,
        code_version="test",
    )
    db.session.add(snapshot)
    db.session.flush()
    db.session.add(
        Certification(
            round_id=voting_round.id,
            snapshot_id=snapshot.id,
            certified_by_id=funder.id,
            certified_by_name=funder.name,
            bundle_digest="0" * 64,
        )
    )
    voting_round.published_at = utcnow()
    db.session.commit()
    results = client.get(f"/rounds/{voting_round.slug}/live")
    assert "The projects funded" in results.text
    assert "Lunch club" in results.text
    assert participation_count(voting_round.id) == 1


def test_a_queued_ballot_sent_many_times_at_once_is_cast_once(
    app: Flask, kiosk_client: FlaskClient, voting_round: Round
) -> None:
    (code,) = _codes(voting_round)
    choice = refs(voting_round)[0]
    post_form(kiosk_client, "/kiosk/code", {"code": code})
    post_form(kiosk_client, "/kiosk/ballot", {"project": [choice]})
    token = csrf_token_from(kiosk_client.get("/kiosk/check").text)
    kiosk = db.session.scalars(select(Kiosk)).one()
    message = json.dumps(
        {"kiosk": kiosk.id, "points": [], "projects": [choice]}, separators=(",", ":")
    )
    body = json.dumps({"message": message, "signature": kiosks.sign(kiosk, message)}).encode()
    cookies = "; ".join(
        f"{name}={cookie.value}"
        for name in ("session", "pb_kiosk")
        if (cookie := kiosk_client.get_cookie(name)) is not None
    )
    round_id = voting_round.id
    db.session.rollback()  # hold no SQLite lock while the server works
    count = 8
    barrier = threading.Barrier(count)
    statuses: list[int] = []
    lock = threading.Lock()

    def send(base: str) -> None:
        request = urllib.request.Request(
            f"{base}/kiosk/cast",
            data=body,
            headers={"Content-Type": "application/json", "Cookie": cookies, "X-CSRFToken": token},
            method="POST",
        )
        barrier.wait(timeout=60)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        with lock:
            statuses.append(status)

    with serve(app) as base:
        threads = [threading.Thread(target=send, args=(base,)) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
    assert Counter(statuses) == {200: 1, 409: count - 1}, statuses
    assert ballot_count(round_id) == 1
    round_ = db.session.get(Round, round_id)
    assert round_ is not None
    assert voting.verify_log(round_).ok


def test_a_voter_can_choose_a_language_and_the_next_voter_starts_afresh(
    app: Flask, kiosk_client: FlaskClient
) -> None:
    app.config["PB_LANGUAGES"] = ["en", "cy"]
    start = kiosk_client.get("/kiosk")
    assert 'name="language"' in start.text
    chosen = post_form(
        kiosk_client, "/language", {"language": "cy", "next": "/kiosk"}, form_page="/kiosk"
    )
    assert chosen.status_code == 302
    assert chosen.headers["Location"] == "/kiosk"
    assert post_form(kiosk_client, "/kiosk/reset", {}, form_page="/kiosk").status_code == 302
    with kiosk_client.session_transaction() as session:
        assert "language" not in session


def test_an_officer_ends_a_lost_kiosk_from_another_device(
    app: Flask,
    kiosk_client: FlaskClient,
    voting_round: Round,
    make_user: Callable[..., User],
) -> None:
    kiosk = db.session.scalars(select(Kiosk)).one()
    db.session.rollback()
    laptop = app.test_client()
    officer = make_user(Role.OFFICER)
    assert (
        post_form(
            laptop,
            "/account/sign-in",
            {"email": officer.email, "password": "correct horse battery"},
        ).status_code
        == 302
    )
    page = laptop.get(f"/staff/rounds/{voting_round.id}/kiosk")
    assert "St Mark&#39;s hall, opened" in page.text
    path = f"/staff/rounds/{voting_round.id}/kiosk/{kiosk.id}/end"
    ended = post_form(laptop, path, {}, form_page=f"/staff/rounds/{voting_round.id}/kiosk")
    assert ended.status_code == 302
    assert "has ended" in laptop.get(ended.headers["Location"]).text
    assert kiosk_client.get("/kiosk").status_code == 403  # the tablet is a kiosk no more
    again = post_form(laptop, path, {}, form_page=f"/staff/rounds/{voting_round.id}/kiosk")
    assert "That voting point is not open" in laptop.get(again.headers["Location"]).text
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "kiosk.closed")).one()
    assert event.actor_id == officer.id
