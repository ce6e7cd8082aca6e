"""Forms for setting a round up (officers) and filtering its projects (public)."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    Field,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from pb_app.forms.auth import strip
from pb_app.money import MoneyError, format_pounds, parse_pence
from pb_app.services.round_setup import RoundSettings, SubPotSetting
from pb_app.tally.rules import RULES

# Officers type times as they read them on a UK clock; the database keeps UTC.
UK = ZoneInfo("Europe/London")
DATE_FORMAT = "%Y-%m-%dT%H:%M"


def clean_text(value: Any) -> Any:
    """Drop control characters but tabs and newlines: PostgreSQL refuses NUL; nobody means them."""
    if not isinstance(value, str):
        return value
    return "".join(c for c in value if c in "\t\n\r" or unicodedata.category(c) != "Cc")


class MoneyField(StringField):
    """An amount in pounds typed as "£50,000" or "1250.50", read exactly into pence."""

    data: int | None

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Parse the typed amount; blank is None (Optional decides whether that is allowed)."""
        self.raw = valuelist[0] if valuelist else ""
        if not str(self.raw).strip():
            self.data = None
            return
        try:
            self.data = parse_pence(str(self.raw))
        except MoneyError as error:
            self.data = None
            raise ValueError(
                _l("Enter an amount of £0 or more.")
                if error.negative
                else _l("Enter an amount in pounds, like £50,000 or £1,250.50.")
            ) from None

    def _value(self) -> str:
        if getattr(self, "raw", None) is not None:
            return str(self.raw)
        return format_pounds(self.data) if self.data is not None else ""


class LinesField(TextAreaField):
    """One item per line; blank lines and surrounding spaces are ignored."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("filters", [clean_text])
        kwargs.setdefault("validators", [Length(max=20_000)])
        super().__init__(*args, **kwargs)

    def lines(self) -> tuple[str, ...]:
        """The non-blank lines, stripped."""
        text = self.data or ""
        return tuple(line.strip() for line in text.splitlines() if line.strip())


class SubPotsField(LinesField):
    """Sub-pots, one a line: "Dalston: £10,000"."""

    def pots(self) -> tuple[SubPotSetting, ...]:
        """The sub-pots typed, each a name and pence (validated in ``pre_validate``)."""
        result = []
        for line in self.lines():
            name, _, amount = line.rpartition(":")
            result.append(SubPotSetting(name.strip(), parse_pence(amount)))
        return tuple(result)

    def pre_validate(self, form: Any) -> None:
        """Each line must be a name, a colon and an amount."""
        for line in self.lines():
            name, colon, amount = line.rpartition(":")
            try:
                parse_pence(amount)
            except MoneyError:
                colon = ""
            if not colon or not name.strip():
                raise ValidationError(
                    _l(
                        "Write each sub-pot as a name, a colon and an amount, "
                        "like Dalston: £10,000."
                    )
                )


class UKDateTimeField(DateTimeLocalField):
    """A date and time typed in UK time, given to services as an aware UTC datetime."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("format", DATE_FORMAT)
        kwargs.setdefault("validators", [Optional()])
        super().__init__(*args, **kwargs)

    def utc(self) -> datetime | None:
        """The typed moment in UTC, or None when blank."""
        if self.data is None:
            return None
        return self.data.replace(tzinfo=UK).astimezone(UTC)

    def show(self, moment: datetime | None) -> None:
        """Fill the field from a UTC moment, shown in UK time."""
        self.data = moment.astimezone(UK).replace(tzinfo=None) if moment else None


def _optional_int(label: Any, description: Any = None) -> IntegerField:
    return IntegerField(
        label,
        validators=[Optional()],
        description=description,
        render_kw={"inputmode": "numeric"},
    )


BALLOT_CHOICES = [
    SelectChoice("knapsack", _l("Budget: pick projects up to a total cost")),
    SelectChoice("approval", _l("Approval: tick up to a number of projects")),
    SelectChoice("choose-1", _l("Choose one project")),
    SelectChoice("ordinal", _l("Ranked: put projects in order of preference")),
    SelectChoice("cumulative", _l("Points: spread points across projects")),
    SelectChoice("scoring", _l("Scoring: give every project a score, like 1 to 5")),
]


# Fields whose value is the setting itself; the others are converted in ``load``.
LOADED_AS_IS = (
    "title",
    "slug",
    "summary",
    "description",
    "funder_name",
    "pot_pence",
    "min_grant_pence",
    "max_grant_pence",
    "subpot_basis",
    "central_pot_pence",
    "subpot_leftover",
    "postcode_areas",
    "min_age",
    "max_age",
    "allow_work_study",
    "code_mode",
    "ballot_kind",
    "min_length",
    "max_length",
    "min_sum_cost_pence",
    "max_sum_cost_pence",
    "min_points",
    "max_points",
    "min_sum_points",
    "max_sum_points",
    "default_score",
    "allow_ballot_change",
    "rule",
    "threshold_percent",
    "tie_break",
    "show_live_totals",
)


