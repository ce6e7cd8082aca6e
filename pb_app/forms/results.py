"""Forms for closing, counting and certifying a round's result."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, TextAreaField
from wtforms.validators import InputRequired, Length

from pb_app.forms.auth import strip
from pb_app.services.results import MAX_STATEMENT


class ConfirmForm(FlaskForm):
    """A button that changes state: only the CSRF token is sent."""


class CertifyForm(FlaskForm):
    """The funder's sign-off: a statement and their password again."""

    statement = TextAreaField(
        _l("Your statement"),
        filters=[strip],
        default="I have reviewed this result and certify it.",
        validators=[
            InputRequired(_l("Write a short statement to go with your certification")),
            Length(max=MAX_STATEMENT),
        ],
        description=_l("It is published with the result, with your name and the time."),
    )
    password = PasswordField(
        _l("Your password"),
        validators=[InputRequired(_l("Enter your password to certify"))],
        description=_l("Enter it again to confirm it is you."),
    )
