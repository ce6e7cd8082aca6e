"""Forms for reviewing a bid: the checklist and each decision."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from pb_app.forms.auth import strip
from pb_app.forms.rounds import clean_text
from pb_app.services.review import CheckAnswer, CheckRow


class CheckItemForm(Form):
    """One checklist item: pass, fail or not checked yet, with an optional note."""

    item_id = IntegerField(widget=HiddenField.widget)
    result = RadioField(
        _l("Result"),
        choices=[
            SelectChoice("pass", _l("Pass")),
            SelectChoice("fail", _l("Fail")),
            SelectChoice("", _l("Not checked yet")),
        ],
        default="",
        validators=[Optional()],
    )
    note = TextAreaField(
        _l("Note (optional)"), filters=[clean_text, strip], validators=[Length(max=2000)]
    )


class ChecklistForm(FlaskForm):
    """The round's checklist for one bid."""

    items = FieldList(FormField(CheckItemForm))

    def load(self, checks: tuple[CheckRow, ...]) -> None:
        """Fill one entry per checklist item from the answers so far (GET)."""
        while self.items.entries:
            self.items.pop_entry()
        for check in checks:
            result = "" if check.passed is None else ("pass" if check.passed else "fail")
            self.items.append_entry(
                {"item_id": check.item_id, "result": result, "note": check.note}
            )

    def answers(self) -> list[CheckAnswer]:
        """The answers as plain values for the service."""
        return [
            CheckAnswer(entry.item_id.data or 0, entry.result.data or "", entry.note.data or "")
            for entry in self.items
        ]


class RequestChangesForm(FlaskForm):
    """Send the bid back to the group with a message."""

    message = TextAreaField(
        _l("What should the group change?"),
        filters=[clean_text, strip],
        validators=[
            DataRequired(_l("Write a message telling the group what to change")),
            Length(max=5000),
        ],
        description=_l("The group reads this message."),
    )


class MessageGroupForm(FlaskForm):
    """Write to the group without changing the bid's status."""

    group_message = TextAreaField(
        _l("Message"),
        filters=[clean_text, strip],
        validators=[DataRequired(_l("Write the message to the group")), Length(max=5000)],
        description=_l(
            "The group reads this on its bid's page and by email. The bid stays as it is."
        ),
    )


class ShortlistForm(FlaskForm):
    """Shortlist the bid, with an optional note for the record."""

    shortlist_note = TextAreaField(
        _l("Note for the record (optional)"),
        filters=[clean_text, strip],
        validators=[Length(max=2000)],
    )


class RejectForm(FlaskForm):
    """Reject the bid with a reason everyone can read."""

    reason = TextAreaField(
        _l("Reason for rejecting"),
        filters=[clean_text, strip],
        validators=[
            DataRequired(_l("Give a reason for rejecting the bid")),
            Length(max=2000),
        ],
        description=_l("The group and the public will read this reason."),
    )


class ReopenForm(FlaskForm):
    """Take back a decision during review."""

    reopen_note = TextAreaField(
        _l("Why reopen? (optional)"), filters=[clean_text, strip], validators=[Length(max=2000)]
    )


class ConflictForm(FlaskForm):
    """Declare a conflict of interest on a bid."""

    conflict_reason = TextAreaField(
        _l("What is the conflict of interest?"),
        filters=[clean_text, strip],
        validators=[DataRequired(_l("Say what the conflict of interest is")), Length(max=2000)],
        description=_l("For example: I am a trustee of this group. You will not review this bid."),
    )
