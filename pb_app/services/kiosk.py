"""Kiosk mode: a shared device at a venue where voters vote one after another.

An officer opens kiosk mode on a device with a PIN. The device gets a random token in an
HttpOnly cookie; only its SHA-256 is stored (the token is 256 random bits, so a keyed hash
adds nothing). The kiosk's session key, used to sign ballots queued while the network is
down, is ``HMAC(SECRET_KEY, "pb_app kiosk session key v1:" ‖ token digest)``: the server can
recompute it on every request, and nothing in the database alone yields it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from pb_app.extensions import db
from pb_app.models import (
    Ballot,
    Certification,
    Channel,
    Kiosk,
    Participation,
    ResultSnapshot,
    Role,
    Round,
    User,
)
from pb_app.passwords import DUMMY_HASH, hash_password, verify_password
from pb_app.services import ServiceError, audit
from pb_app.services.accounts import find_user
from pb_app.services.voting import CastResult, cast_ballot
from pb_app.tally.election import Ballot as TallyBallot

PIN_MIN, PIN_MAX = 6, 12
# A kiosk lasts one event day at most: a device left signed in overnight is no longer a kiosk.
LIFETIME = timedelta(hours=16)
STAFF_ROLES = (Role.VOLUNTEER, Role.OFFICER, Role.ADMIN)


class KioskRefused(ServiceError):
    """Kiosk mode cannot be opened as asked (venue or PIN)."""


class WrongPin(ServiceError):
    """The PIN given to leave kiosk mode is not this kiosk's."""


class StaffCheckFailed(ServiceError):
    """The email and password given at the kiosk are not a volunteer's or officer's."""


@dataclass(frozen=True)
class OpenedKiosk:
    """A kiosk just opened, with the token for the device's cookie (shown nowhere else)."""

    kiosk: Kiosk
    token: str


def token_digest(token: str) -> str:
    """The stored form of a kiosk token."""
    return hashlib.sha256(f"pb_app kiosk token v1:{token}".encode()).hexdigest()


def pin_problem(pin: str) -> str | None:
    """Why a new PIN is unacceptable, or None."""
    if not (pin.isascii() and pin.isdigit()) or not PIN_MIN <= len(pin) <= PIN_MAX:
        return f"Choose a PIN of {PIN_MIN} to {PIN_MAX} digits."
    if len(set(pin)) < 3:
        return "That PIN repeats the same few digits. Choose another."
    return None


def open_kiosk(
    round_: Round, *, venue: str, pin: str, officer: User, ip: str | None = None
) -> OpenedKiosk:
    """Sign a device into the round's kiosk mode at ``venue``; the PIN leaves it again."""
    venue = " ".join(venue.split())
    if not venue or len(venue) > 120:
        raise KioskRefused("Enter the venue's name, up to 120 characters.")
    if problem := pin_problem(pin):
        raise KioskRefused(problem)
    token = secrets.token_urlsafe(32)
    kiosk = Kiosk(
        round_id=round_.id,
        venue=venue,
        token_digest=token_digest(token),
        pin_hash=hash_password(pin),
        opened_by_id=officer.id,
    )
    db.session.add(kiosk)
    db.session.flush()
    audit.record(
        "kiosk.opened",
        actor=officer,
        round_id=round_.id,
        object_type="kiosk",
        object_id=kiosk.id,
        after={"venue": venue},
        ip=ip,
    )
    db.session.commit()
    return OpenedKiosk(kiosk, token)


def kiosk_for_token(token: str | None, now: datetime) -> Kiosk | None:
    """The open kiosk this device's token belongs to, if any (and opened less than a day ago)."""
    if not token or len(token) > 100:
        return None
    return db.session.scalars(
        select(Kiosk).where(
            Kiosk.token_digest == token_digest(token),
            Kiosk.closed_at.is_(None),
            Kiosk.opened_at > now - LIFETIME,
        )
    ).first()


def close_kiosk(kiosk: Kiosk, *, pin: str, now: datetime, ip: str | None = None) -> None:
    """Leave kiosk mode with the officer's PIN; a wrong PIN is logged and changes nothing else."""
    if not verify_password(kiosk.pin_hash, pin[: PIN_MAX + 8]):
        audit.record(
            "kiosk.exit_refused",
            actor=None,
            actor_label=f"kiosk at {kiosk.venue}",
            round_id=kiosk.round_id,
            object_type="kiosk",
            object_id=kiosk.id,
            ip=ip,
        )
        db.session.commit()
        raise WrongPin("That PIN is not right. Ask the officer who opened this kiosk.")
    kiosk.closed_at = now
    audit.record(
        "kiosk.closed",
        actor=None,
        actor_label=f"kiosk at {kiosk.venue} (officer PIN)",
        round_id=kiosk.round_id,
        object_type="kiosk",
        object_id=kiosk.id,
        ip=ip,
    )
    db.session.commit()


def open_kiosks(round_: Round, now: datetime) -> list[Kiosk]:
    """The round's kiosks still open (for officers to see, and to end one remotely)."""
    return list(
        db.session.scalars(
            select(Kiosk)
            .where(
                Kiosk.round_id == round_.id,
                Kiosk.closed_at.is_(None),
                Kiosk.opened_at > now - LIFETIME,
            )
            .order_by(Kiosk.opened_at)
        )
    )


