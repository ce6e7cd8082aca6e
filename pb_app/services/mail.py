"""Outgoing email through the MAIL_BACKEND setting: smtp, log or memory (tests)."""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

from flask import current_app

from pb_app.services import ServiceError

BACKENDS = ("smtp", "log", "memory")


class MailError(ServiceError):
    """The email could not be sent."""


def _setting(name: str, default: str = "") -> str:
    """A mail setting from the app config, else the environment, else the default."""
    value: Any = current_app.config.get(name)
    if value is None or value == "":
        value = os.environ.get(name, default)
    return str(value)


def _message(to: str, subject: str, body: str) -> EmailMessage:
    """A plain-text email, refusing header injection through the address or subject."""
    if any(c in to + subject for c in "\r\n"):
        raise MailError("The email address or subject contains a line break.")
    message = EmailMessage()
    message["From"] = _setting("MAIL_FROM", "no-reply@localhost")
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def _send_smtp(message: EmailMessage) -> None:
    """Send through the configured SMTP server, upgrading the connection with STARTTLS."""
    server = _setting("MAIL_SERVER", "localhost")
    port = int(_setting("MAIL_PORT", "587"))
    username = _setting("MAIL_USERNAME")
    password = _setting("MAIL_PASSWORD")
    try:
        with smtplib.SMTP(server, port, timeout=30) as smtp:
            smtp.starttls(context=ssl.create_default_context())
            if username:
                smtp.login(username, password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        current_app.logger.error("Mail to %s failed: %s", message["To"], error)
        raise MailError("The email could not be sent. Try again later.") from error


def send_mail(to: str, subject: str, body: str) -> None:
    """Send one plain-text email through the backend named by MAIL_BACKEND."""
    backend = str(current_app.config.get("MAIL_BACKEND") or "log")
    message = _message(to, subject, body)
    if backend == "memory":
        outbox: list[EmailMessage] = current_app.extensions.setdefault("outbox", [])
        outbox.append(message)
    elif backend == "log":
        current_app.logger.info("Mail to %s: %s\n%s", to, subject, body)
    elif backend == "smtp":
        _send_smtp(message)
    else:
        raise MailError(f"Unknown MAIL_BACKEND {backend!r}; use one of {', '.join(BACKENDS)}.")
