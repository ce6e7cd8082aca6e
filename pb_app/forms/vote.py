"""Forms for the resident voting pages: voter code, registration, ballot, confirmation, receipt."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, Field, RadioField, SelectField, StringField, TelField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email, InputRequired, Length, Optional, ValidationError

from pb_app.forms.auth import strip
from pb_app.services.eligibility import normalise_postcode


class CodeForm(FlaskForm):
    """Enter a one-time voter code."""

    code = StringField(
        _l("Voter code"),
        filters=[strip],
        validators=[InputRequired(_l("Enter your voter code")), Length(max=40)],
        description=_l("It is printed on your letter or card, for example KD7M-4XQ2-9HTP."),
    )


class RegisterVoterForm(FlaskForm):
    """Check a resident may vote in a round and register them."""

    full_name = StringField(
        _l("Full name"),
        filters=[strip],
        validators=[InputRequired(_l("Enter your full name")), Length(max=120)],
    )
    postcode = StringField(
        _l("Postcode"),
        filters=[strip],
        validators=[InputRequired(_l("Enter your postcode")), Length(max=10)],
        description=_l("For example E8 1DY"),
    )
    dob_day = StringField(_l("Day"), filters=[strip])
    dob_month = StringField(_l("Month"), filters=[strip])
    dob_year = StringField(_l("Year"), filters=[strip])
    basis = RadioField(
        _l("How are you connected to the area?"),
        choices=[
            SelectChoice("lives", _l("I live there")),
            SelectChoice("works", _l("I work there")),
            SelectChoice("studies", _l("I study there")),
        ],
        default="lives",
        validators=[Optional()],
    )
    ward = SelectField(
        _l("Which ward do you live in? (optional)"),
        choices=[],
        validators=[Optional()],
        description=_l("Only used to count how many people voted in each ward."),
    )
    email = EmailField(
        _l("Email address (optional)"),
        filters=[strip],
        validators=[
            Optional(),
            Email(_l("Enter an email address in the correct format, like name@example.com")),
            Length(max=254),
        ],
        description=_l("We only use it for messages about your vote in this round."),
    )
    phone = TelField(
        _l("Mobile phone number (optional)"),
        filters=[strip],
        validators=[Optional(), Length(max=40)],
        description=_l("We only use it for messages about your vote in this round."),
    )

    date_of_birth: date | None = None

    def validate_postcode(self, field: Field) -> None:
        """A postcode must have a UK postcode's shape (where it is comes later)."""
        if field.data and normalise_postcode(field.data) is None:
            raise ValidationError(_l("Enter a real UK postcode, like E8 1DY"))

    def validate(self, extra_validators: Any = None) -> bool:
        """Check every field, then that day, month and year make a real date in the past."""
        valid = super().validate(extra_validators)
        self.date_of_birth = None
        parts = (self.dob_day.data or "", self.dob_month.data or "", self.dob_year.data or "")
        if not any(parts):
            self.dob_day.errors = [*self.dob_day.errors, _l("Enter your date of birth")]
            return False
        try:
            day, month, year = (int(part) for part in parts)
            born = date(year, month, day)
        except ValueError:
            self.dob_day.errors = [
                *self.dob_day.errors,
                _l("Date of birth must be a real date, like 27 3 1958"),
            ]
            return False
        if year < 1900 or born >= date.today():  # noqa: DTZ011 - a date of birth has no zone
            self.dob_day.errors = [*self.dob_day.errors, _l("Date of birth must be in the past")]
            return False
        self.date_of_birth = born
        return valid


class BallotForm(FlaskForm):
    """The ballot page's CSRF token; its choices are read by ``pb_app.ballot_forms``."""


class ConfirmForm(FlaskForm):
    """ "Confirm and cast my vote": only the CSRF token."""


class ReceiptForm(FlaskForm):
    """Check a receipt is in a round's ballot log (a GET form: nothing changes)."""

    class Meta:
        """No CSRF token: the form only reads."""

        csrf = False

    receipt = StringField(
        _l("Receipt code"),
        filters=[strip],
        validators=[InputRequired(_l("Enter your receipt code")), Length(max=40)],
        description=_l("It was shown when you voted, for example 7F3K-92QD-LM4T."),
    )
