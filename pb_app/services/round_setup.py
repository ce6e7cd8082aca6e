"""Setting a round up: create and edit its settings, with rules frozen once voting opens."""

from __future__ import annotations

import re
import secrets
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError

from pb_app.extensions import db
from pb_app.models import (
    Ballot,
    Bid,
    BidCheck,
    CodeMode,
    EligibilityCheckItem,
    Round,
    SubPot,
    SubPotLeftover,
    Theme,
    User,
    Ward,
)
from pb_app.models.rounds import BallotKind
from pb_app.money import format_pounds
from pb_app.phases import Phase, Timeline, timeline_problems
from pb_app.services import ServiceError
from pb_app.services.audit import record
from pb_app.services.rounds import round_phase
from pb_app.tally.rules import RULES
from pb_app.tally.tiebreak import TIE_BREAK_KEYS, TieBreakError, parse_tie_break

SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# An outward code ("E8", "SW9", "EC1A") with an optional sector digit ("SW9 7").
POSTCODE_AREA_RE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?(?: [0-9])?")
FROZEN_PHASES = frozenset({Phase.VOTING, Phase.COUNTING, Phase.RESULTS, Phase.ARCHIVED})
CLOSED_PHASES = frozenset({Phase.COUNTING, Phase.RESULTS, Phase.ARCHIVED})
SLUG_TAKEN = _l("Another round already uses this web address name.")
RANKED_RULES = frozenset({"sequential-irv", "stv"})
# The limits each ballot takes; the others are cleared so a round never keeps stale limits.
BALLOT_LIMITS: dict[str, tuple[str, ...]] = {
    BallotKind.KNAPSACK: ("min_sum_cost_pence", "max_sum_cost_pence"),
    BallotKind.APPROVAL: ("min_length", "max_length", "min_sum_cost_pence", "max_sum_cost_pence"),
    BallotKind.CHOOSE_ONE: (),
    BallotKind.ORDINAL: ("min_length", "max_length"),
    BallotKind.CUMULATIVE: (
        "min_length",
        "max_length",
        "min_points",
        "max_points",
        "min_sum_points",
        "max_sum_points",
    ),
    BallotKind.SCORING: ("min_points", "max_points", "default_score"),
}
LIMIT_NAMES = (
    "min_length",
    "max_length",
    "min_sum_cost_pence",
    "max_sum_cost_pence",
    "min_points",
    "max_points",
    "min_sum_points",
    "max_sum_points",
    "default_score",
)
# Settings that cannot change once the rules are frozen, with the words for the message.
FROZEN_FIELDS: dict[str, Any] = {
    "pot_pence": _l("the pot"),
    "central_pot_pence": _l("the central pot"),
    "sub_pots": _l("the sub-pots"),
    "subpot_leftover": _l("where sub-pot leftovers go"),
    "postcode_areas": _l("the postcode areas"),
    "min_age": _l("the minimum age"),
    "max_age": _l("the maximum age"),
    "allow_work_study": _l("whether people who work or study there may vote"),
    "code_mode": _l("the voter code mode"),
    "ballot_kind": _l("the ballot type"),
    **dict.fromkeys(LIMIT_NAMES, _l("the ballot limits")),
    "allow_ballot_change": _l("whether ballots may be changed"),
    "rule": _l("the counting rule"),
    "threshold_percent": _l("the threshold"),
    "tie_break": _l("the tie-break"),
    "show_live_totals": _l("live totals"),
    "voting_open_at": _l("the date voting opens"),
}


class RoundNotFound(ServiceError):
    """No round with that id."""


class RoundInvalid(ServiceError):
    """The settings break one or more rules; ``problems`` maps a field name to a message."""

    def __init__(self, problems: dict[str, Any]) -> None:
        super().__init__(_l("The round's settings need correcting."))
        self.problems = problems


class RulesFrozen(ServiceError):
    """An edit to settings that are frozen because voting has opened."""


