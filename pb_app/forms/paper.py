"""Forms for paper ballots: printing slips, keying a slip, recording a spoilt one."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange

from pb_app.forms.auth import strip
from pb_app.forms.codes import CountField


class PrintSlipsForm(FlaskForm):
    """How many numbered paper ballots to print, for which event."""

    venue = StringField(
        _l("Event venue"),
        filters=[strip],
        validators=[InputRequired(_l("Enter the event's venue")), Length(max=120)],
        description=_l("For example: St Mark's community hall. It is recorded with each ballot."),
    )
    count = CountField(
        _l("How many paper ballots"),
        validators=[
            InputRequired(_l("Enter how many paper ballots to print, as a whole number")),
            NumberRange(1, 500, _l("Print between 1 and 500 paper ballots at a time")),
        ],
    )


class _SlipForm(FlaskForm):
    """The serial number and code printed on a paper ballot."""

    serial = StringField(
        _l("Ballot number"),
        filters=[strip],
        validators=[InputRequired(_l("Enter the ballot number")), Length(max=20)],
        description=_l("Printed at the top of the paper ballot, for example 00012."),
    )
    code = StringField(
        _l("Code on the ballot"),
        filters=[strip],
        validators=[InputRequired(_l("Enter the code printed on the ballot")), Length(max=40)],
        description=_l("For example KD7M-4XQ2-9H."),
    )


class KeyBallotForm(_SlipForm):
    """One keying of a paper ballot; the choices are read by ``pb_app.ballot_forms``."""


class SpoilBallotForm(_SlipForm):
    """A paper ballot that cannot be counted, and why."""

    reason = TextAreaField(
        _l("Why it is spoilt"),
        filters=[strip],
        validators=[InputRequired(_l("Say why the ballot is spoilt")), Length(max=500)],
        description=_l(
            "For example: more projects ticked than allowed, or the voter's name written on it."
        ),
    )
