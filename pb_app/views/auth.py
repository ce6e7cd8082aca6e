"""Registering, signing in and signing out."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from pb_app.extensions import limiter
from pb_app.forms.auth import RegisterForm, SignInForm, SignOutForm
from pb_app.models import User
from pb_app.services import accounts

bp = Blueprint("auth", __name__, url_prefix="/account")


def _safe_next(default: str) -> str:
    target = request.args.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else default


def _start_session(user: User) -> None:
    # A fresh session on every sign-in: nothing from before signing in carries over.
    language = session.get("language")
    session.clear()
    if language:
        session["language"] = language
    login_user(user)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def register() -> str | Response:
    """Create an account, then sign in."""
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = accounts.register_user(
                form.name.data or "",
                form.email.data or "",
                form.password.data or "",
                ip=request.remote_addr,
            )
        except accounts.WeakPassword as error:
            form.password.errors.append(str(error))
        except accounts.EmailTaken as error:
            form.email.errors.append(str(error))
        else:
            _start_session(user)
            flash(_("Your account has been created and you are signed in."), "success")
            return redirect(url_for("public.home"))
    return render_template("auth/register.html", form=form)


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit("10 per minute;50 per hour", methods=["POST"])
def sign_in() -> str | Response:
    """Sign in with email and password."""
    form = SignInForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(
                form.email.data or "", form.password.data or "", ip=request.remote_addr
            )
        except accounts.InvalidCredentials as error:
            form.password.errors.append(str(error))
        else:
            _start_session(user)
            flash(_("You are signed in."), "success")
            return redirect(_safe_next(url_for("public.home")))
    return render_template("auth/sign_in.html", form=form)


@bp.post("/sign-out")
@login_required
def sign_out() -> Response:
    """Sign out (POST only, with the CSRF token)."""
    form = SignOutForm()
    if form.validate_on_submit():
        accounts.record_sign_out(current_user, ip=request.remote_addr)
        logout_user()
        session.clear()
        flash(_("You are signed out."), "success")
    return redirect(url_for("public.home"))