@dataclass(frozen=True)
class SubPotSetting:
    """A sub-pot as an officer declares it: the ward or theme's name and its money."""

    name: str
    budget_pence: int


@dataclass(frozen=True)
class RoundSettings:
    """Everything an officer sets on a round, as plain values (money in pence, UTC dates)."""

    title: str
    slug: str
    pot_pence: int
    max_grant_pence: int
    min_grant_pence: int = 0
    summary: str = ""
    description: str = ""
    funder_name: str = ""
    wards: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    subpot_basis: str = ""  # "", "ward" or "theme"
    sub_pots: tuple[SubPotSetting, ...] = ()
    central_pot_pence: int = 0
    subpot_leftover: str = SubPotLeftover.CENTRAL
    postcode_areas: str = ""
    min_age: int | None = None
    max_age: int | None = None
    allow_work_study: bool = False
    code_mode: str = CodeMode.ANONYMOUS
    ballot_kind: str = BallotKind.KNAPSACK
    min_length: int | None = None
    max_length: int | None = None
    min_sum_cost_pence: int | None = None
    max_sum_cost_pence: int | None = None
    min_points: int | None = None
    max_points: int | None = None
    min_sum_points: int | None = None
    max_sum_points: int | None = None
    default_score: int | None = None
    allow_ballot_change: bool = False
    rule: str = "greedy"
    threshold_percent: int | None = None
    tie_break: str = "min-cost,max-support,lot"
    show_live_totals: bool = False
    bids_open_at: datetime | None = None
    bids_close_at: datetime | None = None
    voting_open_at: datetime | None = None
    voting_close_at: datetime | None = None
    checklist: tuple[str, ...] = field(default=())


def normalise_postcode_areas(text: str) -> tuple[list[str], list[str]]:
    """Split "e8, sw9  7" into ["E8", "SW9 7"]; also return the parts that are not areas."""
    parts = [" ".join(part.upper().split()) for part in text.split(",")]
    parts = [part for part in parts if part]
    return [p for p in parts if POSTCODE_AREA_RE.fullmatch(p)], [
        p for p in parts if not POSTCODE_AREA_RE.fullmatch(p)
    ]


def _pair(problems: dict[str, Any], low: int | None, high: int | None, name: str) -> None:
    if low is not None and high is not None and high < low:
        problems[name] = _l("The maximum must be the same as the minimum or more.")


def _money_problems(s: RoundSettings, problems: dict[str, Any]) -> None:
    if s.pot_pence <= 0:
        problems["pot_pence"] = _l("Enter a pot of more than £0.")
    if s.min_grant_pence < 0:
        problems["min_grant_pence"] = _l("Enter a minimum grant of £0 or more.")
    if s.max_grant_pence <= 0:
        problems["max_grant_pence"] = _l("Enter a maximum grant of more than £0.")
    elif s.max_grant_pence < s.min_grant_pence:
        problems["max_grant_pence"] = _l(
            "The maximum grant must be the same as the minimum grant or more."
        )
    elif s.pot_pence > 0 and s.max_grant_pence > s.pot_pence:
        problems["max_grant_pence"] = _l("The maximum grant cannot be more than the pot.")


