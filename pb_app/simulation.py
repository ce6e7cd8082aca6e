"""A whole round, simulated through the real services and HTTP layer (``flask simulate``).

Set-up, groups and bids go through the services (with ``now`` in the bids and review phases);
voters cast random valid ballots with one-time codes through the JSON API; the officer closes
and counts, and the funder certifies, through the staff pages with real CSRF tokens; the audit
bundle is downloaded from its public address and recounted independently of the database.
"""

from __future__ import annotations

import random
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from pb_app.audit_bundle import check_chain, read_bundle, recount_bundle, sum_problems
from pb_app.extensions import db
from pb_app.models import BallotKind, GroupKind, Role, Round, User
from pb_app.services import review
from pb_app.services.accounts import register_user
from pb_app.services.bids import BidValues, create_bid, submit_bid
from pb_app.services.codes import issue_codes
from pb_app.services.groups import GroupDetails, register_group
from pb_app.services.round_setup import RoundSettings, create_round

BALLOTS = ("knapsack", "approval", "ordinal", "scoring")
POT = 40_000_00
PROJECTS = 12
APPROVE_UP_TO = 5
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class SimulationFailed(RuntimeError):
    """A step of the simulation did not do what a real user would expect."""


class _Client(FlaskClient):
    """A test client whose every request runs in its own app context, as in production."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        """Send one request inside a fresh app context (its own ``g`` and session)."""
        db.session.rollback()
        with self.application.app_context():
            return super().open(*args, **kwargs)


@dataclass(frozen=True)
class Summary:
    """What the simulation ends with (the JSON line)."""

    bundle: str
    funded: list[str]
    spent_pence: int
    chain_head: str
    recount_agrees: bool


def _settings(slug: str, ballot: str, rule: str, now: datetime) -> RoundSettings:
    limits: dict[str, Any] = {}
    if ballot == "knapsack":
        limits = {"max_sum_cost_pence": POT // 2}
    elif ballot in ("approval", "ordinal"):
        limits = {"max_length": APPROVE_UP_TO}
    elif ballot == "scoring":
        limits = {"min_points": 1, "max_points": 5}
    return RoundSettings(
        title=f"Simulated round {slug}",
        slug=slug,
        pot_pence=POT,
        min_grant_pence=500_00,
        max_grant_pence=10_000_00,
        summary="A round simulated end to end.",
        funder_name="Simulation Trust",
        wards=("North", "Centre", "South"),
        themes=("Older people", "Green spaces"),
        ballot_kind=BallotKind(ballot),
        rule=rule,
        threshold_percent=40 if rule == "greedy-threshold" else None,
        bids_open_at=now - timedelta(days=30),
        bids_close_at=now - timedelta(days=20),
        voting_open_at=now - timedelta(days=1),
        voting_close_at=now + timedelta(days=10),
        checklist=("Constituted group or named sponsor",),
        **limits,
    )


def _bids(round_: Round, officer: User, rng: random.Random, run: str, now: datetime) -> None:
    """Six groups submit two bids each in the bids phase; officers shortlist them in review."""
    bids_time, review_time = now - timedelta(days=25), now - timedelta(days=15)
    bid_ids = []
    for number in range(PROJECTS // 2):
        lead = register_user(
            f"Group lead {number}", f"lead{number}-{run}@example.org", secrets.token_urlsafe(16)
        )
        group = register_group(
            lead.id,
            GroupDetails(
                name=f"Community group {number} ({run})",
                kind=GroupKind.CONSTITUTED,
                contact_name=f"Contact {number}",
                contact_email=f"group{number}-{run}@example.org",
            ),
        )
        for second in range(2):
            pounds = rng.randrange(1_000, 10_001, 250)
            values = BidValues(
                title=f"Project {number * 2 + second + 1}",
                summary="A project for the neighbourhood.",
                description="What we will do, and how.",
                beneficiaries="Residents of the area.",
                beneficiaries_count=rng.randint(20, 400),
                ward_id=round_.wards[rng.randrange(len(round_.wards))].id,
                theme_id=round_.themes[rng.randrange(len(round_.themes))].id,
                timeline="Six months from the grant.",
                contact_name=f"Contact {number}",
                contact_email=f"group{number}-{run}@example.org",
                lines=(("Staff and materials", pounds * 100 - 20_000), ("Hall hire", 20_000)),
            )
            bid = create_bid(lead.id, round_.slug, group.id, values, bids_time)
            submit_bid(lead.id, bid.id, bids_time)
            bid_ids.append(bid.id)
    for bid_id in bid_ids:
        review.shortlist(round_.id, bid_id, "Eligible.", officer=officer, now=review_time)
        db.session.commit()


def random_ballot(
    kind: str, projects: list[dict[str, Any]], popularity: dict[str, float], rng: random.Random
) -> dict[str, Any]:
    """A random valid ballot for the API, leaning towards the more popular projects."""
    ids = [p["id"] for p in projects]
    liked = [pid for pid in ids if rng.random() < popularity[pid]] or [rng.choice(ids)]
    rng.shuffle(liked)
    if kind == "knapsack":
        cost = {p["id"]: p["cost_pence"] for p in projects}
        chosen, total = [], 0
        for pid in liked:
            if total + cost[pid] <= POT // 2:
                chosen.append(pid)
                total += cost[pid]
        return {"projects": chosen or [min(ids, key=cost.__getitem__)]}
    if kind == "approval":
        return {"projects": liked[:APPROVE_UP_TO]}
    if kind == "ordinal":
        liked.sort(key=lambda pid: -popularity[pid] * rng.random())
        return {"ranking": liked[:APPROVE_UP_TO]}
    return {
        "points": {
            pid: max(1, min(5, round(1 + 4 * popularity[pid] + rng.gauss(0, 1)))) for pid in ids
        }
    }


def _form_post(client: FlaskClient, page: str, path: str, data: dict[str, str]) -> Any:
    """GET the page like a browser, then POST its form with the page's CSRF token."""
    found = _CSRF.search(client.get(page).text)
    if found is None:
        raise SimulationFailed(f"{page} has no form.")
    return client.post(path, data={**data, "csrf_token": found.group(1)})


