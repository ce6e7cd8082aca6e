"""Accounts: registration and sign-in."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from pb_app.extensions import db
from pb_app.models import Role, User
from pb_app.models._base import utcnow
from pb_app.passwords import (
    DUMMY_HASH,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from pb_app.services import ServiceError
from pb_app.services.audit import record


class EmailTaken(ServiceError):
    """An account with this email address already exists."""


class WeakPassword(ServiceError):
    """The chosen password breaks the password rule."""


class InvalidCredentials(ServiceError):
    """The email and password do not match an active account."""


def normalise_email(email: str) -> str:
    """Email addresses compare case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def find_user(email: str) -> User | None:
    """The account with this email address, if any."""
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def register_user(
    name: str, email: str, password: str, *, role: Role = Role.RESIDENT, ip: str | None = None
) -> User:
    """Create an account; raise EmailTaken or WeakPassword with a message for the person."""
    email = normalise_email(email)
    problem = password_problem(password, email=email, name=name)
    if problem:
        raise WeakPassword(problem)
    if find_user(email) is not None:
        raise EmailTaken("An account with that email address already exists. Sign in instead.")
    user = User(name=name.strip(), email=email, password_hash=hash_password(password), role=role)
    db.session.add(user)
    try:
        db.session.flush()
        record("account.registered", actor=user, object_type="user", object_id=user.id, ip=ip)
        db.session.commit()
    except IntegrityError:
        # Two registrations raced past find_user; the unique constraint decided.
        db.session.rollback()
        raise EmailTaken(
            "An account with that email address already exists. Sign in instead."
        ) from None
    return user


def authenticate(email: str, password: str, *, ip: str | None = None) -> User:
    """The active account these credentials open; raise InvalidCredentials otherwise."""
    user = find_user(email)
    ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
    if user is None or not ok or not user.active:
        record(
            "auth.sign_in_failed",
            actor=user,
            actor_label=f"attempt for {normalise_email(email)[:200]}",
            object_type="user",
            object_id=user.id if user else "",
            ip=ip,
        )
        db.session.commit()
        raise InvalidCredentials("The email address or password is not right. Try again.")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    record("auth.signed_in", actor=user, object_type="user", object_id=user.id, ip=ip)
    db.session.commit()
    return user


def record_sign_out(user: User, *, ip: str | None = None) -> None:
    """Log a sign-out in the audit log."""
    record("auth.signed_out", actor=user, object_type="user", object_id=user.id, ip=ip)
    db.session.commit()
