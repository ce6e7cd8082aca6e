"""The life of a bid: which status changes are allowed, for whom, and when (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pb_app.models.bids import BidStatus
from pb_app.phases import Phase


class Actor(StrEnum):
    """Who asks for a change."""

    GROUP = "group"
    OFFICER = "officer"
    COUNT = "count"  # the certified result of the count


class Action(StrEnum):
    """What is asked."""

    SUBMIT = "submit"
    RESUBMIT = "resubmit"
    EDIT = "edit"
    WITHDRAW = "withdraw"
    REQUEST_CHANGES = "request_changes"
    SHORTLIST = "shortlist"
    REJECT = "reject"
    REOPEN = "reopen"  # an officer takes back a shortlisting or rejection during review
    MARK_FUNDED = "mark_funded"
    MARK_NOT_FUNDED = "mark_not_funded"


@dataclass(frozen=True)
class Move:
    """One allowed change: from these statuses, by this actor, in these phases, to a status."""

    action: Action
    actor: Actor
    sources: frozenset[BidStatus]
    phases: frozenset[Phase]
    target: BidStatus | None  # None: the status stays (an edit)


S = BidStatus
_OPEN = frozenset({Phase.BIDS})
_REVIEWING = frozenset({Phase.BIDS, Phase.REVIEW})
_COUNTED = frozenset({Phase.COUNTING, Phase.RESULTS})

MOVES: tuple[Move, ...] = (
    Move(Action.SUBMIT, Actor.GROUP, frozenset({S.DRAFT}), _OPEN, S.SUBMITTED),
    # Before the deadline a group edits its draft or submitted bid freely; after it, only
    # when an officer has asked for changes.
    Move(Action.EDIT, Actor.GROUP, frozenset({S.DRAFT, S.SUBMITTED}), _OPEN, None),
    Move(Action.EDIT, Actor.GROUP, frozenset({S.CHANGES_REQUESTED}), _REVIEWING, None),
    Move(Action.RESUBMIT, Actor.GROUP, frozenset({S.CHANGES_REQUESTED}), _REVIEWING, S.RESUBMITTED),
    Move(
        Action.WITHDRAW,
        Actor.GROUP,
        frozenset({S.DRAFT, S.SUBMITTED, S.CHANGES_REQUESTED, S.RESUBMITTED, S.SHORTLISTED}),
        _REVIEWING,
        S.WITHDRAWN,
    ),
    Move(
        Action.REQUEST_CHANGES,
        Actor.OFFICER,
        frozenset({S.SUBMITTED, S.RESUBMITTED}),
        _REVIEWING,
        S.CHANGES_REQUESTED,
    ),
    Move(
        Action.SHORTLIST,
        Actor.OFFICER,
        frozenset({S.SUBMITTED, S.RESUBMITTED}),
        _REVIEWING,
        S.SHORTLISTED,
    ),
    Move(
        Action.REJECT,
        Actor.OFFICER,
        frozenset({S.SUBMITTED, S.RESUBMITTED}),
        _REVIEWING,
        S.REJECTED,
    ),
    Move(
        Action.REOPEN,
        Actor.OFFICER,
        frozenset({S.SHORTLISTED, S.REJECTED}),
        _REVIEWING,
        S.SUBMITTED,
    ),
    Move(Action.MARK_FUNDED, Actor.COUNT, frozenset({S.SHORTLISTED}), _COUNTED, S.FUNDED),
    Move(Action.MARK_NOT_FUNDED, Actor.COUNT, frozenset({S.SHORTLISTED}), _COUNTED, S.NOT_FUNDED),
)


class TransitionRefused(Exception):
    """A change that the bid's status or the round's phase does not allow; says why."""


def allowed_actions(status: BidStatus, phase: Phase, actor: Actor) -> list[Action]:
    """The actions ``actor`` may take on a bid in ``status`` while the round is in ``phase``."""
    return [
        m.action for m in MOVES if m.actor == actor and status in m.sources and phase in m.phases
    ]


def next_status(status: BidStatus, phase: Phase, actor: Actor, action: Action) -> BidStatus:
    """The status after ``action``; raise TransitionRefused with a plain reason otherwise."""
    candidates = [m for m in MOVES if m.action == action and m.actor == actor]
    if not candidates:
        raise TransitionRefused(f"A {actor.value} cannot {action.value.replace('_', ' ')} a bid.")
    for move in candidates:
        if status in move.sources and phase in move.phases:
            return move.target if move.target is not None else status
    if not any(status in move.sources for move in candidates):
        raise TransitionRefused(
            f"This bid is {status.value.replace('_', ' ')}, so it cannot be {_past(action)} now."
        )
    raise TransitionRefused(
        f"The round is {phase.value.replace('_', ' ')}; a bid cannot be {_past(action)} "
        "at this stage."
    )


def _past(action: Action) -> str:
    return {
        Action.SUBMIT: "submitted",
        Action.RESUBMIT: "resubmitted",
        Action.EDIT: "changed",
        Action.WITHDRAW: "withdrawn",
        Action.REQUEST_CHANGES: "sent back for changes",
        Action.SHORTLIST: "shortlisted",
        Action.REJECT: "rejected",
        Action.REOPEN: "reopened",
        Action.MARK_FUNDED: "marked funded",
        Action.MARK_NOT_FUNDED: "marked not funded",
    }[action]
