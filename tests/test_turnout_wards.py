"""Turnout by ward: a resident's own answer at registration, or the ward a code batch went to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from pb_app.extensions import db
from pb_app.models import Bid, CodeBatch, Group, Participation, Round, User, Voter
from pb_app.models._base import utcnow
from pb_app.models.voting import Channel
from pb_app.services.codes import issue_codes
from pb_app.services.results_view import turnout
from pb_app.services.voting import cast_ballot
from pb_app.tally.election import Ballot
from tests.helpers import post_form

PERSON = {
    "full_name": "Rosa Resident",
    "postcode": "E8 1DY",
    "dob_day": "27",
    "dob_month": "3",
    "dob_year": "1958",
}


def _round(
    make_round: Callable[..., Round], make_group: Callable[..., Group], make_bid: Callable[..., Bid]
) -> Round:
    round_ = make_round(
        phase="voting", ballot_kind="approval", postcode_areas="E8", max_sum_cost_pence=None
    )
    make_bid(round_, make_group(), lines=[("Costs", 1_000_00)])
    return round_


def _ward(round_: Round, name: str) -> int:
    return next(w.id for w in round_.wards if w.name == name)


def test_a_resident_says_which_ward_they_live_in_and_their_vote_counts_there(
    client: FlaskClient,
    make_round: Callable[..., Round],
    make_group: Callable[..., Group],
    make_bid: Callable[..., Bid],
) -> None:
    round_ = _round(make_round, make_group, make_bid)
    base = f"/rounds/{round_.slug}/vote"
    page = client.get(f"{base}/register").text
    assert "Which ward do you live in? (optional)" in page
    assert "I don&#39;t know, or I&#39;d rather not say" in page
    north = _ward(round_, "North")
    response = post_form(client, f"{base}/register", {**PERSON, "ward": str(north)})
    assert response.status_code == 302
    voter = db.session.scalar(select(Voter))
    assert voter is not None
    assert voter.ward_id == north
    assert post_form(client, f"{base}/ballot", {"project": ["P01"]}).status_code == 302
    assert post_form(client, f"{base}/check", {}).status_code == 302
    participation = db.session.scalar(select(Participation))
    assert participation is not None
    assert participation.ward_id == north
    cells = {cell.label: cell.shown for cell in turnout(round_).by_ward}
    assert cells["North"] == "fewer than 10"


def test_the_ward_question_may_be_left_blank_but_not_made_up(
    client: FlaskClient,
    make_round: Callable[..., Round],
    make_group: Callable[..., Group],
    make_bid: Callable[..., Bid],
) -> None:
    round_ = _round(make_round, make_group, make_bid)
    path = f"/rounds/{round_.slug}/vote/register"
    refused = post_form(client, path, {**PERSON, "ward": "999999"})
    assert refused.status_code == 200
    assert "Not a valid choice" in refused.text
    assert db.session.scalar(select(func.count()).select_from(Voter)) == 0
    assert post_form(client, path, {**PERSON, "ward": ""}).status_code == 302
    voter = db.session.scalar(select(Voter))
    assert voter is not None
    assert voter.ward_id is None


def test_codes_sent_to_one_ward_count_in_that_wards_turnout(
    client: FlaskClient,
    make_round: Callable[..., Round],
    make_group: Callable[..., Group],
    make_bid: Callable[..., Bid],
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
) -> None:
    from pb_app.models import Role

    round_ = _round(make_round, make_group, make_bid)
    south = _ward(round_, "South")
    sign_in(make_user(Role.OFFICER))
    page = f"/staff/rounds/{round_.id}/codes"
    assert "Ward (optional)" in client.get(page).text
    data: dict[str, Any] = {"label": "Postal, South", "count": "12", "purpose": "postal"}
    response = post_form(client, page, {**data, "ward": str(south)})
    assert response.status_code == 200
    batch = db.session.scalar(select(CodeBatch))
    assert batch is not None
    assert batch.ward_id == south
    codes = issue_codes(round_, count=12, label="More", actor=None, ward_id=south)
    for code in codes:
        cast_ballot(round_.id, Ballot(("P01",)), code=code, channel=Channel.ONLINE, now=utcnow())
    cells = {cell.label: cell.shown for cell in turnout(round_).by_ward}
    assert cells["South"] == "12"
    bad = post_form(client, page, {**data, "ward": "not-a-ward"})
    assert "Not a valid choice" in bad.text
    assert db.session.scalar(select(func.count()).select_from(CodeBatch)) == 2
