"""Kiosk mode: an officer opens it on a shared device; voters then vote one after another.

A device in kiosk mode carries the ``pb_kiosk`` cookie; every request from it is answered
``no-store``, and only the kiosk's own pages (and static files) are reachable.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from pb_app import ballot_forms
from pb_app.access import role_required
from pb_app.extensions import db, limiter
from pb_app.forms.kiosk import (
    DeskCheckForm,
    ExitKioskForm,
    KioskCodeForm,
    KioskResetForm,
    OpenKioskForm,
)
from pb_app.forms.vote import BallotForm, ConfirmForm
from pb_app.models import Bid, Kiosk, Role, Round, User
from pb_app.models._base import utcnow
from pb_app.phases import Phase
from pb_app.services import codes, elections, eligibility, identity, round_setup
from pb_app.services import kiosk as kiosks
from pb_app.services.rounds import round_phase
from pb_app.services.voting_errors import (
    AlreadyVoted,
    BallotInvalid,
    CodeInvalid,
    NotRegistered,
    VotingClosed,
)
from pb_app.tally.election import Ballot
from pb_app.views.ballot_sheet import BallotSheet, ballot_page, ballot_problems

bp = Blueprint("kiosk", __name__)

COOKIE = "pb_kiosk"
VOTER = "kiosk_voter"  # {"kiosk", "code" | "voter_id", "assisted", "volunteer_id", "seen"}
DRAFT = "kiosk_draft"  # the ballot before it is confirmed
DONE = "kiosk_done"  # {"receipt"}: shown once on the confirmation page
# Reachable from a kiosk besides its own pages: static files and choosing a language.
_OPEN_ENDPOINTS = frozenset({"static", "public.choose_language"})
_STAFF_ENDPOINTS = frozenset({"kiosk.open_kiosk", "kiosk.end_kiosk"})


def _kiosk() -> Kiosk | None:
    return cast(Kiosk | None, g.get("kiosk"))


@bp.before_app_request
def _kiosk_guard() -> Response | None:
    """Recognise a kiosk device; refuse it every page that is not the kiosk's own."""
    token = request.cookies.get(COOKIE)
    g.kiosk = kiosks.kiosk_for_token(token, utcnow()) if token else None
    endpoint = request.endpoint or ""
    kiosk_page = endpoint.startswith("kiosk.") and endpoint not in _STAFF_ENDPOINTS
    if g.kiosk is None or kiosk_page or endpoint in _OPEN_ENDPOINTS:
        return None
    page = render_template("kiosk/refused.html")
    return make_response(page, 403)


@bp.after_app_request
def _no_store(response: Response) -> Response:
    """Nothing a kiosk shows is kept by its browser (back button, cache)."""
    if g.get("kiosk") is not None or (request.endpoint or "").startswith("kiosk."):
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_context_processor
def _kiosk_context() -> dict[str, Any]:
    """Tell templates (the shared voting pages among them) they are on a kiosk."""
    return {"kiosk_mode": g.get("kiosk") is not None}


def _idle_seconds() -> int:
    return int(current_app.config.get("KIOSK_IDLE_SECONDS", 120))


def _render(template: str, status: int = 200, **context: Any) -> Response:
    kiosk = _kiosk()
    context.setdefault("voting", True)
    page = render_template(
        template,
        kiosk=kiosk,
        idle=_idle_seconds(),
        warning=int(current_app.config.get("KIOSK_WARNING_SECONDS", 30)),
        reset_form=KioskResetForm(),
        **context,
    )
    return make_response(page, status)


def _not_a_kiosk() -> Response:
    return make_response(render_template("kiosk/not_kiosk.html"), 403)


def _round_of(kiosk: Kiosk) -> Round:
    round_ = db.session.get(Round, kiosk.round_id)
    assert round_ is not None  # kiosks are deleted with their round
    return round_


def _forget_voter() -> None:
    for key in (VOTER, DRAFT):
        session.pop(key, None)


def _voter(kiosk: Kiosk, *, expire: bool = True) -> dict[str, Any] | None:
    """This device's current voter, unless they left it idle for longer than the reset time."""
    voter = session.get(VOTER)
    if not isinstance(voter, dict) or voter.get("kiosk") != kiosk.id:
        return None
    seen = datetime.fromisoformat(str(voter.get("seen")))
    if expire and utcnow() - seen > timedelta(seconds=_idle_seconds()):
        _forget_voter()
        flash(_("The screen went back to the start because nobody used it for a while."), "info")
        return None
    voter["seen"] = utcnow().isoformat()
    session[VOTER] = voter
    return voter


def _start_voter(kiosk: Kiosk, **identity: Any) -> Response:
    session.pop(DONE, None)
    session[DRAFT] = None
    session[VOTER] = {"kiosk": kiosk.id, "seen": utcnow().isoformat(), **identity}
    return redirect(url_for("kiosk.ballot"))


