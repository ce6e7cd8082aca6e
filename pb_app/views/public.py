"""Public pages: the list of rounds and the language choice."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, session
from werkzeug.wrappers import Response

from pb_app.models._base import utcnow
from pb_app.services.rounds import list_rounds

bp = Blueprint("public", __name__)


@bp.get("/")
def home() -> str:
    """The home page: every current round with its phase."""
    return render_template("public/home.html", rounds=list_rounds(utcnow()))


@bp.post("/language")
def choose_language() -> Response:
    """Remember the language a person chose for this session."""
    language = request.form.get("language", "")
    if language not in current_app.config["PB_LANGUAGES"]:
        abort(400)
    session["language"] = language
    target = request.form.get("next", "/")
    # Only same-site paths, so the form cannot be used to bounce people elsewhere.
    return redirect(target if target.startswith("/") and not target.startswith("//") else "/")
