"""Resident voting pages: start, voter code or registration, ballot, check answers, receipt."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from pb_app import ballot_forms
from pb_app.extensions import db, limiter
from pb_app.forms.vote import BallotForm, CodeForm, ConfirmForm, ReceiptForm, RegisterVoterForm
from pb_app.models import Channel, Round
from pb_app.models._base import utcnow
from pb_app.phases import Phase
from pb_app.services import codes, elections, eligibility, identity, voting
from pb_app.services.rounds import list_rounds, round_phase, ward_choices
from pb_app.services.voting_errors import (
    AlreadyVoted,
    BallotInvalid,
    CodeInvalid,
    CodeNotBound,
    CodeWithdrawn,
    NotRegistered,
    VotingClosed,
)
from pb_app.tally.election import Ballot
from pb_app.views.ballot_sheet import BallotSheet, ballot_page, ballot_problems

bp = Blueprint("vote", __name__)

# Who may vote, kept only until the ballot is cast: {"round": slug, "voter_id"| "code": …}.
IDENTITY = "vote_identity"
DRAFT = "vote_draft"  # {"round": slug, "ballot": {...}}: the ballot before it is confirmed
DONE = "vote_done"  # {"round": slug, "receipt": …, "superseded": bool}: for the confirmation


_PHASES = list(Phase)  # in order: setup, bids, review, voting, counting, results, archived


def _round(slug: str) -> Round:
    return db.first_or_404(select(Round).where(Round.slug == slug))


def _not_open(round_: Round) -> Response | None:
    """The "voting is not open" page when the round is not in voting, else None."""
    phase = round_phase(round_, utcnow())
    if phase is Phase.VOTING:
        return None
    before = _PHASES.index(phase) < _PHASES.index(Phase.VOTING)
    page = render_template("vote/not_open.html", round=round_, before=before)
    return make_response(page, 403)


def _identity(round_: Round) -> dict[str, Any] | None:
    identity = session.get(IDENTITY)
    if isinstance(identity, dict) and identity.get("round") == round_.slug:
        return identity
    return None


def _user() -> Any:
    return current_user if current_user.is_authenticated else None


def _draft(round_: Round) -> Ballot | None:
    draft = session.get(DRAFT)
    if isinstance(draft, dict) and draft.get("round") == round_.slug:
        return ballot_forms.ballot_from_session(draft.get("ballot"))
    return None


def _forget(*keys: str) -> None:
    for key in keys:
        session.pop(key, None)


@bp.get("/rounds/<slug>/vote")
def start(slug: str) -> str | Response:
    """How to vote, the deadline and the two ways in."""
    round_ = _round(slug)
    if closed := _not_open(round_):
        return closed
    if voted := _already_voted(round_):
        return voted
    limits = elections.limits_of(round_)
    return render_template("vote/start.html", round=round_, limits=limits)


def _voted_page(round_: Round, first: identity.FirstVote | None) -> Response:
    """The polite "you have already voted" page, saying how and on which day."""
    _forget(IDENTITY, DRAFT)
    page = render_template("vote/already_voted.html", round=round_, first=first)
    return make_response(page)


def _already_voted(round_: Round) -> Response | None:
    """The already-voted page for a person who may not vote again, as soon as we know them."""
    if round_.allow_ballot_change:
        return None
    who = _identity(round_)
    first = None
    if who is not None and who.get("voter_id") is not None:
        first = identity.first_vote(round_.id, voter_id=who["voter_id"])
    elif who is not None and who.get("code") is not None:
        try:
            codes.check_code(round_, who["code"])
        except AlreadyVoted as already:
            first = identity.FirstVote.of(already)
        except CodeInvalid:
            return None  # explained when the ballot is cast
    elif current_user.is_authenticated:
        first = identity.voted_as_user(round_, current_user.id)
    return _voted_page(round_, first) if first is not None else None


@bp.route("/rounds/<slug>/vote/code", methods=["GET", "POST"])
# Only failed tries count (a success redirects): guessing is slowed, a busy venue is not.
@limiter.limit(
    "10 per minute;50 per hour",
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 302,
)
def enter_code(slug: str) -> str | Response:
    """Enter a one-time voter code."""
    round_ = _round(slug)
    if closed := _not_open(round_):
        return closed
    form = CodeForm()
    if request.method == "GET" and "code" in request.args:
        # A slip's QR code opens this page with the code filled in; the voter still presses
        # Continue, so nothing is submitted by scanning alone.
        form.code.data = request.args.get("code", "")[:40]
    if form.validate_on_submit():
        code = codes.normalise_code(form.code.data or "")
        try:
            codes.check_code(round_, code)
        except CodeWithdrawn as withdrawn:
            form.code.errors.append(str(withdrawn))
        except CodeNotBound as unbound:
            form.code.errors.append(str(unbound))
        except CodeInvalid:
            form.code.errors.append(_("That code is not right. Check it and type it again."))
        except AlreadyVoted as already:
            return _voted_page(round_, identity.FirstVote.of(already))
        else:
            _forget(DRAFT, DONE)
            session[IDENTITY] = {"round": slug, "code": code}
            return redirect(url_for("vote.ballot", slug=slug))
    return render_template("vote/code.html", round=round_, form=form)


@bp.route("/rounds/<slug>/vote/register", methods=["GET", "POST"])
@limiter.limit("10 per minute;100 per hour", methods=["POST"])
def register(slug: str) -> str | Response:
    """Check a resident can vote in this round, and register them."""
    round_ = _round(slug)
    if closed := _not_open(round_):
        return closed
    form = RegisterVoterForm()
    form.ward.choices = ward_choices(round_, _("I don't know, or I'd rather not say"))
    if form.validate_on_submit() and form.date_of_birth is not None:
        try:
            voter = eligibility.register_voter(
                round_,
                full_name=form.full_name.data or "",
                postcode=form.postcode.data or "",
                date_of_birth=form.date_of_birth,
                basis=(form.basis.data or "lives") if round_.allow_work_study else "lives",
                email=form.email.data or None,
                phone=form.phone.data or None,
                user=_user(),
                ward_id=int(form.ward.data) if form.ward.data else None,
                today=date.today(),  # noqa: DTZ011 - ages are counted in local dates
            )
        except eligibility.NotEligible as error:
            return render_template("vote/not_eligible.html", round=round_, problems=error.problems)
        except eligibility.AlreadyRegistered:
            form.full_name.errors.append(
                _("You have already registered to vote in this round. Each person registers once.")
            )
        else:
            _forget(DRAFT, DONE)
            session[IDENTITY] = {"round": slug, "voter_id": voter.id}
            return _already_voted(round_) or redirect(url_for("vote.ballot", slug=slug))
    return render_template("vote/register.html", round=round_, form=form)


def _sheet(round_: Round) -> BallotSheet:
    cards = list(elections.projects_for_ballot(round_))
    excluded = set(elections.excluded_refs(round_, _user()))
    choosable = len([card for card in cards if card.ref not in excluded])
    ranks = ballot_forms.rank_positions(round_.max_length, choosable)
    return BallotSheet(round_.ballot_kind, cards, excluded, ranks)


def _ballot_page(
    round_: Round, sheet: BallotSheet, values: Any, problems: list[tuple[str, str]]
) -> Response:
    return make_response(
        render_template("vote/ballot.html", **ballot_page(round_, sheet, values, problems))
    )


def _needs_identity(round_: Round) -> Response | None:
    """The closed page, or a redirect to the start page for someone not yet let in; else None."""
    if closed := _not_open(round_):
        return closed
    if _identity(round_) is None:
        flash(_("Use your voter code or register before you vote."), "error")
        return redirect(url_for("vote.start", slug=round_.slug))
    return None


@bp.route("/rounds/<slug>/vote/ballot", methods=["GET", "POST"])
def ballot(slug: str) -> Response:
    """The ballot: choose projects; "Update" recomputes the total without JavaScript."""
    round_ = _round(slug)
    if refused := _needs_identity(round_) or _already_voted(round_):
        return refused
    sheet = _sheet(round_)
    if request.method == "GET":
        kept = _draft(round_)
        values = ballot_forms.form_from_ballot(sheet.kind, kept) if kept else {}
        return _ballot_page(round_, sheet, values, [])
    if not BallotForm().validate_on_submit():
        abort(400)
    values = request.form.to_dict(flat=False)
    if "update" in request.form:
        return _ballot_page(round_, sheet, values, [])
    draft = sheet.read(values)
    if problems := ballot_problems(round_, sheet, draft):
        return _ballot_page(round_, sheet, values, problems)
    session[DRAFT] = {"round": slug, "ballot": ballot_forms.ballot_to_session(draft.ballot)}
    return redirect(url_for("vote.check_answers", slug=slug))


def _cast(round_: Round, sheet: BallotSheet, kept: Ballot) -> Response:
    """Cast the confirmed ballot, forget who cast it, and go to the confirmation (or explain)."""
    who = _identity(round_) or {}
    try:
        result = voting.cast_ballot(
            round_.id,
            kept,
            voter_id=who.get("voter_id"),
            code=who.get("code"),
            channel=Channel.ONLINE,
            excluded=sheet.excluded,
            now=utcnow(),
        )
    except VotingClosed:
        return _not_open(round_) or redirect(url_for("vote.start", slug=round_.slug))
    except BallotInvalid:
        flash(_("Your ballot needs changing before it can be cast."), "error")
        return redirect(url_for("vote.ballot", slug=round_.slug))
    except AlreadyVoted as already:
        return _voted_page(round_, identity.FirstVote.of(already))
    except CodeWithdrawn as withdrawn:
        _forget(IDENTITY, DRAFT)
        flash(str(withdrawn), "error")
        return redirect(url_for("vote.enter_code", slug=round_.slug))
    except (CodeInvalid, NotRegistered):
        _forget(IDENTITY, DRAFT)
        flash(_("We could not check who you are. Use your voter code or register again."), "error")
        return redirect(url_for("vote.start", slug=round_.slug))
    # The ballot is cast: nothing that could link this person to it stays in the session.
    _forget(IDENTITY, DRAFT)
    session[DONE] = {
        "round": round_.slug,
        "receipt": result.receipt,
        "superseded": result.superseded,
    }
    return redirect(url_for("vote.confirmation", slug=round_.slug))


@bp.route("/rounds/<slug>/vote/check", methods=["GET", "POST"])
def check_answers(slug: str) -> str | Response:
    """Check your answers, then confirm and cast the vote."""
    round_ = _round(slug)
    if refused := _needs_identity(round_):
        return refused
    kept = _draft(round_)
    if kept is None:
        return redirect(url_for("vote.ballot", slug=slug))
    sheet = _sheet(round_)
    form = ConfirmForm()
    if form.validate_on_submit():
        return _cast(round_, sheet, kept)
    return render_template(
        "vote/check.html",
        round=round_,
        limits=elections.limits_of(round_),
        form=form,
        sheet=sheet,
        ballot=kept,
        points=dict(zip(kept.projects, kept.points, strict=False)),
        total=ballot_forms.running_total(kept, sheet.cards),
    )


@bp.get("/rounds/<slug>/vote/done")
def confirmation(slug: str) -> str | Response:
    """The confirmation panel with the receipt code and what happens next."""
    round_ = _round(slug)
    done = session.get(DONE)
    if not isinstance(done, dict) or done.get("round") != slug:
        return redirect(url_for("vote.start", slug=slug))
    return render_template("vote/done.html", round=round_, done=done)


@bp.get("/receipts")
def receipts() -> str:
    """Check a receipt is in a round's ballot log; never shows what the ballot says."""
    form = ReceiptForm(request.args)
    voted_in = _PHASES[_PHASES.index(Phase.VOTING) :]
    rounds = [r for r in list_rounds(utcnow()) if r.phase in voted_in]
    chosen = request.args.get("round", "")
    found: bool | None = None
    if "receipt" in request.args and form.validate():
        round_ = db.session.scalar(select(Round).where(Round.slug == chosen))
        if round_ is None:
            form.receipt.errors.append(_("Choose the round you voted in"))
        else:
            found = voting.receipt_in_log(round_, form.receipt.data or "")
    return render_template(
        "vote/receipts.html", form=form, rounds=rounds, chosen=chosen, found=found
    )