def end_kiosk(round_: Round, kiosk_id: int, *, officer: User, now: datetime) -> Kiosk:
    """An officer ends a kiosk from another device (a tablet left behind or lost)."""
    kiosk = db.session.get(Kiosk, kiosk_id)
    if kiosk is None or kiosk.round_id != round_.id or kiosk.closed_at is not None:
        raise KioskRefused("That voting point is not open.")
    kiosk.closed_at = now
    audit.record(
        "kiosk.closed",
        actor=officer,
        round_id=round_.id,
        object_type="kiosk",
        object_id=kiosk.id,
        after={"venue": kiosk.venue, "remotely": True},
    )
    db.session.commit()
    return kiosk


def session_key(kiosk: Kiosk) -> bytes:
    """The key this kiosk signs queued ballots with."""
    secret = current_app.config["SECRET_KEY"]
    secret_bytes = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    message = f"pb_app kiosk session key v1:{kiosk.token_digest}".encode()
    return hmac.new(secret_bytes, message, hashlib.sha256).digest()


def sign(kiosk: Kiosk, message: str) -> str:
    """HMAC-SHA256 of ``message`` under the kiosk's session key, in hex."""
    # "replace": a lone surrogate (possible in JSON) must not crash; it cannot match anyway.
    data = message.encode("utf-8", "replace")
    return hmac.new(session_key(kiosk), data, hashlib.sha256).hexdigest()


def signature_valid(kiosk: Kiosk, message: str, signature: str) -> bool:
    """Whether ``signature`` is this kiosk's signature of ``message`` (constant time)."""
    # Bytes, not str: compare_digest refuses non-ASCII text, and a signature may be any junk.
    expected = sign(kiosk, message).encode("ascii")
    return hmac.compare_digest(expected, (signature or "").encode("utf-8", "replace"))


def check_staff(kiosk: Kiosk, email: str, password: str, *, ip: str | None = None) -> User:
    """The volunteer, officer or admin these credentials belong to; StaffCheckFailed otherwise.

    Not a sign-in: nothing of the staff member stays on the kiosk. Both outcomes are audited,
    without the voter (the audit log must not help tie a person to a ballot).
    """
    user = find_user(email)
    ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
    allowed = user is not None and ok and user.active and user.role in STAFF_ROLES
    audit.record(
        "kiosk.staff_checked" if allowed else "kiosk.staff_check_failed",
        actor=user if allowed else None,
        actor_label="" if allowed else f"attempt for {email.strip().lower()[:120]}",
        round_id=kiosk.round_id,
        object_type="kiosk",
        object_id=kiosk.id,
        ip=ip,
    )
    db.session.commit()
    if not allowed or user is None:
        raise StaffCheckFailed(
            "Those are not the email address and password of a volunteer or officer."
        )
    return user


def cast_kiosk_ballot(
    kiosk: Kiosk,
    ballot: TallyBallot,
    *,
    voter_id: int | None,
    code: str | None,
    assisted: bool,
    volunteer_id: int | None,
    excluded: Collection[str] = (),
    now: datetime,
) -> CastResult:
    """Cast a ballot at this kiosk: channel kiosk, its venue, and who assisted (if anyone)."""
    return cast_ballot(
        kiosk.round_id,
        ballot,
        voter_id=voter_id,
        code=code,
        channel=Channel.KIOSK,
        venue=kiosk.venue,
        assisted=assisted,
        volunteer_id=volunteer_id if assisted else None,
        excluded=excluded,
        now=now,
    )


@dataclass(frozen=True)
class Turnout:
    """People who voted in a round, by channel, and assisted ballots by venue."""

    total: int
    by_channel: dict[str, int]
    assisted_by_venue: dict[str, int] = field(default_factory=dict)


def turnout(round_: Round) -> Turnout:
    """How many people have voted, by channel; assisted kiosk ballots per venue."""
    rows = db.session.execute(
        select(Participation.channel, func.count())
        .where(Participation.round_id == round_.id)
        .group_by(Participation.channel)
    ).all()
    by_channel = {str(channel): int(count) for channel, count in rows}
    assisted = Counter(
        str(venue or "")
        for venue in db.session.scalars(
            select(Ballot.venue).where(Ballot.round_id == round_.id, Ballot.assisted.is_(True))
        )
    )
    return Turnout(sum(by_channel.values()), by_channel, dict(assisted))


@dataclass(frozen=True)
class LiveScreen:
    """What the event's big screen shows: turnout while voting, funded projects once certified."""

    turnout: Turnout
    funded: list[dict[str, Any]] | None


def live_screen(round_: Round) -> LiveScreen | None:
    """The live event screen's contents, or None when the round does not show one."""
    if not round_.live_event_screen:
        return None
    funded: list[dict[str, Any]] | None = None
    certification = db.session.scalars(
        select(Certification).where(Certification.round_id == round_.id)
    ).first()
    if round_.published_at is not None and certification is not None:
        snapshot = db.session.get(ResultSnapshot, certification.snapshot_id)
        outcome: dict[str, Any] = json.loads(snapshot.outcome) if snapshot else {}
        projects = outcome.get("projects", [])
        funded = [p for p in projects if isinstance(p, dict) and p.get("funded")]
    return LiveScreen(turnout(round_), funded)
