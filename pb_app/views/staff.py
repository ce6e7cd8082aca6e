"""Staff pages: the officers', funders' and admins' starting point."""

from __future__ import annotations

from flask import Blueprint, render_template

from pb_app.access import role_required
from pb_app.models import Role
from pb_app.models._base import utcnow
from pb_app.services.rounds import list_rounds

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.get("/")
@role_required(Role.OFFICER, Role.FUNDER)
def dashboard() -> str:
    """Every round with its phase, for staff."""
    return render_template("staff/dashboard.html", rounds=list_rounds(utcnow()))
