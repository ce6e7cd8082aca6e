"""Forms for registering a community group and inviting its members."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, SelectChoice, StringField, TelField, TextAreaField
from wtforms.validators import Email, InputRequired, Length, Optional

from pb_app.forms.auth import strip
from pb_app.forms.rounds import clean_text
from pb_app.models import GroupKind

KIND_CHOICES = [
    SelectChoice(GroupKind.CHARITY.value, _l("Registered charity")),
    SelectChoice(
        GroupKind.CONSTITUTED.value, _l("Constituted group (with a written constitution)")
    ),
    SelectChoice(GroupKind.CIC.value, _l("Community interest company (CIC)")),
    SelectChoice(GroupKind.INFORMAL.value, _l("Informal group with a sponsoring organisation")),
]


class GroupForm(FlaskForm):
    """Register a community group."""

    name = StringField(
        _l("Name of the group"),
        filters=[clean_text, strip],
        validators=[InputRequired(_l("Enter the name of the group")), Length(max=120)],
    )
    kind = RadioField(
        _l("What kind of group is it?"),
        choices=KIND_CHOICES,
        validators=[InputRequired(_l("Select what kind of group it is"))],
    )
    charity_number = StringField(
        _l("Registered charity number"),
        filters=[clean_text, strip],
        validators=[Optional(), Length(max=20)],
        description=_l("Only for registered charities, for example 1123456."),
    )
    company_number = StringField(
        _l("Company number"),
        filters=[clean_text, strip],
        validators=[Optional(), Length(max=20)],
        description=_l("Only for CICs: the 8-character number from Companies House."),
    )
    sponsor = StringField(
        _l("Sponsoring organisation"),
        filters=[clean_text, strip],
        validators=[Optional(), Length(max=200)],
        description=_l("Only for informal groups: the constituted body that will hold the grant."),
    )
    area = StringField(
        _l("Area or ward the group works in"),
        filters=[clean_text, strip],
        validators=[Optional(), Length(max=120)],
    )
    contact_name = StringField(
        _l("Contact name"),
        filters=[clean_text, strip],
        validators=[InputRequired(_l("Enter the name of the group's contact")), Length(max=120)],
    )
    contact_email = EmailField(
        _l("Contact email address"),
        filters=[clean_text, strip],
        validators=[
            InputRequired(_l("Enter the contact's email address")),
            Email(_l("Enter an email address in the correct format, like name@example.com")),
            Length(max=254),
        ],
    )
    contact_phone = TelField(
        _l("Contact phone number (optional)"),
        filters=[clean_text, strip],
        validators=[Optional(), Length(max=40)],
    )
    description = TextAreaField(
        _l("What the group does (optional)"),
        filters=[clean_text, strip],
        validators=[Optional(), Length(max=2000)],
    )


class InviteForm(FlaskForm):
    """Invite a person to join a group by email."""

    email = EmailField(
        _l("Email address of the person to invite"),
        filters=[clean_text, strip],
        validators=[
            InputRequired(_l("Enter the email address of the person to invite")),
            Email(_l("Enter an email address in the correct format, like name@example.com")),
            Length(max=254),
        ],
    )


class AcceptInviteForm(FlaskForm):
    """An empty form: it carries the CSRF token for accepting an invitation."""


class GroupActionForm(FlaskForm):
    """An empty form: it carries the CSRF token for a confirmed group action."""
