"""The audit bundle: reproducible, published only once certified, checked by verify-bundle and
recount with no database, and recounted identically by pabutools."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from pb_app.audit_bundle import SUMS, read_bundle, sha256sums
from pb_app.extensions import db
from pb_app.models import Channel, Role, Round, SubPot, User
from pb_app.models._base import utcnow
from pb_app.services.bundle import BundleNotAvailable, public_bundle
from pb_app.services.codes import issue_codes
from pb_app.services.eligibility import register_voter
from pb_app.services.results import certified_snapshot
from pb_app.services.voting import cast_ballot
from pb_app.tally.election import Ballot
from tests.results_helpers import certified_round, voted_round
from tests.voting_helpers import open_round, refs

# Positions of projects costing £1,000 … £5,000 on 12 ballots: greedy by votes funds £5,000,
# £4,000 and £1,000; greedy per cost funds a different set.
BALLOTS = [
    (0, 1, 3, 4),
    (0, 1, 3, 4),
    (1, 2, 3, 4),
    (1, 2, 3, 4),
    (1, 3, 4),
    (1, 3, 4),
    (3, 4),
    (3, 4),
    (3, 4),
    (3, 4),
    (3, 4),
    (4,),
]


@pytest.fixture(autouse=True)
def memory_mail(app: Flask) -> list[EmailMessage]:
    """Send mail to an in-memory outbox."""
    app.config["MAIL_BACKEND"] = "memory"
    outbox: list[EmailMessage] = app.extensions.setdefault("outbox", [])
    return outbox


@pytest.fixture
def staff(make_user: Callable[..., User]) -> tuple[User, User]:
    """An officer and a funder."""
    return make_user(Role.OFFICER), make_user(Role.FUNDER, name="Fran Funder")


@pytest.fixture
def published(
    make_round: Any, make_group: Any, make_bid: Any, staff: tuple[User, User]
) -> Callable[..., Round]:
    """Factory: a certified round (approval ballots, greedy unless told)."""

    def make(**columns: Any) -> Round:
        columns.setdefault("ballots", BALLOTS)
        round_ = voted_round(make_round, make_group, make_bid, **columns)
        return certified_round(round_, *staff)

    return make


def save(round_: Round, folder: Path) -> Path:
    name, data = public_bundle(round_.slug)
    path = folder / name
    path.write_bytes(data)
    return path


def unpack(zip_path: Path, folder: Path) -> Path:
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(folder)
    return folder


def test_nothing_is_published_before_certification(
    make_round: Any, make_group: Any, make_bid: Any, client: FlaskClient
) -> None:
    round_ = voted_round(make_round, make_group, make_bid, ballots=BALLOTS)
    with pytest.raises(BundleNotAvailable):
        public_bundle(round_.slug)
    response = client.get(f"/rounds/{round_.slug}/results/bundle.zip")
    assert response.status_code == 404
    assert "certifies" in response.text
    assert client.get("/rounds/no-such-round/results/bundle.zip").status_code == 404


def test_the_bundle_is_byte_reproducible_and_its_digest_certified(
    published: Callable[..., Round], client: FlaskClient
) -> None:
    round_ = published()
    first, second = public_bundle(round_.slug)[1], public_bundle(round_.slug)[1]
    assert first == second
    response = client.get(f"/rounds/{round_.slug}/results/bundle.zip")
    assert response.status_code == 200
    assert response.data == first
    assert response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    assert set(files) == {
        "README.txt", "VERSION", "ballot_log.jsonl", "ballots.csv", "ballots.pb", "chain.json",
        "receipts.csv", "result.json", "round.json", SUMS,
    }  # fmt: skip
    assert files[SUMS] == sha256sums(files)
    found = certified_snapshot(round_)
    assert found is not None
    assert found[1].bundle_digest == hashlib.sha256(files[SUMS]).hexdigest()
    # No personal columns: the published ballots hold a number, the vote and nothing else.
    assert files["ballots.csv"].decode().splitlines()[0] == "voter,vote"
    assert "voter_id;vote\n" in files["ballots.pb"].decode()
    declared = json.loads(files["round.json"])["count"]
    assert declared["tie_break"] == ["min-cost", "max-support", "lot"]
    assert declared["lot_seed"] == round_.lot_seed
    assert (
        json.loads(files["result.json"])["chain_head"]
        == json.loads(files["chain.json"])["final_hash"]
    )


def test_verify_bundle_passes_then_names_a_changed_file(
    app: Flask, published: Callable[..., Round], tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    zip_path = save(published(), tmp_path)
    ok = runner.invoke(args=["verify-bundle", str(zip_path)])
    assert ok.exit_code == 0, ok.output
    assert "OK: the bundle verifies." in ok.output
    assert "Recount by greedy: matches" in ok.output
    folder = unpack(zip_path, tmp_path / "unpacked")
    assert runner.invoke(args=["verify-bundle", str(folder)]).exit_code == 0
    pb = folder / "ballots.pb"
    data = bytearray(pb.read_bytes())
    data[-2] = ord("1") if data[-2] != ord("1") else ord("2")  # one byte of the last ballot
    pb.write_bytes(bytes(data))
    bad = runner.invoke(args=["verify-bundle", str(folder)])
    assert bad.exit_code == 1
    assert "ballots.pb has changed" in bad.output


def test_verify_bundle_finds_an_edited_ballot_even_with_sums_redone(
    app: Flask, published: Callable[..., Round], tmp_path: Path
) -> None:
    folder = unpack(save(published(), tmp_path), tmp_path / "unpacked")
    log = folder / "ballot_log.jsonl"
    lines = log.read_text().splitlines()
    lines[2] = lines[2].replace('\\"api\\"', '\\"kiosk\\"')
    log.write_text("\n".join(lines) + "\n")
    files = read_bundle(folder)
    (folder / SUMS).write_bytes(sha256sums(files))
    result = app.test_cli_runner().invoke(args=["verify-bundle", str(folder)])
    assert result.exit_code == 1
    assert "Ballot 3: its hash does not match its content" in result.output


def test_recount_of_a_bundle_agrees_and_another_rule_differs(
    app: Flask, published: Callable[..., Round], tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    zip_path = save(published(), tmp_path)
    same = runner.invoke(args=["recount", str(zip_path)])
    assert same.exit_code == 0, same.output
    assert "MATCHES" in same.output
    other = runner.invoke(args=["recount", str(zip_path), "--rule", "greedy-per-cost"])
    assert other.exit_code == 1
    assert "DIFFERS" in other.output
    assert "greedy-per-cost" in other.output


@pytest.mark.parametrize("rule", ["greedy", "mes-add1"])
def test_the_bundles_pb_recounts_identically_with_pabutools(
    published: Callable[..., Round], tmp_path: Path, rule: str
) -> None:
    pabutools = pytest.importorskip("pabutools")
    from pabutools.election import Cost_Sat, parse_pabulib
    from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares

    assert pabutools
    round_ = published(rule=rule)
    folder = unpack(save(round_, tmp_path), tmp_path / "unpacked")
    instance, profile = parse_pabulib(str(folder / "ballots.pb"))
    if rule == "greedy":
        chosen = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)
    else:
        chosen = method_of_equal_shares(
            instance, profile, sat_class=Cost_Sat, voter_budget_increment=1
        )
    supported = {p.name for p in chosen if profile.approval_score(p) > 0}
    result = json.loads((folder / "result.json").read_text())
    assert supported == set(result["outcome"]["selected"])


def test_sub_pots_are_counted_as_declared_and_the_bundle_recounts_them(
    app: Flask, make_round: Any, make_group: Any, make_bid: Any, staff: tuple[User, User],
    tmp_path: Path,
) -> None:  # fmt: skip
    round_ = make_round(phase="voting", ballot_kind="approval", max_sum_cost_pence=None,
                        central_pot_pence=1_000_00)  # fmt: skip
    north, south = round_.wards
    round_.sub_pots = [
        SubPot(ward_id=north.id, budget_pence=6_000_00),
        SubPot(ward_id=south.id, budget_pence=3_000_00),
    ]
    db.session.commit()
    group = make_group()
    for cost, ward in ((2_000_00, north), (3_000_00, north), (2_500_00, south), (1_500_00, south)):
        make_bid(round_, group, lines=[("Costs", cost)], ward_id=ward.id)

    ids = refs(round_)
    for code, choice in zip(
        issue_codes(round_, count=6, label="Pots", actor=None),
        [(0, 1, 2), (0, 2), (1, 3), (0, 3), (2, 3), (0,)],
        strict=True,
    ):
        cast_ballot(round_.id, Ballot(tuple(ids[i] for i in choice)), code=code,
                    channel=Channel.API, now=utcnow())  # fmt: skip
    certified_round(round_, *staff)
    files = read_bundle(save(round_, tmp_path))
    declared = json.loads(files["round.json"])["count"]
    assert [pot["label"] for pot in declared["sub_pots"]] == ["North", "South"]
    assert declared["central_pot_pence"] == 1_000_00
    outcome = json.loads(files["result.json"])["outcome"]
    assert any("Sub-pot North" in note for note in outcome["notes"])
    result = app.test_cli_runner().invoke(args=["verify-bundle", str(tmp_path)])
    assert result.exit_code != 0  # a folder holding a zip is not a bundle
    zip_path = next(tmp_path.glob("*.zip"))
    assert app.test_cli_runner().invoke(args=["verify-bundle", str(zip_path)]).exit_code == 0


def test_a_changed_ballot_counts_once_and_the_bundle_shows_both(
    app: Flask, make_round: Any, make_group: Any, make_bid: Any, staff: tuple[User, User],
    tmp_path: Path,
) -> None:  # fmt: skip
    round_ = open_round(make_round, make_group, make_bid, ballot_kind="approval",
                        max_sum_cost_pence=None, allow_ballot_change=True)  # fmt: skip
    ids = refs(round_)
    voter = register_voter(round_, full_name="Ada Lovelace", postcode="E8 1DY",
                           date_of_birth=date(1950, 12, 10), basis="lives",
                           today=date(2026, 6, 1))  # fmt: skip
    for choice in ((ids[0],), (ids[1], ids[2])):
        cast_ballot(round_.id, Ballot(choice), voter_id=voter.id, channel=Channel.ONLINE,
                    now=utcnow())  # fmt: skip
    certified_round(round_, *staff)
    zip_path = save(round_, tmp_path)
    files = read_bundle(zip_path)
    assert len(files["ballot_log.jsonl"].decode().splitlines()) == 2
    assert files["ballots.csv"].decode().splitlines()[1:] == [f'1,"{ids[1]},{ids[2]}"']
    assert app.test_cli_runner().invoke(args=["verify-bundle", str(zip_path)]).exit_code == 0
