"""One identity across channels: identity-bound codes, registration and desk checks resolve to
one Voter and at most one participation per person per round; officers check a person."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from pb_app.extensions import db
from pb_app.models import (
    AuditEvent,
    Channel,
    CodeBatch,
    Participation,
    Role,
    Round,
    User,
    Voter,
    VoterCode,
)
from pb_app.models._base import utcnow
from pb_app.services.codes import (
    CodesRefused,
    PeopleRefused,
    issue_bound_codes,
    issue_codes,
    read_people_csv,
)
from pb_app.services.eligibility import AlreadyRegistered, NotEligible, register_voter
from pb_app.services.identity import desk_check
from pb_app.services.voting import AlreadyVoted, CodeInvalid, cast_ballot
from pb_app.tally.election import Ballot
from tests.helpers import csrf_token_from, post_form
from tests.voting_helpers import ballot_count, open_round, participation_count, refs

pytestmark = pytest.mark.db

ADA = ("Ada Lovelace", "E8 1DY", date(1950, 12, 10))
TODAY = date.today()  # noqa: DTZ011 - ages are counted in local dates


def _count(model: type[Any]) -> int:
    count = db.session.scalar(select(func.count()).select_from(model)) or 0
    db.session.rollback()
    return int(count)


@pytest.fixture
def identity_round(make_round: Any, make_group: Any, make_bid: Any) -> Callable[..., Round]:
    """Factory: a round open for voting whose codes are bound to checked people."""

    def make(**columns: Any) -> Round:
        columns.setdefault("code_mode", "identity")
        return open_round(make_round, make_group, make_bid, **columns)

    return make


@pytest.fixture
def officer(make_user: Callable[..., User], sign_in: Callable[[User], None]) -> User:
    user = make_user(Role.OFFICER)
    sign_in(user)
    return user


def _bound_code(round_: Round, person: tuple[str, str, date] = ADA) -> str:
    people = read_people_csv(f"{person[0]},{person[1]},{person[2]:%d/%m/%Y}\n")
    [issued] = issue_bound_codes(round_, people, label="Checked", actor=None, today=TODAY)
    return issued.code


def _desk(round_id: int, person: tuple[str, str, date] = ADA) -> int:
    result = desk_check(
        round_id,
        full_name=person[0],
        postcode=person[1],
        date_of_birth=person[2],
        officer=None,
        now=utcnow(),
    )
    return result.voter_id


def _cast(round_: Round, **who: Any) -> None:
    channel = who.pop("channel", Channel.ONLINE)
    cast_ballot(round_.id, Ballot((refs(round_)[0],)), channel=channel, now=utcnow(), **who)


def _api(client: FlaskClient, round_: Round, code: str) -> Any:
    return client.post(
        f"/api/v1/rounds/{round_.slug}/ballots",
        json={"code": code, "ballot": {"projects": [refs(round_)[0]]}},
    )


# Identity-bound codes -----------------------------------------------------------------------


def test_a_bound_code_votes_as_its_person(identity_round: Callable[..., Round]) -> None:
    round_ = identity_round()
    code = _bound_code(round_)
    row = db.session.scalars(select(VoterCode)).one()
    voter = db.session.get(Voter, row.voter_id)
    assert voter is not None
    assert (voter.full_name, voter.postcode, voter.date_of_birth) == ADA
    _cast(round_, code=code, channel=Channel.API)
    participation = db.session.scalars(select(Participation)).one()
    assert (participation.voter_id, participation.voter_code_id) == (voter.id, row.id)


def test_officer_uploads_a_csv_of_checked_people_and_gets_named_slips(
    client: FlaskClient, officer: User, identity_round: Callable[..., Round]
) -> None:
    round_ = identity_round()
    path = f"/staff/rounds/{round_.id}/codes"
    page = client.get(path)
    assert "Issue codes for checked people" in page.text
    csv_file = (
        b"Name,Postcode,Date of birth\n"
        b"Ada Lovelace,e8 1dy,10/12/1950\n"
        b"Grace Hopper,E8 2AB,1956-12-09\n"
    )
    response = client.post(
        path,
        data={
            "csrf_token": csrf_token_from(page.text),
            "label": "Members",
            "purpose": "postal",
            "people": "",
            "people_file": (io.BytesIO(csv_file), "people.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert "For Ada Lovelace" in response.text
    assert "For Grace Hopper" in response.text
    assert response.text.count('class="slip"') == 2
    bound = db.session.scalar(
        select(func.count()).select_from(VoterCode).where(VoterCode.voter_id.is_not(None))
    )
    assert bound == 2
    assert _count(Voter) == 2
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "codes.issued")).one()
    assert event.actor_id == officer.id
    assert '"bound": true' in (event.after or "")


def test_people_pasted_without_a_header_are_read_in_order(identity_round: Any) -> None:
    people = read_people_csv("Ada Lovelace, E8 1DY, 10/12/1950\n\nGrace Hopper,E8 2AB,09.12.1956")
    assert [(p.row, p.full_name, p.date_of_birth) for p in people] == [
        (1, "Ada Lovelace", date(1950, 12, 10)),
        (3, "Grace Hopper", date(1956, 12, 9)),
    ]


def test_every_bad_row_is_named_and_nothing_is_saved(
    client: FlaskClient, officer: User, identity_round: Callable[..., Round]
) -> None:
    round_ = identity_round(postcode_areas="E8", min_age=50)
    register_voter(
        round_,
        full_name="Registered Person",
        postcode="E8 3AA",
        date_of_birth=date(1940, 1, 1),
        basis="lives",
        today=TODAY,
    )
    _bound_code(round_, ("Coded Person", "E8 4AA", date(1941, 2, 2)))
    before = (_count(Voter), _count(VoterCode), _count(CodeBatch))
    people = "\n".join(
        [
            "name,postcode,date of birth",
            "Ada Lovelace,E8 1DY,10/12/1950",  # row 2: fine
            ",E8 1DY,10/12/1950",  # row 3: no name
            "Bob Young,E8 1DY,01/01/2000",  # row 4: under 50
            "Carol Far,N1 9GU,01/01/1950",  # row 5: outside E8
            "Dan Date,E8 1DY,31/02/1950",  # row 6: not a date
            "ada  LOVELACE,e81dy,1950-12-10",  # row 7: the same person as row 2
            "registered person,E8 3AA,01/01/1940",  # row 8: already registered
            "Coded Person,E8 4AA,02/02/1941",  # row 9: already holds a code
            "Eve Postcode,NOTAPOSTCODE,01/01/1950",  # row 10: not a postcode
        ]
    )
    response = post_form(
        client, f"/staff/rounds/{round_.id}/codes", {"people": people, "purpose": "event"}
    )
    assert response.status_code == 200
    text = response.text
    for expected in (
        "Row 3: the name is missing.",
        "Row 4 (Bob Young): You must be 50 or over to vote in this round.",
        "Row 5 (Carol Far): This round is for people who live in E8; N1 9GU is outside that area.",
        "Row 6: the date of birth &#39;31/02/1950&#39; is not a date",
        "Row 7 (ada LOVELACE): the same person as row 2.",
        "Row 8 (registered person): is already registered to vote in this round",
        "Row 9 (Coded Person): already has a voter code for this round.",
        "Row 10 (Eve Postcode): Enter a real UK postcode",
    ):
        assert expected in text, expected
    assert "Row 2" not in text
    assert (_count(Voter), _count(VoterCode), _count(CodeBatch)) == before


def test_a_person_who_already_voted_gets_no_code(identity_round: Callable[..., Round]) -> None:
    round_ = identity_round()
    _cast(round_, voter_id=_desk(round_.id), channel=Channel.KIOSK, venue="St Mark's hall")
    with pytest.raises(PeopleRefused) as refused:
        _bound_code(round_)
    assert refused.value.problems == [
        f"Row 1 (Ada Lovelace): has already voted (at a voting point, on {utcnow().day} "
        f"{utcnow():%B %Y})."
    ]


def test_codes_for_people_need_an_identity_round_and_counts_need_an_anonymous_one(
    identity_round: Callable[..., Round],
) -> None:
    anonymous = identity_round(code_mode="anonymous")
    with pytest.raises(CodesRefused, match="set the round to identity-bound codes"):
        _bound_code(anonymous)
    bound = identity_round()
    with pytest.raises(CodesRefused, match="give the list of people"):
        issue_codes(bound, count=3, label="x", actor=None)


def test_an_anonymous_code_is_refused_in_an_identity_round(
    client: FlaskClient, identity_round: Callable[..., Round]
) -> None:
    round_ = identity_round(code_mode="anonymous")
    [code] = issue_codes(round_, count=1, label="Before the switch", actor=None)
    round_.code_mode = "identity"
    db.session.commit()
    response = _api(client, round_, code)
    assert response.status_code == 401
    assert "belongs to a named person" in response.json["reasons"][0]
    page = post_form(client, f"/rounds/{round_.slug}/vote/code", {"code": code})
    assert "every code belongs to a named person" in page.text
    assert ballot_count(round_.id) == 0


def test_anonymous_codes_still_work_in_an_anonymous_round(
    client: FlaskClient, identity_round: Callable[..., Round]
) -> None:
    round_ = identity_round(code_mode="anonymous")
    [code] = issue_codes(round_, count=1, label="Event", actor=None)
    assert _api(client, round_, code).status_code == 201
    assert _api(client, round_, code).status_code == 409


# Each pair of channels: the second attempt is refused --------------------------------------


def test_bound_code_then_registration_is_refused(
    client: FlaskClient, identity_round: Callable[..., Round]
) -> None:
    round_ = identity_round()
    code = _bound_code(round_)
    assert _api(client, round_, code).status_code == 201
    with pytest.raises(AlreadyRegistered):
        register_voter(
            round_,
            full_name="ADA lovelace",
            postcode="e81dy",
            date_of_birth=ADA[2],
            basis="lives",
            today=TODAY,
        )
    assert (ballot_count(round_.id), participation_count(round_.id)) == (1, 1)


def test_registered_online_voter_then_bound_code_is_refused(
    client: FlaskClient, identity_round: Callable[..., Round]
) -> None:
    round_ = identity_round()
    voter = register_voter(
        round_, full_name=ADA[0], postcode=ADA[1], date_of_birth=ADA[2], basis="lives", today=TODAY
    )
    _cast(round_, voter_id=voter.id)
    with pytest.raises(PeopleRefused, match="has already voted"):
        _bound_code(round_)
    assert (ballot_count(round_.id), participation_count(round_.id)) == (1, 1)


def test_bound_code_then_desk_check_is_refused_with_channel_and_day(
    client: FlaskClient, identity_round: Callable[..., Round]
) -> None:
    round_ = identity_round()
    code = _bound_code(round_)
    assert _api(client, round_, code).status_code == 201
    with pytest.raises(AlreadyVoted) as refused:
        _desk(round_.id, ("Ada Lovelace", "E8 1DY", ADA[2]))
    assert refused.value.channel == "api"
    assert refused.value.at.date() == utcnow().date()
    assert ballot_count(round_.id) == 1


def test_desk_check_then_bound_code_is_refused(
    client: FlaskClient, identity_round: Callable[..., Round]
) -> None:
    round_ = identity_round()
    code = _bound_code(round_)
    voter_id = _desk(round_.id)
    assert voter_id == db.session.scalars(select(VoterCode.voter_id)).one()  # the same person
    _cast(round_, voter_id=voter_id, channel=Channel.KIOSK, venue="Library")
    response = _api(client, round_, code)
    assert response.status_code == 409
    assert "at a voting point" in response.json["reasons"][0]
    page = post_form(client, f"/rounds/{round_.slug}/vote/code", {"code": code})
    assert "You have already voted" in page.text
    assert "at a voting point (Library) on" in page.text
    assert (ballot_count(round_.id), participation_count(round_.id)) == (1, 1)


def test_registration_then_desk_check_is_refused(identity_round: Callable[..., Round]) -> None:
    round_ = identity_round()
    voter = register_voter(
        round_, full_name=ADA[0], postcode=ADA[1], date_of_birth=ADA[2], basis="lives", today=TODAY
    )
    _cast(round_, voter_id=voter.id)
    with pytest.raises(AlreadyVoted) as refused:
        _desk(round_.id)
    assert refused.value.channel == "online"
    assert ballot_count(round_.id) == 1


def test_registered_but_not_voted_is_let_in_at_the_desk_as_the_same_voter(
    client: FlaskClient, identity_round: Callable[..., Round]
) -> None:
    round_ = identity_round()
    registered = register_voter(
        round_, full_name=ADA[0], postcode=ADA[1], date_of_birth=ADA[2], basis="lives", today=TODAY
    )
    result = desk_check(
        round_.id,
        full_name="ada lovelace",
        postcode="E81DY",
        date_of_birth=ADA[2],
        officer=None,
        now=utcnow(),
    )
    assert (result.voter_id, result.created) == (registered.id, False)
    _cast(round_, voter_id=result.voter_id, channel=Channel.KIOSK)
    with pytest.raises(AlreadyVoted):
        _cast(round_, voter_id=registered.id)  # the online session, later
    assert ballot_count(round_.id) == 1


def test_desk_check_then_registration_is_refused(identity_round: Callable[..., Round]) -> None:
    round_ = identity_round()
    _cast(round_, voter_id=_desk(round_.id), channel=Channel.KIOSK)
    with pytest.raises(AlreadyRegistered):
        register_voter(
            round_,
            full_name=ADA[0],
            postcode=ADA[1],
            date_of_birth=ADA[2],
            basis="lives",
            today=TODAY,
        )
    assert ballot_count(round_.id) == 1


def test_desk_check_refuses_an_ineligible_person_with_every_reason(
    identity_round: Callable[..., Round],
) -> None:
    round_ = identity_round(postcode_areas="E8", min_age=50)
    with pytest.raises(NotEligible) as refused:
        _desk(round_.id, ("Young Person", "N1 9GU", date(2001, 1, 1)))
    assert refused.value.problems == [
        "You must be 50 or over to vote in this round.",
        "This round is for people who live in E8; N1 9GU is outside that area.",
    ]
    assert _count(Voter) == 0


def test_desk_check_is_refused_outside_voting(make_round: Any) -> None:
    round_ = make_round("review")
    from pb_app.services.voting import VotingClosed

    with pytest.raises(VotingClosed, match="not opened yet"):
        _desk(round_.id)


def test_a_code_bound_to_someone_who_voted_elsewhere_is_spent(
    client: FlaskClient, identity_round: Callable[..., Round]
) -> None:
    round_ = identity_round()
    code = _bound_code(round_)
    _cast(round_, voter_id=_desk(round_.id), channel=Channel.KIOSK)
    with pytest.raises(AlreadyVoted):
        _cast(round_, code=code, channel=Channel.API)
    with pytest.raises(CodeInvalid):
        _cast(round_, code="2222-2222-22", channel=Channel.API)


# The officer's "check a person" screen ------------------------------------------------------


def _check(client: FlaskClient, round_: Round, name: str = ADA[0]) -> Any:
    return post_form(
        client,
        f"/staff/rounds/{round_.id}/check-person",
        {
            "full_name": name,
            "postcode": "e8 1dy",
            "dob_day": "10",
            "dob_month": "12",
            "dob_year": "1950",
        },
    )


def test_officer_checks_a_person_before_and_after_they_vote(
    client: FlaskClient, officer: User, identity_round: Callable[..., Round]
) -> None:
    round_ = identity_round()
    first = _check(client, round_)
    assert first.status_code == 200
    assert "Not voted yet" in first.text
    assert "Not registered in this round." in first.text
    _bound_code(round_)
    assert "Holds a voter code issued for them." in _check(client, round_).text
    _cast(round_, voter_id=_desk(round_.id), channel=Channel.KIOSK, venue="St Mark's hall")
    after = _check(client, round_, "ADA LOVELACE")
    assert "Already voted at a voting point (St Mark&#39;s hall) on" in after.text
    assert f"{utcnow().day} {utcnow():%B %Y}" in after.text
    checks = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "voter.checked")
    )
    assert checks == 3


def test_check_a_person_needs_an_officer_and_a_real_date(
    client: FlaskClient,
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
    identity_round: Callable[..., Round],
) -> None:
    round_ = identity_round()
    assert client.get(f"/staff/rounds/{round_.id}/check-person").status_code == 302
    sign_in(make_user(Role.VOLUNTEER))
    assert client.get(f"/staff/rounds/{round_.id}/check-person").status_code == 403
    sign_in(make_user(Role.OFFICER))
    response = post_form(
        client,
        f"/staff/rounds/{round_.id}/check-person",
        {
            "full_name": "Ada",
            "postcode": "E8 1DY",
            "dob_day": "31",
            "dob_month": "2",
            "dob_year": "1950",
        },
    )
    assert response.status_code == 200
    assert "Date of birth must be a real date" in response.text
    assert client.get("/staff/rounds/9999/check-person").status_code == 404


def test_officer_chooses_identity_codes_before_voting_and_not_after(
    app: Any, client: FlaskClient, officer: User, make_round: Any
) -> None:
    from tests.test_round_setup import form_of

    before = make_round("review")
    edit = f"/staff/rounds/{before.id}/edit"
    assert "Codes tied to a checked identity" in client.get(edit).text
    response = post_form(client, edit, form_of(app, before, code_mode="identity"))
    assert response.status_code == 302
    db.session.refresh(before)
    assert before.code_mode == "identity"

    during = make_round("voting")
    edit = f"/staff/rounds/{during.id}/edit"
    response = post_form(client, edit, form_of(app, during, code_mode="identity"))
    assert response.status_code == 200
    assert "the voter code mode" in response.text
    db.session.refresh(during)
    assert during.code_mode == "anonymous"


def test_a_code_withdrawn_mid_ballot_is_explained_and_casts_nothing(
    client: FlaskClient, identity_round: Callable[..., Round]
) -> None:
    from pb_app.services.codes import void_batch

    round_ = identity_round()
    code = _bound_code(round_)
    base = f"/rounds/{round_.slug}/vote"
    assert post_form(client, f"{base}/code", {"code": code}).status_code == 302
    post_form(client, f"{base}/ballot", {"project": [refs(round_)[0]]})
    batch = db.session.scalars(select(CodeBatch)).one()
    void_batch(round_, batch.id, reason="Wrong addresses", actor=None, now=utcnow())
    response = post_form(client, f"{base}/check", {})
    assert response.status_code == 302
    assert response.headers["Location"] == f"{base}/code"
    page = client.get(f"{base}/code")
    assert "This code was withdrawn on" in page.text
    assert ballot_count(round_.id) == 0


def test_people_upload_that_is_not_utf8_is_refused(
    client: FlaskClient, officer: User, identity_round: Callable[..., Round]
) -> None:
    round_ = identity_round()
    path = f"/staff/rounds/{round_.id}/codes"
    page = client.get(path)
    response = client.post(
        path,
        data={
            "csrf_token": csrf_token_from(page.text),
            "purpose": "event",
            "people_file": (io.BytesIO(b"\xff\xfe\x00A\x00d\x00a"), "people.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "Save the file as CSV (UTF-8)" in response.text
    assert _count(CodeBatch) == 0


def test_desk_check_lets_a_voter_change_their_ballot_where_the_round_allows_it(
    identity_round: Callable[..., Round],
) -> None:
    round_ = identity_round(allow_ballot_change=True)
    voter = register_voter(
        round_, full_name=ADA[0], postcode=ADA[1], date_of_birth=ADA[2], basis="lives", today=TODAY
    )
    _cast(round_, voter_id=voter.id)
    result = desk_check(
        round_.id,
        full_name=ADA[0],
        postcode=ADA[1],
        date_of_birth=ADA[2],
        officer=None,
        now=utcnow(),
    )
    assert result.voter_id == voter.id
    assert result.voted is not None
    assert result.voted.channel == "online"
    _cast(round_, voter_id=result.voter_id, channel=Channel.KIOSK)
    assert (ballot_count(round_.id), participation_count(round_.id)) == (2, 1)
