"""Parallel submissions against a real threaded server: one ballot per code, no 5xx, chain intact.

Every test here runs on SQLite and, with TEST_DATABASE_URL set, on PostgreSQL (where
``SELECT … FOR UPDATE`` does the serialising that BEGIN IMMEDIATE does on SQLite).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from pb_app.extensions import db
from pb_app.models import Channel, Round
from pb_app.models._base import utcnow
from pb_app.services.codes import issue_codes
from pb_app.services.eligibility import register_voter
from pb_app.services.voting import AlreadyVoted, cast_ballot, verify_log
from pb_app.tally.election import Ballot
from tests.live import serve
from tests.voting_helpers import ballot_count, open_round, participation_count, refs


@pytest.fixture
def voting(make_round: Any, make_group: Any, make_bid: Any) -> Callable[..., Round]:
    """Factory: a round open for voting with three projects."""

    def make(**columns: Any) -> Round:
        return open_round(make_round, make_group, make_bid, **columns)

    return make


def post_all(url: str, bodies: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """POST every body at once (a barrier releases all threads together); statuses and JSON."""
    barrier = threading.Barrier(len(bodies))
    results: list[tuple[int, dict[str, Any]]] = [(0, {})] * len(bodies)

    def send(index: int) -> None:
        request = urllib.request.Request(
            url,
            data=json.dumps(bodies[index]).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        barrier.wait(timeout=60)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                results[index] = (response.status, json.loads(response.read()))
        except urllib.error.HTTPError as error:
            results[index] = (error.code, json.loads(error.read() or b"{}"))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return results


def verify_cli(app: Flask, slug: str) -> Any:
    return app.test_cli_runner().invoke(args=["verify", slug])


def test_same_code_twenty_times_at_once_casts_one_ballot(
    app: Flask, voting: Callable[..., Round]
) -> None:
    round_ = voting()
    [code] = issue_codes(round_, count=1, label="race", actor=None)
    slug, round_id, first = round_.slug, round_.id, refs(round_)[0]
    db.session.rollback()  # hold no SQLite lock while the server works
    with serve(app) as base:
        results = post_all(
            f"{base}/api/v1/rounds/{slug}/ballots",
            [{"code": code, "ballot": {"projects": [first]}}] * 20,
        )
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 409: 19}, statuses
    assert ballot_count(round_id) == 1
    assert participation_count(round_id) == 1
    outcome = verify_cli(app, slug)
    assert outcome.exit_code == 0, outcome.output
    assert "OK: 1 ballots" in outcome.output


def test_thirty_codes_at_once_give_thirty_receipts(
    app: Flask, voting: Callable[..., Round]
) -> None:
    round_ = voting()
    codes = issue_codes(round_, count=30, label="crowd", actor=None)
    slug, round_id, choices = round_.slug, round_.id, refs(round_)
    db.session.rollback()
    with serve(app) as base:
        results = post_all(
            f"{base}/api/v1/rounds/{slug}/ballots",
            [
                {"code": code, "ballot": {"projects": choices[i % 3 :][:1]}}
                for i, code in enumerate(codes)
            ],
        )
    assert [status for status, _ in results] == [201] * 30, results
    receipts = {body["receipt"] for _, body in results}
    assert len(receipts) == 30
    assert ballot_count(round_id) == 30
    check = verify_log(db.session.get(Round, round_id))
    assert check.ok, check.reason
    assert check.count == 30
    outcome = verify_cli(app, slug)
    assert outcome.exit_code == 0, outcome.output
    assert "OK: 30 ballots" in outcome.output


def test_one_voter_from_many_threads_casts_once(app: Flask, voting: Callable[..., Round]) -> None:
    from datetime import date

    round_ = voting()
    voter = register_voter(
        round_,
        full_name="Ada Lovelace",
        postcode="E8 1DY",
        date_of_birth=date(1950, 12, 10),
        basis="lives",
        today=date(2026, 6, 1),
    )
    round_id, voter_id, first = round_.id, voter.id, refs(round_)[0]
    db.session.rollback()
    threads_count = 12
    barrier = threading.Barrier(threads_count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def cast() -> None:
        with app.app_context():
            barrier.wait(timeout=60)
            try:
                cast_ballot(
                    round_id,
                    Ballot((first,)),
                    voter_id=voter_id,
                    channel=Channel.ONLINE,
                    now=utcnow(),
                )
                result = "cast"
            except AlreadyVoted:
                result = "already"
            except Exception as error:  # the test reports anything else
                result = f"error: {error!r}"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=cast) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert Counter(outcomes) == {"cast": 1, "already": threads_count - 1}, outcomes
    assert ballot_count(round_id) == 1
    assert verify_log(db.session.get(Round, round_id)).ok


def test_ballot_changes_in_parallel_keep_one_counted_ballot(
    app: Flask, voting: Callable[..., Round]
) -> None:
    from pb_app.services.voting import counted_ballots

    round_ = voting(allow_ballot_change=True)
    [code] = issue_codes(round_, count=1, label="changes", actor=None)
    slug, round_id, choices = round_.slug, round_.id, refs(round_)
    db.session.rollback()
    with serve(app) as base:
        results = post_all(
            f"{base}/api/v1/rounds/{slug}/ballots",
            [{"code": code, "ballot": {"projects": [choices[i % 3]]}} for i in range(10)],
        )
    assert [status for status, _ in results] == [201] * 10, results
    assert sum(not body["superseded"] for _, body in results) == 1
    round_ = db.session.get(Round, round_id)
    assert ballot_count(round_id) == 10
    assert len(counted_ballots(round_)) == 1
    assert participation_count(round_id) == 1
    assert verify_log(round_).ok


def test_the_same_person_registering_from_many_threads_is_registered_once(
    app: Flask, voting: Callable[..., Round]
) -> None:
    from datetime import date

    from sqlalchemy import func, select

    from pb_app.models import AuditEvent, Voter
    from pb_app.services.eligibility import AlreadyRegistered

    round_id = voting().id
    db.session.rollback()
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def register() -> None:
        with app.app_context():
            round_ = db.session.get(Round, round_id)
            db.session.commit()  # release SQLite's lock before waiting for the others
            barrier.wait(timeout=60)
            try:
                register_voter(
                    round_,
                    full_name="Grace Hopper",
                    postcode="E8 1DY",
                    date_of_birth=date(1946, 12, 9),
                    basis="lives",
                    today=date(2026, 6, 1),
                )
                result = "registered"
            except AlreadyRegistered:
                result = "refused"
            except Exception as error:  # the test reports anything else
                result = f"error: {error!r}"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=register) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert Counter(outcomes) == {"registered": 1, "refused": threads_count - 1}, outcomes
    assert db.session.scalar(select(func.count()).select_from(Voter)) == 1
    flagged = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "voter.duplicate_registration")
    )
    assert flagged == threads_count - 1
