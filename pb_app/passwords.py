"""Password hashing (argon2id) and the strength rule for new passwords."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8
MAX_LENGTH = 256  # argon2 takes any length; this only stops absurd request bodies

# ASVS 5.0's argon2id minimum (t=2, m=19 MiB, p=1): about 24 ms a hash on the target hardware,
# against about 155 ms for argon2-cffi's defaults — chosen so a decision-day rush of sign-ins
# is not CPU-bound while staying at the standard's floor.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@cache
def _common_passwords() -> frozenset[str]:
    path = Path(__file__).parent / "data" / "common_passwords.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line and not line.startswith("#"))


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why a new password is too weak, in plain English, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters (15 or more is better)."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    if lowered in _common_passwords():
        return "That password is one of the most common and easy to guess. Choose another."
    if email and lowered == email.lower():
        return "Do not use your email address as your password."
    if name and lowered.replace(" ", "") == name.lower().replace(" ", ""):
        return "Do not use your name as your password."
    if len(set(password)) < 3:
        return "That password repeats the same few characters. Choose another."
    return None


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches the stored hash (False for a malformed hash)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash used older parameters and should be replaced at next sign-in."""
    return _hasher.check_needs_rehash(password_hash)


# Verified against when the email is unknown, so sign-in takes the same time either way.
DUMMY_HASH = _hasher.hash("not a real password, used to even out timing")
