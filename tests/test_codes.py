"""One-time voter codes: issuing, storing only digests, forgiving typing, and the CLI."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from pb_app.extensions import db
from pb_app.models import AuditEvent, Channel, CodeBatch, Round, VoterCode
from pb_app.models._base import utcnow
from pb_app.services.codes import (
    ALPHABET,
    CODE_LENGTH,
    CodesRefused,
    check_code,
    code_digest,
    issue_codes,
    normalise_code,
)
from pb_app.services.voting import AlreadyVoted, CodeInvalid, cast_ballot
from pb_app.tally.election import Ballot
from tests.helpers import TEST_SECRET
from tests.voting_helpers import open_round, refs

CODE_RE = re.compile(r"^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{2}$")


@pytest.fixture
def voting(make_round: Any, make_group: Any, make_bid: Any) -> Callable[..., Round]:
    """Factory: a round open for voting with three projects."""

    def make(**columns: Any) -> Round:
        return open_round(make_round, make_group, make_bid, **columns)

    return make


def test_the_alphabet_has_no_confusable_symbols_and_enough_entropy() -> None:
    assert not set("0O1IL") & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET) == 31
    assert CODE_LENGTH * math.log2(len(ALPHABET)) >= 40


@pytest.mark.parametrize(
    "typed",
    [
        "K7QM-4RXD-9T",
        "k7qm4rxd9t",
        " K7QM 4RXD 9T ",
        "K7QM–4RXD—9T",
        "Ｋ７ＱＭ-4RXD-9T",
        "К7QМ-4RХD-9Т",
    ],
)
def test_normalise_code_forgives_typing(typed: str) -> None:
    assert normalise_code(typed) == "K7QM4RXD9T"


def test_issue_stores_only_keyed_digests(voting: Callable[..., Round], make_user: Any) -> None:
    round_ = voting()
    officer = make_user()
    issued = issue_codes(round_, count=25, label="Decision day", actor=officer)
    assert len(issued) == len(set(issued)) == 25
    assert all(CODE_RE.match(code) for code in issued)
    stored = set(db.session.scalars(select(VoterCode.digest)))
    assert stored == {code_digest(code, TEST_SECRET) for code in issued}
    # Keyed: a plain SHA-256 of the code is not what is stored.
    import hashlib

    assert hashlib.sha256(normalise_code(issued[0]).encode()).hexdigest() not in stored
    batch = db.session.scalars(select(CodeBatch)).one()
    assert (batch.count, batch.label, batch.created_by_id) == (25, "Decision day", officer.id)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "codes.issued")).one()
    assert event.actor_id == officer.id
    assert issued[0] not in (event.after or "")


@pytest.mark.parametrize("count", [0, -1, 100_001])
def test_issue_refuses_silly_counts(voting: Callable[..., Round], count: int) -> None:
    with pytest.raises(CodesRefused):
        issue_codes(voting(), count=count, label="x", actor=None)


def test_check_code(voting: Callable[..., Round]) -> None:
    round_, other = voting(), voting()
    [code] = issue_codes(round_, count=1, label="a", actor=None)
    [elsewhere] = issue_codes(other, count=1, label="b", actor=None)
    assert check_code(round_, code.lower()).round_id == round_.id
    for wrong in ("", "K7QM-4RXD-9T", elsewhere, code + "X", "💥" * 10):
        with pytest.raises(CodeInvalid):
            check_code(round_, wrong)
    cast_ballot(round_.id, Ballot((refs(round_)[0],)), code=code, channel=Channel.API, now=utcnow())
    with pytest.raises(AlreadyVoted):
        check_code(round_, code)


def test_a_used_code_may_vote_again_when_changes_are_allowed(voting: Callable[..., Round]) -> None:
    round_ = voting(allow_ballot_change=True)
    [code] = issue_codes(round_, count=1, label="a", actor=None)
    cast_ballot(round_.id, Ballot((refs(round_)[0],)), code=code, channel=Channel.API, now=utcnow())
    assert check_code(round_, code).used_at is not None


def test_a_withdrawn_batch_is_refused(voting: Callable[..., Round]) -> None:
    round_ = voting()
    [code] = issue_codes(round_, count=1, label="lost", actor=None)
    batch = db.session.scalars(select(CodeBatch)).one()
    batch.voided_at = utcnow()
    db.session.commit()
    with pytest.raises(CodeInvalid, match="withdrawn"):
        check_code(round_, code)


def test_cli_issues_a_csv(app: Flask, voting: Callable[..., Round], tmp_path: Path) -> None:
    round_ = voting()
    out = tmp_path / "codes.csv"
    result = app.test_cli_runner().invoke(
        args=["codes", "issue", round_.slug, "--count", "12", "--out", str(out), "--label", "Post"]
    )
    assert result.exit_code == 0, result.output
    assert "Issued 12 codes" in result.output
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12
    assert out.stat().st_mode & 0o077 == 0, "codes are secret: owner-only file"
    assert all(CODE_RE.match(row["code"]) for row in rows)
    assert check_code(round_, rows[0]["code"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-round", "--count", "3"], "no round"),
        (["{slug}", "--count", "0"], "from 1 to"),
        (["{slug}", "--count", "lots"], "not a valid integer"),
    ],
)
def test_cli_explains_bad_input(
    app: Flask, voting: Callable[..., Round], tmp_path: Path, args: list[str], message: str
) -> None:
    slug = voting().slug
    argv = [
        "codes",
        "issue",
        *(a.format(slug=slug) for a in args),
        "--out",
        str(tmp_path / "c.csv"),
    ]
    result = app.test_cli_runner().invoke(args=argv)
    assert result.exit_code != 0
    assert message in result.output
    assert not (tmp_path / "c.csv").exists()
    assert db.session.scalars(select(VoterCode)).all() == []


def test_cli_refuses_an_unwritable_or_existing_path(
    app: Flask, voting: Callable[..., Round], tmp_path: Path
) -> None:
    slug = voting().slug
    runner = app.test_cli_runner()
    missing_dir = runner.invoke(
        args=["codes", "issue", slug, "--count", "2", "--out", str(tmp_path / "no" / "c.csv")]
    )
    assert missing_dir.exit_code != 0
    assert "Cannot write" in missing_dir.output
    existing = tmp_path / "old.csv"
    existing.write_text("keep me")
    again = runner.invoke(args=["codes", "issue", slug, "--count", "2", "--out", str(existing)])
    assert again.exit_code != 0
    assert "already exists" in again.output
    assert existing.read_text() == "keep me"
    assert db.session.scalars(select(VoterCode)).all() == []
