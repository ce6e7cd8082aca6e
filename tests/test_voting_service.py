"""Casting ballots: one person one ballot, the hash chain, secrecy, changes, closed rounds."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from pb_app.extensions import db
from pb_app.models import Ballot, Channel, Participation, Round, VoterCode
from pb_app.models._base import utcnow
from pb_app.services.codes import issue_codes
from pb_app.services.eligibility import register_voter
from pb_app.services.voting import (
    AlreadyVoted,
    BallotInvalid,
    CodeInvalid,
    VotingClosed,
    ballot_counts_visible,
    cast_ballot,
    counted_ballots,
    live_totals,
    receipt_in_log,
    verify_log,
)
from pb_app.tally.election import Ballot as TallyBallot


@pytest.fixture
def voting_round(
    make_round: Callable[..., Round], make_group: Callable[..., Any], make_bid: Callable[..., Any]
) -> Callable[..., Round]:
    """Factory: a round in its voting phase with three shortlisted bids P01–P03 (£1,000 each)."""

    def make(**columns: Any) -> Round:
        round_ = make_round(phase="voting", **columns)
        group = make_group()
        for _ in range(3):
            make_bid(round_, group, lines=[("Hall", 1_000_00)])
        return round_

    return make


def ballots_in(round_: Round) -> int:
    return db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.round_id == round_.id)) or 0


def refs(round_: Round) -> list[str]:
    from pb_app.services.elections import ballot_bids

    return [bid.ref for bid in ballot_bids(round_)]


def test_a_code_casts_one_ballot_and_the_chain_verifies(voting_round: Callable[..., Round]) -> None:
    round_ = voting_round()
    [code] = issue_codes(round_, count=1, label="Test", actor=None)
    first = refs(round_)[0]
    result = cast_ballot(round_.id, TallyBallot((first,)), code=code, channel=Channel.API, now=utcnow())
    assert result.seq == 1
    assert not result.superseded
    assert receipt_in_log(round_, result.receipt)
    assert receipt_in_log(round_, result.receipt.lower().replace("-", " "))
    assert not receipt_in_log(round_, "AAAA-BBBB-CCCC")
    check = verify_log(round_)
    assert check.ok, check.reason
    assert check.count == 1
    with pytest.raises(AlreadyVoted):
        cast_ballot(round_.id, TallyBallot((first,)), code=code, channel=Channel.API, now=utcnow())
    assert ballots_in(round_) == 1
