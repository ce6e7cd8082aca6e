"""Close, count and certify: the transitions, their refusals, and what certification does."""

from __future__ import annotations

import json
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from pb_app.extensions import db
from pb_app.models import AuditEvent, Bid, BidStatus, Role, Round, User
from pb_app.models._base import utcnow
from pb_app.services import results
from pb_app.services.bundle import bundle_digest
from pb_app.services.results import (
    AlreadyCertified,
    AlreadyClosed,
    LogTampered,
    NotAllowed,
    NotClosed,
    NotInVoting,
    RecountDiffers,
    WrongPassword,
    certified_snapshot,
    certify,
    close_voting,
    count_round,
    draft_snapshot,
    funded_bids_csv,
)
from tests.results_helpers import PASSWORD, certified_round, voted_round
from tests.test_voting_service import bypass_trigger


@pytest.fixture(autouse=True)
def memory_mail(app: Flask) -> list[EmailMessage]:
    """Send mail to an in-memory outbox."""
    app.config["MAIL_BACKEND"] = "memory"
    outbox: list[EmailMessage] = app.extensions.setdefault("outbox", [])
    return outbox


@pytest.fixture
def voted(make_round: Any, make_group: Any, make_bid: Any) -> Callable[..., Round]:
    """Factory: a voting round with ballots cast."""

    def make(**columns: Any) -> Round:
        return voted_round(make_round, make_group, make_bid, **columns)

    return make


@pytest.fixture
def officer(make_user: Callable[..., User]) -> User:
    """An officer."""
    return make_user(Role.OFFICER, name="Olive Officer")


@pytest.fixture
def funder(make_user: Callable[..., User]) -> User:
    """A funder."""
    return make_user(Role.FUNDER, name="Fran Funder")


def actions(round_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.round_id == round_id).order_by(AuditEvent.id)
        )
    )


def test_close_twice_is_refused(voted: Callable[..., Round], officer: User) -> None:
    round_ = voted()
    closed = close_voting(round_.id, actor=officer, now=utcnow())
    assert closed.closed_at is not None
    with pytest.raises(AlreadyClosed):
        close_voting(round_.id, actor=officer, now=utcnow())
    assert actions(round_.id).count("voting.closed") == 1


def test_a_round_not_yet_voting_cannot_be_closed(
    make_round: Callable[..., Round], officer: User
) -> None:
    round_ = make_round(phase="review")
    with pytest.raises(NotInVoting):
        close_voting(round_.id, actor=officer, now=utcnow())
    assert db.session.get(Round, round_.id).closed_at is None


def test_after_the_close_date_close_records_the_close_date(
    make_round: Callable[..., Round], officer: User
) -> None:
    round_ = make_round(phase="counting")
    closed = close_voting(round_.id, actor=None, now=utcnow())
    assert closed.closed_at == round_.voting_close_at


def test_counting_an_open_round_is_refused(voted: Callable[..., Round], officer: User) -> None:
    round_ = voted()
    with pytest.raises(NotClosed):
        count_round(round_.id, actor=officer, now=utcnow())
    assert draft_snapshot(round_) is None


def test_counting_twice_gives_the_same_snapshot(voted: Callable[..., Round], officer: User) -> None:
    round_ = voted()
    close_voting(round_.id, actor=officer, now=utcnow())
    first = count_round(round_.id, actor=officer, now=utcnow())
    second = count_round(round_.id, actor=officer, now=utcnow())
    assert first.id == second.id
    outcome = json.loads(first.outcome)
    assert first.ballots_counted == 12
    assert outcome["spent"] == first.spent_pence <= 10_000_00
    assert {p["id"] for p in outcome["projects"]} == {
        b.ref for b in db.session.scalars(select(Bid).where(Bid.round_id == round_.id))
    }
    assert all(p["reason_text"] for p in outcome["projects"])
    assert json.loads(first.options)["rule"] == "greedy"
    assert actions(round_.id).count("results.counted") == 1


def test_a_tampered_log_is_refused_naming_the_broken_link(
    voted: Callable[..., Round], officer: User
) -> None:
    round_ = voted()
    close_voting(round_.id, actor=officer, now=utcnow())
    bypass_trigger(
        "UPDATE ballots SET content = replace(content, '\"api\"', '\"kiosk\"') WHERE seq = 4"
    )
    with pytest.raises(LogTampered) as refused:
        count_round(round_.id, actor=officer, now=utcnow())
    assert refused.value.first_broken_seq == 4
    assert "Ballot 4" in str(refused.value)
    assert draft_snapshot(db.session.get(Round, round_.id)) is None


