"""Request-wide web concerns: language choice, security headers, template filters."""

from __future__ import annotations

from flask import Flask, Response, current_app, has_request_context, request, session
from flask_babel import format_datetime, get_locale, gettext
from flask_login import current_user

from pb_app.access import has_role
from pb_app.models import Role
from pb_app.phases import Phase

# Content-Security-Policy: no inline script, no plugins, no framing, no <base> hijack.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def select_locale() -> str | None:
    """The language a person chose (kept in their session), else their browser's best match."""
    languages: list[str] = current_app.config["PB_LANGUAGES"]
    if not has_request_context():
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])  # CLI, emails sent by commands
    chosen = session.get("language")
    if chosen in languages:
        return str(chosen)
    return request.accept_languages.best_match(languages) or "en"


def add_security_headers(response: Response) -> Response:
    """Set the ASVS baseline headers on every response."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Permissions-Policy", "camera=(self), geolocation=()")
    if current_app.config.get("PB_HSTS"):
        response.headers.setdefault(
            "Strict-Transport-Security", "max-age=63072000; includeSubDomains"
        )
    return response


def money(pence: int) -> str:
    """Pence for people: 450000 → "£4,500", 450050 → "£4,500.50"."""
    pounds, rest = divmod(pence, 100)
    return f"£{pounds:,}" if rest == 0 else f"£{pounds:,}.{rest:02d}"


def phase_label(phase: Phase | str) -> str:
    """A phase's name for people, translated."""
    labels = {
        Phase.SETUP: gettext("Being set up"),
        Phase.BIDS: gettext("Open for bids"),
        Phase.REVIEW: gettext("Bids being reviewed"),
        Phase.VOTING: gettext("Voting open"),
        Phase.COUNTING: gettext("Voting closed, being counted"),
        Phase.RESULTS: gettext("Results published"),
        Phase.ARCHIVED: gettext("Archived"),
    }
    return labels[Phase(phase)]


# Each language named in its own language, as people look for their own.
LANGUAGE_NAMES = {
    "en": "English",
    "cy": "Cymraeg",
    "pl": "Polski",
    "tr": "Türkçe",
    "bn": "বাংলা",
    "pt": "Português",
    "es": "Español",
    "so": "Soomaali",
}


def template_globals() -> dict[str, object]:
    """Values every template may use."""
    codes: list[str] = current_app.config["PB_LANGUAGES"]
    return {
        "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in codes],
        "current_locale": lambda: str(get_locale() or "en"),
        "format_datetime": format_datetime,
        # The header's link to the staff pages, for the roles that may open them.
        "staff_link": has_role(current_user, Role.OFFICER, Role.FUNDER),
    }


def init_app(app: Flask) -> None:
    """Register the headers hook, template globals and filters."""
    app.after_request(add_security_headers)
    app.context_processor(template_globals)
    app.add_template_filter(money, "money")
    app.add_template_filter(phase_label, "phase_label")
