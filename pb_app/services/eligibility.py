"""Who may vote in a round, and registering a voter once per person."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pb_app.extensions import db
from pb_app.models import EligiblePostcode, Round, User, Voter
from pb_app.services import ServiceError, audit
from pb_app.services.rounds import ward_in_round

# The shape of a UK postcode (outward code, then inward code), as the Royal Mail defines it,
# plus the one historic exception GIR 0AA (Girobank).
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_OUTWARD = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
_AREA = re.compile(r"^[A-Z]{1,2}$")
BASES = ("lives", "works", "studies")


class NotEligible(ServiceError):
    """The person may not vote in this round; ``problems`` says why, in plain English."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


class AlreadyRegistered(ServiceError):
    """Someone with the same name, postcode and date of birth is already registered."""

    def __init__(self) -> None:
        super().__init__(
            "You are already registered to vote in this round. If you think this is wrong, "
            "contact the round's organisers."
        )


def normalise_postcode(text: str) -> str | None:
    """A UK postcode in standard form ("e81dy" → "E8 1DY"), or None if it has not that shape."""
    compact = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).upper()
    if compact == "GIR0AA":
        return "GIR 0AA"
    match = _POSTCODE.match(compact)
    if match is None:
        return None
    return f"{match.group(1)} {match.group(2)}"


def _area_prefixes(round_: Round) -> list[str]:
    return [
        " ".join(part.split()).upper()
        for part in re.split(r"[,;\n]", round_.postcode_areas or "")
        if part.strip()
    ]


def postcode_in_areas(postcode: str, prefixes: list[str]) -> bool:
    """Whether a normalised postcode lies in one of the areas ("E", "E8", "SW9 7", "E8 1DY")."""
    outward = postcode.split(" ")[0]
    for prefix in prefixes:
        if " " in prefix:  # a sector ("SW9 7") or a full postcode
            if postcode.startswith(prefix):
                return True
        elif _OUTWARD.match(prefix):  # a district: compare whole outward codes, "E8" ≠ "E81"
            if outward == prefix:
                return True
        elif _AREA.match(prefix):  # an area: the letters before the first digit
            letters = re.match(r"[A-Z]+", outward)
            if letters is not None and letters.group(0) == prefix:
                return True
    return False


def _or_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} or {items[-1]}"


def age_on(date_of_birth: date, today: date) -> int:
    """Age in whole years on ``today`` (someone born on 29 February ages on 1 March)."""
    years = today.year - date_of_birth.year
    if (today.month, today.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


def eligibility_problems(
    round_: Round, *, postcode: str, date_of_birth: date, basis: str, today: date
) -> list[str]:
    """Every reason this person may not vote in the round (empty when they may)."""
    problems: list[str] = []
    if basis not in BASES:
        problems.append("Say whether you live, work or study in the area.")
    elif basis != "lives" and not round_.allow_work_study:
        problems.append("This round is only for people who live in the area.")

    if date_of_birth > today:
        problems.append("Your date of birth must be in the past.")
    else:
        age = age_on(date_of_birth, today)
        if round_.min_age is not None and age < round_.min_age:
            problems.append(f"You must be {round_.min_age} or over to vote in this round.")
        if round_.max_age is not None and age > round_.max_age:
            problems.append(f"You must be {round_.max_age} or under to vote in this round.")

    normal = normalise_postcode(postcode)
    if normal is None:
        problems.append("Enter a real UK postcode, like E8 1DY.")
        return problems
    listed = db.session.scalars(
        select(EligiblePostcode.postcode).where(EligiblePostcode.round_id == round_.id).limit(1)
    ).first()
    if listed is not None:
        found = db.session.scalars(
            select(EligiblePostcode.id).where(
                EligiblePostcode.round_id == round_.id, EligiblePostcode.postcode == normal
            )
        ).first()
        if found is None:
            problems.append(f"{normal} is not on this round's list of eligible addresses.")
        return problems
    prefixes = _area_prefixes(round_)
    if prefixes and not postcode_in_areas(normal, prefixes):
        verb = "live" if not round_.allow_work_study else "live, work or study"
        problems.append(
            f"This round is for people who {verb} in {_or_list(prefixes)}; "
            f"{normal} is outside that area."
        )
    return problems


def normalise_name(full_name: str) -> str:
    """A name for matching: case, accents' composition, punctuation and spacing forgiven."""
    text = unicodedata.normalize("NFKC", full_name).casefold()
    text = "".join(ch for ch in text if ch.isalnum() or ch.isspace())
    return " ".join(text.split())


def identity_key(round_id: int, full_name: str, postcode: str, date_of_birth: date) -> str:
    """SHA-256 of the round id and the normalised name, postcode and date of birth."""
    normal_postcode = normalise_postcode(postcode) or postcode.strip().upper()
    parts = (str(round_id), normalise_name(full_name), normal_postcode, date_of_birth.isoformat())
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _flag_duplicate(round_: Round, key: str, user: User | None, today: date) -> None:
    existing = db.session.scalars(
        select(Voter).where(Voter.round_id == round_.id, Voter.identity_key == key)
    ).one()
    note = (
        f"A second registration with the same name, postcode and date of birth on {today:%Y-%m-%d}."
    )
    existing.flagged_reason = note
    audit.record(
        "voter.duplicate_registration",
        actor=user,
        round_id=round_.id,
        object_type="voter",
        object_id=existing.id,
        after={"flagged_reason": note},
    )
    db.session.commit()


def register_voter(
    round_: Round,
    *,
    full_name: str,
    postcode: str,
    date_of_birth: date,
    basis: str,
    email: str | None = None,
    phone: str | None = None,
    user: User | None = None,
    ward_id: int | None = None,
    today: date,
) -> Voter:
    """Register an eligible person once per round; a second registration is refused and flagged."""
    user_id = getattr(user, "id", None) if user is not None else None
    if user_id is not None:
        mine = db.session.scalars(
            select(Voter).where(Voter.round_id == round_.id, Voter.user_id == user_id)
        ).first()
        if mine is not None:
            return mine
    problems = eligibility_problems(
        round_, postcode=postcode, date_of_birth=date_of_birth, basis=basis, today=today
    )
    if not full_name.strip():
        problems.insert(0, "Enter your full name.")
    if problems:
        raise NotEligible(problems)
    normal = normalise_postcode(postcode)
    assert normal is not None  # eligibility_problems refused any other shape
    key = identity_key(round_.id, full_name, normal, date_of_birth)
    duplicate = db.session.scalars(
        select(Voter.id).where(Voter.round_id == round_.id, Voter.identity_key == key)
    ).first()
    if duplicate is not None:
        _flag_duplicate(round_, key, user if user_id is not None else None, today)
        raise AlreadyRegistered()
    voter = Voter(
        round_id=round_.id,
        user_id=user_id,
        identity_key=key,
        full_name=" ".join(full_name.split()),
        postcode=normal,
        date_of_birth=date_of_birth,
        basis=basis,
        email=email or None,
        phone=phone or None,
        ward_id=ward_in_round(round_, ward_id),
    )
    db.session.add(voter)
    try:
        db.session.commit()
    except IntegrityError:
        # Two registrations of the same person at the same moment: the constraint decides.
        db.session.rollback()
        _flag_duplicate(round_, key, user if user_id is not None else None, today)
        raise AlreadyRegistered() from None
    return voter
