"""Parallel writers against a live server: queued by the database, never a 500."""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

from flask import Flask
from sqlalchemy import func, select

from pb_app.extensions import db
from pb_app.models import User
from tests.helpers import make_test_app
from tests.live import serve

PARALLEL = 12


def _register(base: str, email: str, barrier: threading.Barrier) -> int:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    page = opener.open(f"{base}/account/register").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token
    form = {
        "name": "Parallel Person",
        "email": email,
        "password": "kettle garden lantern",
        "confirm": "kettle garden lantern",
        "csrf_token": token.group(1),
    }
    barrier.wait()
    request = urllib.request.Request(
        f"{base}/account/register", data=urllib.parse.urlencode(form).encode(), method="POST"
    )
    try:
        return opener.open(request).status
    except urllib.error.HTTPError as error:
        return error.code


def _fire(database_url: str, emails: list[str]) -> list[int]:
    # Registration is rate-limited per address, and every thread here comes from 127.0.0.1.
    app = make_test_app(database_url, RATELIMIT_ENABLED=False)
    statuses: list[int] = []
    barrier = threading.Barrier(len(emails))
    with serve(app) as base:
        threads = [
            threading.Thread(target=lambda e=e: statuses.append(_register(base, e, barrier)))
            for e in emails
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    with app.app_context():
        db.engine.dispose()  # the server's pooled connections, before the database is dropped
    return statuses


def test_many_people_registering_at_once_all_succeed(app: Flask, database_url: str) -> None:
    statuses = _fire(database_url, [f"p{i}@example.org" for i in range(PARALLEL)])
    assert statuses == [200] * PARALLEL  # each followed its redirect to the home page
    assert db.session.scalar(select(func.count()).select_from(User)) == PARALLEL


def test_the_same_email_registered_in_parallel_gives_one_account(
    app: Flask, database_url: str
) -> None:
    statuses = _fire(database_url, ["same@example.org"] * PARALLEL)
    assert len(statuses) == PARALLEL
    assert all(status == 200 for status in statuses), statuses  # no 500s: a clear form error
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