class RoundForm(FlaskForm):
    """Create or edit a round: one page, in fieldsets, for officers on a desktop."""

    title = StringField(
        _l("Title"),
        filters=[clean_text, strip],
        validators=[InputRequired(_l("Enter a title")), Length(max=200)],
    )
    slug = StringField(
        _l("Web address name"),
        filters=[clean_text, strip],
        validators=[InputRequired(_l("Enter a web address name")), Length(max=80)],
        description=_l("Lower-case letters, numbers and hyphens, like ageing-better-2026."),
    )
    summary = StringField(_l("Summary"), filters=[clean_text, strip], validators=[Length(max=300)])
    description = TextAreaField(
        _l("Description"), filters=[clean_text], validators=[Length(max=20_000)]
    )
    funder_name = StringField(
        _l("Funder"), filters=[clean_text, strip], validators=[Length(max=200)]
    )

    pot_pence = MoneyField(_l("Pot"), validators=[InputRequired(_l("Enter the pot"))])
    min_grant_pence = MoneyField(
        _l("Smallest grant"), validators=[InputRequired(_l("Enter the smallest grant"))]
    )
    max_grant_pence = MoneyField(
        _l("Largest grant"), validators=[InputRequired(_l("Enter the largest grant"))]
    )

    wards = LinesField(_l("Wards"), description=_l("One a line."))
    themes = LinesField(_l("Themes"), description=_l("One a line."))
    subpot_basis = RadioField(
        _l("Sub-pots"),
        choices=[
            SelectChoice("", _l("No sub-pots")),
            SelectChoice("ward", _l("Per ward")),
            SelectChoice("theme", _l("Per theme")),
        ],
        default="",
        validators=[Optional()],
    )
    sub_pots = SubPotsField(
        _l("Sub-pot amounts"),
        description=_l("One a line: the ward or theme, a colon and the amount (Dalston: £10,000)."),
    )
    central_pot_pence = MoneyField(
        _l("Central pot"),
        validators=[Optional()],
        description=_l("With sub-pots, the sub-pots and the central pot must add up to the pot."),
    )
    subpot_leftover = RadioField(
        _l("Money left in a sub-pot goes"),
        choices=[
            SelectChoice("central", _l("to the central pot")),
            SelectChoice("oversubscribed", _l("to sub-pots with more bids than money")),
        ],
        default="central",
    )

    postcode_areas = StringField(
        _l("Postcode areas"),
        filters=[clean_text, strip],
        validators=[Length(max=2000)],
        description=_l("Separated by commas, like E8, SW9 7. Leave blank for anywhere."),
    )
    min_age = _optional_int(_l("Minimum age"))
    max_age = _optional_int(_l("Maximum age"))
    allow_work_study = BooleanField(_l("People who work or study in the area may vote"))
    code_mode = RadioField(
        _l("Voter codes"),
        choices=[
            SelectChoice("anonymous", _l("Anonymous codes")),
            SelectChoice("identity", _l("Codes tied to a checked identity")),
        ],
        default="anonymous",
    )

    ballot_kind = RadioField(_l("Ballot"), choices=BALLOT_CHOICES, default="knapsack")
    min_length = _optional_int(_l("Fewest projects a voter picks or ranks"))
    max_length = _optional_int(_l("Most projects a voter picks or ranks"))
    min_sum_cost_pence = MoneyField(_l("Least total cost a voter picks"), validators=[Optional()])
    max_sum_cost_pence = MoneyField(
        _l("Most total cost a voter picks"),
        validators=[Optional()],
        description=_l("For a budget ballot, blank means the pot."),
    )
    min_points = _optional_int(_l("Fewest points or lowest score for a project"))
    max_points = _optional_int(_l("Most points or highest score for a project"))
    min_sum_points = _optional_int(_l("Fewest points a voter gives in all"))
    max_sum_points = _optional_int(_l("Most points a voter gives in all"))
    default_score = _optional_int(
        _l("Score of a project left unscored"), _l("Blank: every project must be scored.")
    )
    allow_ballot_change = BooleanField(_l("Voters may change their ballot until voting closes"))

    rule = SelectField(_l("Counting rule"), choices=[SelectChoice(rule, rule) for rule in RULES])
    threshold_percent = _optional_int(
        _l("Threshold (per cent of the highest possible score)"),
        _l("Only for the greedy-threshold rule, like 40."),
    )
    tie_break = StringField(
        _l("Tie-break"),
        filters=[clean_text, strip],
        default="min-cost,max-support,lot",
        validators=[InputRequired(_l("Enter a tie-break")), Length(max=120)],
        description=_l(
            "Keys in order, separated by commas: min-cost, max-cost, max-support, id, lot."
        ),
    )
    show_live_totals = BooleanField(_l("Show live totals while voting is open"))

    bids_open_at = UKDateTimeField(_l("Bids open"))
    bids_close_at = UKDateTimeField(_l("Bids close"))
    voting_open_at = UKDateTimeField(_l("Voting opens"))
    voting_close_at = UKDateTimeField(_l("Voting closes"))

    checklist = LinesField(
        _l("Bid eligibility checklist"),
        description=_l("One item a line, like Safeguarding policy in place."),
    )

    def settings(self) -> RoundSettings:
        """The validated form as plain settings for the service."""
        return RoundSettings(
            title=self.title.data or "",
            slug=self.slug.data or "",
            summary=self.summary.data or "",
            description=self.description.data or "",
            funder_name=self.funder_name.data or "",
            pot_pence=self.pot_pence.data or 0,
            min_grant_pence=self.min_grant_pence.data or 0,
            max_grant_pence=self.max_grant_pence.data or 0,
            wards=self.wards.lines(),
            themes=self.themes.lines(),
            subpot_basis=self.subpot_basis.data or "",
            sub_pots=self.sub_pots.pots(),
            central_pot_pence=self.central_pot_pence.data or 0,
            subpot_leftover=self.subpot_leftover.data or "central",
            postcode_areas=self.postcode_areas.data or "",
            min_age=self.min_age.data,
            max_age=self.max_age.data,
            allow_work_study=bool(self.allow_work_study.data),
            code_mode=self.code_mode.data or "",
            ballot_kind=self.ballot_kind.data or "",
            min_length=self.min_length.data,
            max_length=self.max_length.data,
            min_sum_cost_pence=self.min_sum_cost_pence.data,
            max_sum_cost_pence=self.max_sum_cost_pence.data,
            min_points=self.min_points.data,
            max_points=self.max_points.data,
            min_sum_points=self.min_sum_points.data,
            max_sum_points=self.max_sum_points.data,
            default_score=self.default_score.data,
            allow_ballot_change=bool(self.allow_ballot_change.data),
            rule=self.rule.data or "",
            threshold_percent=self.threshold_percent.data,
            tie_break=self.tie_break.data or "",
            show_live_totals=bool(self.show_live_totals.data),
            bids_open_at=self.bids_open_at.utc(),
            bids_close_at=self.bids_close_at.utc(),
            voting_open_at=self.voting_open_at.utc(),
            voting_close_at=self.voting_close_at.utc(),
            checklist=self.checklist.lines(),
        )

    def load(self, settings: RoundSettings) -> None:
        """Fill the form from a round's current settings (GET of the edit page)."""
        for name in LOADED_AS_IS:
            getattr(self, name).data = getattr(settings, name)
        self.wards.data = "\n".join(settings.wards)
        self.themes.data = "\n".join(settings.themes)
        self.checklist.data = "\n".join(settings.checklist)
        self.sub_pots.data = "\n".join(
            f"{pot.name}: £{format_pounds(pot.budget_pence)}" for pot in settings.sub_pots
        )
        if not settings.sub_pots:
            self.central_pot_pence.data = None
        for name in ("bids_open_at", "bids_close_at", "voting_open_at", "voting_close_at"):
            getattr(self, name).show(getattr(settings, name))

    def add_problems(self, problems: dict[str, Any]) -> None:
        """Show a service's problems next to the fields they concern."""
        for name, message in problems.items():
            field: Field | None = getattr(self, name, None)
            if field is None:
                self.form_errors.append(message)
            else:
                field.errors = [*field.errors, message]


class ProjectFilterForm(FlaskForm):
    """Filter a round's projects by ward and theme (a GET form: no CSRF token needed)."""

    class Meta:
        """A GET form changes nothing, so it carries no CSRF token."""

        csrf = False

    ward = SelectField(_l("Ward"), choices=[], validators=[Optional()])
    theme = SelectField(_l("Theme"), choices=[], validators=[Optional()])

    def offer(
        self, wards: tuple[tuple[int, str], ...], themes: tuple[tuple[int, str], ...]
    ) -> None:
        """Offer the round's wards and themes, each list starting with "all"."""
        self.ward.choices = [
            SelectChoice("", str(_l("All wards"))),
            *(SelectChoice(str(i), n) for i, n in wards),
        ]
        self.theme.choices = [
            SelectChoice("", str(_l("All themes"))),
            *(SelectChoice(str(i), n) for i, n in themes),
        ]
