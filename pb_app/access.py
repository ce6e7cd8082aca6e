"""Who may do what: the session's user loader and role decorators for views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import abort
from flask_babel import lazy_gettext
from flask_login import LoginManager, current_user

from pb_app.extensions import db
from pb_app.models import Role, User

P = ParamSpec("P")
R = TypeVar("R")


def init_login(login_manager: LoginManager) -> None:
    """Tell Flask-Login how to load a user and where to send people who must sign in."""
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = lazy_gettext("Sign in to see that page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return db.session.get(User, int(user_id)) if user_id.isdigit() else None


def has_role(user: object, *roles: str) -> bool:
    """Whether a signed-in user holds one of ``roles``; admins hold every role."""
    role = getattr(user, "role", None)
    return bool(getattr(user, "is_authenticated", False)) and (role == Role.ADMIN or role in roles)


def role_required(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Let a view through only for signed-in users with one of ``roles`` (403 otherwise)."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            if not current_user.is_authenticated:
                from flask import current_app

                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if not has_role(current_user, *roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
