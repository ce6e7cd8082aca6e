"""The public results page and its read model: certified results only, every reason explained."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from pb_app.extensions import db
from pb_app.models import BidStatus, Channel, Role, Round, SubPot, User
from pb_app.models._base import utcnow
from pb_app.services import results_view
from pb_app.services.results_view import SMALL_NUMBER, suppress, turnout
from tests.results_helpers import Vote, cast_votes, count_and_certify
from tests.voting_helpers import open_round, refs


@pytest.fixture
def funder(make_user: Callable[..., User]) -> User:
    """The funder who certifies, with a name the page must show."""
    return make_user(Role.FUNDER, name="Frances Funder")


@pytest.fixture
def counted(
    make_round: Callable[..., Round], make_group: Any, make_bid: Any
) -> Callable[..., Round]:
    """Factory: a round with projects of £6,000, £5,000 and £3,000 (pot £10,000) and votes.

    Greedy: P1 (£6,000) has the most votes and is funded, £4,000 left; P2 (£5,000) does not fit;
    P3 (£3,000) fits and is funded, £1,000 left.
    """

    def make(*, certify: bool, funder: User | None = None, **columns: Any) -> Round:
        round_ = open_round(
            make_round, make_group, make_bid, costs=(6_000_00, 5_000_00, 3_000_00), **columns
        )
        p1, p2, p3 = refs(round_)
        votes = [Vote((p1,)) for _ in range(12)]
        votes += [Vote((p2,), channel=Channel.KIOSK, venue="Town hall", assisted=True)] * 3
        votes += [Vote((p3,), channel=Channel.PAPER, ward="North")] * 2
        cast_votes(round_, votes)
        count_and_certify(round_, funder, certify=certify)
        return round_

    return make


def test_results_show_every_project_with_its_reason(
    counted: Callable[..., Round], funder: User, client: FlaskClient
) -> None:
    round_ = counted(certify=True, funder=funder)
    p1, p2, p3 = refs(round_)
    response = client.get(f"/rounds/{round_.slug}/results")
    assert response.status_code == 200
    text = response.text
    assert "Certified by Frances Funder" in text
    assert "Funded in step 1: 12 votes, cost £6,000; £4,000 was left." in text
    assert "Not funded: it needed £5,000 and £4,000 was left when its turn came" in text
    assert "£9,000" in text
    assert "£1,000" in text
    # Funded projects come first, in the order they were chosen.
    funded = text.index('id="funded"')
    not_funded = text.index('id="not-funded"')
    assert funded < text.index(f"{p1} Project") < text.index(f"{p3} Project") < not_funded
    assert text.index(f"{p2} Project", not_funded) > not_funded


def test_the_chart_is_an_accessible_svg_with_a_table_alternative(
    counted: Callable[..., Round], funder: User, client: FlaskClient
) -> None:
    round_ = counted(certify=True, funder=funder)
    text = client.get(f"/rounds/{round_.slug}/results").text
    svg = re.search(r"<svg[^>]*>.*?</svg>", text, re.S)
    assert svg is not None
    assert 'role="img"' in svg.group(0)
    assert 'aria-labelledby="chart-title chart-desc"' in svg.group(0)
    assert '<title id="chart-title">Votes for each project</title>' in svg.group(0)
    assert svg.group(0).count("<rect") == 3
    assert "style=" not in svg.group(0)  # the CSP allows no inline styles
    table = re.search(r'<table class="table" id="chart-table">.*?</table>', text, re.S)
    assert table is not None
    assert table.group(0).count("<tr>") == 4


@pytest.mark.parametrize("role", [None, Role.RESIDENT, Role.OFFICER, Role.FUNDER, Role.ADMIN])
def test_nothing_is_shown_before_certification_even_to_staff(
    role: Role | None,
    counted: Callable[..., Round],
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
    client: FlaskClient,
) -> None:
    round_ = counted(certify=False)
    if role is not None:
        sign_in(make_user(role))
    response = client.get(f"/rounds/{round_.slug}/results")
    assert response.status_code == 200
    assert "The results are not published yet" in response.text
    assert "Voting closed on" in response.text
    for leak in ("12 votes", "Funded in step", "£4,000 was left", "Who took part", "<svg", "12<"):
        assert leak not in response.text


def test_an_unknown_round_is_not_found(client: FlaskClient, app: Any) -> None:
    assert client.get("/rounds/no-such-round/results").status_code == 404


def test_the_round_page_and_list_link_to_published_results(
    counted: Callable[..., Round], funder: User, client: FlaskClient
) -> None:
    round_ = counted(certify=True, funder=funder)
    link = f'href="/rounds/{round_.slug}/results"'
    assert link in client.get(f"/rounds/{round_.slug}").text
    assert link in client.get("/").text


def test_no_results_link_before_publication(
    counted: Callable[..., Round], client: FlaskClient
) -> None:
    round_ = counted(certify=False)
    link = f'href="/rounds/{round_.slug}/results"'
    assert link not in client.get(f"/rounds/{round_.slug}").text
    assert link not in client.get("/").text


def test_turnout_hides_small_numbers(counted: Callable[..., Round], funder: User) -> None:
    round_ = counted(certify=True, funder=funder)
    figures = turnout(round_)
    assert figures.total == "17"
    channels = {cell.label: cell.shown for cell in figures.by_channel}
    # Online 12 is shown; kiosk 3 and paper 2 are small, so both are hidden.
    assert channels == {
        "Online": "12",
        "Kiosk at an event": "fewer than 10",
        "Paper ballot": "fewer than 10",
        "Other app (API)": "0",
    }
    wards = {cell.label: cell.shown for cell in figures.by_ward}
    # Only North's 2 would be small; "not recorded" (15) is hidden too, or the total gives it away.
    assert wards == {"North": "fewer than 10", "South": "0", "Ward not recorded": "not shown"}
    assert [(c.label, c.shown) for c in figures.assisted_by_venue] == [
        ("Town hall", "fewer than 10")
    ]


@pytest.mark.parametrize(
    ("counts", "shown"),
    [
        ({"a": 0, "b": 25}, {"a": "0", "b": "25"}),
        ({"a": 9, "b": 25, "c": 30}, {"a": "fewer than 10", "b": "not shown", "c": "30"}),
        ({"a": 1, "b": 2, "c": 30}, {"a": "fewer than 10", "b": "fewer than 10", "c": "30"}),
        ({"a": 10, "b": 11}, {"a": "10", "b": "11"}),
        ({"a": 3}, {"a": "fewer than 10"}),
    ],
)
def test_small_number_suppression(app: Any, counts: dict[str, int], shown: dict[str, str]) -> None:
    assert SMALL_NUMBER == 10
    assert {cell.label: cell.shown for cell in suppress(counts)} == shown


def test_equal_shares_explains_supporters_shares(
    make_round: Callable[..., Round],
    make_group: Any,
    make_bid: Any,
    funder: User,
    client: FlaskClient,
) -> None:
    round_ = open_round(
        make_round,
        make_group,
        make_bid,
        costs=(6_000_00, 5_000_00, 3_000_00),
        ballot_kind="approval",
        rule="mes-add1-greedy",
    )
    p1, p2, p3 = refs(round_)
    cast_votes(round_, [Vote((p1, p3))] * 6 + [Vote((p2,))] * 4)
    count_and_certify(round_, funder)
    text = client.get(f"/rounds/{round_.slug}/results").text
    assert "supporters each paid up to" in text
    assert "Step by step" in text
    assert "(ρ " in text  # the Equal Shares price, explained above the table
    assert "ρ is the price each supporter paid" in text
    assert '<th scope="col">Stage</th>' in text
    assert "<td>Equal Shares</td>" in text


def test_sub_pots_are_reported_per_ward(
    make_round: Callable[..., Round],
    make_group: Any,
    make_bid: Any,
    funder: User,
) -> None:
    round_ = make_round(phase="voting", central_pot_pence=2_000_00)
    group = make_group()
    north, south = round_.wards
    round_.sub_pots = [
        SubPot(ward_id=north.id, budget_pence=4_000_00),
        SubPot(ward_id=south.id, budget_pence=4_000_00),
    ]
    db.session.commit()
    a = make_bid(round_, group, lines=[("Costs", 3_000_00)], ward_id=north.id)
    b = make_bid(round_, group, lines=[("Costs", 2_000_00)], ward_id=south.id)
    make_bid(round_, group, lines=[("Costs", 500_00)], status=BidStatus.REJECTED)
    cast_votes(round_, [Vote((a.ref, b.ref))] * 3)
    count_and_certify(round_, funder)
    page = results_view.results_page(round_.slug, utcnow())
    assert isinstance(page, results_view.ResultsPage)
    pots = {pot.name: (pot.budget_pence, pot.spent_pence, pot.funded) for pot in page.pots}
    assert pots["Sub-pot North"] == (4_000_00, 3_000_00, 1)
    assert pots["Sub-pot South"] == (4_000_00, 2_000_00, 1)
    assert {p.ref for p in page.funded} == {a.ref, b.ref}
    assert all(p.reason.startswith("Sub-pot") for p in page.funded)


def test_group_dashboard_shows_each_bids_outcome_once_certified(
    make_round: Callable[..., Round],
    make_group: Any,
    make_bid: Any,
    make_user: Callable[..., User],
    sign_in: Callable[[User], None],
    funder: User,
    client: FlaskClient,
) -> None:
    member = make_user(name="Gita Group")
    round_ = make_round(phase="voting")
    ours = make_group(member, name="Our group")
    theirs = make_group(name="Their group")
    won = make_bid(round_, ours, lines=[("Costs", 6_000_00)], title="Our lunch club")
    lost = make_bid(round_, ours, lines=[("Costs", 5_000_00)], title="Our minibus")
    other = make_bid(round_, theirs, lines=[("Costs", 3_000_00)], title="Their garden")
    cast_votes(round_, [Vote((won.ref,))] * 3 + [Vote((lost.ref,)), Vote((other.ref,))])
    sign_in(member)

    count_and_certify(round_, None, certify=False)
    before = client.get("/groups/").text
    assert "Grant of" not in before
    assert "was left" not in before  # no count leaks to the group before certification

    count_and_certify(round_, funder)
    text = client.get("/groups/").text
    assert "Grant of £6,000" in text
    assert "Funded in step 1: 3 votes, cost £6,000; £4,000 was left." in text
    # The tie at one vote each goes to the cheaper project (theirs), which leaves £1,000.
    assert "Not funded: it needed £5,000 and £1,000 was left when its turn came" in text
    assert "Their garden" not in text