def test_certify_needs_the_funder_and_their_password(
    voted: Callable[..., Round], officer: User, funder: User
) -> None:
    round_ = voted()
    close_voting(round_.id, actor=officer, now=utcnow())
    count_round(round_.id, actor=officer, now=utcnow())
    with pytest.raises(NotAllowed):
        certify(round_.id, funder=officer, password=PASSWORD, statement="Yes", now=utcnow())
    with pytest.raises(WrongPassword):
        certify(round_.id, funder=funder, password="not my password", statement="Yes", now=utcnow())
    assert certified_snapshot(round_) is None
    assert db.session.get(Round, round_.id).published_at is None
    assert "results.certify_refused" in actions(round_.id)


def test_certify_publishes_marks_bids_and_tells_groups(
    app: Flask, voted: Callable[..., Round], officer: User, funder: User
) -> None:
    round_ = voted()
    certified_round(round_, officer, funder)
    found = certified_snapshot(round_)
    assert found is not None
    snapshot, certification = found
    assert certification.certified_by_name == "Fran Funder"
    assert certification.bundle_digest == bundle_digest(round_, snapshot)
    assert db.session.get(Round, round_.id).published_at is not None
    selected = json.loads(snapshot.outcome)["selected"]
    bids = db.session.scalars(select(Bid).where(Bid.round_id == round_.id)).all()
    assert selected
    for bid in bids:
        expected = BidStatus.FUNDED if bid.ref in selected else BidStatus.NOT_FUNDED
        assert bid.status == expected
    outbox = app.extensions["outbox"]
    subjects = [str(mail["Subject"]) for mail in outbox]
    assert any(s.startswith("Bid funded") for s in subjects)
    assert any(s.startswith("Bid not funded") for s in subjects)
    assert any("Funded in step" in mail.get_content() for mail in outbox)
    assert {"voting.closed", "results.counted", "results.certified"} <= set(actions(round_.id))
    with pytest.raises(AlreadyCertified):
        certify(round_.id, funder=funder, password=PASSWORD, statement="Again", now=utcnow())


def test_a_recount_differing_from_the_certified_result_is_refused(
    voted: Callable[..., Round], officer: User, funder: User
) -> None:
    round_ = voted()
    certified_round(round_, officer, funder)
    snapshot, _ = certified_snapshot(round_) or (None, None)
    # Someone with database access "fixes" the declared rule after certification.
    db.session.execute(
        Round.__table__.update().where(Round.id == round_.id).values(rule="greedy-per-cost")
    )
    db.session.commit()
    with pytest.raises(RecountDiffers):
        count_round(round_.id, actor=officer, now=utcnow())
    assert draft_snapshot(round_).id == snapshot.id  # type: ignore[union-attr]
    assert "results.recount_differs" in actions(round_.id)


def test_payment_csv_lists_funded_bids_and_defuses_formulas(
    voted: Callable[..., Round], officer: User, funder: User
) -> None:
    round_ = voted()
    with pytest.raises(results.NotCertified):
        funded_bids_csv(round_)
    bid = db.session.scalars(select(Bid).where(Bid.round_id == round_.id)).first()
    bid.contact_name = '=HYPERLINK("http://evil")'
    db.session.commit()
    certified_round(round_, officer, funder)
    text = funded_bids_csv(round_)
    lines = text.splitlines()
    assert lines[0].startswith("group,bid_ref,bid_title,amount_pence,amount_gbp,contact_name")
    selected = json.loads(draft_snapshot(round_).outcome)["selected"]  # type: ignore[union-attr]
    assert len(lines) == 1 + len(selected)
    assert "=HYPERLINK" not in text.replace("'=HYPERLINK", "")


def test_close_command_closes_once_and_names_the_round(
    app: Flask, voted: Callable[..., Round]
) -> None:
    round_ = voted()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["close", round_.slug])
    assert first.exit_code == 0, first.output
    assert f"Voting in {round_.slug} closed at" in first.output
    second = runner.invoke(args=["close", round_.slug])
    assert second.exit_code == 1
    assert "already closed" in second.output
    assert runner.invoke(args=["close", "no-such-round"]).exit_code == 1
    assert actions(round_.id).count("voting.closed") == 1


def test_no_ballot_is_taken_once_voting_is_closed(voted: Callable[..., Round]) -> None:
    from pb_app.models import Channel
    from pb_app.services.codes import issue_codes
    from pb_app.services.voting import VotingClosed, cast_ballot
    from pb_app.tally.election import Ballot
    from tests.voting_helpers import ballot_count, refs

    round_ = voted()
    [code] = issue_codes(round_, count=1, label="Late", actor=None)
    close_voting(round_.id, actor=None, now=utcnow())
    with pytest.raises(VotingClosed):
        cast_ballot(
            round_.id, Ballot((refs(round_)[0],)), code=code, channel=Channel.API, now=utcnow()
        )
    assert ballot_count(round_.id) == 12
