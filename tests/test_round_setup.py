"""Officers set rounds up; bad settings are refused field by field; rules freeze at voting."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from pb_app.extensions import db
from pb_app.forms.rounds import RoundForm
from pb_app.models import AuditEvent, Ballot, Bid, Group, Role, Round, User
from pb_app.models._base import utcnow
from pb_app.money import MoneyError, parse_pence
from pb_app.services import round_setup
from tests.helpers import post_form

NEW = "/staff/rounds/new"


@pytest.fixture
def request_context(app: Flask) -> Iterator[None]:
    """Services speak translated messages, which need a request to pick the language."""
    with app.test_request_context():
        yield


@pytest.fixture
def officer(make_user: Callable[..., User], sign_in: Callable[[User], None]) -> User:
    """A signed-in officer."""
    user = make_user(Role.OFFICER, name="Olu Officer")
    sign_in(user)
    return user


def valid_form(**overrides: Any) -> dict[str, Any]:
    """A round as an officer would type it: £50,000 in three ward sub-pots and a central pot."""
    data: dict[str, Any] = {
        "title": "Ageing Better 2027",
        "slug": "ageing-better-2027",
        "summary": "Money for groups bringing older neighbours together.",
        "description": "A longer description.",
        "funder_name": "Ageing Better Programme",
        "pot_pence": "£50,000",
        "min_grant_pence": "500",
        "max_grant_pence": "£5,000.00",
        "wards": "Dalston\nHackney Downs\nHomerton",
        "themes": "Social isolation\nHealth",
        "subpot_basis": "ward",
        "sub_pots": "Dalston: £10,000\nHackney Downs: £10,000\nHomerton: £12,500",
        "central_pot_pence": "£17,500",
        "subpot_leftover": "central",
        "postcode_areas": "e8, E5,  sw9 7",
        "min_age": "50",
        "max_age": "",
        "allow_work_study": "y",
        "code_mode": "anonymous",
        "ballot_kind": "knapsack",
        "max_sum_cost_pence": "£15,000",
        "rule": "greedy",
        "tie_break": "min-cost, max-support, lot",
        "bids_open_at": "2027-01-05T09:00",
        "bids_close_at": "2027-02-05T17:00",
        "voting_open_at": "2027-03-01T09:00",
        "voting_close_at": "2027-03-15T17:00",
        "checklist": "Constituted group or named sponsor\nSafeguarding policy in place",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def form_of(app: Flask, round_: Round, **overrides: Any) -> dict[str, Any]:
    """The edit form's data exactly as the edit page would send it back, with ``overrides``."""
    with app.test_request_context():
        form = RoundForm(formdata=None)
        form.load(round_setup.settings_of(round_))
        data: dict[str, Any] = {}
        for f in form:
            if f.type == "CSRFTokenField":
                continue
            if f.type == "BooleanField":
                if f.data:
                    data[f.name] = "y"
            elif f.type in ("RadioField", "SelectField"):
                data[f.name] = f.data or ""
            else:
                data[f.name] = f._value()
    data.update(overrides)
    return data


def audit(action: str) -> list[AuditEvent]:
    """The audit events with this action, oldest first."""
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def round_count() -> int:
    """How many rounds exist."""
    return db.session.scalar(select(func.count(Round.id))) or 0


# Money typed by people


@pytest.mark.parametrize(
    ("text", "pence"),
    [
        ("£50,000", 5_000_000),
        ("50000", 5_000_000),
        (" £1,250.50 ", 125_050),
        ("0.5", 50),
        ("£0", 0),
        ("1,000,000.01", 100_000_001),
        ("19.99", 1999),
    ],
)
def test_money_is_read_exactly_in_pence(text: str, pence: int) -> None:
    assert parse_pence(text) == pence


