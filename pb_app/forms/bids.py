"""Forms for a group's bid: the answers with an itemised budget, picture, reply and withdrawal."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    EmailField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from pb_app.forms.auth import strip
from pb_app.forms.rounds import clean_text
from pb_app.models import Bid
from pb_app.money import MoneyError, format_pounds, parse_pence
from pb_app.services.bids import MAX_LINE_PENCE, MAX_LINES, BidValues, Problem

EMPTY_LINES = 3
TOO_PRECISE = re.compile(r"\.\d{3,}\s*$")


def optional_int(value: object) -> int | None:
    """Read a select's value: "" (nothing chosen) is None."""
    if value in (None, ""):
        return None
    return int(str(value))


class BudgetLineForm(Form):
    """One line of the itemised budget: what it is for and how much (no CSRF of its own)."""

    description = StringField(
        _l("What is it for?"), filters=[clean_text, strip], validators=[Length(max=200)]
    )
    amount = StringField(
        _l("Amount, in £"), filters=[clean_text, strip], validators=[Length(max=20)]
    )

    pence: int | None = None

    def validate_description(self, field: StringField) -> None:
        """A line with an amount needs a description."""
        if self.amount.data and not field.data:
            raise ValidationError(_l("Say what this amount is for"))

    def validate_amount(self, field: StringField) -> None:
        """Pounds and pence, more than £0, at most 2 decimal places; needed with a description."""
        self.pence = None
        if not field.data:
            if self.description.data:
                raise ValidationError(_l("Enter the amount for this line"))
            return
        if TOO_PRECISE.search(field.data):
            raise ValidationError(_l("Enter the amount with no more than 2 decimal places"))
        try:
            pence = parse_pence(field.data)
        except MoneyError as error:
            if error.negative:
                raise ValidationError(_l("The amount must be more than £0")) from None
            raise ValidationError(
                _l("Enter an amount in pounds and pence, like 250 or 1,250.50")
            ) from None
        if pence == 0:
            raise ValidationError(_l("The amount must be more than £0"))
        if pence > MAX_LINE_PENCE:
            raise ValidationError(_l("The amount is too large"))
        self.pence = pence


