"""Resident voting pages over HTTP, with real CSRF tokens: every ballot type end to end."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from pb_app.extensions import db
from pb_app.models import Ballot, Bid, Group, Round, User
from pb_app.models._base import utcnow
from pb_app.services.codes import issue_codes
from tests.helpers import csrf_token_from, post_form

ADULT = {"dob_day": "27", "dob_month": "3", "dob_year": "1958"}
PERSON = {"full_name": "Rosa Resident", "postcode": "e8 1dy", **ADULT, "email": ""}

# ballot kind → (round columns, a valid ballot's form fields, what the check page then shows)
KINDS: dict[str, tuple[dict[str, Any], dict[str, Any], list[str]]] = {
    "knapsack": (
        {"max_sum_cost_pence": 5_000_00},
        {"project": ["P01", "P02"]},
        ["Project 1", "Project 2", "£3,000"],
    ),
    "approval": (
        {"min_length": 1, "max_length": 2, "max_sum_cost_pence": None},
        {"project": ["P01", "P03"]},
        ["Project 1", "Project 3"],
    ),
    "choose-1": ({"max_sum_cost_pence": None}, {"project": "P02"}, ["Project 2"]),
    "ordinal": (
        {"min_length": 1, "max_length": 2, "max_sum_cost_pence": None},
        {"rank-1": "P03", "rank-2": "P01"},
        ["Choice 1", "Project 3", "Choice 2", "Project 1"],
    ),
    "scoring": (
        {"min_points": 1, "max_points": 5, "max_sum_cost_pence": None},
        {"score-P01": "5", "score-P02": "1", "score-P03": "3"},
        ["Score: 5", "Score: 1", "Score: 3"],
    ),
    "cumulative": (
        {"max_sum_points": 10, "max_sum_cost_pence": None},
        {"points-P01": "6", "points-P02": "", "points-P03": "4"},
        ["6 points", "4 points", "10"],
    ),
}


@pytest.fixture
def voting_round(
    make_round: Callable[..., Round],
    make_group: Callable[..., Group],
    make_bid: Callable[..., Bid],
) -> Callable[..., Round]:
    """Factory: a round of ``kind`` in ``phase`` with three bids of £1,000, £2,000 and £3,000."""

    def make(kind: str = "knapsack", phase: str = "voting", **columns: Any) -> Round:
        columns.setdefault("postcode_areas", "E8")
        columns.setdefault("min_age", 18)
        round_ = make_round(phase=phase, ballot_kind=kind, **columns)
        for pounds in (1000, 2000, 3000):
            make_bid(round_, make_group(), lines=[("Costs", pounds * 100)])
        return round_

    return make


def _register(client: FlaskClient, slug: str, **answers: Any) -> Any:
    return post_form(client, f"/rounds/{slug}/vote/register", {**PERSON, **answers})


def _ballots() -> int:
    return db.session.scalar(select(func.count()).select_from(Ballot)) or 0


def _receipt(html: str) -> str:
    match = re.search(r'<strong class="receipt">([^<]+)</strong>', html)
    assert match, html
    return match.group(1)


def _texts(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize("kind", KINDS)
def test_resident_votes_end_to_end(
    client: FlaskClient, voting_round: Callable[..., Round], kind: str
) -> None:
    columns, answers, shown = KINDS[kind]
    round_ = voting_round(kind, **columns)
    base = f"/rounds/{round_.slug}/vote"

    start = client.get(base)
    assert start.status_code == 200
    assert "Use your voter code" in start.text
    assert "Check you can vote and register" in start.text

    response = _register(client, round_.slug)
    assert response.status_code == 302
    assert response.headers["Location"] == f"{base}/ballot"

    page = client.get(f"{base}/ballot")
    assert page.status_code == 200
    assert "/projects/P01" in page.text
    response = post_form(client, f"{base}/ballot", answers)
    assert response.status_code == 302, _texts(response.text)
    assert response.headers["Location"] == f"{base}/check"

    check = client.get(f"{base}/check")
    text = _texts(check.text)
    for expected in shown:
        assert expected in text
    assert "Change" in text
    # Change: back to the ballot, with the choices kept.
    again = client.get(f"{base}/ballot")
    for value in (
        v
        for values in answers.values()
        for v in ([values] if isinstance(values, str) else values)
        if v
    ):
        assert f'value="{value}"' in again.text
    assert (
        again.text.count(" checked") + again.text.count(" selected") + again.text.count('value="6"')
        > 0
    )
    assert _ballots() == 0  # nothing stored before confirmation

    response = post_form(client, f"{base}/check", {})
    assert response.status_code == 302
    assert response.headers["Location"] == f"{base}/done"
    assert _ballots() == 1
    done = client.get(f"{base}/done")
    assert "Your vote has been cast" in done.text
    receipt = _receipt(done.text)
    assert "What happens next" in done.text

    checker = client.get(f"/receipts?round={round_.slug}&receipt={receipt}")
    assert "This receipt is in the ballot log." in checker.text
    for project in ("Project 1", "Project 2", "Project 3"):
        assert project not in checker.text


def test_update_button_recomputes_the_total_without_javascript(
    client: FlaskClient, voting_round: Callable[..., Round]
) -> None:
    round_ = voting_round("knapsack", max_sum_cost_pence=5_000_00)
    _register(client, round_.slug)
    path = f"/rounds/{round_.slug}/vote/ballot"
    first = client.get(path)
    assert "£0 of £5,000 chosen, £5,000 left" in _texts(first.text)

    response = post_form(client, path, {"project": ["P01", "P02"], "update": "1"})
    assert response.status_code == 200
    assert "£3,000 of £5,000 chosen, £2,000 left" in _texts(response.text)
    assert "There is a problem" not in response.text
    response = post_form(client, path, {"project": ["P01", "P02", "P03"], "update": "1"})
    assert "£6,000 of £5,000 chosen, £1,000 over the limit" in _texts(response.text)
    assert _ballots() == 0


def test_points_total_is_recomputed_on_update(
    client: FlaskClient, voting_round: Callable[..., Round]
) -> None:
    round_ = voting_round("cumulative", max_sum_points=10, max_sum_cost_pence=None)
    _register(client, round_.slug)
    path = f"/rounds/{round_.slug}/vote/ballot"
    response = post_form(client, path, {"points-P01": "3", "points-P02": "4", "update": "1"})
    assert "7 of 10 points used, 3 left" in _texts(response.text)


INVALID: list[tuple[str, dict[str, Any], dict[str, Any], list[str]]] = [
    (
        "knapsack",
        {"max_sum_cost_pence": 5_000_00},
        {"project": ["P01", "P02", "P03"]},
        ["You have chosen £6,000 of projects; the limit is £5,000. Remove £1,000 or more."],
    ),
    ("knapsack", {}, {"project": ["NOPE"]}, ["One of your choices (NOPE) is not a project"]),
    (
        "approval",
        {"min_length": 1, "max_length": 2, "max_sum_cost_pence": None},
        {"project": ["P01", "P02", "P03"]},
        ["Choose at most 2 projects; you have chosen 3."],
    ),
    (
        "approval",
        {"min_length": 2, "max_length": 3, "max_sum_cost_pence": None},
        {"project": ["P01"]},
        ["Choose at least 2 projects; you have chosen 1."],
    ),
    ("choose-1", {"max_sum_cost_pence": None}, {}, ["Choose one project."]),
    (
        "choose-1",
        {"max_sum_cost_pence": None},
        {"project": ["P01", "P02"]},
        ["Choose only one project; you have chosen 2."],
    ),
    (
        "ordinal",
        {"min_length": 2, "max_length": 3, "max_sum_cost_pence": None},
        {"rank-1": "P01", "rank-2": "P01"},
        ["ranked &#39;Project 1&#39; more than once", "Rank at least 2 projects"],
    ),
    (
        "scoring",
        {"min_points": 1, "max_points": 5, "max_sum_cost_pence": None},
        {"score-P01": "5", "score-P02": "9"},
        [
            "Give &#39;Project 2&#39; a score from 1 to 5; you gave 9.",
            "&#39;Project 3&#39; has no score.",
        ],
    ),
    (
        "cumulative",
        {"max_sum_points": 10, "max_sum_cost_pence": None},
        {"points-P01": "8", "points-P02": "5", "points-P03": "lots"},
        [
            "You have given 13 points; the limit is 10. Remove 3 or more.",
            "Enter a whole number for &#39;Project 3&#39;, like 3; &#39;lots&#39; is not one.",
        ],
    ),
]


@pytest.mark.parametrize(
    ("kind", "columns", "answers", "messages"),
    INVALID,
    ids=[f"{kind}-{i}" for i, (kind, *_rest) in enumerate(INVALID)],
)
def test_invalid_ballot_lists_every_problem_and_stores_nothing(
    client: FlaskClient,
    voting_round: Callable[..., Round],
    kind: str,
    columns: dict[str, Any],
    answers: dict[str, Any],
    messages: list[str],
) -> None:
    round_ = voting_round(kind, **columns)
    _register(client, round_.slug)
    response = post_form(client, f"/rounds/{round_.slug}/vote/ballot", answers)
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert "<title>Error: " in response.text
    for message in messages:
        assert message in response.text
    assert re.search(r'<li><a href="#(project-\d|rank-1)">', response.text)
    assert client.get(f"/rounds/{round_.slug}/vote/check").status_code == 302
    assert _ballots() == 0


def test_group_member_sees_own_bid_disabled_and_cannot_vote_for_it(
    client: FlaskClient,
    make_round: Callable[..., Round],
    make_group: Callable[..., Group],
    make_bid: Callable[..., Bid],
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
) -> None:
    member = make_user()
    round_ = make_round(phase="voting", postcode_areas="E8")
    own = make_bid(round_, make_group(member), lines=[("Costs", 100_000)])
    make_bid(round_, make_group(), lines=[("Costs", 100_000)])
    sign_in(member)
    _register(client, round_.slug)
    page = client.get(f"/rounds/{round_.slug}/vote/ballot")
    assert "You cannot vote for your own group's bid." in page.text
    assert re.search(rf'value="{own.ref}"[^>]*disabled', page.text)

    response = post_form(client, f"/rounds/{round_.slug}/vote/ballot", {"project": [own.ref]})
    assert "because it is your own group&#39;s bid" in response.text
    assert _ballots() == 0


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        ({"dob_year": "2015"}, "You must be 18 or over to vote in this round."),
        ({"postcode": "SW9 7AB"}, "SW9 7AB is outside that area."),
    ],
    ids=["under-age", "outside-area"],
)
def test_ineligible_person_is_refused_in_plain_words(
    client: FlaskClient, voting_round: Callable[..., Round], answers: dict[str, str], reason: str
) -> None:
    round_ = voting_round()
    response = _register(client, round_.slug, **answers)
    assert response.status_code == 200
    assert "You cannot vote in this round" in response.text
    assert reason in response.text
    assert client.get(f"/rounds/{round_.slug}/vote/ballot").status_code == 302


def test_registration_form_errors_link_to_their_fields(
    client: FlaskClient, voting_round: Callable[..., Round]
) -> None:
    round_ = voting_round()
    response = _register(
        client, round_.slug, full_name="", postcode="nonsense", dob_day="31", dob_month="2"
    )
    assert response.status_code == 200
    text = response.text
    assert '<a href="#full_name">Enter your full name</a>' in text
    assert '<a href="#postcode">Enter a real UK postcode, like E8 1DY</a>' in text
    assert '<a href="#dob_day">Date of birth must be a real date, like 27 3 1958</a>' in text


@pytest.mark.parametrize("phase", ["review", "counting"])
def test_voting_outside_the_voting_phase_is_refused(
    client: FlaskClient, voting_round: Callable[..., Round], phase: str
) -> None:
    round_ = voting_round(phase=phase)
    base = f"/rounds/{round_.slug}/vote"
    for path in ("", "/register", "/code", "/ballot", "/check"):
        response = client.get(base + path)
        assert response.status_code == 403
        assert "Voting is not open" in response.text
    expected = "Voting opens on" if phase == "review" else "Voting in this round has closed"
    assert expected in client.get(base).text


def _vote(client: FlaskClient, slug: str, answers: dict[str, Any]) -> Any:
    post_form(client, f"/rounds/{slug}/vote/ballot", answers)
    return post_form(client, f"/rounds/{slug}/vote/check", {})


def test_session_forgets_the_identity_once_the_ballot_is_cast(
    client: FlaskClient, voting_round: Callable[..., Round]
) -> None:
    round_ = voting_round()
    _register(client, round_.slug)
    with client.session_transaction() as session:
        assert session["vote_identity"]["voter_id"]
    _vote(client, round_.slug, {"project": ["P01"]})
    with client.session_transaction() as session:
        assert "vote_identity" not in session
        assert "vote_draft" not in session
    response = client.get(f"/rounds/{round_.slug}/vote/ballot")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/rounds/{round_.slug}/vote"


def test_same_person_cannot_register_twice(
    client: FlaskClient, voting_round: Callable[..., Round]
) -> None:
    round_ = voting_round()
    _register(client, round_.slug)
    _vote(client, round_.slug, {"project": ["P01"]})
    response = _register(client, round_.slug)
    assert response.status_code == 200
    assert "You have already registered to vote in this round" in response.text


def test_signed_in_resident_voting_again_is_refused_politely(
    client: FlaskClient,
    voting_round: Callable[..., Round],
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
) -> None:
    round_ = voting_round()
    sign_in(make_user())
    _register(client, round_.slug)
    _vote(client, round_.slug, {"project": ["P01"]})
    # Told at the start of the flow, before filling in a ballot, not at confirmation.
    response = _register(client, round_.slug)
    assert response.status_code == 200
    assert "You have already voted" in response.text
    assert "Our records show you voted online on" in response.text
    assert "cannot be changed" in response.text
    start = client.get(f"/rounds/{round_.slug}/vote")
    assert "You have already voted" in start.text
    assert client.get(f"/rounds/{round_.slug}/vote/ballot").status_code == 302
    assert _ballots() == 1


def test_new_ballot_replaces_the_earlier_one_when_changes_are_allowed(
    client: FlaskClient,
    voting_round: Callable[..., Round],
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
) -> None:
    round_ = voting_round(allow_ballot_change=True)
    sign_in(make_user())
    _register(client, round_.slug)
    _vote(client, round_.slug, {"project": ["P01"]})
    first = client.get(f"/rounds/{round_.slug}/vote/done")
    assert "replaced" not in first.text
    _register(client, round_.slug)
    response = _vote(client, round_.slug, {"project": ["P02"]})
    assert response.status_code == 302
    done = client.get(f"/rounds/{round_.slug}/vote/done")
    assert "Your new vote has replaced the vote you cast before." in done.text
    assert _ballots() == 2


def test_voter_code_votes_once(client: FlaskClient, voting_round: Callable[..., Round]) -> None:
    round_ = voting_round()
    (code,) = issue_codes(round_, count=1, label="Event", actor=None)
    base = f"/rounds/{round_.slug}/vote"
    response = post_form(client, f"{base}/code", {"code": code.lower().replace("-", " ")})
    assert response.status_code == 302
    assert response.headers["Location"] == f"{base}/ballot"
    assert _vote(client, round_.slug, {"project": ["P03"]}).status_code == 302
    with client.session_transaction() as session:
        assert "vote_identity" not in session

    again = post_form(client, f"{base}/code", {"code": code})
    assert again.status_code == 200
    assert "You have already voted" in again.text
    assert "Our records show you voted online on" in again.text


def test_wrong_voter_code_gets_a_clear_message(
    client: FlaskClient, voting_round: Callable[..., Round]
) -> None:
    round_ = voting_round()
    response = post_form(client, f"/rounds/{round_.slug}/vote/code", {"code": "ABCD-EFGH-JK"})
    assert response.status_code == 200
    assert "That code is not right. Check it and type it again." in response.text
    assert client.get(f"/rounds/{round_.slug}/vote/ballot").status_code == 302


def test_receipt_checker_says_when_a_receipt_is_not_in_the_log(
    client: FlaskClient, voting_round: Callable[..., Round]
) -> None:
    round_ = voting_round()
    page = client.get("/receipts")
    assert page.status_code == 200
    assert round_.title in page.text
    response = client.get(f"/receipts?round={round_.slug}&receipt=AAAA-BBBB-CCCC")
    assert "This receipt is not in the ballot log." in response.text
    empty = client.get(f"/receipts?round={round_.slug}&receipt=")
    assert "Enter your receipt code" in empty.text


def test_ballot_post_without_csrf_token_is_refused(
    client: FlaskClient, voting_round: Callable[..., Round]
) -> None:
    round_ = voting_round()
    _register(client, round_.slug)
    response = client.post(f"/rounds/{round_.slug}/vote/ballot", data={"project": "P01"})
    assert response.status_code == 400
    assert _ballots() == 0


def test_repeated_wrong_codes_are_slowed_down(
    client: FlaskClient, voting_round: Callable[..., Round]
) -> None:
    round_ = voting_round()
    path = f"/rounds/{round_.slug}/vote/code"
    statuses = [post_form(client, path, {"code": "ABCD-EFGH-JK"}).status_code for _ in range(11)]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429


def test_confirming_after_voting_closed_stores_nothing(
    client: FlaskClient, voting_round: Callable[..., Round]
) -> None:
    round_ = voting_round()
    _register(client, round_.slug)
    post_form(client, f"/rounds/{round_.slug}/vote/ballot", {"project": ["P01"]})
    page = client.get(f"/rounds/{round_.slug}/vote/check")
    round_.closed_at = utcnow()
    db.session.commit()
    response = client.post(
        f"/rounds/{round_.slug}/vote/check", data={"csrf_token": csrf_token_from(page.text)}
    )
    assert response.status_code == 403
    assert "Voting in this round has closed" in response.text
    assert _ballots() == 0


FIELD_NAMES = st.sampled_from(
    ["project", "rank-1", "rank-2", "score-P01", "points-P01", "points-P02", "update", "x"]
)
FIELD_VALUES = st.one_of(
    st.sampled_from(["P01", "P02", "P03", "0", "-1", "99999999999", "", "1.5"]),
    st.text(max_size=30),
)


@pytest.mark.parametrize("kind", ["knapsack", "ordinal", "cumulative", "scoring"])
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fields=st.lists(st.tuples(FIELD_NAMES, FIELD_VALUES), max_size=8))
def test_any_ballot_form_gets_a_page_never_a_server_error(
    client: FlaskClient,
    voting_round: Callable[..., Round],
    kind: str,
    fields: list[tuple[str, str]],
) -> None:
    slug = f"round-{kind}"
    if db.session.scalar(select(Round).where(Round.slug == slug)) is None:
        voting_round(kind, slug=slug, max_sum_points=10, max_length=2, max_points=5)
        _register(client, slug)
    page = client.get(f"/rounds/{slug}/vote/ballot")
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value.replace("\x00", ""))
    response = client.post(
        f"/rounds/{slug}/vote/ballot", data={**data, "csrf_token": csrf_token_from(page.text)}
    )
    assert response.status_code in (200, 302)
    assert _ballots() == 0


def test_unknown_identity_at_confirmation_is_sent_back_to_the_start(
    client: FlaskClient, voting_round: Callable[..., Round]
) -> None:
    round_ = voting_round()
    with client.session_transaction() as session:
        session["vote_identity"] = {"round": round_.slug, "voter_id": 999_999}
    post_form(client, f"/rounds/{round_.slug}/vote/ballot", {"project": ["P01"]})
    response = post_form(client, f"/rounds/{round_.slug}/vote/check", {})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/rounds/{round_.slug}/vote"
    assert "We could not check who you are." in client.get(response.headers["Location"]).text
    assert _ballots() == 0


def test_knapsack_without_a_set_limit_is_capped_at_the_pot(
    client: FlaskClient, voting_round: Callable[..., Round]
) -> None:
    round_ = voting_round("knapsack", max_sum_cost_pence=None, pot_pence=4_000_00)
    assert "must not be more than £4,000" in client.get(f"/rounds/{round_.slug}/vote").text
    _register(client, round_.slug)
    page = client.get(f"/rounds/{round_.slug}/vote/ballot")
    assert "£0 of £4,000 chosen, £4,000 left" in _texts(page.text)
