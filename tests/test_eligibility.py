"""Who may vote: postcodes, ages, living/working/studying, and registering once per person."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from pb_app.extensions import db
from pb_app.models import AuditEvent, EligiblePostcode, Round, Voter
from pb_app.services.eligibility import (
    AlreadyRegistered,
    NotEligible,
    age_on,
    eligibility_problems,
    identity_key,
    normalise_postcode,
    register_voter,
)

TODAY = date(2026, 6, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("e81dy", "E8 1DY"),
        (" E8 1DY ", "E8 1DY"),
        ("sw1a 1aa", "SW1A 1AA"),
        ("M1 1AE", "M1 1AE"),
        ("B33 8TH", "B33 8TH"),
        ("CR2 6XH", "CR2 6XH"),
        ("DN55 1PT", "DN55 1PT"),
        ("W1A 0AX", "W1A 0AX"),
        ("ＥＣ１Ａ １ＢＢ", "EC1A 1BB"),
        ("gir 0aa", "GIR 0AA"),
        ("E8", None),
        ("12345", None),
        ("", None),
        ("E8 1DYY", None),
        ("EEE8 1DY", None),
    ],
)
def test_normalise_postcode(text: str, expected: str | None) -> None:
    assert normalise_postcode(text) == expected


def test_age_counts_birthdays() -> None:
    assert age_on(date(1976, 6, 1), TODAY) == 50
    assert age_on(date(1976, 6, 2), TODAY) == 49
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


@pytest.fixture
def round_(make_round: Callable[..., Round]) -> Round:
    """An Ageing Better style round: 50 and over, living in E8, E5 or E9."""
    return make_round(phase="voting", min_age=50, postcode_areas="E8, E5, E9")


def problems(round_: Round, **overrides: Any) -> list[str]:
    values: dict[str, Any] = {
        "postcode": "E8 1DY",
        "date_of_birth": date(1960, 1, 1),
        "basis": "lives",
        "today": TODAY,
    }
    values.update(overrides)
    return eligibility_problems(round_, **values)


def test_an_eligible_person_has_no_problems(round_: Round) -> None:
    assert problems(round_) == []
    assert problems(round_, postcode="e5 0ll") == []


def test_too_young(round_: Round) -> None:
    assert problems(round_, date_of_birth=date(1990, 1, 1)) == [
        "You must be 50 or over to vote in this round."
    ]


def test_too_old(make_round: Callable[..., Round]) -> None:
    youth = make_round(phase="voting", min_age=11, max_age=25)
    assert problems(youth, date_of_birth=date(1990, 1, 1)) == [
        "You must be 25 or under to vote in this round."
    ]


def test_outside_the_area(round_: Round) -> None:
    assert problems(round_, postcode="sw91aa") == [
        "This round is for people who live in E8, E5 or E9; SW9 1AA is outside that area."
    ]
    # A district is matched whole: E81 is not E8.
    assert problems(round_, postcode="E81 1AA")


def test_sectors_and_areas(make_round: Callable[..., Round]) -> None:
    sector = make_round(phase="voting", postcode_areas="SW9 7")
    assert problems(sector, postcode="SW9 7AB") == []
    assert problems(sector, postcode="SW9 8AB")
    area = make_round(phase="voting", postcode_areas="E")
    assert problems(area, postcode="E17 4AA") == []
    assert problems(area, postcode="EC1A 1BB")


def test_not_a_postcode(round_: Round) -> None:
    assert problems(round_, postcode="nowhere") == ["Enter a real UK postcode, like E8 1DY."]


def test_birth_date_in_the_future(round_: Round) -> None:
    assert "Your date of birth must be in the past." in problems(
        round_, date_of_birth=date(2030, 1, 1)
    )


def test_work_or_study_only_when_the_round_allows(
    round_: Round, make_round: Callable[..., Round]
) -> None:
    assert problems(round_, basis="works") == [
        "This round is only for people who live in the area."
    ]
    open_to_workers = make_round(phase="voting", allow_work_study=True, postcode_areas="E8")
    assert problems(open_to_workers, basis="studies") == []
    assert problems(open_to_workers, basis="visits") == [
        "Say whether you live, work or study in the area."
    ]


def test_every_problem_is_listed(round_: Round) -> None:
    assert (
        len(problems(round_, basis="works", date_of_birth=date(2000, 1, 1), postcode="N1 1AA")) == 3
    )


def test_an_uploaded_postcode_list_decides(round_: Round) -> None:
    db.session.add(EligiblePostcode(round_id=round_.id, postcode="E8 1DY"))
    db.session.commit()
    assert problems(round_) == []
    assert problems(round_, postcode="E8 2AA") == [
        "E8 2AA is not on this round's list of eligible addresses."
    ]


def register(round_: Round, **overrides: Any) -> Voter:
    values: dict[str, Any] = {
        "full_name": "Ada Lovelace",
        "postcode": "e81dy",
        "date_of_birth": date(1960, 1, 1),
        "basis": "lives",
        "today": TODAY,
    }
    values.update(overrides)
    return register_voter(round_, **values)


def test_register_stores_normalised_values(round_: Round) -> None:
    voter = register(round_, full_name="  Ada   Lovelace ")
    assert voter.postcode == "E8 1DY"
    assert voter.full_name == "Ada Lovelace"
    assert voter.identity_key == identity_key(round_.id, "ada lovelace", "E8 1DY", date(1960, 1, 1))


def test_register_refuses_the_ineligible(round_: Round) -> None:
    with pytest.raises(NotEligible) as refused:
        register(round_, postcode="SW9 1AA", date_of_birth=date(2000, 1, 1))
    assert len(refused.value.problems) == 2
    assert db.session.scalars(select(Voter)).all() == []


def test_a_second_registration_is_refused_and_flagged(round_: Round) -> None:
    first = register(round_)
    with pytest.raises(AlreadyRegistered):
        register(round_, full_name="ADA LOVELACE.", postcode="E8  1DY", email="other@example.org")
    assert len(db.session.scalars(select(Voter)).all()) == 1
    db.session.refresh(first)
    assert first.flagged_reason
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "voter.duplicate_registration")
    ).one()
    assert event.round_id == round_.id
    assert event.object_id == str(first.id)


def test_the_same_person_may_register_in_another_round(
    round_: Round, make_round: Callable[..., Round]
) -> None:
    other = make_round(phase="voting")
    assert register(round_).identity_key != register(other).identity_key


def test_a_signed_in_user_gets_their_existing_registration(round_: Round, make_user: Any) -> None:
    user = make_user()
    first = register(round_, user=user)
    again = register(round_, user=user, full_name="Someone Else")
    assert again.id == first.id
    assert first.user_id == user.id
