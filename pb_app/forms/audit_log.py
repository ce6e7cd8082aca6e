"""The staff audit log's filter (a GET form)."""

from __future__ import annotations

from datetime import tzinfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from pb_app.forms.auth import strip
from pb_app.services.audit_log import AuditFilter


class AuditFilterForm(FlaskForm):
    """Filter the audit log by round, action, who did it and a range of days."""

    class Meta:
        """A GET form changes nothing, so it carries no CSRF token."""

        csrf = False

    round = SelectField(_l("Round"), choices=[], validators=[Optional()])
    action = SelectField(_l("Action"), choices=[], validators=[Optional()])
    actor = StringField(
        _l("Done by"),
        description=_l("Part of a name or email address"),
        filters=[strip],
        validators=[Optional(), Length(max=160)],
    )
    date_from = DateField(_l("From (date)"), validators=[Optional()])
    date_to = DateField(_l("To (date)"), validators=[Optional()])
    page = IntegerField(validators=[Optional(), NumberRange(min=1)])

    def offer(self, rounds: list[tuple[int, str]], actions: list[str]) -> None:
        """Offer the rounds and actions to filter by, each list starting with "all"."""
        self.round.choices = [
            SelectChoice("", str(_l("All rounds"))),
            *(SelectChoice(str(rid), title) for rid, title in rounds),
        ]
        self.action.choices = [
            SelectChoice("", str(_l("All actions"))),
            *(SelectChoice(name, name) for name in actions),
        ]

    def validate_date_to(self, field: DateField) -> None:
        """The range must not end before it starts."""
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The 'to' date must be the same as or after the 'from' date"))

    def filters(self, zone: tzinfo) -> AuditFilter:
        """The filter the valid form asks for (dates read in ``zone``)."""
        return AuditFilter(
            round_id=int(self.round.data) if self.round.data else None,
            action=self.action.data or "",
            actor=self.actor.data or "",
            date_from=self.date_from.data,
            date_to=self.date_to.data,
            zone=zone,
        )
