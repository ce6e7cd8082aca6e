"""The public round pages: rules in plain English, shuffled projects, filters, one bid; and
who may open every page of this area (the authorisation matrix)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from pb_app.extensions import db
from pb_app.models import Bid, BidStatus, BidStatusChange, Group, Role, Round, SubPot, User
from pb_app.services.public_rounds import shuffled
from tests.helpers import post_form

MakeBid = Callable[..., Bid]


def text_of(client: FlaskClient, path: str) -> str:
    """A page's HTML with entities decoded, after checking it opened."""
    response = client.get(path)
    assert response.status_code == 200, path
    return html.unescape(response.text)


def refs_in(page: str) -> list[str]:
    """The project refs linked from a projects page, in order."""
    return re.findall(r'/projects/(P\d+)"', page)


@pytest.fixture
def group(make_group: Callable[..., Group], make_user: Callable[..., User]) -> Group:
    """A group with one member."""
    return make_group(make_user(), name="Kingsmead Growers")


def test_round_page_explains_money_dates_and_rules(
    client: FlaskClient, make_round: Callable[..., Round]
) -> None:
    round_ = make_round(
        "bids",
        title="Ageing Better",
        summary="For people aged 50+.",
        funder_name="Lottery",
        min_age=50,
        postcode_areas="E8, E5",
    )
    round_.sub_pots = [SubPot(ward_id=round_.wards[0].id, budget_pence=4_000_00)]
    round_.central_pot_pence = 6_000_00
    db.session.commit()
    page = text_of(client, f"/rounds/{round_.slug}")
    for expected in (
        "Ageing Better",
        "For people aged 50+.",
        "Lottery",
        "£10,000",
        "From £500 to £5,000",
        "North",
        "£4,000",
        "£6,000",
        "Open for bids",
        "People living in E8, E5.",
        "Aged 50 or over.",
        "Choose the projects you want, up to a total cost of £10,000.",
        "Once you have voted, you cannot change your ballot.",
        "Projects are funded in order of support, most first",
        "If two projects are tied, the cheaper project goes first, the project with more "
        "supporters goes first, the order is decided by a lot",
    ):
        assert expected in page, expected
    assert round_.lot_seed not in page  # published only when voting opens


def test_round_page_publishes_the_seed_once_voting_opens(
    client: FlaskClient, make_round: Callable[..., Round]
) -> None:
    round_ = make_round("voting", rule="mes-add1-greedy", ballot_kind="approval", max_length=3)
    page = text_of(client, f"/rounds/{round_.slug}")
    assert str(round_.lot_seed) in page
    assert "Method of Equal Shares" in page
    assert "Tick up to 3 projects you support." in page


@pytest.mark.parametrize(
    ("columns", "sentence"),
    [
        ({"ballot_kind": "choose-1"}, "Choose the one project you most want funded."),
        ({"ballot_kind": "ordinal", "max_length": 3}, "Put up to 3 projects in order"),
        ({"ballot_kind": "cumulative", "max_sum_points": 10}, "Share 10 points"),
        ({"ballot_kind": "scoring", "min_points": 1, "max_points": 5}, "score from 1 to 5"),
        ({"rule": "greedy-threshold", "threshold_percent": 40}, "reach 40 per cent"),
        ({"rule": "greedy-per-cost"}, "support per pound"),
        ({"ballot_kind": "ordinal", "rule": "sequential-irv"}, "instant-runoff"),
        ({"allow_ballot_change": True}, "only your last ballot counts"),
        ({"tie_break": "max-cost,id"}, "the more expensive project goes first"),
    ],
)
def test_every_ballot_and_rule_is_explained_in_a_sentence(
    client: FlaskClient, make_round: Callable[..., Round], columns: dict[str, object], sentence: str
) -> None:
    round_ = make_round("bids", **columns)
    assert sentence in text_of(client, f"/rounds/{round_.slug}")


def test_home_page_links_each_round_to_its_page(
    client: FlaskClient, make_round: Callable[..., Round]
) -> None:
    round_ = make_round("bids")
    assert f'href="/rounds/{round_.slug}"' in client.get("/").text


def test_unknown_round_or_project_is_not_found(
    client: FlaskClient, make_round: Callable[..., Round]
) -> None:
    round_ = make_round("bids")
    assert client.get("/rounds/no-such-round").status_code == 404
    assert client.get("/rounds/no-such-round/projects").status_code == 404
    assert client.get(f"/rounds/{round_.slug}/projects/NOPE").status_code == 404


