"""The demo: "Ageing Better small grants" in its voting phase, last year's round with certified
results, and one account per role."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from pb_app.extensions import db
from pb_app.models import (
    EligibilityCheckItem,
    Group,
    GroupKind,
    GroupMembership,
    Role,
    Round,
    Theme,
    User,
    Ward,
)
from pb_app.passwords import hash_password
from pb_app.services.demo_results import create_past_round, shortlisted_bid

DEMO_SLUG = "ageing-better-small-grants"
WARDS = ("Dalston", "Hackney Downs", "Homerton")
THEMES = ("Social isolation", "Health and wellbeing", "Digital inclusion")
CHECKLIST = (
    "The group is constituted or has a named sponsor",
    "A safeguarding policy for work with adults at risk is in place",
    "The amount is within the round's grant limits",
    "The project reduces social isolation for people aged 50 and over",
)

# (title, summary, group, kind, ward, theme, [(line, pounds)])
BIDS: tuple[tuple[str, str, str, str, int, int, tuple[tuple[str, int], ...]], ...] = (
    (
        "Friday lunch club",
        "A hot two-course lunch and company every Friday for 40 older neighbours.",
        "St Mark's Community Kitchen",
        GroupKind.CHARITY,
        0,
        0,
        (("Food for 48 lunches", 2400), ("Hall hire", 1200), ("Volunteer travel", 300)),
    ),
    (
        "Digital buddies",
        "Volunteers help people aged 50+ use tablets to video-call family and book the GP.",
        "Dalston Digital Inclusion Network",
        GroupKind.CIC,
        0,
        2,
        (
            ("Six refurbished tablets", 900),
            ("Mobile data for a year", 360),
            ("Volunteer training", 400),
        ),
    ),
    (
        "Chair-based exercise classes",
        "Weekly gentle exercise for people with limited mobility, led by a qualified instructor.",
        "Homerton Moves",
        GroupKind.CONSTITUTED,
        2,
        1,
        (("Instructor, 40 sessions", 1600), ("Room hire", 800), ("Equipment", 250)),
    ),
    (
        "Men's shed",
        "A workshop where older men share skills, mend things and make friends.",
        "Hackney Downs Men's Shed",
        GroupKind.CONSTITUTED,
        1,
        0,
        (("Tools and safety kit", 1800), ("Workshop rent, 6 months", 2400), ("Insurance", 450)),
    ),
    (
        "Walking football",
        "Slower, friendlier football for over-50s, with a cuppa afterwards.",
        "Clapton Walking Football Club",
        GroupKind.INFORMAL,
        1,
        1,
        (("Pitch hire, 30 sessions", 900), ("Balls and bibs", 150)),
    ),
    (
        "Intergenerational gardening",
        "Older residents and local pupils grow food together on the estate's plots.",
        "Kingsmead Growers",
        GroupKind.CONSTITUTED,
        2,
        0,
        (("Raised beds and soil", 1400), ("Seeds and tools", 450), ("Session worker", 1500)),
    ),
    (
        "Befriending phone line",
        "Weekly friendly calls to housebound residents, in English and Turkish.",
        "Hackney Befriending Circle",
        GroupKind.CHARITY,
        0,
        0,
        (("Coordinator, 5 hours a week", 3200), ("Phone costs", 400), ("Volunteer checks", 300)),
    ),
    (
        "Afternoon tea dance",
        "A monthly tea dance with live music at the community hall.",
        "Homerton Tea Dance Committee",
        GroupKind.INFORMAL,
        2,
        0,
        (("Band, 10 afternoons", 1500), ("Hall hire", 600), ("Refreshments", 400)),
    ),
    (
        "Memory café",
        "A relaxed café for people living with dementia and their carers.",
        "Dementia Friends Dalston",
        GroupKind.CHARITY,
        0,
        1,
        (
            ("Trained facilitator", 2000),
            ("Venue and refreshments", 900),
            ("Activity materials", 300),
        ),
    ),
    (
        "Community transport to clubs",
        "A minibus so people who cannot use buses can reach the clubs above.",
        "Hackney Community Wheels",
        GroupKind.CHARITY,
        1,
        0,
        (("Driver hours", 3000), ("Fuel", 1200), ("Vehicle hire", 800)),
    ),
    (
        "Dominoes and Caribbean lunch",
        "Weekly dominoes, music and a Caribbean lunch for elders of the Windrush generation.",
        "Windrush Elders Hackney",
        GroupKind.CONSTITUTED,
        1,
        0,
        (("Food", 1800), ("Hall hire", 900), ("Music licence", 120)),
    ),
    (
        "Women's craft circle",
        "A Turkish- and Kurdish-speaking craft circle for women aged 50+.",
        "Homerton Women's Circle",
        GroupKind.INFORMAL,
        2,
        0,
        (("Materials", 250), ("Room hire", 300)),
    ),
)

ACCOUNTS: tuple[tuple[Role, str, str], ...] = (
    (Role.ADMIN, "Ada Admin", "admin@demo.pb.test"),
    (Role.OFFICER, "Olu Officer", "officer@demo.pb.test"),
    (Role.FUNDER, "Fran Funder", "funder@demo.pb.test"),
    (Role.VOLUNTEER, "Vik Volunteer", "volunteer@demo.pb.test"),
    (Role.RESIDENT, "Rosa Resident", "resident@demo.pb.test"),
    (Role.RESIDENT, "Gus Groupmember", "group@demo.pb.test"),
)


@dataclass(frozen=True)
class DemoAccount:
    """An account the demo made, with the password it was given this run."""

    role: str
    email: str
    password: str


def _account(role: Role, name: str, email: str) -> tuple[User, str]:
    # A fresh password every run, so a demo database never carries a published password.
    label = "group" if email.startswith("group") else role.value
    password = f"demo-{label}-{secrets.token_hex(4)}"
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name, role=role, password_hash="")
        db.session.add(user)
    user.password_hash = hash_password(password)
    return user, password


def _round(now: datetime) -> Round:
    round_ = Round(
        slug=DEMO_SLUG,
        title="Ageing Better small grants",
        summary="£50,000 for projects that bring people aged 50 and over together.",
        description=(
            "Community groups proposed projects that tackle loneliness and social isolation among "
            "people aged 50 and over in Dalston, Hackney Downs and Homerton. Residents aged 50+ "
            "who live in these wards choose which projects are funded."
        ),
        funder_name="Ageing Better Programme",
        pot_pence=50_000_00,
        min_grant_pence=500_00,
        max_grant_pence=5_000_00,
        min_age=50,
        postcode_areas="E8, E5, E9",
        ballot_kind="knapsack",
        max_sum_cost_pence=15_000_00,
        rule="greedy",
        tie_break="min-cost,max-support,lot",
        lot_seed=secrets.token_hex(16),
        bids_open_at=now - timedelta(days=60),
        bids_close_at=now - timedelta(days=30),
        voting_open_at=now - timedelta(days=2),
        voting_close_at=now + timedelta(days=12),
        rules_frozen_at=now - timedelta(days=2),
    )
    round_.wards = [Ward(name=name, position=i) for i, name in enumerate(WARDS)]
    round_.themes = [Theme(name=name, position=i) for i, name in enumerate(THEMES)]
    round_.checklist = [
        EligibilityCheckItem(label=label, position=i) for i, label in enumerate(CHECKLIST)
    ]
    db.session.add(round_)
    db.session.flush()
    return round_


def _bids(round_: Round, member: User, now: datetime) -> None:
    for number, (title, summary, group_name, kind, ward, theme, lines) in enumerate(BIDS, 1):
        group = Group(
            name=group_name,
            kind=kind,
            sponsor="Hackney CVS" if kind == GroupKind.INFORMAL else None,
            contact_name="Group contact",
            contact_email=f"group{number}@demo.pb.test",
        )
        db.session.add(group)
        if number == 1:
            db.session.add(GroupMembership(group=group, user=member, is_lead=True))
        shortlisted_bid(
            round_.id,
            group,
            ref=f"AB-{number:02d}",
            title=title,
            summary=summary,
            ward_id=round_.wards[ward].id,
            theme_id=round_.themes[theme].id,
            lines=lines,
            submitted_at=now - timedelta(days=35),
        )


def create_demo(now: datetime) -> list[DemoAccount]:
    """Create the demo round once (re-running changes nothing but the accounts' passwords)."""
    accounts = [(_account(role, name, email), role) for role, name, email in ACCOUNTS]
    if db.session.scalar(select(Round).where(Round.slug == DEMO_SLUG)) is None:
        member = accounts[-1][0][0]
        _bids(_round(now), member, now)
    db.session.commit()
    by_role = {role: pair for pair, role in accounts}
    officer, (funder, funder_password) = by_role[Role.OFFICER][0], by_role[Role.FUNDER]
    create_past_round(officer, funder, funder_password, now)
    return [
        DemoAccount(
            role="group member" if user.email.startswith("group") else role.value,
            email=user.email,
            password=password,
        )
        for (user, password), role in accounts
    ]
