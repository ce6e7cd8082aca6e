"""The staff audit log page: who may see it, filters, paging, readable diffs and a safe CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from pb_app.extensions import db
from pb_app.models import Role, Round, User
from pb_app.services import audit, audit_log
from pb_app.services.audit_log import AuditFilter, diff, safe_cell


def event(
    action: str,
    *,
    actor: User | None = None,
    label: str = "",
    round_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Record one audit event through the real audit service, optionally at a given time."""
    row = audit.record(
        action,
        actor=actor,
        actor_label=label,
        round_id=round_id,
        object_type="bid",
        object_id=7,
        before=before,
        after=after,
    )
    if at is not None:
        row.at = at
    db.session.commit()


def listed_actions(html: str) -> list[str]:
    """The actions a page of the log lists, in page order (newest first)."""
    return re.findall(r'<h2 class="heading-s card__title"><code class="code">([^<]+)</code>', html)


@pytest.fixture
def officer(make_user: Callable[..., User], sign_in: Callable[[User], None]) -> User:
    """An officer, signed in."""
    user = make_user(Role.OFFICER, name="Olive Officer", email="olive@example.org")
    sign_in(user)
    return user


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.RESIDENT, 403),
        (Role.VOLUNTEER, 403),
        (Role.OFFICER, 200),
        (Role.FUNDER, 200),
        (Role.ADMIN, 200),
    ],
)
@pytest.mark.parametrize("path", ["/staff/audit/", "/staff/audit/export.csv"])
def test_only_staff_see_the_audit_log(
    role: Role,
    status: int,
    path: str,
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
    client: FlaskClient,
) -> None:
    sign_in(make_user(role))
    assert client.get(path).status_code == status


def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, app: Any) -> None:
    response = client.get("/staff/audit/")
    assert response.status_code == 302
    assert "/account/sign-in" in response.headers["Location"]


def test_events_show_who_when_and_a_readable_diff(
    officer: User, make_round: Callable[..., Round], client: FlaskClient
) -> None:
    round_ = make_round()
    event(
        "bid.shortlisted",
        actor=officer,
        round_id=round_.id,
        before={"status": "submitted", "title": "Lunch club"},
        after={"status": "shortlisted", "title": "Lunch club"},
    )
    text = client.get("/staff/audit/").text
    assert "bid.shortlisted" in text
    assert "Olive Officer &lt;olive@example.org&gt;" in text
    assert round_.title in text
    assert "<del>submitted</del>" in text
    assert "<ins>shortlisted</ins>" in text
    assert "Lunch club" not in text  # unchanged fields are left out of the diff
    assert re.search(r"\b[0-9]+ events?; page 1 of 1", text)


def test_the_staff_dashboard_links_to_the_audit_log(officer: User, client: FlaskClient) -> None:
    assert 'href="/staff/audit/"' in client.get("/staff/").text


def test_filters_narrow_the_events(
    officer: User,
    make_user: Callable[..., User],
    make_round: Callable[..., Round],
    client: FlaskClient,
) -> None:
    first, second = make_round(), make_round()
    funder = make_user(Role.FUNDER, name="Fay Funder", email="fay@example.org")
    event(
        "round.created", actor=officer, round_id=first.id, at=datetime(2026, 3, 1, 12, tzinfo=UTC)
    )
    event("round.created", actor=officer, round_id=second.id, at=datetime(2026, 3, 5, tzinfo=UTC))
    event("result.certified", actor=funder, round_id=second.id, at=datetime(2026, 3, 9, tzinfo=UTC))

    def actions(**args: str) -> list[str]:
        response = client.get("/staff/audit/", query_string=args)
        assert response.status_code == 200
        return listed_actions(response.text)

    assert actions(round=str(second.id)) == ["result.certified", "round.created"]
    assert actions(action="round.created") == ["round.created", "round.created"]
    assert actions(actor="FAY") == ["result.certified"]
    assert actions(date_from="2026-03-05", date_to="2026-03-05") == ["round.created"]
    assert actions(actor="100%_") == []  # LIKE wildcards are taken literally


