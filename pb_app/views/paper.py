"""Paper ballots: officers print numbered slips; staff key each twice; officers reconcile."""

from __future__ import annotations

import json
from typing import Any, cast

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from pb_app import ballot_forms
from pb_app.access import has_role, role_required
from pb_app.forms.paper import KeyBallotForm, PrintSlipsForm, SpoilBallotForm
from pb_app.models import Role, Round, User
from pb_app.models._base import utcnow
from pb_app.services import elections, round_setup
from pb_app.services import paper as papers
from pb_app.services.voting_errors import BallotInvalid, VotingClosed
from pb_app.views.errors import http_error

bp = Blueprint("paper", __name__, url_prefix="/staff/rounds")


@bp.before_request
@role_required(Role.VOLUNTEER, Role.OFFICER)
def _staff_only() -> None:
    """Volunteers key ballots; officers also print slips and reconcile."""


@bp.errorhandler(round_setup.RoundNotFound)
def _not_found(error: Exception) -> tuple[str | dict[str, object], int]:
    return http_error(NotFound())


def _me() -> User:
    return cast(User, current_user._get_current_object())


def _sheet(round_: Round) -> dict[str, Any]:
    cards = elections.projects_for_ballot(round_)
    ranks = ballot_forms.rank_positions(round_.max_length, len(cards))
    return {"kind": round_.ballot_kind, "cards": cards, "ranks": ranks}


def _read_ballot(round_: Round) -> tuple[ballot_forms.Draft, dict[str, list[str]]]:
    sheet = _sheet(round_)
    values = request.form.to_dict(flat=False)
    draft = ballot_forms.ballot_from_form(
        sheet["kind"], values, sheet["cards"], ranks=sheet["ranks"]
    )
    return draft, values


def _entry_problems(draft: ballot_forms.Draft) -> list[str]:
    return [
        _("'%(value)s' is not a whole number (project %(ref)s).", value=p.value, ref=p.ref)
        for p in draft.entry_problems
    ]


@bp.route("/<int:round_id>/paper", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def slips(round_id: int) -> str | Response:
    """Print numbered paper ballots (shown once: only the codes' digests are kept)."""
    round_ = round_setup.get_round(round_id)
    form = PrintSlipsForm()
    if form.validate_on_submit():
        try:
            printed = papers.create_slips(
                round_,
                count=form.count.data or 0,
                venue=form.venue.data or "",
                actor=_me(),
                now=utcnow(),
            )
        except papers.PaperRefused as refused:
            form.count.errors.append(str(refused))
        else:
            page = render_template(
                "paper/slips.html", round=round_, slips=printed, sheet=_sheet(round_)
            )
            response = make_response(page)
            response.headers["Cache-Control"] = "no-store"
            return response
    page = render_template(
        "paper/index.html", round=round_, form=form, ballots=papers.paper_ballots(round_)
    )
    return make_response(page, 422 if form.errors else 200)


def _key_page(round_: Round, form: Any, problems: list[str], status: int, **extra: Any) -> Response:
    page = render_template(
        "paper/key.html",
        round=round_,
        form=form,
        spoil_form=extra.pop("spoil_form", SpoilBallotForm(formdata=None, prefix="spoil")),
        sheet=_sheet(round_),
        problems=problems,
        **extra,
    )
    return make_response(page, status)


@bp.route("/<int:round_id>/paper/key", methods=["GET", "POST"])
def key(round_id: int) -> Response:
    """Key one paper ballot; the first entry is never shown, so one person can key it twice."""
    round_ = round_setup.get_round(round_id)
    form = KeyBallotForm()
    if not form.validate_on_submit():
        return _key_page(round_, form, [], 422 if form.errors else 200)
    draft, _values = _read_ballot(round_)
    if problems := _entry_problems(draft):
        return _key_page(round_, form, problems, 422)
    try:
        outcome = papers.key_entry(
            round_,
            serial=form.serial.data or "",
            code=form.code.data or "",
            ballot=draft.ballot,
            staff=_me(),
            now=utcnow(),
        )
    except BallotInvalid as invalid:
        return _key_page(round_, form, [p.message for p in invalid.problems], 422)
    except (papers.PaperRefused, VotingClosed) as refused:
        return _key_page(round_, form, [str(refused)], 422)
    messages = {
        "first": _("Ballot %(serial)s: first entry saved. Now key it a second time."),
        "counted": _("Ballot %(serial)s: both entries agree. It is in the ballot log."),
        "mismatch": _("Ballot %(serial)s: the two entries disagree. An officer will reconcile it."),
    }
    message = messages[outcome.status] % {"serial": outcome.serial}
    flash(message, "error" if outcome.status == "mismatch" else "success")
    return redirect(url_for("paper.key", round_id=round_.id))


@bp.post("/<int:round_id>/paper/spoil")
def spoil(round_id: int) -> Response:
    """Record a paper ballot as spoilt, with the reason."""
    round_ = round_setup.get_round(round_id)
    form = SpoilBallotForm(prefix="spoil")
    if form.validate_on_submit():
        try:
            spoilt = papers.spoil(
                round_,
                serial=form.serial.data or "",
                code=form.code.data or "",
                reason=form.reason.data or "",
                staff=_me(),
            )
        except papers.PaperRefused as refused:
            form.reason.errors.append(str(refused))
        else:
            flash(_("Ballot %(serial)s recorded as spoilt.", serial=spoilt.serial), "success")
            return redirect(url_for("paper.key", round_id=round_.id))
    return _key_page(round_, KeyBallotForm(formdata=None), [], 422, spoil_form=form)


@bp.route("/<int:round_id>/paper/reconcile", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def reconcile(round_id: int) -> Response:
    """Ballots whose two entries disagree; the officer keys the definitive reading."""
    round_ = round_setup.get_round(round_id)
    form = KeyBallotForm()
    problems: list[str] = []
    if form.validate_on_submit():
        draft, _values = _read_ballot(round_)
        problems = _entry_problems(draft)
        if not problems:
            try:
                outcome = papers.reconcile(
                    round_,
                    serial=form.serial.data or "",
                    code=form.code.data or "",
                    ballot=draft.ballot,
                    officer=_me(),
                    now=utcnow(),
                )
            except BallotInvalid as invalid:
                problems = [p.message for p in invalid.problems]
            except (papers.PaperRefused, VotingClosed) as refused:
                problems = [str(refused)]
            else:
                reconciled = _("Ballot %(serial)s reconciled: it is in the ballot log.")
                flash(reconciled % {"serial": outcome.serial}, "success")
                return redirect(url_for("paper.reconcile", round_id=round_.id))
    sheet = _sheet(round_)
    names = {card.ref: card.title for card in sheet["cards"]}
    waiting = [
        (paper, [json.loads(entry.content) for entry in papers.entries(paper)])
        for paper in papers.paper_ballots(round_)
        if paper.status == papers.MISMATCH
    ]
    page = render_template(
        "paper/reconcile.html",
        round=round_,
        form=form,
        sheet=sheet,
        names=names,
        waiting=waiting,
        problems=problems,
        can_reconcile=has_role(current_user, Role.OFFICER),
    )
    return make_response(page, 422 if form.errors or problems else 200)
