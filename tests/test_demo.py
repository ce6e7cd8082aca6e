"""The demo round command."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from pb_app.extensions import db
from pb_app.models import Bid, BidStatus, ResultSnapshot, Round, User


def _count(model: type[Any]) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_demo_creates_the_ageing_better_round_once(runner: Any) -> None:
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert (_count(Round), _count(Bid), _count(User)) == (2, 20, 6)

    round_ = db.session.scalar(select(Round).where(Round.slug == "ageing-better-small-grants"))
    assert round_ is not None
    assert round_.pot_pence == 50_000_00
    assert round_.min_age == 50
    assert round_.ballot_kind == "knapsack"
    assert len(round_.wards) == 3
    bids = db.session.scalars(select(Bid).where(Bid.round_id == round_.id)).all()
    assert all(500_00 <= bid.amount_pence <= 5_000_00 for bid in bids)
    assert all(bid.status == BidStatus.SHORTLISTED and len(bid.budget_lines) >= 2 for bid in bids)


def test_demo_past_round_is_certified_and_its_results_and_bundle_are_public(
    runner: Any, client: Any
) -> None:
    from pb_app.services.voting import verify_log

    assert runner.invoke(args=["demo"]).exit_code == 0
    past = db.session.scalar(select(Round).where(Round.slug == "ageing-better-2025"))
    assert past is not None
    assert past.published_at is not None
    assert verify_log(past).ok
    snapshot = db.session.scalar(select(ResultSnapshot).where(ResultSnapshot.round_id == past.id))
    assert snapshot is not None
    assert snapshot.ballots_counted == 412
    assert 0 < snapshot.spent_pence <= past.pot_pence
    statuses = {b.status for b in db.session.scalars(select(Bid).where(Bid.round_id == past.id))}
    assert statuses == {BidStatus.FUNDED, BidStatus.NOT_FUNDED}
    page = client.get("/rounds/ageing-better-2025/results")
    assert page.status_code == 200
    assert "Certified by Fran Funder" in page.text
    assert "Tea dances at the Round Chapel" in page.text
    assert "/rounds/ageing-better-2025/results/bundle.zip" in page.text
    bundle = client.get("/rounds/ageing-better-2025/results/bundle.zip")
    assert bundle.status_code == 200
    assert bundle.mimetype == "application/zip"


def test_demo_prints_a_password_for_every_role_that_works(runner: Any, client: Any) -> None:
    from tests.helpers import post_form

    output = runner.invoke(args=["demo"]).output
    for role in ("admin", "officer", "funder", "volunteer", "resident", "group member"):
        assert f"  {role} " in output
    line = next(line for line in output.splitlines() if "officer@demo.pb.test" in line)
    password = line.split()[-1]
    response = post_form(
        client, "/account/sign-in", {"email": "officer@demo.pb.test", "password": password}
    )
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 200


def test_demo_refuses_production(runner: Any, app: Any) -> None:
    app.config["PB_ENV"] = "production"
    result = runner.invoke(args=["demo"])
    assert result.exit_code != 0
    assert "not for production" in result.output