@pytest.mark.parametrize("text", ["", "fifty", "-5", "£-5", "1.234", "1,00", "1e5", "£", "5.5.5"])
def test_money_that_is_not_money_is_refused(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_pence(text)


# Creating a round


def test_officer_creates_a_round_with_sub_pots_and_checklist(
    client: FlaskClient, officer: User
) -> None:
    response = post_form(client, NEW, valid_form())
    assert response.status_code == 302, response.text
    round_ = db.session.scalar(select(Round).where(Round.slug == "ageing-better-2027"))
    assert round_ is not None
    assert round_.pot_pence == 5_000_000
    assert round_.min_grant_pence == 50_000
    assert round_.max_grant_pence == 500_000
    assert round_.central_pot_pence == 1_750_000
    assert round_.postcode_areas == "E8, E5, SW9 7"
    assert round_.tie_break == "min-cost,max-support,lot"
    assert round_.lot_seed
    assert [w.name for w in round_.wards] == ["Dalston", "Hackney Downs", "Homerton"]
    assert sorted(p.budget_pence for p in round_.sub_pots) == [1_000_000, 1_000_000, 1_250_000]
    assert all(p.ward_id is not None for p in round_.sub_pots)
    assert [item.label for item in round_.checklist] == [
        "Constituted group or named sponsor",
        "Safeguarding policy in place",
    ]
    # 09:00 in London in January is 09:00 UTC; in March (before the clocks change) too.
    assert round_.bids_open_at is not None
    assert round_.bids_open_at.hour == 9
    (event,) = audit("round.created")
    assert event.actor_id == officer.id
    assert json.loads(event.after or "{}")["pot_pence"] == 5_000_000


def test_a_new_round_page_shows_the_form(client: FlaskClient, officer: User) -> None:
    page = client.get(NEW)
    assert page.status_code == 200
    assert "Set up a new round" in page.text
    assert 'name="pot_pence"' in page.text


BAD_INPUT = [
    ({"pot_pence": "-50000"}, "pot_pence", "Enter an amount of £0 or more."),
    ({"pot_pence": "fifty thousand"}, "pot_pence", "Enter an amount in pounds"),
    ({"pot_pence": "0"}, "pot_pence", "Enter a pot of more than £0."),
    ({"pot_pence": ""}, "pot_pence", "Enter the pot"),
    (
        {"min_grant_pence": "£5,000", "max_grant_pence": "£500"},
        "max_grant_pence",
        "The maximum grant must be the same as the minimum grant or more.",
    ),
    (
        {"max_grant_pence": "£60,000"},
        "max_grant_pence",
        "The maximum grant cannot be more than the pot.",
    ),
    (
        {"central_pot_pence": "£10,000"},
        "sub_pots",
        "The sub-pots and the central pot add up to £42,500, but the pot is £50,000.",
    ),
    ({"sub_pots": "Dalston: £10,000\nNowhere: £40,000"}, "sub_pots", "Nowhere"),
    ({"sub_pots": "Dalston ten thousand"}, "sub_pots", "Write each sub-pot as a name"),
    (
        {"bids_close_at": "2027-01-01T09:00"},
        "bids_close_at",
        "The date bids close must come after the date bids open.",
    ),
    (
        {"voting_close_at": "2027-02-01T09:00"},
        "voting_close_at",
        "The date voting closes must come after the date voting opens.",
    ),
    ({"rule": "most-popular"}, "rule", "Not a valid choice"),
    ({"tie_break": "min-cost,coin-toss"}, "tie_break", "Enter tie-break keys separated by commas"),
    ({"postcode_areas": "E8, Hackney"}, "postcode_areas", "HACKNEY"),
    ({"min_age": "60", "max_age": "18"}, "max_age", "The maximum must be the same"),
    ({"min_age": "old"}, "min_age", "Not a valid integer value."),
    ({"rule": "sequential-irv"}, "rule", "This counting rule needs a ranked (ordinal) ballot."),
    ({"rule": "greedy-threshold"}, "threshold_percent", "Enter a threshold from 1 to 100"),
    (
        {"ballot_kind": "scoring", "min_points": "", "max_points": ""},
        "max_points",
        "Enter the lowest and highest score",
    ),
    ({"slug": "Not A Slug!"}, "slug", "Enter a web address name of lower-case letters"),
    ({"ballot_kind": "lottery"}, "ballot_kind", "Not a valid choice"),
    ({"pot_pence": "£" + "9" * 25}, "pot_pence", "Enter an amount of £1,000,000,000 or less."),
    (
        {"ballot_kind": "approval", "max_length": "9" * 20},
        "max_length",
        "Enter a number of 1,000,000 or less.",
    ),
    ({"wards": "W" * 121}, "wards", "Keep each line to 120 characters or fewer."),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_INPUT)
def test_bad_settings_are_refused_by_field_and_nothing_is_saved(
    client: FlaskClient, officer: User, changes: dict[str, str], field: str, message: str
) -> None:
    response = post_form(client, NEW, valid_form(**changes))
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert message in response.text.replace("&#39;", "'")
    assert f'href="#{field}"' in response.text
    assert round_count() == 0
    assert audit("round.created") == []


def test_control_characters_are_dropped_not_stored(client: FlaskClient, officer: User) -> None:
    data = valid_form(title="Ageing\x00 Better", wards="Dal\x00ston\nHackney Downs\nHomerton")
    assert post_form(client, NEW, data).status_code == 302
    round_ = db.session.scalar(select(Round))
    assert round_ is not None
    assert round_.title == "Ageing Better"
    assert round_.wards[0].name == "Dalston"


def test_a_slug_already_used_is_refused(
    client: FlaskClient, officer: User, make_round: Callable[..., Round]
) -> None:
    make_round(slug="taken")
    response = post_form(client, NEW, valid_form(slug="taken"))
    assert "Another round already uses this web address name." in response.text
    assert round_count() == 1


def test_without_sub_pots_the_central_pot_is_not_kept(client: FlaskClient, officer: User) -> None:
    data = valid_form(subpot_basis="", sub_pots="", central_pot_pence="")
    assert post_form(client, NEW, data).status_code == 302
    round_ = db.session.scalar(select(Round))
    assert round_ is not None
    assert round_.sub_pots == []
    assert round_.central_pot_pence == 0


def test_limits_that_do_not_apply_to_the_ballot_are_not_kept(
    client: FlaskClient, officer: User
) -> None:
    data = valid_form(ballot_kind="approval", max_length="3", max_points="5", default_score="2")
    assert post_form(client, NEW, data).status_code == 302
    round_ = db.session.scalar(select(Round))
    assert round_ is not None
    assert round_.max_length == 3
    assert round_.max_points is None
    assert round_.default_score is None


# Editing a round


def test_editing_a_round_is_audited_with_before_and_after(
    app: Flask, client: FlaskClient, officer: User, make_round: Callable[..., Round]
) -> None:
    round_ = make_round("bids")
    edit = f"/staff/rounds/{round_.id}/edit"
    assert client.get(edit).status_code == 200
    data = form_of(app, round_, title="A better title", pot_pence="£12,000")
    response = post_form(client, edit, data)
    assert response.status_code == 302, response.text
    db.session.refresh(round_)
    assert round_.title == "A better title"
    assert round_.pot_pence == 1_200_000
    (event,) = audit("round.updated")
    assert json.loads(event.before or "{}") == {"title": "Test round 1", "pot_pence": 1_000_000}
    assert json.loads(event.after or "{}") == {"title": "A better title", "pot_pence": 1_200_000}


def test_saving_an_unchanged_round_changes_nothing(
    app: Flask, client: FlaskClient, officer: User, make_round: Callable[..., Round]
) -> None:
    round_ = make_round("bids")
    assert post_form(client, f"/staff/rounds/{round_.id}/edit", form_of(app, round_)).status_code
    (event,) = audit("round.updated")
    assert json.loads(event.after or "{}") == {}


def test_wards_can_be_added_and_renamed_but_not_removed_while_bids_use_them(
    app: Flask,
    client: FlaskClient,
    officer: User,
    make_round: Callable[..., Round],
    make_group: Callable[..., Group],
    make_bid: Callable[..., Bid],
    make_user: Callable[..., User],
) -> None:
    round_ = make_round("bids")
    make_bid(round_, make_group(make_user()))  # in ward "North"
    edit = f"/staff/rounds/{round_.id}/edit"
    response = post_form(client, edit, form_of(app, round_, wards="South\nEast"))
    assert "“North” is in use by bids, so it cannot be removed." in response.text
    db.session.refresh(round_)
    assert [w.name for w in round_.wards] == ["North", "South"]
    response = post_form(client, edit, form_of(app, round_, wards="North\nSouth\nEast"))
    assert response.status_code == 302
    db.session.refresh(round_)
    assert [w.name for w in round_.wards] == ["North", "South", "East"]


def test_rules_freeze_once_voting_opens_but_descriptions_may_change(
    app: Flask, client: FlaskClient, officer: User, make_round: Callable[..., Round]
) -> None:
    round_ = make_round("voting")
    edit = f"/staff/rounds/{round_.id}/edit"
    page = client.get(edit).text
    assert "Voting has opened, so the rules are frozen." in page

    for change in (
        {"pot_pence": "£20,000"},
        {"ballot_kind": "approval"},
        {"max_sum_cost_pence": "£5,000"},
        {"rule": "mes-add1-greedy"},
        {"tie_break": "max-support,lot"},
        {"min_age": "16"},
        {"postcode_areas": "E8"},
    ):
        response = post_form(client, edit, form_of(app, round_, **change))
        assert response.status_code == 200
        assert "the rules are frozen" in response.text
    db.session.refresh(round_)
    assert (round_.pot_pence, round_.ballot_kind, round_.rule) == (1_000_000, "knapsack", "greedy")
    assert round_.tie_break == "min-cost,max-support,lot"
    assert audit("round.updated") == []

    response = post_form(
        client, edit, form_of(app, round_, description="Now with pictures.", summary="Vote now")
    )
    assert response.status_code == 302
    db.session.refresh(round_)
    assert round_.description == "Now with pictures."
    (event,) = audit("round.updated")
    assert json.loads(event.after or "{}") == {
        "description": "Now with pictures.",
        "summary": "Vote now",
    }


def test_voting_may_be_extended_while_open_but_not_reopened_once_closed(
    request_context: None, make_round: Callable[..., Round], make_user: Callable[..., User]
) -> None:
    officer = make_user(Role.OFFICER)
    voting = make_round("voting")
    settings = round_setup.settings_of(voting)
    assert settings.voting_close_at is not None
    later = settings.voting_close_at + timedelta(days=7)
    round_setup.update_round(
        voting.id, replace(settings, voting_close_at=later), actor=officer, now=utcnow()
    )
    counting = make_round("counting")
    settings = round_setup.settings_of(counting)
    with pytest.raises(round_setup.RulesFrozen, match="the date voting closes"):
        round_setup.update_round(
            counting.id,
            replace(settings, voting_close_at=utcnow() + timedelta(days=7)),
            actor=officer,
            now=utcnow(),
        )


def test_rules_freeze_at_the_first_ballot_even_before_the_voting_date(
    app: Flask,
    request_context: None,
    make_round: Callable[..., Round],
    make_user: Callable[..., User],
) -> None:
    round_ = make_round("review")
    officer = make_user(Role.OFFICER)
    settings = round_setup.settings_of(round_)
    round_setup.update_round(
        round_.id, replace(settings, pot_pence=2_000_000), actor=officer, now=utcnow()
    )
    db.session.add(
        Ballot(
            round_id=round_.id,
            seq=1,
            content="{}",
            prev_hash="0" * 64,
            hash="1" * 64,
            receipt="R1",
            channel="online",
        )
    )
    db.session.commit()
    assert round_setup.rules_frozen(round_, utcnow())
    with pytest.raises(round_setup.RulesFrozen, match="the pot"):
        round_setup.update_round(
            round_.id, replace(settings, pot_pence=3_000_000), actor=officer, now=utcnow()
        )
    db.session.refresh(round_)
    assert round_.pot_pence == 2_000_000


def test_a_round_with_rules_frozen_by_hand_refuses_changes(
    request_context: None, make_round: Callable[..., Round], make_user: Callable[..., User]
) -> None:
    round_ = make_round("setup", rules_frozen_at=utcnow())
    settings = round_setup.settings_of(round_)
    with pytest.raises(round_setup.RulesFrozen, match="the ballot type"):
        round_setup.update_round(
            round_.id,
            replace(settings, ballot_kind="approval"),
            actor=make_user(Role.OFFICER),
            now=utcnow(),
        )


def test_unknown_round_is_not_found(client: FlaskClient, officer: User) -> None:
    assert client.get("/staff/rounds/999/edit").status_code == 404


def test_a_form_without_its_csrf_token_is_refused(client: FlaskClient, officer: User) -> None:
    response = client.post(NEW, data=valid_form())
    assert response.status_code == 400
    assert "Your form could not be sent" in response.text
    assert round_count() == 0


def test_anonymous_people_are_sent_to_sign_in(client: FlaskClient) -> None:
    response = client.get(NEW)
    assert response.status_code == 302
    assert "/account/sign-in" in response.headers["Location"]


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.VOLUNTEER, Role.FUNDER])
def test_people_who_are_not_officers_cannot_set_rounds_up(
    client: FlaskClient,
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
    role: Role,
) -> None:
    sign_in(make_user(role))
    assert client.get(NEW).status_code == 403
    assert post_form(client, NEW, valid_form(), form_page="/").status_code == 403
    assert round_count() == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rule": "most-popular"}, "rule"),
        ({"tie_break": "min-cost,coin-toss"}, "tie_break"),
        ({"tie_break": ""}, "tie_break"),
        ({"pot_pence": -1}, "pot_pence"),
        ({"ballot_kind": "lottery"}, "ballot_kind"),
        ({"code_mode": "magic"}, "code_mode"),
        ({"max_length": -1}, "max_length"),
        ({"wards": ("A", "A")}, "wards"),
    ],
)
def test_the_service_itself_refuses_bad_settings(
    request_context: None,
    make_user: Callable[..., User],
    changes: dict[str, Any],
    field: str,
) -> None:
    settings = round_setup.RoundSettings(
        title="T", slug="t", pot_pence=1_000_00, max_grant_pence=500_00
    )
    assert round_setup.settings_problems(settings) == {}
    with pytest.raises(round_setup.RoundInvalid) as refused:
        round_setup.create_round(
            replace(settings, **changes), actor=make_user(Role.OFFICER), now=utcnow()
        )
    assert field in refused.value.problems
    assert round_count() == 0


FORM_FIELDS = sorted(valid_form())
GENERATED = st.dictionaries(
    st.sampled_from(FORM_FIELDS),
    st.one_of(
        st.text(max_size=30),
        st.from_regex(r"-?[0-9]{1,25}(\.[0-9]{1,3})?", fullmatch=True),
        st.sampled_from(["\x00", "£" + "9" * 30, "E8\x00", "A" * 500, "1" * 30]),
    ),
    max_size=6,
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=GENERATED)
def test_generated_input_never_breaks_round_setup(
    client: FlaskClient, officer: User, changes: dict[str, str]
) -> None:
    """Whatever is typed: a page with errors or a saved, valid round; never a 500."""
    before = round_count()
    response = post_form(client, NEW, valid_form(**{"slug": f"r-{before}", **changes}))
    assert response.status_code in (200, 302), response.text[-500:]
    if response.status_code == 200:
        assert "There is a problem" in response.text
        assert round_count() == before
    else:
        assert round_count() == before + 1
