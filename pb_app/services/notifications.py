"""Plain-English emails to a community group when something happens to one of its bids."""

from __future__ import annotations

from flask import current_app, has_request_context, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.routing import BuildError

from pb_app.models import Bid
from pb_app.services.mail import MailError, send_mail

EVENTS = (
    "submitted",
    "changes_requested",
    "resubmitted",
    "shortlisted",
    "rejected",
    "withdrawn",
    "funded",
    "not_funded",
    "message",
)


def bid_link(bid: Bid) -> str:
    """A full link to the group's page for the bid, or its path when there is no request."""
    if has_request_context():
        return url_for("bids.show", bid_id=bid.id, _external=True)
    try:
        return url_for("bids.show", bid_id=bid.id)
    except (BuildError, RuntimeError):
        return f"/bids/{bid.id}"


def recipients(bid: Bid) -> list[str]:
    """The group's contact address and every member's, each once, contact first."""
    addresses = [bid.group.contact_email, *(m.user.email for m in bid.group.memberships)]
    seen: dict[str, str] = {}
    for address in addresses:
        if address and address.strip().lower() not in seen:
            seen[address.strip().lower()] = address.strip()
    return list(seen.values())


def _wording(event: str, title: str) -> tuple[str, str]:
    """The subject and the opening sentence for an event."""
    wording = {
        "submitted": (
            _("Bid submitted: %(title)s", title=title),
            _("Your bid has been submitted. Officers will review it after the deadline."),
        ),
        "changes_requested": (
            _("Changes requested: %(title)s", title=title),
            _("An officer has asked for changes to your bid. Make them and resubmit it."),
        ),
        "resubmitted": (
            _("Bid resubmitted: %(title)s", title=title),
            _("Your changed bid has been resubmitted for review."),
        ),
        "shortlisted": (
            _("Bid shortlisted: %(title)s", title=title),
            _("Good news: your bid has been shortlisted. Residents will vote on it."),
        ),
        "rejected": (
            _("Bid not shortlisted: %(title)s", title=title),
            _("Your bid has not been shortlisted. The reason is below and on your bid's page."),
        ),
        "withdrawn": (
            _("Bid withdrawn: %(title)s", title=title),
            _("Your bid has been withdrawn. It will not go to the vote."),
        ),
        "funded": (
            _("Bid funded: %(title)s", title=title),
            _("Congratulations: residents voted to fund your bid."),
        ),
        "not_funded": (
            _("Bid not funded: %(title)s", title=title),
            _("Your bid was not funded in the vote. The results page explains the count."),
        ),
        "message": (
            _("Message about your bid: %(title)s", title=title),
            _("An officer has written to you about your bid. Their message is below."),
        ),
    }
    return wording[event]


def notify_group(bid: Bid, event: str, message: str = "") -> None:
    """Email the group's contact and members about ``event`` on ``bid``, with a link to it."""
    if event not in EVENTS:
        raise ValueError(f"Unknown bid event {event!r}")
    if has_request_context():
        _notify(bid, event, message)
    else:
        # From the CLI (e.g. marking bids funded after the count) there is no request whose
        # language to use, and the locale selector needs one: write in the default language.
        with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "en")):
            _notify(bid, event, message)


def _notify(bid: Bid, event: str, message: str) -> None:
    subject, opening = _wording(event, bid.title)
    parts = [
        _("Hello %(group)s,", group=bid.group.name),
        opening,
        _("Bid: %(ref)s %(title)s", ref=bid.ref, title=bid.title),
    ]
    if message.strip():
        parts.append(_("Message:") + "\n" + message.strip())
    parts.append(_("See your bid: %(link)s", link=bid_link(bid)))
    body = "\n\n".join(parts) + "\n"
    for address in recipients(bid):
        try:
            send_mail(address, subject, body)
        except MailError:
            # The change itself is already saved; a failed email must not undo or hide it.
            current_app.logger.warning("Could not notify %s about bid %s", address, bid.id)
