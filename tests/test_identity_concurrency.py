"""One person, one ballot across channels, under parallel attempts released by one barrier.

Runs on SQLite and, with TEST_DATABASE_URL set, on PostgreSQL: the (round, identity) and
(round, voter) UNIQUE constraints decide, whichever channel gets there first.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from pb_app.extensions import db
from pb_app.models import Channel, Round, Voter
from pb_app.models._base import utcnow
from pb_app.services.codes import issue_codes_from_csv
from pb_app.services.eligibility import AlreadyRegistered, register_voter
from pb_app.services.identity import desk_check
from pb_app.services.voting import AlreadyVoted, cast_ballot, verify_log
from pb_app.tally.election import Ballot
from tests.live import serve
from tests.voting_helpers import ballot_count, open_round, participation_count, refs

pytestmark = pytest.mark.db

ADA = ("Ada Lovelace", "E8 1DY", date(1950, 12, 10))


@pytest.fixture
def identity_round(make_round: Any, make_group: Any, make_bid: Any) -> Round:
    """A round open for voting whose codes are bound to checked people."""
    return open_round(make_round, make_group, make_bid, code_mode="identity")


def run_together(tasks: list[Callable[[], str]]) -> list[str]:
    """Run every task in its own thread, all released at once by a barrier; their outcomes."""
    barrier = threading.Barrier(len(tasks))
    outcomes = [""] * len(tasks)

    def run(index: int) -> None:
        barrier.wait(timeout=60)
        try:
            outcomes[index] = tasks[index]()
        except Exception as error:  # an unexpected error is the test's finding
            outcomes[index] = f"error: {error!r}"

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(tasks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return outcomes


def _desk_then_cast(app: Flask, round_id: int, choice: str) -> Callable[[], str]:
    def task() -> str:
        with app.app_context():
            try:
                checked = desk_check(
                    round_id,
                    full_name=ADA[0],
                    postcode=ADA[1],
                    date_of_birth=ADA[2],
                    officer=None,
                    now=utcnow(),
                )
                cast_ballot(
                    round_id,
                    Ballot((choice,)),
                    voter_id=checked.voter_id,
                    channel=Channel.KIOSK,
                    venue="Hall",
                    now=utcnow(),
                )
            except AlreadyVoted:
                return "already voted"
            finally:
                db.session.remove()
            return "cast"

    return task


def _api_post(url: str, code: str, choice: str) -> Callable[[], str]:
    def task() -> str:
        body = json.dumps({"code": code, "ballot": {"projects": [choice]}}).encode()
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return str(response.status)
        except urllib.error.HTTPError as error:
            return str(error.code)

    return task


def test_bound_code_online_and_desk_checks_at_once_cast_one_ballot(
    app: Flask, identity_round: Round
) -> None:
    round_ = identity_round
    [issued] = issue_codes_from_csv(
        round_, "Ada Lovelace,E8 1DY,10/12/1950", label="Checked", actor=None, today=utcnow().date()
    )
    slug, round_id, choice = round_.slug, round_.id, refs(round_)[0]
    db.session.rollback()  # hold no SQLite lock while the server works
    with serve(app) as base:
        url = f"{base}/api/v1/rounds/{slug}/ballots"
        tasks = [_api_post(url, issued.code, choice) for _ in range(8)]
        tasks += [_desk_then_cast(app, round_id, choice) for _ in range(8)]
        outcomes = run_together(tasks)
    counts = Counter(outcomes)
    assert set(counts) <= {"201", "409", "cast", "already voted"}, counts
    assert counts["201"] + counts["cast"] == 1, counts
    assert ballot_count(round_id) == 1
    assert participation_count(round_id) == 1
    check = verify_log(db.session.get(Round, round_id))
    assert check.ok, check.reason


def test_registration_and_desk_checks_at_once_make_one_voter_and_one_ballot(
    app: Flask, identity_round: Round
) -> None:
    round_id, choice = identity_round.id, refs(identity_round)[0]
    db.session.rollback()

    def register_then_cast() -> str:
        with app.app_context():
            try:
                round_ = db.session.get(Round, round_id)
                assert round_ is not None
                voter = register_voter(
                    round_,
                    full_name=ADA[0],
                    postcode=ADA[1],
                    date_of_birth=ADA[2],
                    basis="lives",
                    today=utcnow().date(),
                )
                cast_ballot(
                    round_id,
                    Ballot((choice,)),
                    voter_id=voter.id,
                    channel=Channel.ONLINE,
                    now=utcnow(),
                )
            except AlreadyRegistered:
                return "already registered"
            except AlreadyVoted:
                return "already voted"
            finally:
                db.session.remove()
            return "cast"

    tasks = [register_then_cast for _ in range(6)]
    tasks += [_desk_then_cast(app, round_id, choice) for _ in range(6)]
    outcomes = run_together(tasks)
    counts = Counter(outcomes)
    assert set(counts) <= {"cast", "already voted", "already registered"}, counts
    assert counts["cast"] == 1, counts
    assert db.session.scalar(select(func.count()).select_from(Voter)) == 1
    assert ballot_count(round_id) == 1
    assert participation_count(round_id) == 1