def _subpot_problems(s: RoundSettings, problems: dict[str, Any]) -> None:
    if not s.sub_pots:
        if s.subpot_basis:
            problems["sub_pots"] = _l("List the sub-pots, or choose no sub-pots.")
        return
    if s.subpot_basis not in ("ward", "theme"):
        problems["subpot_basis"] = _l("Choose whether the sub-pots are per ward or per theme.")
        return
    names = s.wards if s.subpot_basis == "ward" else s.themes
    unknown = [pot.name for pot in s.sub_pots if pot.name not in names]
    counts = Counter(pot.name for pot in s.sub_pots)
    repeated = [name for name, count in counts.items() if count > 1]
    total = sum(pot.budget_pence for pot in s.sub_pots) + s.central_pot_pence
    if unknown:
        problems["sub_pots"] = _l(
            "These sub-pots are not one of the round's %(what)s: %(names)s.",
            what=_l("wards") if s.subpot_basis == "ward" else _l("themes"),
            names=", ".join(unknown),
        )
    elif repeated:
        problems["sub_pots"] = _l("Give each sub-pot once: %(names)s.", names=", ".join(repeated))
    elif any(pot.budget_pence <= 0 for pot in s.sub_pots):
        problems["sub_pots"] = _l("Give every sub-pot more than £0.")
    elif s.central_pot_pence < 0:
        problems["central_pot_pence"] = _l("Enter a central pot of £0 or more.")
    elif total != s.pot_pence and s.pot_pence > 0:
        problems["sub_pots"] = _l(
            "The sub-pots and the central pot add up to £%(total)s, but the pot is £%(pot)s.",
            total=format_pounds(total),
            pot=format_pounds(s.pot_pence),
        )


def _eligibility_problems(s: RoundSettings, problems: dict[str, Any]) -> None:
    _, bad = normalise_postcode_areas(s.postcode_areas)
    if bad:
        problems["postcode_areas"] = _l(
            "These are not postcode areas, like E8 or SW9 7: %(parts)s.", parts=", ".join(bad)
        )
    for name in ("min_age", "max_age"):
        age = getattr(s, name)
        if age is not None and not 0 <= age <= 120:
            problems[name] = _l("Enter an age from 0 to 120.")
    _pair(problems, s.min_age, s.max_age, "max_age")
    if s.code_mode not in set(CodeMode):
        problems["code_mode"] = _l("Choose how voter codes work.")


def _ballot_problems(s: RoundSettings, problems: dict[str, Any]) -> None:
    if s.ballot_kind not in set(BallotKind):
        problems["ballot_kind"] = _l("Choose a ballot type.")
        return
    for name in LIMIT_NAMES:
        value = getattr(s, name)
        if value is not None and value < 0:
            problems[name] = _l("Enter 0 or more.")
    _pair(problems, s.min_length, s.max_length, "max_length")
    _pair(problems, s.min_sum_cost_pence, s.max_sum_cost_pence, "max_sum_cost_pence")
    _pair(problems, s.min_points, s.max_points, "max_points")
    _pair(problems, s.min_sum_points, s.max_sum_points, "max_sum_points")
    if s.ballot_kind == BallotKind.SCORING:
        if s.min_points is None or s.max_points is None:
            problems.setdefault(
                "max_points", _l("Enter the lowest and highest score, like 1 and 5.")
            )
        elif s.default_score is not None and not s.min_points <= s.default_score <= s.max_points:
            problems["default_score"] = _l("The default score must be within the score range.")
    if s.ballot_kind == BallotKind.CUMULATIVE and s.max_sum_points is None:
        problems.setdefault("max_sum_points", _l("Enter how many points each voter may give."))


def _count_problems(s: RoundSettings, problems: dict[str, Any]) -> None:
    if s.rule not in RULES:
        problems["rule"] = _l(
            "Choose a counting rule from the list: %(rules)s.", rules=", ".join(RULES)
        )
    elif s.rule in RANKED_RULES and s.ballot_kind != BallotKind.ORDINAL:
        problems["rule"] = _l("This counting rule needs a ranked (ordinal) ballot.")
    elif s.rule == "greedy-threshold" and not (
        s.threshold_percent is not None and 1 <= s.threshold_percent <= 100
    ):
        problems["threshold_percent"] = _l("Enter a threshold from 1 to 100 per cent.")
    try:
        parse_tie_break(s.tie_break)
    except TieBreakError:
        problems["tie_break"] = _l(
            "Enter tie-break keys separated by commas, from: %(keys)s.",
            keys=", ".join(TIE_BREAK_KEYS),
        )


