"""The officer's form for issuing a batch of one-time voter codes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange

from pb_app.forms.auth import strip

# A printed sheet, not a bulk export: larger batches go through `flask codes issue`.
MAX_SHEET = 1000


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
    purpose = RadioField(
        _l("What are the codes for?"),
        choices=[
            SelectChoice("event", _l("An event or decision day")),
            SelectChoice("postal", _l("Postal packs")),
            SelectChoice("paper", _l("Paper ballots")),
        ],
        default="event",
        validators=[InputRequired(_l("Choose what the codes are for"))],
    )
