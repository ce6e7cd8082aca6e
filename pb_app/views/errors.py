"""Friendly error pages: no stack traces, no secrets, a way back."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from pb_app.extensions import db

bp = Blueprint("errors", __name__)


def _messages(code: int) -> tuple[str, str]:
    return {
        400: (_("Something in that request was not right"), _("Go back and try again.")),
        403: (
            _("You cannot see this page"),
            _(
                "Your account does not give you access to it. Sign in with another account, "
                "or ask the round's officers for help."
            ),
        ),
        404: (
            _("Page not found"),
            _(
                "If you typed the web address, check it is correct. "
                "If you pasted it, check you copied the whole address."
            ),
        ),
        405: (_("That cannot be done here"), _("Go back and use the page's buttons.")),
        413: (_("That upload is too large"), _("Choose a smaller file and try again.")),
        429: (
            _("Too many attempts"),
            _("For your security, wait a few minutes and then try again."),
        ),
    }.get(code, (_("Sorry, there is a problem with the service"), _("Try again later.")))


def _wants_json() -> bool:
    return request.path.startswith("/api/")


@bp.app_errorhandler(CSRFError)
def csrf_error(error: CSRFError) -> tuple[str, int]:
    """A form sent without a valid CSRF token: explain, and store nothing."""
    title = _("Your form could not be sent")
    detail = _(
        "The page was open too long or was sent from somewhere else. "
        "Go back, reload the page and try again."
    )
    return render_template("errors/error.html", title=title, detail=detail, code=400), 400


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[str | dict[str, object], int]:
    """Every HTTP error: JSON for the API, a friendly page elsewhere."""
    code = error.code or 500
    title, detail = _messages(code)
    if _wants_json():
        return {"error": title, "reasons": [detail]}, code
    return render_template("errors/error.html", title=title, detail=detail, code=code), code


@bp.app_errorhandler(Exception)
def unexpected_error(error: Exception) -> tuple[str | dict[str, object], int]:
    """Anything unexpected: roll back, log it, show a calm page without details."""
    db.session.rollback()
    from flask import current_app

    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    title, detail = _messages(500)
    if _wants_json():
        return {"error": title, "reasons": [detail]}, 500
    return render_template("errors/error.html", title=title, detail=detail, code=500), 500
