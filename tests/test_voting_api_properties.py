"""Property tests: whatever is posted to the ballot API, the answer is a clear 4xx or a 201,
never a 5xx, and a refused ballot stores nothing.

Hypothesis shares one app (and database) per test function; each example is independent
because it gets a fresh code of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pb_app.models import Round
from pb_app.services.codes import issue_codes
from pb_app.services.elections import election_for_round
from pb_app.tally.ballots import validate_ballot
from pb_app.tally.election import Ballot
from tests.voting_helpers import ballot_count, open_round, refs

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

junk_ids = st.text(max_size=12) | st.sampled_from(["", "P", "P99", "p01", "P01 ", "💥"])
huge = st.integers(1_000, 60_000).map(lambda n: "x" * n)
numbers = st.integers(-(10**6), 10**6) | st.integers(-(10**30), 10**30)
odd_values = (
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5)
    | st.lists(st.integers(), max_size=2)
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture
def voting(make_round: Any, make_group: Any, make_bid: Any) -> Callable[..., Round]:
    """Factory: a round open for voting with projects of £1,000, £2,000 and £3,000."""

    def make(**columns: Any) -> Round:
        return open_round(make_round, make_group, make_bid, **columns)

    return make


def check_reply(
    client: FlaskClient, round_: Round, body: Any, *, code: str | None = None
) -> tuple[int, dict[str, Any]]:
    """Post ``body`` (with a fresh code unless given); check the reply's form and the log."""
    slug, round_id = round_.slug, round_.id
    if code is None:
        [code] = issue_codes(round_, count=1, label="property", actor=None)
    if isinstance(body, dict) and "code" not in body:
        body = {"code": code, **body}
    before = ballot_count(round_id)
    response = client.post(f"/api/v1/rounds/{slug}/ballots", json=body)
    assert response.status_code < 500, response.text
    assert response.is_json
    reply = response.json
    after = ballot_count(round_id)
    if response.status_code == 201:
        assert after == before + 1
        assert reply["receipt"]
    else:
        assert 400 <= response.status_code < 500
        assert isinstance(reply["error"], str)
        assert reply["reasons"]
        assert all(isinstance(reason, str) and reason for reason in reply["reasons"])
        assert after == before, "a refused ballot must store nothing"
    return response.status_code, reply


def oracle(round_: Round, ballot: Ballot) -> bool:
    """Whether the pure validator accepts the ballot (what the API must agree with)."""
    election = election_for_round(round_)
    return not validate_ballot(
        election.ballot_type, ballot, election.projects, election.limits, unit=100, currency="GBP"
    )


@SETTINGS
@given(data=st.data())
def test_approval_ballots(
    app: Flask, client: FlaskClient, voting: Callable[..., Round], data: st.DataObject
) -> None:
    round_ = voting(ballot_kind="approval", max_sum_cost_pence=4_000_00, min_length=1, max_length=2)
    known = refs(round_)
    ids = data.draw(st.lists(st.sampled_from(known) | junk_ids | huge, max_size=6))
    status, reply = check_reply(client, round_, {"ballot": {"projects": ids}})
    if status in (201, 422):
        assert (status == 201) == oracle(round_, Ballot(tuple(ids)))
    if status == 422:
        assert len(reply["reasons"]) == len(reply["problems"])


@SETTINGS
@given(data=st.data())
def test_cumulative_ballots(
    app: Flask, client: FlaskClient, voting: Callable[..., Round], data: st.DataObject
) -> None:
    round_ = voting(
        ballot_kind="cumulative", max_sum_cost_pence=None, max_points=6, max_sum_points=10
    )
    known = refs(round_)
    points = data.draw(
        st.dictionaries(st.sampled_from(known) | junk_ids, numbers | odd_values, max_size=5)
    )
    status, _ = check_reply(client, round_, {"ballot": {"points": points}})
    well_typed = all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in points.values()
    )
    if not well_typed:
        assert status == 400
    elif status in (201, 422):
        ballot = Ballot(tuple(points), tuple(points.values()))
        assert (status == 201) == oracle(round_, ballot)


@SETTINGS
@given(data=st.data())
def test_scoring_ballots(
    app: Flask, client: FlaskClient, voting: Callable[..., Round], data: st.DataObject
) -> None:
    round_ = voting(ballot_kind="scoring", max_sum_cost_pence=None, min_points=1, max_points=5)
    known = refs(round_)
    points = data.draw(st.dictionaries(st.sampled_from(known) | junk_ids, numbers, max_size=4))
    status, _ = check_reply(client, round_, {"ballot": {"points": points}})
    if status in (201, 422):
        assert (status == 201) == oracle(round_, Ballot(tuple(points), tuple(points.values())))


@SETTINGS
@given(data=st.data())
def test_ranked_and_choose_one_ballots(
    app: Flask, client: FlaskClient, voting: Callable[..., Round], data: st.DataObject
) -> None:
    kind = data.draw(st.sampled_from(["ordinal", "choose-1"]))
    round_ = voting(ballot_kind=kind, max_sum_cost_pence=None, max_length=2)
    key = "ranking" if kind == "ordinal" else "projects"
    ids = data.draw(st.lists(st.sampled_from(refs(round_)) | junk_ids, max_size=5))
    status, _ = check_reply(client, round_, {"ballot": {key: ids}})
    if status in (201, 422):
        assert (status == 201) == oracle(round_, Ballot(tuple(ids)))


@SETTINGS
@given(body=json_values, wrap=st.booleans())
def test_any_json_body_gets_a_clear_answer(
    app: Flask, client: FlaskClient, voting: Callable[..., Round], body: Any, wrap: bool
) -> None:
    app.config["PB_API_CODE_GUESS_LIMIT"] = "100000 per minute"
    round_ = voting()
    payload = {"ballot": body} if wrap else body
    check_reply(client, round_, payload, code=None if wrap else "K7QM-4RXD-9T")


@SETTINGS
@given(data=st.data())
def test_a_replayed_code_is_refused_and_stores_nothing(
    app: Flask, client: FlaskClient, voting: Callable[..., Round], data: st.DataObject
) -> None:
    round_ = voting()
    [code] = issue_codes(round_, count=1, label="replay", actor=None)
    first = data.draw(st.sampled_from(refs(round_)))
    status, _ = check_reply(client, round_, {"ballot": {"projects": [first]}}, code=code)
    assert status == 201
    replay = data.draw(st.lists(st.sampled_from(refs(round_)), max_size=3))
    typed = data.draw(
        st.sampled_from([code, code.lower(), code.replace("-", " "), code.replace("-", "")])
    )
    status, _ = check_reply(client, round_, {"code": typed, "ballot": {"projects": replay}})
    assert status == 409