MAX_PENCE = 1_000_000_000_00  # £1bn: more than any round, well inside the database's integers
MAX_NUMBER = 1_000_000
MONEY_NAMES = (
    "pot_pence",
    "min_grant_pence",
    "max_grant_pence",
    "central_pot_pence",
    "min_sum_cost_pence",
    "max_sum_cost_pence",
)
NUMBER_NAMES = (
    "min_length",
    "max_length",
    "min_points",
    "max_points",
    "min_sum_points",
    "max_sum_points",
    "default_score",
    "threshold_percent",
    "min_age",
    "max_age",
)


def _size_problems(s: RoundSettings, problems: dict[str, Any]) -> None:
    for name in MONEY_NAMES:
        value = getattr(s, name)
        if value is not None and value > MAX_PENCE:
            problems[name] = _l("Enter an amount of £1,000,000,000 or less.")
    if any(pot.budget_pence > MAX_PENCE for pot in s.sub_pots):
        problems["sub_pots"] = _l("Enter an amount of £1,000,000,000 or less.")
    for name in NUMBER_NAMES:
        value = getattr(s, name)
        if value is not None and abs(value) > MAX_NUMBER:
            problems[name] = _l("Enter a number of 1,000,000 or less.")
    for name, names, longest in (
        ("wards", s.wards, 120),
        ("themes", s.themes, 120),
        ("checklist", s.checklist, 200),
    ):
        if any(len(item) > longest for item in names):
            problems[name] = _l("Keep each line to %(count)s characters or fewer.", count=longest)


def settings_problems(s: RoundSettings) -> dict[str, Any]:
    """Every problem with these settings, by field name (empty when they can be saved)."""
    problems: dict[str, Any] = {}
    if not s.title.strip():
        problems["title"] = _l("Enter a title.")
    if not SLUG_RE.fullmatch(s.slug) or len(s.slug) > 80:
        problems["slug"] = _l(
            "Enter a web address name of lower-case letters, numbers and hyphens, "
            "like ageing-better-2026."
        )
    _money_problems(s, problems)
    _subpot_problems(s, problems)
    _eligibility_problems(s, problems)
    _ballot_problems(s, problems)
    _count_problems(s, problems)
    for name, names in (("wards", s.wards), ("themes", s.themes), ("checklist", s.checklist)):
        if len(set(names)) != len(names):
            problems[name] = _l("Give each name once.")
    _size_problems(s, problems)
    dates = Timeline(s.bids_open_at, s.bids_close_at, s.voting_open_at, s.voting_close_at)
    for message in timeline_problems(dates):
        problems.setdefault("voting_close_at", message)
        later = message.split("The date ", 1)[1].split(" must", 1)[0]
        name = {
            "bids close": "bids_close_at",
            "voting opens": "voting_open_at",
            "voting closes": "voting_close_at",
        }.get(later, "voting_close_at")
        problems[name] = message
    return problems


def _values(s: RoundSettings) -> dict[str, Any]:
    """The settings as the comparable values the audit log keeps."""
    values = asdict(s)
    kept = set(BALLOT_LIMITS.get(s.ballot_kind, ()))
    for name in LIMIT_NAMES:
        if name not in kept:
            values[name] = None
    if s.ballot_kind == BallotKind.KNAPSACK and values["max_sum_cost_pence"] is None:
        values["max_sum_cost_pence"] = s.pot_pence
    if s.rule != "greedy-threshold":
        values["threshold_percent"] = None
    values["postcode_areas"] = ", ".join(normalise_postcode_areas(s.postcode_areas)[0])
    values["tie_break"] = ",".join(parse_tie_break(s.tie_break))
    for name in ("bids_open_at", "bids_close_at", "voting_open_at", "voting_close_at"):
        # Forms give minutes; comparing seconds would see a change nobody made.
        if values[name] is not None:
            values[name] = values[name].replace(second=0, microsecond=0)
    values["wards"] = list(s.wards)
    values["themes"] = list(s.themes)
    values["checklist"] = list(s.checklist)
    values["sub_pots"] = sorted(f"{s.subpot_basis}:{p.name}:{p.budget_pence}" for p in s.sub_pots)
    if not s.sub_pots:
        values["central_pot_pence"] = 0
    del values["subpot_basis"]
    return values


