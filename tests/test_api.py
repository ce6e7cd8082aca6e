"""The JSON API: reading rounds and projects, casting with codes, errors, limits, OpenAPI."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from pb_app.models import BidStatus, Role, Round
from pb_app.services.codes import issue_codes
from tests.voting_helpers import ballot_count, open_round, refs


@pytest.fixture
def voting(make_round: Any, make_group: Any, make_bid: Any) -> Callable[..., Round]:
    """Factory: ``voting(**columns)`` — a round open for voting with projects of £1k, £2k, £3k."""

    def make(**columns: Any) -> Round:
        return open_round(make_round, make_group, make_bid, **columns)

    return make


def post(client: FlaskClient, round_: Round, body: Any) -> Any:
    return client.post(f"/api/v1/rounds/{round_.slug}/ballots", json=body)


def codes_for(round_: Round, count: int) -> list[str]:
    return issue_codes(round_, count=count, label="API test", actor=None)


def test_rounds_list_and_detail(client: FlaskClient, voting: Callable[..., Round]) -> None:
    round_ = voting()
    listing = client.get("/api/v1/rounds")
    assert listing.status_code == 200
    [item] = listing.json["rounds"]
    assert item["slug"] == round_.slug
    assert item["phase"] == "voting"
    assert item["ballot_type"] == "knapsack"
    assert item["pot_pence"] == 10_000_00
    detail = client.get(f"/api/v1/rounds/{round_.slug}").json
    assert detail["limits"]["max_sum_cost_pence"] == 10_000_00
    assert detail["ballot_format"] == {"key": "projects"}
    assert "totals" not in detail


def test_projects_lists_only_the_shortlist(
    client: FlaskClient, voting: Callable[..., Round], make_group: Any, make_bid: Any
) -> None:
    round_ = voting()
    make_bid(round_, make_group(), status=BidStatus.REJECTED, title="Rejected one")
    make_bid(round_, make_group(), status=BidStatus.DRAFT, title="Draft one")
    body = client.get(f"/api/v1/rounds/{round_.slug}/projects").json
    assert [p["id"] for p in body["projects"]] == refs(round_)
    assert [p["cost_pence"] for p in body["projects"]] == [1_000_00, 2_000_00, 3_000_00]
    assert body["projects"][0]["ward"] == "North"
    assert all(p["title"] not in ("Rejected one", "Draft one") for p in body["projects"])


def test_unknown_round_is_404_json(client: FlaskClient) -> None:
    for path in ("/api/v1/rounds/nope", "/api/v1/rounds/nope/projects"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json["reasons"]
    response = client.post("/api/v1/rounds/nope/ballots", json={"code": "x", "ballot": {}})
    assert response.status_code == 404


def test_cast_gives_a_receipt_then_409(client: FlaskClient, voting: Callable[..., Round]) -> None:
    round_ = voting()
    [code] = codes_for(round_, 1)
    first = refs(round_)[0]
    response = post(client, round_, {"code": code, "ballot": {"projects": [first]}})
    assert response.status_code == 201, response.json
    receipt = response.json["receipt"]
    assert client.get(f"/api/v1/rounds/{round_.slug}/receipts/{receipt}").json["in_log"]
    again = post(client, round_, {"code": code.lower(), "ballot": {"projects": [first]}})
    assert again.status_code == 409
    assert "already voted" in again.json["reasons"][0]
    assert ballot_count(round_.id) == 1


def test_invalid_ballot_lists_every_reason_and_stores_nothing(
    client: FlaskClient, voting: Callable[..., Round]
) -> None:
    round_ = voting(max_sum_cost_pence=4_000_00, max_length=2)
    [code] = codes_for(round_, 1)
    response = post(client, round_, {"code": code, "ballot": {"projects": [*refs(round_), "ZZ"]}})
    assert response.status_code == 422
    codes = {problem["code"] for problem in response.json["problems"]}
    assert codes == {"unknown-project", "too-many", "cost-too-high"}
    assert len(response.json["reasons"]) == 3
    assert ballot_count(round_.id) == 0
    # The code was not spent on a refused ballot.
    ok = post(client, round_, {"code": code, "ballot": {"projects": refs(round_)[:1]}})
    assert ok.status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "text",
        {"ballot": {"projects": []}},
        {"code": 12, "ballot": {"projects": []}},
        {"code": "K" * 65, "ballot": {"projects": []}},
        {"code": "ABCD", "ballot": {"ranking": ["P01"]}},
        {"code": "ABCD", "ballot": {"projects": "P01"}},
        {"code": "ABCD", "ballot": {"projects": [1, 2]}},
        {"code": "ABCD", "ballot": {"projects": ["x" * 41]}},
        {"code": "ABCD", "ballot": {"projects": []}, "extra": 1},
    ],
)
def test_malformed_bodies_are_400(
    client: FlaskClient, voting: Callable[..., Round], body: Any
) -> None:
    round_ = voting()
    response = post(client, round_, body)
    assert response.status_code == 400
    assert response.json["error"]
    assert response.json["reasons"]


def test_not_json_is_400(client: FlaskClient, voting: Callable[..., Round]) -> None:
    round_ = voting()
    response = client.post(
        f"/api/v1/rounds/{round_.slug}/ballots", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.is_json


def test_huge_body_is_413(client: FlaskClient, voting: Callable[..., Round]) -> None:
    round_ = voting()
    body = json.dumps({"code": "A", "ballot": {"projects": ["P01"] * 20_000}})
    response = client.post(
        f"/api/v1/rounds/{round_.slug}/ballots", data=body, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json["reasons"]


def test_closed_or_unopened_round_is_403(client: FlaskClient, voting: Callable[..., Round]) -> None:
    for phase, words in (("counting", "closed"), ("review", "not opened")):
        round_ = voting(phase=phase)
        [code] = codes_for(round_, 1)
        response = post(client, round_, {"code": code, "ballot": {"projects": refs(round_)[:1]}})
        assert response.status_code == 403
        assert words in response.json["reasons"][0]
        assert ballot_count(round_.id) == 0


def test_other_rounds_code_is_refused(client: FlaskClient, voting: Callable[..., Round]) -> None:
    round_, other = voting(), voting()
    [code] = codes_for(other, 1)
    response = post(client, round_, {"code": code, "ballot": {"projects": refs(round_)[:1]}})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("kind", "columns", "ballot"),
    [
        ("choose-1", {}, lambda r: {"projects": r[:1]}),
        ("approval", {"max_length": 2}, lambda r: {"projects": r[:2]}),
        ("ordinal", {"max_length": 3}, lambda r: {"ranking": [r[2], r[0]]}),
        ("cumulative", {"max_sum_points": 10}, lambda r: {"points": {r[0]: 7, r[1]: 3}}),
        (
            "scoring",
            {"min_points": 1, "max_points": 5},
            lambda r: {"points": {r[0]: 5, r[1]: 1, r[2]: 3}},
        ),
    ],
)
def test_every_ballot_kind_casts(
    client: FlaskClient,
    voting: Callable[..., Round],
    kind: str,
    columns: dict[str, Any],
    ballot: Any,
) -> None:
    round_ = voting(ballot_kind=kind, max_sum_cost_pence=None, **columns)
    [code] = codes_for(round_, 1)
    response = post(client, round_, {"code": code, "ballot": ballot(refs(round_))})
    assert response.status_code == 201, response.json
    assert ballot_count(round_.id) == 1


def test_fifty_valid_ballots_from_one_address_are_not_limited(
    client: FlaskClient, voting: Callable[..., Round]
) -> None:
    round_ = voting()
    for code in codes_for(round_, 55):
        response = post(client, round_, {"code": code, "ballot": {"projects": refs(round_)[:1]}})
        assert response.status_code == 201, response.json
    assert ballot_count(round_.id) == 55


def test_guessing_codes_is_rate_limited(client: FlaskClient, voting: Callable[..., Round]) -> None:
    round_ = voting()
    statuses = [
        post(client, round_, {"code": f"AAAA-AAAA-{i:02d}", "ballot": {"projects": []}}).status_code
        for i in range(12)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    limited = post(client, round_, {"code": "AAAA-AAAA-AA", "ballot": {"projects": []}})
    assert limited.status_code == 429
    assert limited.is_json
    assert limited.json["reasons"]


def test_no_counts_before_close_unless_live_totals(
    client: FlaskClient,
    voting: Callable[..., Round],
    make_user: Any,
    sign_in: Any,
    app: Flask,
) -> None:
    secret, live = voting(), voting(show_live_totals=True)
    for round_ in (secret, live):
        for code in codes_for(round_, 2):
            post(client, round_, {"code": code, "ballot": {"projects": refs(round_)[:1]}})
    assert "totals" not in client.get(f"/api/v1/rounds/{secret.slug}").json
    totals = client.get(f"/api/v1/rounds/{live.slug}").json["totals"]
    assert totals["ballots"] == 2
    assert totals["projects"][refs(live)[0]]["votes"] == 2
    # Officers see no counts either: no staff page names a number of votes or ballots.
    sign_in(make_user(Role.ADMIN))
    leak = re.compile(r"\b2\s+(votes?|ballots?)\b|\bturnout\b", re.IGNORECASE)
    staff_pages = [
        rule.rule.replace("<slug>", secret.slug)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/staff")
        and "GET" in rule.methods
        and set(rule.arguments) <= {"slug"}
    ]
    assert staff_pages
    for path in staff_pages:
        response = client.get(path)
        assert response.status_code < 500, path
        assert not leak.search(response.text), path


def test_counts_appear_once_voting_closes(
    client: FlaskClient, voting: Callable[..., Round], app: Flask
) -> None:
    from datetime import timedelta

    from pb_app.extensions import db
    from pb_app.models._base import utcnow

    round_ = voting()
    for code in codes_for(round_, 3):
        post(client, round_, {"code": code, "ballot": {"projects": refs(round_)[1:3]}})
    assert "totals" not in client.get(f"/api/v1/rounds/{round_.slug}").json
    round_.voting_close_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    totals = client.get(f"/api/v1/rounds/{round_.slug}").json["totals"]
    assert totals["ballots"] == 3
    assert totals["projects"][refs(round_)[0]]["votes"] == 0


def test_openapi_documents_every_route(client: FlaskClient, app: Flask) -> None:
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.0")
    assert {"title", "version"} <= set(spec["info"])
    for path, item in spec["paths"].items():
        assert path.startswith("/")
        for method, operation in item.items():
            assert method in {"get", "post", "put", "patch", "delete"}
            assert operation["responses"], (path, method)
            for status in operation["responses"]:
                assert status.isdigit()
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    assert "{" + parameter["name"] + "}" in path
    schemas = spec["components"]["schemas"]

    def refs_in(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if "$ref" in node else []
            return found + [r for value in node.values() for r in refs_in(value)]
        if isinstance(node, list):
            return [r for value in node for r in refs_in(value)]
        return []

    for ref in refs_in(spec):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = rule.rule.removeprefix("/api/v1").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, (path, method)


def test_api_needs_no_csrf_token_but_pages_still_do(
    client: FlaskClient, voting: Callable[..., Round]
) -> None:
    round_ = voting()
    [code] = codes_for(round_, 1)
    response = post(client, round_, {"code": code, "ballot": {"projects": refs(round_)[:1]}})
    assert response.status_code == 201
    assert client.post("/account/sign-in", data={"email": "a@b.c"}).status_code == 400


def test_wrong_method_is_json(client: FlaskClient, voting: Callable[..., Round]) -> None:
    round_ = voting()
    response = client.get(f"/api/v1/rounds/{round_.slug}/ballots")
    assert response.status_code == 405
    assert response.is_json