def test_a_backwards_date_range_is_refused_in_words(officer: User, client: FlaskClient) -> None:
    response = client.get("/staff/audit/?date_from=2026-03-09&date_to=2026-03-01")
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert "must be the same as or after" in response.text


def test_a_nonsense_filter_is_a_message_not_an_error(officer: User, client: FlaskClient) -> None:
    response = client.get("/staff/audit/?round=999999&date_from=yesterday&page=-4")
    assert response.status_code == 200
    assert "There is a problem" in response.text


def test_paging_keeps_the_filter(officer: User, client: FlaskClient, app: Any) -> None:
    for number in range(audit_log.PAGE_SIZE + 5):
        event("note.added", actor=officer, after={"n": number})
    event("other.thing", actor=officer)
    first = client.get("/staff/audit/?action=note.added")
    assert "page 1 of 2" in first.text
    assert 'href="/staff/audit/?page=2&amp;action=note.added"' in first.text
    second = client.get("/staff/audit/?action=note.added&page=2")
    assert "page 2 of 2" in second.text
    assert len(listed_actions(second.text)) == 5


def test_csv_export_is_filtered_and_safe_in_a_spreadsheet(
    officer: User, make_round: Callable[..., Round], client: FlaskClient
) -> None:
    round_ = make_round(title='=HYPERLINK("http://evil.example")')
    event(
        "bid.updated",
        actor=officer,
        round_id=round_.id,
        before={"title": "Old"},
        after={"title": "=1+2", "summary": "@SUM(A1)"},
    )
    event("other.thing", label="+44 command line")
    response = client.get("/staff/audit/export.csv?action=bid.updated")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:4] == ["id", "at (UTC)", "actor", "action"]
    body = rows[1:]
    assert len(body) == 2  # one line per changed field; the other event is filtered out
    cells = [cell for row in body for cell in row]
    assert "'=1+2" in cells
    assert "'@SUM(A1)" in cells
    assert '\'=HYPERLINK("http://evil.example")' in cells
    assert not any(cell[:1] in "=+-@" for cell in cells if cell)


def test_diff_lists_only_changed_fields() -> None:
    changes = diff('{"a": 1, "b": [1, 2], "c": "x"}', '{"a": 1, "b": [1, 3], "d": null}')
    assert [(c.field, c.before, c.after) for c in changes] == [
        ("b", "[1, 2]", "[1, 3]"),
        ("c", "x", ""),
    ]
    assert [(c.field, c.after) for c in diff(None, '{"name": "New"}')] == [("name", "New")]


@pytest.mark.parametrize(
    ("value", "safe"),
    [("=1+1", "'=1+1"), ("-2", "'-2"), ("+x", "'+x"), ("@a", "'@a"), ("\tx", "'\tx"), ("ok", "ok")],
)
def test_safe_cell(value: str, safe: str) -> None:
    assert safe_cell(value) == safe


def test_search_pages_newest_first(app: Any) -> None:
    for day in (1, 3, 2):
        event(f"day.{day}", label="cli", at=datetime(2026, 1, day, tzinfo=UTC))
    page = audit_log.search(AuditFilter(), page=1, per_page=2)
    assert [row.action for row in page.rows] == ["day.3", "day.2"]
    assert (page.total, page.pages, page.has_next, page.has_previous) == (3, 2, True, False)
    last = audit_log.search(AuditFilter(), page=9, per_page=2)
    assert [row.action for row in last.rows] == ["day.1"]
    assert last.page == 2


def test_one_event_is_counted_in_the_singular(
    make_user: Callable[..., User], sign_in: Callable[[User], None], client: FlaskClient
) -> None:
    sign_in(make_user(Role.OFFICER))
    shown = audit_log.search(AuditFilter(action="round.created")).total
    event("round.created", label="cli")
    assert shown == 0
    assert "1 event; page 1 of 1" in client.get("/staff/audit/?action=round.created").text
