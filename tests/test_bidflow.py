"""The bid state machine."""

from __future__ import annotations

import pytest

from pb_app.bidflow import Action, Actor, TransitionRefused, allowed_actions, next_status
from pb_app.models.bids import BidStatus as S
from pb_app.phases import Phase


def test_group_submits_a_draft_while_bids_are_open() -> None:
    assert next_status(S.DRAFT, Phase.BIDS, Actor.GROUP, Action.SUBMIT) is S.SUBMITTED


def test_group_cannot_edit_after_the_deadline_unless_asked() -> None:
    with pytest.raises(TransitionRefused, match="cannot be changed at this stage"):
        next_status(S.SUBMITTED, Phase.REVIEW, Actor.GROUP, Action.EDIT)
    assert (
        next_status(S.CHANGES_REQUESTED, Phase.REVIEW, Actor.GROUP, Action.EDIT)
        is S.CHANGES_REQUESTED
    )


def test_change_request_round_trip() -> None:
    status = next_status(S.SUBMITTED, Phase.REVIEW, Actor.OFFICER, Action.REQUEST_CHANGES)
    status = next_status(status, Phase.REVIEW, Actor.GROUP, Action.RESUBMIT)
    assert next_status(status, Phase.REVIEW, Actor.OFFICER, Action.SHORTLIST) is S.SHORTLISTED


def test_a_group_cannot_shortlist_its_own_bid() -> None:
    with pytest.raises(TransitionRefused, match="A group cannot shortlist"):
        next_status(S.SUBMITTED, Phase.REVIEW, Actor.GROUP, Action.SHORTLIST)


def test_nothing_changes_on_the_shortlist_once_voting_opens() -> None:
    assert allowed_actions(S.SHORTLISTED, Phase.VOTING, Actor.OFFICER) == []
    assert allowed_actions(S.SHORTLISTED, Phase.VOTING, Actor.GROUP) == []


def test_a_rejected_bid_cannot_be_rejected_again() -> None:
    with pytest.raises(TransitionRefused, match="This bid is rejected"):
        next_status(S.REJECTED, Phase.REVIEW, Actor.OFFICER, Action.REJECT)
