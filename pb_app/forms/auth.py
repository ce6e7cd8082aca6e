"""Forms for registering and signing in."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import Email, EqualTo, InputRequired, Length


def strip(value: str | None) -> str | None:
    """People paste addresses with spaces around them; forgive that."""
    return value.strip() if isinstance(value, str) else value


class RegisterForm(FlaskForm):
    """Create an account."""

    name = StringField(
        _l("Full name"),
        filters=[strip],
        validators=[InputRequired(_l("Enter your full name")), Length(max=120)],
        description=_l("As you would like officers to address you."),
    )
    email = EmailField(
        _l("Email address"),
        filters=[strip],
        validators=[
            InputRequired(_l("Enter your email address")),
            Email(_l("Enter an email address in the correct format, like name@example.com")),
            Length(max=254),
        ],
    )
    password = PasswordField(
        _l("Create a password"),
        validators=[InputRequired(_l("Enter a password")), Length(max=256)],
        description=_l("At least 8 characters. A few words together are easy to remember."),
    )
    confirm = PasswordField(
        _l("Type your password again"),
        validators=[
            InputRequired(_l("Type your password again")),
            EqualTo("password", _l("The two passwords do not match")),
        ],
    )


class SignInForm(FlaskForm):
    """Sign in with email and password."""

    email = EmailField(
        _l("Email address"),
        filters=[strip],
        validators=[InputRequired(_l("Enter your email address")), Length(max=254)],
    )
    password = PasswordField(
        _l("Password"), validators=[InputRequired(_l("Enter your password")), Length(max=256)]
    )


class SignOutForm(FlaskForm):
    """An empty form: it carries the CSRF token for signing out by POST."""
