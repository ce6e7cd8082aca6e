"""The test factories give rounds in the phase asked for, with bids that add up."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pb_app.models import Bid, Group, Round, User
from pb_app.models._base import utcnow
from pb_app.services.rounds import round_phase


@pytest.mark.parametrize("phase", ["setup", "bids", "review", "voting", "counting"])
def test_make_round_is_in_the_phase_asked(make_round: Callable[..., Round], phase: str) -> None:
    assert round_phase(make_round(phase), utcnow()) == phase


def test_make_bid_amount_is_the_sum_of_its_lines(
    make_round: Callable[..., Round],
    make_group: Callable[..., Group],
    make_bid: Callable[..., Bid],
    make_user: Callable[..., User],
) -> None:
    group = make_group(make_user())
    bid = make_bid(make_round(), group, lines=[("Hall", 120_00), ("Tea", 30_50)])
    assert bid.amount_pence == 150_50
    assert group.memberships[0].is_lead
