"""Code slips with QR codes, voiding a batch (web and API), batch counts, and the CLI's CSV."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import segno
from flask.testing import FlaskClient
from sqlalchemy import func, select

from pb_app.extensions import db
from pb_app.models import AuditEvent, CodeBatch, Role, Round, User, Voter, VoterCode
from pb_app.services.codes import batch_summaries, issue_codes
from tests.helpers import csrf_token_from, post_form
from tests.voting_helpers import ballot_count, open_round, refs

pytestmark = pytest.mark.db


@pytest.fixture
def voting(make_round: Any, make_group: Any, make_bid: Any) -> Callable[..., Round]:
    """Factory: a round open for voting with three projects."""

    def make(**columns: Any) -> Round:
        return open_round(make_round, make_group, make_bid, **columns)

    return make


@pytest.fixture
def officer(make_user: Callable[..., User], sign_in: Callable[[User], None]) -> User:
    user = make_user(Role.OFFICER)
    sign_in(user)
    return user


def _api(client: FlaskClient, round_: Round, code: str) -> Any:
    return client.post(
        f"/api/v1/rounds/{round_.slug}/ballots",
        json={"code": code, "ballot": {"projects": [refs(round_)[0]]}},
    )


def test_each_slip_has_a_qr_code_of_its_own_prefilled_link(
    client: FlaskClient, officer: User, voting: Callable[..., Round]
) -> None:
    round_ = voting()
    response = post_form(
        client, f"/staff/rounds/{round_.id}/codes", {"count": "2", "purpose": "event"}
    )
    assert response.status_code == 200
    slips = re.findall(
        r'<li class="slip">.*?class="slip__code">.*?</span>([^<]+)</p>.*?'
        r'<p class="slip__url">([^<]+)</p>.*?data-url="([^"]+)">(<svg.*?</svg>)',
        response.text,
        re.S,
    )
    assert len(slips) == 2
    for code, printed_url, data_url, svg in slips:
        expected = f"http://localhost/rounds/{round_.slug}/vote/code?code={code}"
        assert printed_url == data_url == expected
        # The QR code encodes exactly that link: segno draws the same symbol for it.
        same = segno.make(expected, error="m").svg_inline(
            scale=1, border=2, omitsize=True, svgclass="slip__qr", lineclass=None
        )
        assert svg == same.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)
    assert round_.title in response.text
    assert "scan the square with your phone" in response.text


def test_the_slip_link_fills_the_code_in_but_does_not_submit_it(
    client: FlaskClient, voting: Callable[..., Round]
) -> None:
    round_ = voting()
    [code] = issue_codes(round_, count=1, label="Event", actor=None)
    page = client.get(f"/rounds/{round_.slug}/vote/code?code={code}")
    assert page.status_code == 200
    assert f'value="{code}"' in page.text
    with client.session_transaction() as session:
        assert "vote_identity" not in session
    assert ballot_count(round_.id) == 0
    continued = client.post(
        f"/rounds/{round_.slug}/vote/code",
        data={"code": code, "csrf_token": csrf_token_from(page.text)},
    )
    assert continued.status_code == 302
    assert continued.headers["Location"].endswith("/vote/ballot")


def test_a_huge_or_odd_code_in_the_link_is_only_filled_in(
    client: FlaskClient, voting: Callable[..., Round]
) -> None:
    round_ = voting()
    page = client.get(f"/rounds/{round_.slug}/vote/code?code=" + "<b>" * 100)
    assert page.status_code == 200
    assert "<b>" not in page.text.split("<main", 1)[1]


def test_officer_voids_a_batch_unused_codes_stop_used_ones_still_count(
    client: FlaskClient, officer: User, voting: Callable[..., Round]
) -> None:
    round_ = voting()
    used, unused_web, unused_api = issue_codes(round_, count=3, label="Lost sheet", actor=None)
    assert _api(client, round_, used).status_code == 201
    batch = db.session.scalars(select(CodeBatch)).one()
    listing = client.get(f"/staff/rounds/{round_.id}/codes")
    assert "Lost sheet" in listing.text
    assert "3 codes, issued" in listing.text
    assert re.search(r'<td class="numeric">1</td>\s*<td class="numeric">2</td>', listing.text)

    path = f"/staff/rounds/{round_.id}/codes/batches/{batch.id}/void"
    confirm = client.get(path)
    assert confirm.status_code == 200
    assert "2 unused codes will stop working" in confirm.text
    empty = post_form(client, path, {"reason": "  "})
    assert "Say why the codes are being withdrawn" in empty.text
    db.session.refresh(batch)
    assert batch.voided_at is None

    done = post_form(client, path, {"reason": "Sheet left on the bus"})
    assert done.status_code == 302
    db.session.refresh(batch)
    assert batch.voided_at is not None
    assert batch.void_reason == "Sheet left on the bus"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "codes.voided")).one()
    assert event.actor_id == officer.id
    assert '"unused": 2' in (event.after or "")
    assert '"used": 1' in (event.after or "")
    listing = client.get(f"/staff/rounds/{round_.id}/codes")
    assert "Withdrawn" in listing.text
    assert "Sheet left on the bus" in listing.text

    day = f"{batch.voided_at.day} {batch.voided_at:%B %Y}"
    web = post_form(client, f"/rounds/{round_.slug}/vote/code", {"code": unused_web})
    assert web.status_code == 200
    assert f"This code was withdrawn on {day}; ask at the desk" in web.text
    api = _api(client, round_, unused_api)
    assert api.status_code == 410
    assert api.json["error"] == "Voter code withdrawn"
    assert api.json["reasons"] == [
        f"This code was withdrawn on {day}; ask at the desk or the organisers for a new one."
    ]
    again = _api(client, round_, used)  # the code that voted is used, not withdrawn
    assert again.status_code == 409
    assert ballot_count(round_.id) == 1  # the ballot cast before the void still counts
    [summary] = batch_summaries(db.session.get(Round, round_.id))
    assert (summary.used, summary.unused) == (1, 2)


def test_a_voided_batch_cannot_be_voided_twice_or_from_another_round(
    client: FlaskClient, officer: User, voting: Callable[..., Round]
) -> None:
    round_, other = voting(), voting()
    issue_codes(round_, count=1, label="Once", actor=None)
    batch = db.session.scalars(select(CodeBatch)).one()
    path = f"/staff/rounds/{round_.id}/codes/batches/{batch.id}/void"
    assert post_form(client, path, {"reason": "Lost"}).status_code == 302
    again = client.get(path)
    assert "This batch was withdrawn on" in again.text
    assert "Withdraw these codes" not in again.text  # no form to submit a second time
    second = client.post(path, data={"reason": "Lost", "csrf_token": csrf_token_from(again.text)})
    assert second.status_code == 200
    assert client.get(f"/staff/rounds/{other.id}/codes/batches/{batch.id}/void").status_code == 404
    events = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "codes.voided")
    )
    assert events == 1


def test_voiding_needs_an_officer(
    client: FlaskClient,
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
    voting: Callable[..., Round],
) -> None:
    round_ = voting()
    issue_codes(round_, count=1, label="Once", actor=None)
    batch = db.session.scalars(select(CodeBatch)).one()
    sign_in(make_user(Role.VOLUNTEER))
    path = f"/staff/rounds/{round_.id}/codes/batches/{batch.id}/void"
    assert client.get(path).status_code == 403
    assert client.post(path, data={"reason": "x"}).status_code in (400, 403)
    db.session.refresh(batch)
    assert batch.voided_at is None


def test_cli_issues_bound_codes_with_links(
    runner: Any, voting: Callable[..., Round], tmp_path: Path
) -> None:
    round_ = voting(code_mode="identity")
    people = tmp_path / "people.csv"
    people.write_text(
        "name,postcode,date of birth\n"
        "Ada Lovelace,e8 1dy,10/12/1950\n"
        "Grace Hopper,E8 2AB,1956-12-09\n"
    )
    out = tmp_path / "codes.csv"
    result = runner.invoke(
        args=[
            "codes", "issue", round_.slug, "--people", str(people), "--out", str(out),
            "--base-url", "https://vote.example.org/",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [(r["name"], r["postcode"]) for r in rows] == [
        ("Ada Lovelace", "E8 1DY"),
        ("Grace Hopper", "E8 2AB"),
    ]
    for row in rows:
        assert row["url"] == (
            f"https://vote.example.org/rounds/{round_.slug}/vote/code?code={row['code']}"
        )
    assert (
        db.session.scalar(
            select(func.count()).select_from(VoterCode).where(VoterCode.voter_id.is_not(None))
        )
        == 2
    )


def test_cli_anonymous_codes_gain_a_url_column(
    runner: Any, voting: Callable[..., Round], tmp_path: Path
) -> None:
    round_ = voting()
    out = tmp_path / "codes.csv"
    result = runner.invoke(args=["codes", "issue", round_.slug, "--count", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert list(rows[0]) == ["code", "url"]
    assert rows[0]["url"].endswith(f"/rounds/{round_.slug}/vote/code?code={rows[0]['code']}")


def test_cli_refuses_a_bad_people_file_whole(
    runner: Any, voting: Callable[..., Round], tmp_path: Path
) -> None:
    round_ = voting(code_mode="identity", min_age=50)
    people = tmp_path / "people.csv"
    people.write_text("Ada Lovelace,E8 1DY,10/12/1950\nYoung One,E8 1DY,01/01/2005\n")
    out = tmp_path / "codes.csv"
    result = runner.invoke(
        args=["codes", "issue", round_.slug, "--people", str(people), "--out", str(out)]
    )
    assert result.exit_code != 0
    assert "Row 2 (Young One): You must be 50 or over" in result.output
    assert not out.exists()
    assert db.session.scalar(select(func.count()).select_from(Voter)) == 0
    assert db.session.scalar(select(func.count()).select_from(CodeBatch)) == 0
    both = runner.invoke(
        args=["codes", "issue", round_.slug, "--count", "2", "--people", str(people),
              "--out", str(out)]
    )  # fmt: skip
    assert both.exit_code != 0
    assert "either --count N or --people FILE" in both.output


def test_voiding_without_a_csrf_token_changes_nothing(
    client: FlaskClient, officer: User, voting: Callable[..., Round]
) -> None:
    round_ = voting()
    issue_codes(round_, count=1, label="Once", actor=None)
    batch = db.session.scalars(select(CodeBatch)).one()
    path = f"/staff/rounds/{round_.id}/codes/batches/{batch.id}/void"
    response = client.post(path, data={"reason": "Lost"})
    assert response.status_code == 400
    db.session.refresh(batch)
    assert batch.voided_at is None
