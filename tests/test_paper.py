"""Paper ballots over real HTTP: numbered slips with codes, keyed twice, reconciled, spoilt."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from pb_app.extensions import db
from pb_app.models import (
    AuditEvent,
    Ballot,
    Bid,
    CodeBatch,
    Group,
    PaperBallot,
    PaperEntry,
    Role,
    Round,
    User,
)
from pb_app.services import voting
from tests.helpers import post_form
from tests.voting_helpers import ballot_count, open_round, refs

SLIP = re.compile(r"Ballot number (\d{5})</p>\s*<p class=\"paper-slip__code\">Code: ([0-9A-Z-]+)<")


@pytest.fixture
def voting_round(
    make_round: Callable[..., Round],
    make_group: Callable[..., Group],
    make_bid: Callable[..., Bid],
) -> Round:
    return open_round(make_round, make_group, make_bid)


@pytest.fixture
def officer(make_user: Callable[..., User], sign_in: Callable[[User], None]) -> User:
    user = make_user(Role.OFFICER)
    sign_in(user)
    return user


def _print(client: FlaskClient, round_: Round, count: int = 2) -> list[tuple[str, str]]:
    response = post_form(
        client, f"/staff/rounds/{round_.id}/paper", {"venue": "Town hall", "count": str(count)}
    )
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return SLIP.findall(response.text)


def _key(client: FlaskClient, round_: Round, serial: str, code: str, projects: list[str]) -> str:
    response = post_form(
        client,
        f"/staff/rounds/{round_.id}/paper/key",
        {"serial": serial, "code": code, "project": projects},
    )
    assert response.status_code == 302, response.text
    return client.get(response.headers["Location"]).text


def test_officer_prints_numbered_slips_each_with_a_paper_code(
    client: FlaskClient, officer: User, voting_round: Round
) -> None:
    slips = _print(client, voting_round, 3)
    assert [serial for serial, _ in slips] == ["00001", "00002", "00003"]
    assert len({code for _, code in slips}) == 3
    batch = db.session.scalars(select(CodeBatch)).one()
    assert (batch.purpose, batch.count) == ("paper", 3)
    papers = db.session.scalars(select(PaperBallot)).all()
    assert {p.status for p in papers} == {"blank"}
    assert all(p.voter_code_id is not None and p.venue == "Town hall" for p in papers)
    more = _print(client, voting_round, 1)
    assert more[0][0] == "00004"
    listing = client.get(f"/staff/rounds/{voting_round.id}/paper")
    assert "00004" in listing.text


def test_two_agreeing_entries_put_the_ballot_in_the_log(
    client: FlaskClient, officer: User, voting_round: Round
) -> None:
    (serial, code), _ = _print(client, voting_round)
    choice = refs(voting_round)[0]
    first = _key(client, voting_round, serial, code, [choice])
    assert "first entry saved" in first
    assert choice not in first.split("Key in a paper ballot")[1].split("<form")[0]
    assert ballot_count(voting_round.id) == 0
    second = _key(client, voting_round, serial, code, [choice])
    assert "both entries agree" in second
    ballot = db.session.scalars(select(Ballot)).one()
    assert (ballot.channel, ballot.venue) == ("paper", "Town hall")
    assert json.loads(ballot.content)["projects"] == [choice]
    paper = db.session.scalars(select(PaperBallot).where(PaperBallot.serial == serial)).one()
    assert paper.status == "counted"
    assert voting.verify_log(voting_round).ok
    db.session.rollback()
    third = post_form(
        client,
        f"/staff/rounds/{voting_round.id}/paper/key",
        {"serial": serial, "code": code, "project": [choice]},
    )
    assert third.status_code == 422
    assert "already been counted" in third.text
    assert ballot_count(voting_round.id) == 1


def test_disagreeing_entries_wait_for_an_officer_to_reconcile(
    client: FlaskClient,
    officer: User,
    voting_round: Round,
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
) -> None:
    (serial, code), _ = _print(client, voting_round)
    first, second = refs(voting_round)[:2]
    volunteer = make_user(Role.VOLUNTEER)
    sign_in(volunteer)
    _key(client, voting_round, serial, code, [first])
    page = _key(client, voting_round, serial, code, [second])
    assert "the two entries disagree" in page
    assert ballot_count(voting_round.id) == 0
    assert client.get(f"/staff/rounds/{voting_round.id}/paper/reconcile").status_code == 403
    entries = db.session.scalars(select(PaperEntry)).all()
    assert {e.entered_by_id for e in entries} == {volunteer.id}
    db.session.rollback()

    sign_in(officer)
    screen = client.get(f"/staff/rounds/{voting_round.id}/paper/reconcile")
    assert serial in screen.text
    path = f"/staff/rounds/{voting_round.id}/paper/reconcile"
    wrong_code = post_form(
        client, path, {"serial": serial, "code": "2345-6789-AB", "project": [first]}
    )
    assert wrong_code.status_code == 422
    assert "not the one printed on paper ballot" in wrong_code.text
    done = post_form(client, path, {"serial": serial, "code": code, "project": [first, second]})
    assert done.status_code == 302, done.text
    ballot = db.session.scalars(select(Ballot)).one()
    assert set(json.loads(ballot.content)["projects"]) == {first, second}
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "paper.reconciled")
    ).one()
    assert event.actor_id == officer.id
    assert ballot.channel == "paper"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"serial": "99999", "code": "2345-6789-AB"}, "There is no paper ballot number 99999"),
        ({"serial": "00001", "code": "2345-6789-AB"}, "not the one printed on paper ballot 00001"),
        ({"serial": "", "code": ""}, "Enter the ballot number"),
    ],
)
def test_a_bad_slip_is_explained_and_nothing_is_saved(
    client: FlaskClient,
    officer: User,
    voting_round: Round,
    fields: dict[str, str],
    message: str,
) -> None:
    _print(client, voting_round, 1)
    response = post_form(
        client,
        f"/staff/rounds/{voting_round.id}/paper/key",
        {**fields, "project": [refs(voting_round)[0]]},
    )
    assert response.status_code == 422
    assert message in response.text
    assert db.session.scalar(select(func.count()).select_from(PaperEntry)) == 0


def test_an_invalid_reading_is_explained_with_the_tallys_words(
    client: FlaskClient, officer: User, voting_round: Round
) -> None:
    voting_round.max_sum_cost_pence = 2_500_00
    db.session.commit()
    ((serial, code),) = _print(client, voting_round, 1)
    response = post_form(
        client,
        f"/staff/rounds/{voting_round.id}/paper/key",
        {"serial": serial, "code": code, "project": refs(voting_round)[1:]},
    )
    assert response.status_code == 422
    assert "There is a problem" in response.text
    assert db.session.scalar(select(func.count()).select_from(PaperEntry)) == 0


def test_a_spoilt_ballot_is_recorded_with_its_reason_and_never_counted(
    client: FlaskClient, officer: User, voting_round: Round
) -> None:
    ((serial, code),) = _print(client, voting_round, 1)
    path = f"/staff/rounds/{voting_round.id}/paper/spoil"
    no_reason = post_form(
        client,
        path,
        {"spoil-serial": serial, "spoil-code": code, "spoil-reason": ""},
        form_page=f"/staff/rounds/{voting_round.id}/paper/key",
    )
    assert no_reason.status_code == 422
    assert "Say why the ballot is spoilt" in no_reason.text
    response = post_form(
        client,
        path,
        {"spoil-serial": serial, "spoil-code": code, "spoil-reason": "Voter's name written on it"},
        form_page=f"/staff/rounds/{voting_round.id}/paper/key",
    )
    assert response.status_code == 302
    paper = db.session.scalars(select(PaperBallot)).one()
    assert (paper.status, paper.spoilt_reason) == ("spoilt", "Voter's name written on it")
    db.session.rollback()
    again = post_form(
        client,
        f"/staff/rounds/{voting_round.id}/paper/key",
        {"serial": serial, "code": code, "project": [refs(voting_round)[0]]},
    )
    assert again.status_code == 422
    assert "recorded as spoilt" in again.text
    assert ballot_count(voting_round.id) == 0


def test_only_staff_key_and_only_officers_print(
    client: FlaskClient,
    voting_round: Round,
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
) -> None:
    sign_in(make_user(Role.RESIDENT))
    assert client.get(f"/staff/rounds/{voting_round.id}/paper/key").status_code == 403
    sign_in(make_user(Role.VOLUNTEER))
    assert client.get(f"/staff/rounds/{voting_round.id}/paper/key").status_code == 200
    assert client.get(f"/staff/rounds/{voting_round.id}/paper").status_code == 403


def test_a_paper_ballots_code_cannot_vote_online_or_at_a_kiosk(
    client: FlaskClient, officer: User, voting_round: Round
) -> None:
    ((_serial, code),) = _print(client, voting_round, 1)
    response = client.post(
        f"/api/v1/rounds/{voting_round.slug}/ballots",
        json={"code": code, "ballot": {"projects": [refs(voting_round)[0]]}},
    )
    assert response.status_code == 401
    assert "paper ballot" in response.text
    online = post_form(client, f"/rounds/{voting_round.slug}/vote/code", {"code": code})
    assert online.status_code != 302
    assert "That code is not right" in online.text
    opened = post_form(
        client,
        f"/staff/rounds/{voting_round.id}/kiosk",
        {"venue": "Town hall", "pin": "246810", "pin_again": "246810"},
    )
    assert opened.status_code == 302
    kiosk = post_form(client, "/kiosk/code", {"code": code})
    assert kiosk.status_code == 422
    assert "That code belongs to a paper ballot" in kiosk.text
    assert ballot_count(voting_round.id) == 0


def test_paper_ballots_from_the_box_are_keyed_after_close_until_certification(
    client: FlaskClient,
    officer: User,
    voting_round: Round,
    make_user: Callable[..., User],
) -> None:
    from pb_app.models._base import utcnow
    from pb_app.services import results
    from pb_app.services.codes import issue_codes
    from pb_app.services.voting_errors import VotingClosed
    from pb_app.tally.election import Ballot as TallyBallot
    from tests.results_helpers import PASSWORD

    (serial, code), (late_serial, late_code) = _print(client, voting_round)
    online = issue_codes(voting_round, count=1, label="Online", actor=None)[0]
    choice = refs(voting_round)[0]
    results.close_voting(voting_round.id, actor=officer, now=utcnow())
    refused = post_form(
        client, f"/staff/rounds/{voting_round.id}/paper", {"venue": "Hall", "count": "1"}
    )
    assert "no more paper ballots can be printed" in refused.text
    with pytest.raises(VotingClosed):  # online voting stays closed
        voting.cast_ballot(
            voting_round.id,
            TallyBallot((choice,)),
            code=online,
            channel=voting.Channel.ONLINE,
            now=utcnow(),
        )
    _key(client, voting_round, serial, code, [choice])
    assert "both entries agree" in _key(client, voting_round, serial, code, [choice])
    assert ballot_count(voting_round.id) == 1
    snapshot = results.count_round(voting_round.id, actor=officer, now=utcnow())
    assert snapshot.ballots_counted == 1
    funder = make_user(Role.FUNDER, password=PASSWORD)
    results.certify(
        voting_round.id, funder=funder, password=PASSWORD, statement="Checked.", now=utcnow()
    )
    _key(client, voting_round, late_serial, late_code, [choice])
    late = post_form(
        client,
        f"/staff/rounds/{voting_round.id}/paper/key",
        {"serial": late_serial, "code": late_code, "project": [choice]},
    )
    assert "closed" in late.text
    assert ballot_count(voting_round.id) == 1
