"""One identity across channels: registration, identity-bound codes and desk checks all
resolve to one ``Voter`` per person per round, and so to at most one participation.

The same normalised name, postcode and date of birth give the same ``Voter.identity_key``
(UNIQUE per round), whichever channel created it; ``Participation`` is UNIQUE per (round,
voter). So a person who registered online, holds a bound code, or was checked at a desk is the
same row, and a second vote on any channel is refused by the database, not only by this code.

Times. ``Participation.at`` keeps only the day, on purpose (see ``services.voting``): a time
of day could be matched against the order of the ballot log. Officers are told the channel,
the venue and the day of the first vote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pb_app.extensions import db
from pb_app.models import Participation, Round, User, Voter, VoterCode
from pb_app.services import ServiceError, audit
from pb_app.services.codes import participation_of
from pb_app.services.eligibility import (
    NotEligible,
    eligibility_problems,
    identity_key,
    normalise_postcode,
)
from pb_app.services.voting import closed_message
from pb_app.services.voting_errors import AlreadyVoted, VotingClosed, channel_words

__all__ = [
    "AlreadyVoted",
    "DeskCheckResult",
    "FirstVote",
    "NotEligible",
    "PersonStatus",
    "RoundNotFound",
    "check_person",
    "desk_check",
    "first_vote",
]


class RoundNotFound(ServiceError):
    """There is no such round."""


@dataclass(frozen=True)
class FirstVote:
    """When and how a person first voted in a round (the day only; see the module's note)."""

    channel: str
    venue: str | None
    on: datetime

    @classmethod
    def of(cls, refusal: AlreadyVoted) -> FirstVote:
        """The first vote an AlreadyVoted refusal reports."""
        return cls(refusal.channel, refusal.venue, refusal.at)

    @property
    def words(self) -> str:
        """ "online on 3 May 2026", "at a voting point (St Mark's hall) on 3 May 2026"."""
        where = channel_words(self.channel)
        if self.venue:
            where = f"{where} ({self.venue})"
        return f"{where} on {self.on.day} {self.on:%B %Y}"


@dataclass(frozen=True)
class PersonStatus:
    """What an officer learns about a person: eligible, registered, holding a code, voted."""

    eligible_problems: list[str]
    registered: bool
    has_code: bool
    voted: FirstVote | None


@dataclass(frozen=True)
class DeskCheckResult:
    """The Voter a person checked at a desk votes as, and whether the desk created it.

    ``voted`` is set only in rounds that allow changing a ballot: the new ballot will replace
    the one cast then.
    """

    voter_id: int
    full_name: str
    created: bool
    voted: FirstVote | None = None


def _first(participation: Participation | None) -> FirstVote | None:
    if participation is None:
        return None
    return FirstVote(participation.channel, participation.venue, participation.at)


def first_vote(
    round_id: int, *, voter_id: int | None = None, code_id: int | None = None
) -> FirstVote | None:
    """How this voter (or code, or the person the code is bound to) first voted, if they did."""
    if code_id is not None and voter_id is None:
        voter_id = db.session.scalar(select(VoterCode.voter_id).where(VoterCode.id == code_id))
    return _first(participation_of(round_id, voter_id=voter_id, code_id=code_id))


def voted_as_user(round_: Round, user_id: int) -> FirstVote | None:
    """How the signed-in person's voter record in this round voted, if it did."""
    voter_id = db.session.scalar(
        select(Voter.id).where(Voter.round_id == round_.id, Voter.user_id == user_id)
    )
    return first_vote(round_.id, voter_id=voter_id) if voter_id is not None else None


def _round(round_id: int) -> Round:
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise RoundNotFound("There is no such round.")
    return round_


def _voter(round_id: int, key: str) -> Voter | None:
    return db.session.scalars(
        select(Voter).where(Voter.round_id == round_id, Voter.identity_key == key)
    ).first()


def _key(round_: Round, full_name: str, postcode: str, date_of_birth: date) -> str:
    return identity_key(
        round_.id, full_name, normalise_postcode(postcode) or postcode, date_of_birth
    )


def check_person(
    round_id: int,
    *,
    full_name: str,
    postcode: str,
    date_of_birth: date,
    basis: str = "lives",
    officer: User | None,
    today: date,
) -> PersonStatus:
    """Look a person up for an officer: eligible? registered? holding a code? voted, and how?"""
    round_ = _round(round_id)
    problems = eligibility_problems(
        round_, postcode=postcode, date_of_birth=date_of_birth, basis=basis, today=today
    )
    if not full_name.strip():
        problems.insert(0, "Enter the person's full name.")
    voter = _voter(round_.id, _key(round_, full_name, postcode, date_of_birth))
    has_code = voter is not None and (
        db.session.scalar(select(VoterCode.id).where(VoterCode.voter_id == voter.id)) is not None
    )
    voted = first_vote(round_.id, voter_id=voter.id) if voter is not None else None
    # Looking up whether a named person voted is itself a staff action worth a trace.
    audit.record(
        "voter.checked",
        actor=officer,
        round_id=round_.id,
        object_type="voter",
        object_id=voter.id if voter is not None else "",
        after={"registered": voter is not None, "voted": voted is not None},
    )
    db.session.commit()
    return PersonStatus(problems, voter is not None, has_code, voted)


def desk_check(
    round_id: int,
    *,
    full_name: str,
    postcode: str,
    date_of_birth: date,
    officer: User | None,
    now: datetime,
    basis: str = "lives",
) -> DeskCheckResult:
    """The Voter a person checked at a desk votes as (found or created), or AlreadyVoted.

    AlreadyVoted carries the channel, venue and day of the first vote (unless the round lets
    voters change their ballot: then the result says how they voted before).
    NotEligible lists every reason the person may not vote; VotingClosed outside voting.
    Cast the ballot with ``cast_ballot(round_id, ..., voter_id=result.voter_id, ...)``:
    the (round, voter) constraint then refuses any second vote on any channel.
    """
    round_ = _round(round_id)
    closed = closed_message(round_, now)
    if closed is not None:
        raise VotingClosed(closed)
    problems = eligibility_problems(
        round_, postcode=postcode, date_of_birth=date_of_birth, basis=basis, today=now.date()
    )
    if not full_name.strip():
        problems.insert(0, "Enter the person's full name.")
    if problems:
        raise NotEligible(problems)
    normal = normalise_postcode(postcode)
    assert normal is not None  # eligibility_problems refused any other shape
    key = identity_key(round_.id, full_name, normal, date_of_birth)
    for _ in range(2):  # a second pass only after losing a race to create the same Voter
        voter = _voter(round_.id, key)
        created = voter is None
        voted = None
        if voter is not None:
            voted = participation_of(round_.id, voter_id=voter.id, code_id=None)
            if voted is not None and not round_.allow_ballot_change:
                db.session.rollback()
                raise AlreadyVoted(voted.channel, voted.at, voted.venue)
        else:
            voter = Voter(
                round_id=round_.id,
                identity_key=key,
                full_name=" ".join(full_name.split()),
                postcode=normal,
                date_of_birth=date_of_birth,
                basis=basis,
            )
            db.session.add(voter)
        try:
            db.session.flush()
            audit.record(
                "voter.desk_check",
                actor=officer,
                round_id=round_.id,
                object_type="voter",
                object_id=voter.id,
                after={"created": created},
            )
            db.session.commit()
        except IntegrityError:
            # The same person registered, or was checked at another desk, at this moment.
            db.session.rollback()
            continue
        return DeskCheckResult(voter.id, voter.full_name, created, _first(voted))
    raise RuntimeError("could not create or find the voter record")  # pragma: no cover
