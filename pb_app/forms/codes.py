"""The officer's form for issuing a batch of one-time voter codes."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from pb_app.forms.auth import strip
from pb_app.forms.vote import RegisterVoterForm

MAX_PEOPLE_FILE = 1024 * 1024  # 1 MB holds far more rows than the 5,000 one batch allows

# A printed sheet, not a bulk export: larger batches go through `flask codes issue`.
MAX_SHEET = 1000


def _purpose() -> RadioField:
    return RadioField(
        _l("What are the codes for?"),
        choices=[
            SelectChoice("event", _l("An event or decision day")),
            SelectChoice("postal", _l("Postal packs")),
            SelectChoice("paper", _l("Paper ballots")),
        ],
        default="event",
        validators=[InputRequired(_l("Choose what the codes are for"))],
    )


class CountField(IntegerField):
    """A whole number, with a message people understand when it is not one."""

    def process_formdata(self, valuelist: list[str]) -> None:
        """Parse the number; replace WTForms' generic message with ours."""
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Enter how many codes to print, as a whole number")) from None


class IssueCodesForm(FlaskForm):
    """How many codes, what for, and a label for the batch."""

    label = StringField(
        _l("Name of this batch"),
        filters=[strip],
        validators=[Length(max=120)],
        description=_l("For example: Decision day, St Mark's hall, 14 June."),
    )
    count = CountField(
        _l("How many codes"),
        validators=[
            InputRequired(_l("Enter how many codes to print, as a whole number")),
            NumberRange(
                1, MAX_SHEET, _l("Print between 1 and %(max)s codes at a time", max=MAX_SHEET)
            ),
        ],
        description=_l(
            "Each code lets one person vote once. Up to %(max)s on a sheet.", max=MAX_SHEET
        ),
    )
    purpose = _purpose()
    ward = SelectField(
        _l("Ward (optional)"),
        choices=[],
        validators=[Optional()],
        description=_l(
            "If these codes go to one ward (postal packs), their votes count in its turnout."
        ),
    )


class PeopleCodesForm(FlaskForm):
    """Codes for people whose identity an officer has checked: pasted or uploaded as CSV."""

    label = StringField(
        _l("Name of this batch"),
        filters=[strip],
        validators=[Length(max=120)],
        description=_l("For example: Postal packs, Ageing Better members, June."),
    )
    people = TextAreaField(
        _l("People (name, postcode, date of birth — one person per line)"),
        validators=[Length(max=MAX_PEOPLE_FILE)],
        description=_l("For example: Ada Lovelace, E8 1DY, 10/12/1950"),
    )
    people_file = FileField(
        _l("Or upload a CSV file"),
        description=_l("Columns: name, postcode, date of birth. Up to 5,000 people."),
    )
    purpose = _purpose()

    people_text: str = ""

    def validate(self, extra_validators: Any = None) -> bool:
        """Take the people from the file if one was chosen, else from the text box."""
        valid = super().validate(extra_validators)
        upload = self.people_file.data
        if isinstance(upload, FileStorage) and upload.filename:
            raw = upload.read(MAX_PEOPLE_FILE + 1)
            if len(raw) > MAX_PEOPLE_FILE:
                self.people_file.errors = [_l("The file must be smaller than 1 MB")]
                return False
            try:
                self.people_text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                self.people_file.errors = [_l("Save the file as CSV (UTF-8) and upload it again")]
                return False
        else:
            self.people_text = self.people.data or ""
        if not self.people_text.strip():
            self.people.errors = [*self.people.errors, _l("Enter the people, or upload a CSV file")]
            return False
        return valid


class VoidBatchForm(FlaskForm):
    """Confirm withdrawing a batch of codes, with the reason."""

    reason = TextAreaField(
        _l("Why are these codes being withdrawn?"),
        filters=[strip],
        validators=[
            DataRequired(_l("Say why the codes are being withdrawn")),
            Length(max=500, message=_l("Keep the reason under 500 characters")),
        ],
        description=_l(
            "For example: the sheet was lost after the event. This goes in the audit log."
        ),
    )


class CheckPersonForm(RegisterVoterForm):
    """Look a person up by name, postcode and date of birth (the registration questions)."""

    full_name = StringField(
        _l("Full name"),
        filters=[strip],
        validators=[InputRequired(_l("Enter the person's full name")), Length(max=120)],
    )

    basis = None
    email = None
    phone = None
