"""A round's phase comes from its dates and explicit transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pb_app.phases import Phase, Timeline, phase_at, timeline_problems

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
TIMELINE = Timeline(
    bids_open_at=T0,
    bids_close_at=T0 + 10 * DAY,
    voting_open_at=T0 + 20 * DAY,
    voting_close_at=T0 + 30 * DAY,
)


@pytest.mark.parametrize(
    ("offset", "phase"),
    [
        (-DAY, Phase.SETUP),
        (timedelta(0), Phase.BIDS),
        (5 * DAY, Phase.BIDS),
        (10 * DAY, Phase.REVIEW),
        (20 * DAY, Phase.VOTING),
        (30 * DAY - timedelta(seconds=1), Phase.VOTING),
        (30 * DAY, Phase.COUNTING),
    ],
)
def test_phase_follows_the_dates(offset: timedelta, phase: Phase) -> None:
    assert phase_at(TIMELINE, T0 + offset) is phase


def test_closing_early_ends_voting() -> None:
    closed = Timeline(**{**TIMELINE.__dict__, "closed_at": T0 + 25 * DAY})
    assert phase_at(closed, T0 + 26 * DAY) is Phase.COUNTING


def test_publishing_and_archiving_win_over_dates() -> None:
    published = Timeline(**{**TIMELINE.__dict__, "published_at": T0 + 31 * DAY})
    assert phase_at(published, T0 + 40 * DAY) is Phase.RESULTS
    archived = Timeline(**{**published.__dict__, "archived_at": T0 + 90 * DAY})
    assert phase_at(archived, T0 + 91 * DAY) is Phase.ARCHIVED


def test_dates_out_of_order_are_explained() -> None:
    bad = Timeline(
        bids_open_at=T0, bids_close_at=T0 - DAY, voting_open_at=None, voting_close_at=None
    )
    assert timeline_problems(bad) == ["The date bids close must come after the date bids open."]
    assert timeline_problems(TIMELINE) == []