def settings_of(round_: Round) -> RoundSettings:
    """A round's current settings, to fill the edit form."""
    wards = {w.id: w.name for w in round_.wards}
    themes = {t.id: t.name for t in round_.themes}
    pots = [
        SubPotSetting(
            wards[p.ward_id] if p.ward_id is not None else themes[p.theme_id or 0], p.budget_pence
        )
        for p in sorted(round_.sub_pots, key=lambda p: p.id)
    ]
    basis = ""
    if round_.sub_pots:
        basis = "ward" if round_.sub_pots[0].ward_id is not None else "theme"
    columns = {
        name: getattr(round_, name)
        for name in RoundSettings.__dataclass_fields__
        if name not in ("wards", "themes", "subpot_basis", "sub_pots", "checklist")
    }
    return RoundSettings(
        **columns,
        wards=tuple(w.name for w in round_.wards),
        themes=tuple(t.name for t in round_.themes),
        subpot_basis=basis,
        sub_pots=tuple(pots),
        checklist=tuple(item.label for item in round_.checklist),
    )


def rules_frozen(round_: Round, now: datetime) -> bool:
    """Whether the round's rules are frozen: voting has opened, or a ballot exists."""
    if round_.rules_frozen_at is not None or round_phase(round_, now) in FROZEN_PHASES:
        return True
    return bool(db.session.scalar(select(exists().where(Ballot.round_id == round_.id))))


def get_round(round_id: int) -> Round:
    """The round with this id; raise RoundNotFound otherwise."""
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise RoundNotFound(_l("There is no such round."))
    return round_


def _check_slug(slug: str, round_id: int | None) -> None:
    taken = db.session.scalar(
        select(Round.id).where(func.lower(Round.slug) == slug, Round.id != (round_id or 0))
    )
    if taken is not None:
        raise RoundInvalid({"slug": SLUG_TAKEN})


def _sync_named(
    existing: list[Any], names: tuple[str, ...], make: Any, in_use: Any, what: str
) -> list[Any]:
    """Keep rows whose names stay, add new ones, drop removed ones unless something uses them."""
    by_name = {row.name if hasattr(row, "name") else row.label: row for row in existing}
    for name, row in by_name.items():
        if name not in names and in_use(row):
            raise RoundInvalid(
                {what: _l("“%(name)s” is in use by bids, so it cannot be removed.", name=name)}
            )
    rows = []
    for position, name in enumerate(names):
        row = by_name.get(name) or make(name)
        row.position = position
        rows.append(row)
    return rows


def _apply(round_: Round, s: RoundSettings) -> None:
    values = _values(s)
    for name, value in values.items():
        if name not in ("wards", "themes", "checklist", "sub_pots"):
            setattr(round_, name, value)
    round_.wards = _sync_named(
        round_.wards,
        s.wards,
        lambda name: Ward(name=name),
        lambda row: (
            row.id is not None and db.session.scalar(select(exists().where(Bid.ward_id == row.id)))
        ),
        "wards",
    )
    round_.themes = _sync_named(
        round_.themes,
        s.themes,
        lambda name: Theme(name=name),
        lambda row: (
            row.id is not None and db.session.scalar(select(exists().where(Bid.theme_id == row.id)))
        ),
        "themes",
    )
    round_.checklist = _sync_named(
        round_.checklist,
        s.checklist,
        lambda label: EligibilityCheckItem(label=label),
        lambda row: (
            row.id is not None
            and db.session.scalar(select(exists().where(BidCheck.item_id == row.id)))
        ),
        "checklist",
    )
    db.session.flush()
    if sorted(_current_sub_pots(round_)) != values["sub_pots"]:
        round_.sub_pots = []
        db.session.flush()
        wards = {w.name: w.id for w in round_.wards}
        themes = {t.name: t.id for t in round_.themes}
        round_.sub_pots = [
            SubPot(
                ward_id=wards[p.name] if s.subpot_basis == "ward" else None,
                theme_id=themes[p.name] if s.subpot_basis == "theme" else None,
                budget_pence=p.budget_pence,
            )
            for p in s.sub_pots
        ]


