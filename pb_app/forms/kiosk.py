"""Forms for kiosk mode: opening it, starting a voter's session, leaving it with the PIN."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length

from pb_app.forms.auth import strip
from pb_app.forms.vote import RegisterVoterForm


class OpenKioskForm(FlaskForm):
    """The venue and the PIN that will leave kiosk mode."""

    venue = StringField(
        _l("Venue"),
        filters=[strip],
        validators=[InputRequired(_l("Enter the venue's name")), Length(max=120)],
        description=_l("For example: St Mark's community hall. It is recorded with each ballot."),
    )
    pin = PasswordField(
        _l("PIN to leave kiosk mode"),
        validators=[InputRequired(_l("Choose a PIN of 6 to 12 digits"))],
        description=_l("6 to 12 digits. Only you should know it."),
    )
    pin_again = PasswordField(
        _l("PIN again"),
        validators=[
            InputRequired(_l("Type the PIN again")),
            EqualTo("pin", _l("The two PINs are different. Type the same PIN twice.")),
        ],
    )


class KioskCodeForm(FlaskForm):
    """A voter's one-time code, typed or scanned."""

    code = StringField(
        _l("Voter code"),
        filters=[strip],
        validators=[InputRequired(_l("Enter your voter code")), Length(max=40)],
        description=_l("It is printed on your card, for example KD7M-4XQ2-9H."),
    )


class DeskCheckForm(RegisterVoterForm):
    """A volunteer or officer confirms a voter's identity at the desk, and may assist them."""

    staff_email = EmailField(
        _l("Your staff email address"),
        filters=[strip],
        validators=[InputRequired(_l("Enter your staff email address")), Length(max=254)],
    )
    staff_password = PasswordField(
        _l("Your staff password"),
        validators=[InputRequired(_l("Enter your staff password")), Length(max=256)],
    )
    assisted = BooleanField(_l("I am helping this voter to vote (an assisted vote)"))


class ExitKioskForm(FlaskForm):
    """The officer's PIN, to leave kiosk mode."""

    pin = PasswordField(
        _l("Officer PIN"),
        validators=[InputRequired(_l("Enter the officer PIN")), Length(max=20)],
    )


class KioskResetForm(FlaskForm):
    """Finish, or reset after inactivity: only the CSRF token."""