@bp.route("/staff/rounds/<int:round_id>/kiosk", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def open_kiosk(round_id: int) -> str | Response:
    """Open kiosk mode on this device: it is then signed out and shows only voting."""
    round_ = round_setup.get_round(round_id)
    form = OpenKioskForm()
    if form.validate_on_submit():
        try:
            opened = kiosks.open_kiosk(
                round_,
                venue=form.venue.data or "",
                pin=form.pin.data or "",
                officer=cast(User, current_user._get_current_object()),
                ip=request.remote_addr,
            )
        except kiosks.KioskRefused as refused:
            form.pin.errors.append(str(refused))
        else:
            # The device is the voters' now: no staff session may stay on it.
            logout_user()
            session.clear()
            response = redirect(url_for("kiosk.start"))
            response.set_cookie(
                COOKIE,
                opened.token,
                max_age=int(kiosks.LIFETIME.total_seconds()),
                httponly=True,
                secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
                samesite="Strict",
            )
            return response
    status = 422 if form.errors else 200
    page = render_template(
        "kiosk/open.html",
        round=round_,
        form=form,
        turnout=kiosks.turnout(round_),
        kiosks=kiosks.open_kiosks(round_, utcnow()),
        end_form=KioskResetForm(),
    )
    return make_response(page, status)


@bp.post("/staff/rounds/<int:round_id>/kiosk/<int:kiosk_id>/end")
@role_required(Role.OFFICER)
def end_kiosk(round_id: int, kiosk_id: int) -> Response:
    """End a voting point from this (staff) device."""
    round_ = round_setup.get_round(round_id)
    if not KioskResetForm().validate_on_submit():
        return make_response(render_template("kiosk/refused.html"), 400)
    try:
        ended = kiosks.end_kiosk(
            round_, kiosk_id, officer=cast(User, current_user._get_current_object()), now=utcnow()
        )
    except kiosks.KioskRefused as refused:
        flash(str(refused), "error")
    else:
        flash(_("The voting point at %(venue)s has ended.", venue=ended.venue), "success")
    return redirect(url_for("kiosk.open_kiosk", round_id=round_.id))


@bp.get("/kiosk")
def start() -> Response:
    """The kiosk's start screen: vote with a code, or after an identity check at the desk."""
    kiosk = _kiosk()
    if kiosk is None:
        return _not_a_kiosk()
    _forget_voter()
    round_ = _round_of(kiosk)
    is_open = round_phase(round_, utcnow()) is Phase.VOTING
    return _render("kiosk/start.html", round=round_, is_open=is_open, voting=False)


@bp.route("/kiosk/code", methods=["GET", "POST"])
@limiter.limit(
    "10 per minute;60 per hour",
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 302,
)
def enter_code() -> Response:
    """A voter types (or scans) their one-time code."""
    kiosk = _kiosk()
    if kiosk is None:
        return _not_a_kiosk()
    round_ = _round_of(kiosk)
    form = KioskCodeForm(data={"code": request.args.get("code", "")[:40]})
    if form.validate_on_submit():
        code = codes.normalise_code(form.code.data or "")
        try:
            codes.check_code(round_, code)
        except CodeInvalid as invalid:
            form.code.errors.append(str(invalid))
        except AlreadyVoted:
            form.code.errors.append(
                _("That code has already been used to vote. Each code votes once.")
            )
        else:
            return _start_voter(kiosk, code=code, assisted=False, volunteer_id=None)
    status = 422 if form.errors else 200
    return _render("kiosk/code.html", status, round=round_, form=form)


@bp.route("/kiosk/desk", methods=["GET", "POST"])
@limiter.limit("10 per minute;100 per hour", methods=["POST"])
def desk_check() -> Response:
    """A volunteer or officer vouches for a voter's identity (and may assist them)."""
    kiosk = _kiosk()
    if kiosk is None:
        return _not_a_kiosk()
    round_ = _round_of(kiosk)
    form = DeskCheckForm()
    problems: list[str] = []
    if form.validate_on_submit() and form.date_of_birth is not None:
        try:
            staff = kiosks.check_staff(
                kiosk,
                form.staff_email.data or "",
                form.staff_password.data or "",
                ip=request.remote_addr,
            )
            checked = identity.desk_check(
                round_.id,
                full_name=form.full_name.data or "",
                postcode=form.postcode.data or "",
                date_of_birth=form.date_of_birth,
                officer=staff,
                now=utcnow(),
            )
        except kiosks.StaffCheckFailed as failed:
            form.staff_email.errors.append(str(failed))
        except eligibility.NotEligible as error:
            problems = error.problems
        except AlreadyVoted as voted:
            problems = [
                _(
                    "This person has already voted %(first)s.",
                    first=identity.FirstVote.of(voted).words,
                )
            ]
        except VotingClosed as closed:
            problems = [str(closed)]
        else:
            assisted = bool(form.assisted.data)
            return _start_voter(
                kiosk, voter_id=checked.voter_id, assisted=assisted, volunteer_id=staff.id
            )
    status = 422 if form.errors or problems else 200
    return _render("kiosk/desk.html", status, round=round_, form=form, problems=problems)


def _sheet(round_: Round) -> BallotSheet:
    cards = [
        replace(card, url=url_for("kiosk.project", ref=card.ref))
        for card in elections.projects_for_ballot(round_)
    ]
    ranks = ballot_forms.rank_positions(round_.max_length, len(cards))
    return BallotSheet(round_.ballot_kind, cards, set(), ranks)


def _needs_voter() -> tuple[Kiosk, Round, dict[str, Any]] | Response:
    kiosk = _kiosk()
    if kiosk is None:
        return _not_a_kiosk()
    voter = _voter(kiosk)
    if voter is None:
        return redirect(url_for("kiosk.start"))
    return kiosk, _round_of(kiosk), voter


def _draft() -> Ballot | None:
    return ballot_forms.ballot_from_session(session.get(DRAFT))


def _ballot_page(round_: Round, sheet: BallotSheet, values: Any, problems: Any) -> Response:
    return _render("vote/ballot.html", **ballot_page(round_, sheet, values, problems))


@bp.route("/kiosk/ballot", methods=["GET", "POST"])
def ballot() -> Response:
    """The ballot, as on a phone (every ballot kind), inside the kiosk."""
    found = _needs_voter()
    if isinstance(found, Response):
        return found
    round_ = found[1]
    sheet = _sheet(round_)
    if request.method == "GET":
        kept = _draft()
        values = ballot_forms.form_from_ballot(sheet.kind, kept) if kept else {}
        return _ballot_page(round_, sheet, values, [])
    if not BallotForm().validate_on_submit():
        return make_response(render_template("kiosk/refused.html"), 400)
    values = request.form.to_dict(flat=False)
    if "update" in request.form:
        return _ballot_page(round_, sheet, values, [])
    draft = sheet.read(values)
    if problems := ballot_problems(round_, sheet, draft):
        response = _ballot_page(round_, sheet, values, problems)
        response.status_code = 422
        return response
    session[DRAFT] = ballot_forms.ballot_to_session(draft.ballot)
    return redirect(url_for("kiosk.check_answers"))


def canonical_ballot(kiosk: Kiosk, ballot: Ballot) -> str:
    """The message a kiosk signs for a ballot: its kiosk, round and choices, as canonical JSON."""
    body = {"kiosk": kiosk.id, "points": list(ballot.points), "projects": list(ballot.projects)}
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


@bp.route("/kiosk/check", methods=["GET", "POST"])
def check_answers() -> Response:
    """Check your answers; confirming casts the vote (kiosk.js sends it, queued if offline)."""
    found = _needs_voter()
    if isinstance(found, Response):
        return found
    kiosk, round_, voter = found
    kept = _draft()
    if kept is None:
        return redirect(url_for("kiosk.ballot"))
    sheet = _sheet(round_)
    form = ConfirmForm()
    if form.validate_on_submit():
        outcome, status = _cast(kiosk, round_, voter, kept)
        if status == 200:
            return redirect(url_for("kiosk.confirmation"))
        flash(outcome["message"], "error")
        return redirect(url_for("kiosk.start"))
    message = canonical_ballot(kiosk, kept)
    return _render(
        "kiosk/check.html",
        round=round_,
        limits=elections.limits_of(round_),
        form=form,
        sheet=sheet,
        ballot=kept,
        points=dict(zip(kept.projects, kept.points, strict=False)),
        total=ballot_forms.running_total(kept, sheet.cards),
        change=url_for("kiosk.ballot"),
        message=message,
        key=kiosks.session_key(kiosk).hex(),
    )


def _cast(
    kiosk: Kiosk, round_: Round, voter: dict[str, Any], kept: Ballot
) -> tuple[dict[str, str], int]:
    """Cast the confirmed ballot; the outcome for kiosk.js and its HTTP status."""
    try:
        result = kiosks.cast_kiosk_ballot(
            kiosk,
            kept,
            voter_id=voter.get("voter_id"),
            code=voter.get("code"),
            assisted=bool(voter.get("assisted")),
            volunteer_id=voter.get("volunteer_id"),
            now=utcnow(),
        )
    except AlreadyVoted:
        # A replay of a ballot already accepted (its answer was lost): harmless, say so.
        _forget_voter()
        return {"status": "already counted", "message": _("This vote was already counted.")}, 409
    except BallotInvalid:
        return {"status": "invalid", "message": _("The ballot needs changing.")}, 422
    except VotingClosed:
        _forget_voter()
        return {"status": "closed", "message": _("Voting in this round has closed.")}, 403
    except (CodeInvalid, NotRegistered):
        _forget_voter()
        return {"status": "refused", "message": _("We could not check who is voting.")}, 403
    # Nothing that could link this voter to the ballot stays on the device.
    _forget_voter()
    session[DONE] = {"receipt": result.receipt}
    return {"status": "counted", "next": url_for("kiosk.confirmation")}, 200


@bp.post("/kiosk/cast")
def cast_queued() -> tuple[dict[str, str], int]:
    """Cast a ballot sent by kiosk.js (perhaps after being queued offline), signed by the kiosk."""
    kiosk = _kiosk()
    if kiosk is None:
        return {"status": "refused", "message": _("This device is not a kiosk.")}, 403
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return {"status": "refused", "message": _("The vote could not be read.")}, 400
    message, signature = str(payload.get("message", "")), str(payload.get("signature", ""))
    if not kiosks.signature_valid(kiosk, message, signature):
        return {"status": "refused", "message": _("The vote's signature is not right.")}, 400
    # A vote queued while the network was down may arrive long after the voter confirmed it:
    # the inactivity reset does not apply to it (the kiosk's signature shows it was confirmed).
    voter = _voter(kiosk, expire=False)
    kept = _draft()
    if voter is None or kept is None:
        if session.get(DONE):
            return {"status": "counted", "next": url_for("kiosk.confirmation")}, 200
        return {"status": "refused", "message": _("There is no vote waiting here.")}, 409
    if message != canonical_ballot(kiosk, kept):
        return {"status": "refused", "message": _("That is not the vote you checked.")}, 400
    return _cast(kiosk, _round_of(kiosk), voter, kept)


@bp.get("/kiosk/done")
def confirmation() -> Response:
    """Your vote has been cast: the receipt, shown once; then the screen returns to the start."""
    kiosk = _kiosk()
    if kiosk is None:
        return _not_a_kiosk()
    done = session.pop(DONE, None)
    if not isinstance(done, dict):
        return redirect(url_for("kiosk.start"))
    # voting=True: the same warned inactivity reset, so nobody is hurried off their receipt.
    return _render("kiosk/done.html", round=_round_of(kiosk), done=done)


@bp.post("/kiosk/reset")
def reset() -> Response:
    """Finish, or reset after inactivity: forget the voter and return to the start."""
    if not KioskResetForm().validate_on_submit():
        return make_response(render_template("kiosk/refused.html"), 400)
    _forget_voter()
    session.pop(DONE, None)
    session.pop("language", None)  # the next voter starts in the default language
    return redirect(url_for("kiosk.start"))


@bp.get("/kiosk/projects/<ref>")
def project(ref: str) -> Response:
    """One project's bid, read from inside the kiosk."""
    found = _needs_voter()
    if isinstance(found, Response):
        return found
    round_ = found[1]
    card = next((c for c in elections.projects_for_ballot(round_) if c.ref == ref), None)
    bid = db.session.scalars(select(Bid).where(Bid.round_id == round_.id, Bid.ref == ref)).first()
    if card is None or bid is None:
        return make_response(render_template("kiosk/refused.html"), 404)
    return _render("kiosk/project.html", round=round_, card=card, bid=bid)


@bp.route("/kiosk/exit", methods=["GET", "POST"])
@limiter.limit(
    "5 per minute;20 per hour",
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 302,
)
def exit_kiosk() -> Response:
    """An officer leaves kiosk mode with the PIN; a wrong PIN changes nothing."""
    kiosk = _kiosk()
    if kiosk is None:
        return _not_a_kiosk()
    form = ExitKioskForm()
    if form.validate_on_submit():
        try:
            kiosks.close_kiosk(kiosk, pin=form.pin.data or "", now=utcnow(), ip=request.remote_addr)
        except kiosks.WrongPin as wrong:
            form.pin.errors.append(str(wrong))
        else:
            session.clear()
            flash(_("Kiosk mode has ended on this device."), "success")
            response = redirect(url_for("auth.sign_in"))
            response.delete_cookie(COOKIE)
            return response
    status = 422 if form.errors else 200
    return _render("kiosk/exit.html", status, round=_round_of(kiosk), form=form, voting=False)


@bp.get("/rounds/<slug>/live")
def live(slug: str) -> Response:
    """The event's big screen: turnout while voting; funded projects once certified."""
    round_ = db.first_or_404(select(Round).where(Round.slug == slug))
    screen = kiosks.live_screen(round_)
    if screen is None:
        return make_response(render_template("kiosk/not_live.html", round=round_), 404)
    return _render("kiosk/live.html", round=round_, screen=screen, voting=False)