def test_projects_list_shows_shortlisted_bids_only_during_review(
    client: FlaskClient, make_round: Callable[..., Round], group: Group, make_bid: MakeBid
) -> None:
    round_ = make_round("review")
    shortlisted = make_bid(round_, group, title="Lunch club")
    for status in (BidStatus.DRAFT, BidStatus.SUBMITTED, BidStatus.WITHDRAWN):
        make_bid(round_, group, status=status, title=f"Hidden {status}")
    rejected = make_bid(round_, group, status=BidStatus.REJECTED, decision_reason="Too late.")
    page = text_of(client, f"/rounds/{round_.slug}/projects")
    assert "Lunch club" in page
    assert "Hidden" not in page
    assert "Not shortlisted" not in page
    assert "Too late." not in page
    assert client.get(f"/rounds/{round_.slug}/projects/{shortlisted.ref}").status_code == 200
    assert client.get(f"/rounds/{round_.slug}/projects/{rejected.ref}").status_code == 404


def test_rejected_bids_and_reasons_appear_once_review_is_over(
    client: FlaskClient, make_round: Callable[..., Round], group: Group, make_bid: MakeBid
) -> None:
    round_ = make_round("voting")
    make_bid(round_, group, title="Lunch club")
    rejected = make_bid(
        round_,
        group,
        status=BidStatus.REJECTED,
        title="Car park",
        decision_reason="Outside the round's priorities.",
    )
    page = text_of(client, f"/rounds/{round_.slug}/projects")
    ballot, turned_down = page.split("Not shortlisted</h2>")
    assert "Lunch club" in ballot
    assert "Car park" not in ballot
    assert "Car park" in turned_down
    assert "Outside the round's priorities." in turned_down
    bid_page = text_of(client, f"/rounds/{round_.slug}/projects/{rejected.ref}")
    assert "Outside the round's priorities." in bid_page


def test_project_page_has_budget_table_and_status_history(
    client: FlaskClient, make_round: Callable[..., Round], group: Group, make_bid: MakeBid
) -> None:
    round_ = make_round("voting")
    bid = make_bid(round_, group, lines=[("Hall hire", 1_200_00), ("Tea and cake", 30_50)])
    bid.history = [
        BidStatusChange(to_status=BidStatus.SUBMITTED, note="private note"),
        BidStatusChange(
            from_status=BidStatus.SUBMITTED, to_status=BidStatus.SHORTLISTED, note="officer note"
        ),
    ]
    db.session.commit()
    page = text_of(client, f"/rounds/{round_.slug}/projects/{bid.ref}")
    for expected in ("Hall hire", "£1,200", "Tea and cake", "£30.50", "£1,230.50"):
        assert expected in page
    assert "Submitted" in page
    assert "Shortlisted" in page
    assert "officer note" not in page  # officers' notes are not public


def test_filters_by_ward_and_theme_work_without_javascript(
    client: FlaskClient, make_round: Callable[..., Round], group: Group, make_bid: MakeBid
) -> None:
    round_ = make_round("voting")
    north, south = round_.wards
    older, green = round_.themes
    make_bid(round_, group, title="North older", ward_id=north.id, theme_id=older.id)
    make_bid(round_, group, title="South green", ward_id=south.id, theme_id=green.id)
    make_bid(round_, group, title="South older", ward_id=south.id, theme_id=older.id)
    base = f"/rounds/{round_.slug}/projects"
    page = text_of(client, f"{base}?ward={south.id}&theme=")
    assert "South green" in page
    assert "South older" in page
    assert "North older" not in page
    assert f'<option selected value="{south.id}">' in page
    page = text_of(client, f"{base}?ward={south.id}&theme={older.id}")
    assert "South older" in page
    assert "South green" not in page
    for nonsense in ("ward=abc", "ward=99999", "theme=-1", "ward=&theme=", "ward=1%00"):
        page = text_of(client, f"{base}?{nonsense}")
        assert "North older" in page


def test_shuffle_is_deterministic_given_the_seed() -> None:
    refs = [f"P{i:02d}" for i in range(1, 21)]
    assert shuffled(refs, "a") == shuffled(list(reversed(refs)), "a")
    assert sorted(shuffled(refs, "a")) == refs
    assert shuffled(refs, "a") != shuffled(refs, "b")


def test_each_visitor_gets_their_own_stable_order(
    client: FlaskClient, make_round: Callable[..., Round], group: Group, make_bid: MakeBid
) -> None:
    round_ = make_round("voting")
    for _ in range(10):
        make_bid(round_, group)
    path = f"/rounds/{round_.slug}/projects"
    first = refs_in(client.get(path).text)
    assert len(first) == 10
    assert refs_in(client.get(path).text) == first
    others = [refs_in(client.application.test_client().get(path).text) for _ in range(3)]
    assert all(sorted(order) == sorted(first) for order in others)
    # 10 projects have 3,628,800 orders: four visitors all seeing the same one is not chance.
    assert any(order != first for order in others)


