"""The staff audit log: every recorded action, filtered, paged, and exported as CSV."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, render_template, request, stream_with_context

from pb_app.access import role_required
from pb_app.forms.audit_log import AuditFilterForm
from pb_app.models import Role
from pb_app.services import audit_log

bp = Blueprint("audit_log", __name__, url_prefix="/staff/audit")


def _filter_form() -> tuple[AuditFilterForm, audit_log.AuditFilter]:
    form = AuditFilterForm(formdata=request.args)
    form.offer(audit_log.round_choices(), audit_log.action_names())
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    # An invalid filter shows its errors and filters nothing, rather than guessing.
    filters = form.filters(zone) if form.validate() else audit_log.AuditFilter()
    return form, filters


@bp.get("/")
@role_required(Role.OFFICER, Role.FUNDER)
def index() -> str:
    """One page of the audit log, newest first, with the filter form."""
    form, filters = _filter_form()
    number = form.page.data if form.page.data and not form.page.errors else 1
    page = audit_log.search(filters, number)
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template("audit_log/index.html", form=form, page=page, args=args)


@bp.get("/export.csv")
@role_required(Role.OFFICER, Role.FUNDER)
def export() -> Response:
    """Every event the filter matches, as CSV (safe to open in a spreadsheet)."""
    _, filters = _filter_form()
    return Response(
        stream_with_context(audit_log.export_csv(filters)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": 'attachment; filename="audit-log.csv"',
            "Cache-Control": "no-store",
        },
    )