def _expect(response: Any, status: int, what: str) -> Any:
    if response.status_code != status:
        raise SimulationFailed(f"{what}: HTTP {response.status_code}: {response.text[:300]}")
    return response


def simulate(
    app: Flask,
    *,
    voters: int,
    ballot: str,
    rule: str,
    seed: int,
    out: Path,
    progress: Callable[[str], None],
    now: datetime,
) -> Summary:
    """Run a whole round; return where the bundle is and what the independent recount said."""
    rng = random.Random(seed)  # noqa: S311 - made-up votes, reproducible from --seed
    run = secrets.token_hex(4)
    slug = f"sim-{ballot}-{run}"
    app.config["MAIL_BACKEND"] = "memory"  # simulated groups have no real inboxes
    app.test_client_class = _Client

    progress(f"Setting up round {slug} ({ballot} ballot, rule {rule})…")
    passwords = {role: secrets.token_urlsafe(16) for role in ("officer", "funder")}
    officer = register_user(
        "Sim Officer", f"officer-{run}@example.org", passwords["officer"], role=Role.OFFICER
    )
    register_user("Sim Funder", f"funder-{run}@example.org", passwords["funder"], role=Role.FUNDER)
    round_ = create_round(_settings(slug, ballot, rule, now), actor=officer, now=now)
    round_id = round_.id
    progress(f"{PROJECTS} bids from {PROJECTS // 2} groups submitted and shortlisted…")
    _bids(round_, officer, rng, run, now)

    codes = issue_codes(round_, count=voters, label="Simulation", actor=officer)
    voter_client = app.test_client()
    listing = _expect(voter_client.get(f"/api/v1/rounds/{slug}/projects"), 200, "projects")
    projects = listing.get_json()["projects"]
    popularity = {p["id"]: rng.uniform(0.05, 0.8) for p in projects}
    for number, code in enumerate(codes, start=1):
        body = {"code": code, "ballot": random_ballot(ballot, projects, popularity, rng)}
        response = voter_client.post(f"/api/v1/rounds/{slug}/ballots", json=body)
        _expect(response, 201, f"voter {number}")
        if number % 250 == 0 or number == voters:
            progress(f"  {number:,} of {voters:,} ballots cast")

    staff: dict[str, FlaskClient] = {}
    for number, role in enumerate(("officer", "funder"), start=1):
        staff[role] = app.test_client()
        # Two people at two computers: each has its own address (and sign-in rate limit).
        staff[role].environ_base["REMOTE_ADDR"] = f"10.{rng.randrange(256)}.{number}.1"
        signed_in = _form_post(
            staff[role],
            "/account/sign-in",
            "/account/sign-in",
            {"email": f"{role}-{run}@example.org", "password": passwords[role]},
        )
        _expect(signed_in, 302, f"{role} signs in")
    page = f"/staff/rounds/{round_id}/results"
    progress("Closing voting, counting and certifying…")
    _expect(_form_post(staff["officer"], f"{page}/close", f"{page}/close", {}), 302, "close")
    _expect(_form_post(staff["officer"], page, f"{page}/count", {}), 302, "count")
    certify = {"password": passwords["funder"], "statement": "Simulated and certified."}
    _expect(_form_post(staff["funder"], page, f"{page}/certify", certify), 302, "certify")

    download = _expect(
        app.test_client().get(f"/rounds/{slug}/results/bundle.zip"), 200, "bundle download"
    )
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{slug}-audit-bundle.zip"
    path.write_bytes(download.data)
    progress(f"Bundle saved to {path}; recounting it independently…")

    files = read_bundle(path)
    chain = check_chain(files)
    recount = recount_bundle(files)
    agrees = not sum_problems(files) and chain.ok and recount.matches
    outcome = recount.recorded["outcome"]
    return Summary(
        bundle=str(path),
        funded=list(outcome["selected"]),
        spent_pence=int(outcome["spent"]),
        chain_head=str(recount.recorded["chain_head"]),
        recount_agrees=bool(agrees and recount.recorded["chain_head"] == chain.head),
    )
