"""The audit bundle of a round, built from the database (layout: ``pb_app.audit_bundle``).

Everything in it is derived from stored rows — the round, its bids, the ballot log and the
result snapshot — so the bundle built at certification and every later download are the same
bytes, and the certified digest (SHA-256 of SHA256SUMS) can be checked at any time.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from sqlalchemy import select

from pb_app.audit_bundle import (
    DeclaredCount,
    LogEntry,
    anonymised,
    build_files,
    digest,
    zip_bytes,
)
from pb_app.extensions import db
from pb_app.models import Ballot, Bid, Certification, ResultSnapshot, Round, SubPot
from pb_app.services import ServiceError
from pb_app.services.elections import ballot_bids, election_for_round, find_round, limits_as_dict
from pb_app.services.voting import counted_ballots
from pb_app.tally.election import Election
from pb_app.tally.rules import PABULIB_RULES
from pb_app.tally.subpots import SubPot as TallySubPot
from pb_app.tally.tiebreak import parse_tie_break


class BundleNotAvailable(ServiceError):
    """There is no published bundle for this round (yet)."""


def code_version() -> str:
    """The version of pb_app that counts, as recorded with every result."""
    try:
        return f"pb_app {version('pb_app')}"[:40]
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "pb_app (unknown version)"


def _sub_pots(round_: Round) -> tuple[TallySubPot, ...]:
    bids = ballot_bids(round_)
    pots = []
    for pot in sorted(round_.sub_pots, key=lambda p: p.id):
        pots.append(_tally_pot(pot, bids))
    return tuple(pots)


def _tally_pot(pot: SubPot, bids: list[Bid]) -> TallySubPot:
    if pot.ward_id is not None:
        label = next((w.name for w in pot.round.wards if w.id == pot.ward_id), str(pot.ward_id))
        refs = tuple(bid.ref for bid in bids if bid.ward_id == pot.ward_id)
        key = f"ward:{label}"
    else:
        label = next((t.name for t in pot.round.themes if t.id == pot.theme_id), str(pot.theme_id))
        refs = tuple(bid.ref for bid in bids if bid.theme_id == pot.theme_id)
        key = f"theme:{label}"
    return TallySubPot(key=key, label=label, budget=pot.budget_pence, project_ids=refs)


def declared_count(round_: Round) -> DeclaredCount:
    """The round's count as declared before voting: rule, tie-break, seed, sub-pots."""
    pots = _sub_pots(round_)
    return DeclaredCount(
        rule=round_.rule,
        tie_break=parse_tie_break(round_.tie_break),
        lot_seed=round_.lot_seed,
        utility=round_.utility,
        threshold_percent=round_.threshold_percent,
        sub_pots=pots,
        central_pot_pence=round_.central_pot_pence if pots else 0,
        subpot_leftover=str(round_.subpot_leftover),
    )


def counted_election(round_: Round, chain_head: str) -> Election:
    """The counted ballots as published: shuffled by the chain head, voters numbered 1…n."""
    meta: tuple[tuple[str, str], ...] = (
        ("description", round_.title),
        ("country", "United Kingdom"),
        ("instance", round_.slug),
        ("pb_app_rule", round_.rule),
        ("tie_break", round_.tie_break),
    )
    # The file's own rule, so the .pb alone recounts the same way (pabulib has no name for a
    # threshold in per cent, so greedy-threshold is left to round.json).
    pabulib_rule = {ours: theirs for theirs, ours in PABULIB_RULES.items()}.get(round_.rule)
    if pabulib_rule and round_.rule != "greedy-threshold" and not round_.sub_pots:
        meta = (*meta, ("rule", pabulib_rule))
    election = election_for_round(round_, ballots=counted_ballots(round_))
    return anonymised(replace(election, meta=meta), chain_head)


def round_info(round_: Round) -> dict[str, Any]:
    """What round.json says of the round besides the declared count."""
    return {
        "slug": round_.slug,
        "title": round_.title,
        "funder": round_.funder_name,
        "currency": round_.currency or "GBP",
        "pot_pence": round_.pot_pence,
        "min_grant_pence": round_.min_grant_pence,
        "max_grant_pence": round_.max_grant_pence,
        "ballot": round_.ballot_kind,
        "limits": limits_as_dict(round_),
        "allow_ballot_change": round_.allow_ballot_change,
        "voting_open_at": _iso(round_.voting_open_at),
        "voting_close_at": _iso(round_.voting_close_at),
        "closed_at": _iso(round_.closed_at),
        "projects": [
            {
                "id": bid.ref,
                "title": bid.title,
                "cost_pence": bid.amount_pence,
                "ward": bid.ward.name if bid.ward else None,
                "theme": bid.theme.name if bid.theme else None,
            }
            for bid in ballot_bids(round_)
        ],
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def result_json(round_: Round, snapshot: ResultSnapshot) -> dict[str, Any]:
    """What result.json holds: the snapshot's outcome and how it was counted."""
    return {
        "round": round_.slug,
        "rule": snapshot.rule,
        "options": json.loads(snapshot.options),
        "ballots_counted": snapshot.ballots_counted,
        "chain_head": snapshot.chain_head,
        "code_version": snapshot.code_version,
        "counted_at": snapshot.created_at.isoformat(),
        "outcome": json.loads(snapshot.outcome),
    }


def bundle_files(round_: Round, snapshot: ResultSnapshot) -> dict[str, bytes]:
    """Every file of the round's audit bundle for ``snapshot``."""
    rows = db.session.execute(
        select(Ballot.seq, Ballot.prev_hash, Ballot.content, Ballot.hash, Ballot.receipt)
        .where(Ballot.round_id == round_.id)
        .order_by(Ballot.seq)
    ).all()
    log = [LogEntry(*row) for row in rows]
    declared = DeclaredCount.from_json(json.loads(snapshot.options))
    return build_files(
        slug=round_.slug,
        round_info=round_info(round_),
        declared=declared,
        election=counted_election(round_, snapshot.chain_head),
        result=result_json(round_, snapshot),
        log=log,
        code_version=snapshot.code_version,
    )


def bundle_digest(round_: Round, snapshot: ResultSnapshot) -> str:
    """The digest a funder certifies: SHA-256 of the bundle's SHA256SUMS."""
    return digest(bundle_files(round_, snapshot))


def public_bundle(slug: str) -> tuple[str, bytes]:
    """The certified round's bundle as (file name, zip bytes); BundleNotAvailable before."""
    round_ = find_round(slug)
    if round_ is None:
        raise BundleNotAvailable("There is no such round.")
    certification = db.session.scalars(
        select(Certification).where(Certification.round_id == round_.id)
    ).first()
    if certification is None or round_.published_at is None:
        raise BundleNotAvailable(
            "The audit bundle is published when the funder certifies the result."
        )
    snapshot = db.session.get(ResultSnapshot, certification.snapshot_id)
    assert snapshot is not None
    return f"{round_.slug}-audit-bundle.zip", zip_bytes(bundle_files(round_, snapshot))
