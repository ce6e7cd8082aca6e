"""Casting ballots: one person one ballot, secrecy of the log, changes, closed rounds, faults."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from pb_app.extensions import db
from pb_app.ledger import genesis_hash
from pb_app.models import Ballot, ChainHead, Channel, Participation, Round, VoterCode
from pb_app.models._base import utcnow
from pb_app.services.codes import issue_codes
from pb_app.services.elections import election_for_round, excluded_refs
from pb_app.services.eligibility import register_voter
from pb_app.services.voting import (
    AlreadyVoted,
    BallotInvalid,
    CodeInvalid,
    NotRegistered,
    VotingClosed,
    ballot_counts_visible,
    cast_ballot,
    counted_ballots,
    live_totals,
    receipt_in_log,
    verify_log,
)
from pb_app.tally.election import Ballot as TallyBallot
from pb_app.tally.election import BallotType
from tests.voting_helpers import ballot_count, open_round, participation_count, refs


@pytest.fixture
def voting(make_round: Any, make_group: Any, make_bid: Any) -> Callable[..., Round]:
    """Factory: a round open for voting with projects of £1,000, £2,000 and £3,000."""

    def make(**columns: Any) -> Round:
        return open_round(make_round, make_group, make_bid, **columns)

    return make


def voter_in(round_: Round, name: str = "Ada Lovelace") -> int:
    voter = register_voter(
        round_,
        full_name=name,
        postcode="E8 1DY",
        date_of_birth=date(1950, 12, 10),
        basis="lives",
        today=date(2026, 6, 1),
    )
    return voter.id


def one(round_: Round) -> TallyBallot:
    return TallyBallot((refs(round_)[0],))


def test_a_code_casts_one_ballot_and_the_chain_verifies(voting: Callable[..., Round]) -> None:
    round_ = voting()
    [code] = issue_codes(round_, count=1, label="Test", actor=None)
    result = cast_ballot(round_.id, one(round_), code=code, channel=Channel.API, now=utcnow())
    assert result.seq == 1
    assert not result.superseded
    assert receipt_in_log(round_, result.receipt)
    assert receipt_in_log(round_, result.receipt.lower().replace("-", " "))
    assert not receipt_in_log(round_, "AAAA-BBBB-CCCC")
    check = verify_log(round_)
    assert check.ok, check.reason
    assert check.count == 1
    with pytest.raises(AlreadyVoted):
        cast_ballot(round_.id, one(round_), code=code, channel=Channel.API, now=utcnow())
    assert ballot_count(round_.id) == 1


def test_the_stored_ballot_names_no_person_and_no_time(voting: Callable[..., Round]) -> None:
    round_ = voting()
    voter_id = voter_in(round_)
    now = utcnow()
    cast_ballot(
        round_.id,
        TallyBallot(tuple(reversed(refs(round_)[:2]))),
        voter_id=voter_id,
        channel=Channel.KIOSK,
        venue="Town hall",
        assisted=True,
        volunteer_id=7,
        now=now,
    )
    stored = db.session.scalars(select(Ballot).where(Ballot.round_id == round_.id)).one()
    content = json.loads(stored.content)
    assert content == {
        "v": 1,
        "type": "approval",
        "projects": sorted(refs(round_)[:2]),
        "points": [],
        "channel": "kiosk",
        "venue": "Town hall",
        "assisted": True,
        "volunteer": 7,
        "supersedes": None,
        "change": None,
    }
    participation = db.session.scalars(select(Participation)).one()
    # Only the day is kept, and the id is random, so neither orders participations like ballots.
    assert participation.at == now.replace(hour=0, minute=0, second=0, microsecond=0)
    assert participation.channel == "kiosk"
    assert stored.prev_hash == genesis_hash(round_.slug)


def test_one_identity_across_channels(voting: Callable[..., Round]) -> None:
    round_ = voting()
    voter_id = voter_in(round_)
    [code] = issue_codes(round_, count=1, label="Bound", actor=None)
    bound = db.session.scalars(select(VoterCode).where(VoterCode.round_id == round_.id)).one()
    bound.voter_id = voter_id
    db.session.commit()
    cast_ballot(round_.id, one(round_), voter_id=voter_id, channel=Channel.ONLINE, now=utcnow())
    with pytest.raises(AlreadyVoted) as refused:
        cast_ballot(round_.id, one(round_), code=code, channel=Channel.PAPER, now=utcnow())
    assert refused.value.channel == "online"
    assert "already voted" in str(refused.value)
    assert ballot_count(round_.id) == 1


def test_a_voter_of_another_round_cannot_vote_here(voting: Callable[..., Round]) -> None:
    round_, other = voting(), voting()
    stranger = voter_in(other)
    with pytest.raises(NotRegistered):
        cast_ballot(round_.id, one(round_), voter_id=stranger, channel=Channel.ONLINE, now=utcnow())
    with pytest.raises(CodeInvalid):
        cast_ballot(round_.id, one(round_), code="K7QM-4RXD-9T", channel=Channel.API, now=utcnow())
    with pytest.raises(CodeInvalid):
        cast_ballot(round_.id, one(round_), channel=Channel.API, now=utcnow())
    assert ballot_count(round_.id) == 0


@pytest.mark.parametrize(("phase", "words"), [("review", "opens on"), ("counting", "closed on")])
def test_outside_the_voting_phase_nothing_is_stored(
    voting: Callable[..., Round], phase: str, words: str
) -> None:
    round_ = voting(phase=phase)
    [code] = issue_codes(round_, count=1, label="Early", actor=None)
    with pytest.raises(VotingClosed, match=words):
        cast_ballot(round_.id, one(round_), code=code, channel=Channel.API, now=utcnow())
    assert ballot_count(round_.id) == 0
    assert participation_count(round_.id) == 0


def test_an_invalid_ballot_gives_every_reason_and_stores_nothing(
    voting: Callable[..., Round],
) -> None:
    round_ = voting(max_sum_cost_pence=2_500_00, max_length=1)
    [code] = issue_codes(round_, count=1, label="Bad", actor=None)
    with pytest.raises(BallotInvalid) as refused:
        cast_ballot(
            round_.id,
            TallyBallot((*refs(round_), "NOPE")),
            code=code,
            channel=Channel.API,
            now=utcnow(),
        )
    assert {p.code for p in refused.value.problems} == {
        "unknown-project",
        "too-many",
        "cost-too-high",
    }
    assert ballot_count(round_.id) == 0
    assert participation_count(round_.id) == 0


def test_a_group_member_cannot_vote_for_their_own_bid(
    voting: Callable[..., Round], make_user: Any, make_group: Any, make_bid: Any
) -> None:
    round_ = voting()
    member = make_user()
    own = make_bid(round_, make_group(member), lines=[("Kit", 500_00)])
    excluded = excluded_refs(round_, member)
    assert excluded == {own.ref}
    assert excluded_refs(round_, None) == set()
    voter_id = voter_in(round_)
    with pytest.raises(BallotInvalid) as refused:
        cast_ballot(
            round_.id,
            TallyBallot((own.ref,)),
            voter_id=voter_id,
            channel=Channel.ONLINE,
            excluded=excluded,
            now=utcnow(),
        )
    assert [p.code for p in refused.value.problems] == ["own-bid"]


def test_election_for_round_maps_bids_and_limits(voting: Callable[..., Round]) -> None:
    round_ = voting(ballot_kind="ordinal", max_sum_cost_pence=None, max_length=2)
    election = election_for_round(round_)
    assert election.ballot_type is BallotType.ORDINAL
    assert [p.id for p in election.projects] == refs(round_)
    assert [p.cost for p in election.projects] == [1_000_00, 2_000_00, 3_000_00]
    assert election.limits.max_length == 2
    assert (election.unit, election.currency, election.budget) == (100, "GBP", 10_000_00)
    knapsack = election_for_round(voting(max_sum_cost_pence=None))
    assert knapsack.ballot_type is BallotType.APPROVAL
    assert knapsack.limits.max_sum_cost == 10_000_00


def test_a_changed_ballot_supersedes_and_only_the_last_counts(voting: Callable[..., Round]) -> None:
    round_ = voting(allow_ballot_change=True)
    voter_id = voter_in(round_)
    [code] = issue_codes(round_, count=1, label="Other", actor=None)
    p1, p2, p3 = refs(round_)
    first = cast_ballot(
        round_.id, TallyBallot((p1,)), voter_id=voter_id, channel=Channel.ONLINE, now=utcnow()
    )
    other = cast_ballot(round_.id, TallyBallot((p3,)), code=code, channel=Channel.API, now=utcnow())
    second = cast_ballot(
        round_.id, TallyBallot((p2,)), voter_id=voter_id, channel=Channel.ONLINE, now=utcnow()
    )
    third = cast_ballot(
        round_.id, TallyBallot((p1, p2)), voter_id=voter_id, channel=Channel.ONLINE, now=utcnow()
    )
    assert not first.superseded
    assert not other.superseded
    assert second.superseded
    assert third.superseded
    rows = {
        b.seq: b for b in db.session.scalars(select(Ballot).where(Ballot.round_id == round_.id))
    }
    assert rows[second.seq].supersedes_seq == first.seq
    assert rows[third.seq].supersedes_seq == second.seq
    tags = {json.loads(rows[seq].content)["change"] for seq in (first.seq, second.seq, third.seq)}
    assert len(tags) == 1
    assert None not in tags
    assert json.loads(rows[other.seq].content)["change"] not in tags
    counted = sorted(b.projects for b in counted_ballots(round_))
    assert counted == sorted([(p3,), (p1, p2)])
    assert participation_count(round_.id) == 2
    assert verify_log(round_).ok


def test_without_ballot_changes_no_tag_is_stored(voting: Callable[..., Round]) -> None:
    round_ = voting()
    cast_ballot(
        round_.id, one(round_), voter_id=voter_in(round_), channel=Channel.ONLINE, now=utcnow()
    )
    assert json.loads(db.session.scalars(select(Ballot.content)).one())["change"] is None


def test_a_crash_between_participation_and_ballot_leaves_nothing(
    voting: Callable[..., Round],
) -> None:
    round_ = voting()
    [code] = issue_codes(round_, count=1, label="Crash", actor=None)

    def crash() -> None:
        assert participation_count_inside() == 1  # the participation was written…
        raise RuntimeError("power cut")

    def participation_count_inside() -> int:
        return len(db.session.scalars(select(Participation)).all())

    with pytest.raises(RuntimeError, match="power cut"):
        cast_ballot(
            round_.id,
            one(round_),
            code=code,
            channel=Channel.API,
            now=utcnow(),
            before_ballot_write=crash,
        )
    # …and rolled back with everything else.
    assert participation_count(round_.id) == 0
    assert ballot_count(round_.id) == 0
    head = db.session.get(ChainHead, round_.id)
    assert head is not None
    assert head.seq == 0
    assert db.session.scalars(select(VoterCode.used_at)).one() is None
    result = cast_ballot(round_.id, one(round_), code=code, channel=Channel.API, now=utcnow())
    assert result.seq == 1
    assert verify_log(round_).ok


def test_the_database_refuses_to_change_a_ballot(voting: Callable[..., Round]) -> None:
    round_ = voting()
    cast_ballot(
        round_.id, one(round_), voter_id=voter_in(round_), channel=Channel.ONLINE, now=utcnow()
    )
    for statement in ("UPDATE ballots SET content = '{}'", "DELETE FROM ballots"):
        with pytest.raises(DatabaseError):
            db.session.execute(text(statement))
        db.session.rollback()
    assert ballot_count(round_.id) == 1


def bypass_trigger(statement: str, **params: Any) -> None:
    """Run ``statement`` with the append-only triggers off, as someone with database access."""
    db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE ballots DISABLE TRIGGER ballots_append_only"))
        db.session.execute(text(statement), params)
        db.session.execute(text("ALTER TABLE ballots ENABLE TRIGGER ballots_append_only"))
    else:
        saved = db.session.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type='trigger' AND tbl_name='ballots'")
        ).all()
        for name, _ in saved:
            db.session.execute(text(f"DROP TRIGGER {name}"))
        db.session.execute(text(statement), params)
        for _, sql in saved:
            db.session.execute(text(sql))
    db.session.commit()


def cast_three(round_: Round) -> None:
    for code in issue_codes(round_, count=3, label="Tamper", actor=None):
        cast_ballot(round_.id, one(round_), code=code, channel=Channel.API, now=utcnow())


@pytest.mark.parametrize(
    ("statement", "broken"),
    [
        (
            "UPDATE ballots SET content = replace(content, '[]', '[5]') WHERE seq = 2",
            2,
        ),
        ("UPDATE ballots SET content = replace(content, 'api', 'kiosk') WHERE seq = 3", 3),
        ("UPDATE ballots SET hash = :fake WHERE seq = 1", 1),
        ("DELETE FROM ballots WHERE seq = 2", 2),
        ("DELETE FROM ballots WHERE seq = 3", 3),
        ("DELETE FROM ballots WHERE seq = 1", 1),
    ],
)
def test_verify_detects_any_edit_or_deletion(
    app: Flask, voting: Callable[..., Round], statement: str, broken: int
) -> None:
    round_ = voting()
    cast_three(round_)
    slug = round_.slug
    assert app.test_cli_runner().invoke(args=["verify", slug]).exit_code == 0
    bypass_trigger(statement, fake="f" * 64)
    check = verify_log(db.session.get(Round, round_.id))
    assert not check.ok
    assert check.first_broken_seq == broken, check
    outcome = app.test_cli_runner().invoke(args=["verify", slug])
    assert outcome.exit_code == 1
    assert f"BROKEN at ballot {broken}" in outcome.output


def test_verify_of_an_unknown_round_or_empty_log(app: Flask, voting: Callable[..., Round]) -> None:
    runner = app.test_cli_runner()
    missing = runner.invoke(args=["verify", "no-such-round"])
    assert missing.exit_code != 0
    assert "no round" in missing.output
    empty = runner.invoke(args=["verify", voting().slug])
    assert empty.exit_code == 0
    assert "OK: 0 ballots" in empty.output


def test_counts_stay_secret_until_close_unless_live(voting: Callable[..., Round]) -> None:
    secret, live = voting(), voting(show_live_totals=True)
    for round_ in (secret, live):
        cast_ballot(
            round_.id, one(round_), voter_id=voter_in(round_), channel=Channel.ONLINE, now=utcnow()
        )
    now = utcnow()
    assert not ballot_counts_visible(secret, now)
    assert live_totals(secret, now) is None
    assert ballot_counts_visible(live, now)
    totals = live_totals(live, now)
    assert totals is not None
    assert totals["ballots"] == 1
    later = now + timedelta(days=11)  # after the fixture's close date
    assert ballot_counts_visible(secret, later)
    closed = live_totals(secret, later)
    assert closed is not None
    assert closed["projects"] == {
        refs(secret)[0]: {"votes": 1, "score": 1},
        refs(secret)[1]: {"votes": 0, "score": 0},
        refs(secret)[2]: {"votes": 0, "score": 0},
    }