def test_no_vote_counts_are_shown(
    client: FlaskClient, make_round: Callable[..., Round], group: Group, make_bid: MakeBid
) -> None:
    round_ = make_round("voting")
    bid = make_bid(round_, group)
    for path in (
        f"/rounds/{round_.slug}",
        f"/rounds/{round_.slug}/projects",
        f"/rounds/{round_.slug}/projects/{bid.ref}",
    ):
        page = text_of(client, path).lower()
        assert "votes:" not in page
        assert "vote count" not in page


def test_pages_carry_print_styles_and_no_inline_styles_or_scripts(
    client: FlaskClient, make_round: Callable[..., Round], group: Group, make_bid: MakeBid
) -> None:
    round_ = make_round("voting")
    bid = make_bid(round_, group)
    for path in (
        f"/rounds/{round_.slug}",
        f"/rounds/{round_.slug}/projects",
        f"/rounds/{round_.slug}/projects/{bid.ref}",
    ):
        page = client.get(path).text
        assert "/static/css/rounds.css" in page
        assert "style=" not in page
        assert "<script>" not in page
    css = client.get("/static/css/rounds.css")
    assert "@media print" in css.text
    css.close()


# The authorisation matrix: every route of this area × every kind of person.

ROLES = ["anonymous", "resident", "group member", "volunteer", "officer", "funder", "admin"]
STAFF = {"officer": 200, "admin": 200}
PUBLIC = dict.fromkeys(ROLES, 200)


def _officer_expectation(role: str) -> int:
    if role == "anonymous":
        return 302
    return STAFF.get(role, 403)


GET_ROUTES = [
    "/staff/rounds/",
    "/staff/rounds/new",
    "/staff/rounds/{round}/edit",
    "/staff/rounds/{round}/bids",
    "/staff/rounds/{round}/bids/{bid}",
]
POST_ROUTES = [
    "/staff/rounds/new",
    "/staff/rounds/{round}/edit",
    "/staff/rounds/{round}/bids/{bid}/checks",
    "/staff/rounds/{round}/bids/{bid}/request-changes",
    "/staff/rounds/{round}/bids/{bid}/shortlist",
    "/staff/rounds/{round}/bids/{bid}/reject",
    "/staff/rounds/{round}/bids/{bid}/reopen",
    "/staff/rounds/{round}/bids/{bid}/conflict",
]
PUBLIC_ROUTES = ["/rounds/{slug}", "/rounds/{slug}/projects", "/rounds/{slug}/projects/{ref}"]


@pytest.mark.parametrize("role", ROLES)
def test_authorisation_matrix(
    client: FlaskClient,
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
    make_round: Callable[..., Round],
    make_group: Callable[..., Group],
    make_bid: MakeBid,
    role: str,
) -> None:
    round_ = make_round("review")
    member = make_user()
    group = make_group(member)
    bid = make_bid(round_, group, status=BidStatus.SHORTLISTED)
    if role == "group member":
        sign_in(member)  # a member of the very group whose bid this is
    elif role != "anonymous":
        sign_in(make_user(Role(role)))
    values = {"round": round_.id, "bid": bid.id, "slug": round_.slug, "ref": bid.ref}
    seen: dict[str, int] = {}
    for route in GET_ROUTES:
        seen[f"GET {route}"] = client.get(route.format(**values)).status_code
    for route in PUBLIC_ROUTES:
        seen[f"GET {route}"] = client.get(route.format(**values)).status_code
    for route in POST_ROUTES:
        # A valid CSRF token from the sign-in page, and an empty form: nothing valid is posted,
        # so officers get the form back (200) or a redirect; everyone else is stopped first.
        response = post_form(client, route.format(**values), {}, form_page="/account/sign-in")
        seen[f"POST {route}"] = response.status_code
    expected = {f"GET {route}": _officer_expectation(role) for route in GET_ROUTES}
    expected |= {f"GET {route}": PUBLIC[role] for route in PUBLIC_ROUTES}
    for route in POST_ROUTES:
        want = _officer_expectation(role)
        expected[f"POST {route}"] = want
    if role in STAFF:
        # Officers' empty posts: forms with errors come back as pages; a reopen or shortlist
        # without a note is valid and redirects (here refused by the bid flow, with a message).
        for route in POST_ROUTES:
            assert seen[f"POST {route}"] in (200, 302), route
            expected[f"POST {route}"] = seen[f"POST {route}"]
    assert seen == expected
    db.session.refresh(bid)
    if role not in STAFF:
        assert bid.status == BidStatus.SHORTLISTED