def _current_sub_pots(round_: Round) -> list[str]:
    wards = {w.id: w.name for w in round_.wards}
    themes = {t.id: t.name for t in round_.themes}
    return [
        f"ward:{wards.get(p.ward_id, '')}:{p.budget_pence}"
        if p.ward_id is not None
        else f"theme:{themes.get(p.theme_id or 0, '')}:{p.budget_pence}"
        for p in round_.sub_pots
    ]


def _changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    keys = [key for key in after if before.get(key) != after[key]]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


def create_round(settings: RoundSettings, *, actor: User, now: datetime) -> Round:
    """Create a round from valid settings; raise RoundInvalid naming each problem."""
    problems = settings_problems(settings)
    if problems:
        raise RoundInvalid(problems)
    _check_slug(settings.slug, None)
    round_ = Round(lot_seed=secrets.token_hex(16))
    db.session.add(round_)
    try:
        _apply(round_, settings)
        db.session.flush()
        record(
            "round.created",
            actor=actor,
            round_id=round_.id,
            object_type="round",
            object_id=round_.id,
            after=_values(settings),
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise RoundInvalid({"slug": SLUG_TAKEN}) from None
    except ServiceError:
        db.session.rollback()
        raise
    return round_


def update_round(round_id: int, settings: RoundSettings, *, actor: User, now: datetime) -> Round:
    """Change a round's settings; frozen rules raise RulesFrozen, bad values RoundInvalid."""
    round_ = db.session.scalar(select(Round).where(Round.id == round_id).with_for_update())
    if round_ is None:
        raise RoundNotFound(_l("There is no such round."))
    problems = settings_problems(settings)
    if problems:
        db.session.rollback()
        raise RoundInvalid(problems)
    before = _values(settings_of(round_))
    after = _values(settings)
    if rules_frozen(round_, now):
        frozen = dict(FROZEN_FIELDS)
        if round_phase(round_, now) in CLOSED_PHASES:
            # Voting has closed: moving its closing date would reopen it under the count.
            frozen["voting_close_at"] = _l("the date voting closes")
        changed = sorted({str(frozen[k]) for k in frozen if before[k] != after[k]})
        if changed:
            db.session.rollback()
            raise RulesFrozen(
                _l(
                    "Voting has opened, so the rules are frozen: %(fields)s cannot change. "
                    "You can still change the title, summary and description.",
                    fields=", ".join(changed),
                )
            )
    _check_slug(settings.slug, round_.id)
    try:
        _apply(round_, settings)
        old, new = _changes(before, after)
        record(
            "round.updated",
            actor=actor,
            round_id=round_.id,
            object_type="round",
            object_id=round_.id,
            before=old,
            after=new,
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise RoundInvalid({"slug": SLUG_TAKEN}) from None
    except ServiceError:
        db.session.rollback()
        raise
    return round_


@dataclass(frozen=True)
class RoundRow:
    """A round in the officers' list."""

    id: int
    slug: str
    title: str
    phase: Phase
    pot_pence: int
    frozen: bool


def list_for_officers(now: datetime) -> list[RoundRow]:
    """Every round, newest first, with its phase and whether its rules are frozen."""
    rounds = db.session.scalars(select(Round).order_by(Round.created_at.desc(), Round.id.desc()))
    return [
        RoundRow(r.id, r.slug, r.title, round_phase(r, now), r.pot_pence, rules_frozen(r, now))
        for r in rounds
    ]