class BidForm(FlaskForm):
    """A bid's answers; blank budget rows are ignored, and "Add another line" adds a row."""

    title = StringField(
        _l("Title of the project"),
        filters=[clean_text, strip],
        validators=[InputRequired(_l("Enter a title for the project")), Length(max=80)],
        description=_l("Up to 80 characters. Residents see this on the ballot."),
    )
    summary = StringField(
        _l("Summary in one line"),
        filters=[clean_text, strip],
        validators=[Length(max=200)],
        description=_l("Up to 200 characters."),
    )
    description = TextAreaField(
        _l("Describe the project"),
        filters=[clean_text, strip],
        validators=[Length(max=10_000)],
        description=_l("What you will do and why it matters locally."),
    )
    beneficiaries = TextAreaField(
        _l("Who will benefit, and how?"),
        filters=[clean_text, strip],
        validators=[Length(max=5_000)],
    )
    beneficiaries_count = IntegerField(
        _l("Roughly how many people will benefit?"),
        validators=[
            Optional(),
            NumberRange(min=0, max=10_000_000, message=_l("Enter a number from 0 to 10,000,000")),
        ],
    )
    ward_id = SelectField(_l("Ward"), coerce=optional_int, validate_choice=True)
    theme_id = SelectField(_l("Theme"), coerce=optional_int, validate_choice=True)
    timeline = TextAreaField(
        _l("When will it happen?"),
        filters=[clean_text, strip],
        validators=[Length(max=5_000)],
        description=_l("For example: starts in May, weekly sessions until December."),
    )
    contact_name = StringField(
        _l("Contact name for this bid"), filters=[clean_text, strip], validators=[Length(max=120)]
    )
    contact_email = EmailField(
        _l("Contact email address for this bid"),
        filters=[clean_text, strip],
        validators=[
            Optional(),
            Email(_l("Enter an email address in the correct format, like name@example.com")),
            Length(max=254),
        ],
    )
    lines = FieldList(FormField(BudgetLineForm), min_entries=EMPTY_LINES, max_entries=MAX_LINES)
    add_line = SubmitField(_l("Add another line"))
    save = SubmitField(_l("Save and continue"))

    def __init__(
        self,
        *args: Any,
        wards: list[tuple[int, str]] | None = None,
        themes: list[tuple[int, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.budget_errors: list[str] = []
        self.ward_id.choices = _choices(_l("Select a ward"), wards or [])
        self.theme_id.choices = _choices(_l("Select a theme"), themes or [])

    def values(self) -> BidValues:
        """The validated answers as plain values, blank budget rows left out."""
        lines = tuple(
            (line.form.description.data or "", line.form.pence)
            for line in self.lines
            if line.form.pence is not None
        )
        return BidValues(
            title=self.title.data or "",
            summary=self.summary.data or "",
            description=self.description.data or "",
            beneficiaries=self.beneficiaries.data or "",
            beneficiaries_count=self.beneficiaries_count.data,
            ward_id=self.ward_id.data,
            theme_id=self.theme_id.data,
            timeline=self.timeline.data or "",
            contact_name=self.contact_name.data or "",
            contact_email=self.contact_email.data or "",
            lines=lines,
        )

    def add_row(self) -> None:
        """Show one more empty budget row (the "Add another line" button, no JavaScript)."""
        if len(self.lines) < MAX_LINES:
            self.lines.append_entry()

    def total_pence(self) -> int:
        """The sum of the rows that hold a valid amount, to show beside the budget."""
        total = 0
        for line in self.lines:
            try:
                total += parse_pence(line.form.amount.data or "0")
            except MoneyError:
                continue
        return total

    def attach(self, problems: list[Problem]) -> None:
        """Show a service's problems beside the fields they are about."""
        for problem in problems:
            target: Any = self
            for part in problem.field.split("-"):
                target = _child(target, part)
            if target is None or not hasattr(target, "errors"):
                self.budget_errors.append(problem.message)
            else:
                target.errors = [*target.errors, problem.message]


def _choices(prompt: object, options: list[tuple[int, str]]) -> list[SelectChoice]:
    """A select's options after a "Select one" prompt whose value is empty."""
    return [SelectChoice("", str(prompt)), *(SelectChoice(str(i), name) for i, name in options)]


def _child(parent: Any, name: str) -> Any:
    """A sub-field by name or index, or None."""
    if parent is None:
        return None
    if isinstance(parent, FieldList):
        return (
            parent.entries[int(name)].form if name.isdigit() and int(name) < len(parent) else None
        )
    if isinstance(parent, Form):
        return parent._fields.get(name)
    return None


class NewBidForm(BidForm):
    """A new bid, for one of the person's groups."""

    group_id = SelectField(_l("Which group is bidding?"), coerce=int)

    def __init__(self, *args: Any, groups: list[tuple[int, str]] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.group_id.choices = [SelectChoice(str(i), name) for i, name in groups or []]


def bid_data(bid: Bid) -> dict[str, Any]:
    """A stored bid as form data, with one empty budget row after the filled ones."""
    lines = [
        {"description": line.description, "amount": format_pounds(line.amount_pence)}
        for line in bid.budget_lines
    ]
    lines += [{"description": "", "amount": ""}] * max(1, EMPTY_LINES - len(lines))
    return {
        "title": bid.title,
        "summary": bid.summary,
        "description": bid.description,
        "beneficiaries": bid.beneficiaries,
        "beneficiaries_count": bid.beneficiaries_count,
        "ward_id": bid.ward_id,
        "theme_id": bid.theme_id,
        "timeline": bid.timeline,
        "contact_name": bid.contact_name,
        "contact_email": bid.contact_email,
        "lines": lines,
    }


class ImageForm(FlaskForm):
    """Upload a picture of the project with a description for people who cannot see it."""

    image = FileField(
        _l("Picture"),
        description=_l("A PNG, JPEG or WebP image, smaller than 2 MB."),
    )
    alt_text = StringField(
        _l("Describe the picture"),
        filters=[clean_text, strip],
        validators=[
            InputRequired(_l("Describe the picture for people who cannot see it")),
            Length(max=300),
        ],
        description=_l(
            "For people who use a screen reader, for example: volunteers planting trees."
        ),
    )

    def validate_image(self, field: FileField) -> None:
        """A file must be chosen."""
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError(_l("Select a picture to upload"))


class MessageForm(FlaskForm):
    """The group's reply to the officers."""

    body = TextAreaField(
        _l("Your reply"),
        filters=[clean_text, strip],
        validators=[DataRequired(_l("Enter your reply")), Length(max=5000)],
    )


class WithdrawForm(FlaskForm):
    """Confirm withdrawing a bid, with an optional reason."""

    note = TextAreaField(
        _l("Why are you withdrawing the bid? (optional)"),
        filters=[clean_text, strip],
        validators=[Length(max=2000)],
    )


class ConfirmForm(FlaskForm):
    """An empty form: it carries the CSRF token for a button such as "Submit bid"."""
