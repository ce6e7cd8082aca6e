"""The JSON API (``/api/v1``): rounds, projects, and casting a ballot with a one-time code.

JSON bodies authenticated by a voter code carry no cookies' authority, so the blueprint is
exempt from CSRF. Failed code entries (guessing) are rate-limited per address; valid ones are
not, so a decision-day laptop can submit many ballots from one address.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, g, request
from flask.wrappers import Response

from pb_app.api_spec import openapi_document
from pb_app.extensions import csrf, limiter
from pb_app.models import Channel, Round
from pb_app.models._base import utcnow
from pb_app.services import codes, elections, voting
from pb_app.services.rounds import round_phase
from pb_app.services.voting_errors import CodeWithdrawn
from pb_app.tally.election import Ballot

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

MAX_BODY = 64 * 1024  # a ballot is a few hundred bytes; this leaves room and refuses floods
MAX_ID_LENGTH = 40
MAX_CODE_LENGTH = 64
BALLOT_KEY = {
    "knapsack": "projects",
    "approval": "projects",
    "choose-1": "projects",
    "ordinal": "ranking",
    "cumulative": "points",
    "scoring": "points",
}

JsonReply = tuple[dict[str, Any], int]


class ShapeError(ValueError):
    """The request body is not the JSON shape the endpoint takes."""


@bp.before_request
def limit_body() -> JsonReply | None:
    """Refuse bodies over 64 KB here only, so uploads elsewhere keep their own limit."""
    request.max_content_length = MAX_BODY
    if request.content_length is not None and request.content_length > MAX_BODY:
        return error(413, "Request too large", [f"Send at most {MAX_BODY // 1024} KB."])
    return None


def error(status: int, title: str, reasons: list[str], **extra: Any) -> JsonReply:
    """An API error body: ``{"error": title, "reasons": [...]}``."""
    return {"error": title, "reasons": reasons, **extra}, status


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _summary(round_: Round, now: datetime) -> dict[str, Any]:
    return {
        "slug": round_.slug,
        "title": round_.title,
        "summary": round_.summary,
        "phase": str(round_phase(round_, now)),
        "ballot_type": round_.ballot_kind,
        "pot_pence": round_.pot_pence,
        "currency": round_.currency,
        "voting_open_at": _iso(round_.voting_open_at),
        "voting_close_at": _iso(round_.voting_close_at),
    }


def _round_or_404(slug: str) -> Round | JsonReply:
    round_ = elections.find_round(slug)
    if round_ is None:
        return error(404, "Round not found", [f"There is no round called {slug[:80]!r}."])
    return round_


@bp.get("/openapi.json")
def openapi() -> dict[str, Any]:
    """The OpenAPI 3.0 description of this API."""
    return openapi_document()


@bp.get("/rounds")
def rounds() -> dict[str, Any]:
    """Every round that is not archived, newest first."""
    now = utcnow()
    return {"rounds": [_summary(round_, now) for round_ in elections.public_rounds()]}


@bp.get("/rounds/<slug>")
def round_detail(slug: str) -> dict[str, Any] | JsonReply:
    """One round: its rules, ballot limits, pot, eligibility; counts only once they may be seen."""
    found = _round_or_404(slug)
    if not isinstance(found, Round):
        return found
    now = utcnow()
    body = _summary(found, now)
    body.update(
        {
            "ballot_format": {"key": BALLOT_KEY[found.ballot_kind]},
            "limits": elections.limits_as_dict(found),
            "min_grant_pence": found.min_grant_pence,
            "max_grant_pence": found.max_grant_pence,
            "allow_ballot_change": found.allow_ballot_change,
            "rule": found.rule,
            "tie_break": found.tie_break,
            "eligibility": {
                "min_age": found.min_age,
                "max_age": found.max_age,
                "postcode_areas": found.postcode_areas,
                "allow_work_study": found.allow_work_study,
            },
            "closed_at": _iso(found.closed_at),
        }
    )
    totals = voting.live_totals(found, now)
    if totals is not None:
        body["totals"] = totals
    return body


@bp.get("/rounds/<slug>/projects")
def projects(slug: str) -> dict[str, Any] | JsonReply:
    """The projects on the round's ballot (shortlisted bids), in ref order."""
    found = _round_or_404(slug)
    if not isinstance(found, Round):
        return found
    return {
        "projects": [
            {
                "id": card.ref,
                "title": card.title,
                "summary": card.summary,
                "cost_pence": card.cost_pence,
                "ward": card.ward,
                "theme": card.theme,
                "url": card.url,
            }
            for card in elections.projects_for_ballot(found)
        ]
    }


@bp.get("/rounds/<slug>/receipts/<receipt>")
def receipt(slug: str, receipt: str) -> dict[str, Any] | JsonReply:
    """Whether a receipt is in the round's ballot log (never what that ballot says)."""
    found = _round_or_404(slug)
    if not isinstance(found, Round):
        return found
    return {"receipt": receipt[:40], "in_log": voting.receipt_in_log(found, receipt[:40])}


def _ids(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ShapeError(f'"{key}" must be a list of project ids.')
    for item in value:
        if not isinstance(item, str) or not 0 < len(item) <= MAX_ID_LENGTH:
            raise ShapeError(f'Every item of "{key}" must be a project id (a short string).')
    return tuple(value)


def ballot_from_json(kind: str, data: Any) -> Ballot:
    """The tally Ballot in a request's ``"ballot"``, or ShapeError saying what shape is wanted."""
    key = BALLOT_KEY[kind]
    example = {
        "projects": '{"projects": ["P01", "P02"]}',
        "ranking": '{"ranking": ["P02", "P01"]}',
        "points": '{"points": {"P01": 3, "P02": 2}}',
    }[key]
    if not isinstance(data, dict) or set(data) != {key}:
        raise ShapeError(f"This round's ballot looks like {example}.")
    value = data[key]
    if key != "points":
        return Ballot(projects=_ids(value, key))
    if not isinstance(value, dict):
        raise ShapeError(f'"points" must map project ids to whole numbers, like {example}.')
    pids = _ids(list(value), key)
    points: list[Any] = []
    for item in value.values():
        # Floats pass through to validation, which names the project and the number.
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise ShapeError('Every value of "points" must be a number.')
        points.append(item)
    return Ballot(projects=pids, points=tuple(points))


def _code_failed(response: Response) -> bool:
    # Only failed code entries count towards the guessing limit; g is still this request's.
    return bool(g.get("code_failed"))


def _guess_limit() -> str:
    return str(current_app.config.get("PB_API_CODE_GUESS_LIMIT", "10 per minute;50 per hour"))


@bp.post("/rounds/<slug>/ballots")
@limiter.limit(_guess_limit, deduct_when=_code_failed)
def cast(slug: str) -> JsonReply:
    """Cast a ballot with a one-time code: 201 and a receipt, or a 4xx with every reason."""
    found = _round_or_404(slug)
    if not isinstance(found, Round):
        return found
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "Send a JSON object", ['Send {"code": "…", "ballot": {…}}.'])
    code = body.get("code")
    if not isinstance(code, str) or not 0 < len(code) <= MAX_CODE_LENGTH:
        return error(400, "Voter code missing", ['"code" must be your voter code, as text.'])
    if set(body) - {"code", "ballot"}:
        return error(400, "Unexpected fields", ['Send only "code" and "ballot".'])
    try:
        ballot = ballot_from_json(found.ballot_kind, body.get("ballot"))
    except ShapeError as shape:
        return error(400, "Ballot not understood", [str(shape)])
    now = utcnow()
    closed = voting.closed_message(found, now)
    if closed is not None:
        return error(403, "Voting is not open", [closed])
    try:
        codes.check_code(found, code)
        result = voting.cast_ballot(found.id, ballot, code=code, channel=Channel.API, now=now)
    except CodeWithdrawn as withdrawn:
        # A real code, not a guess: not counted towards the guessing limit.
        return error(410, "Voter code withdrawn", [str(withdrawn)])
    except voting.CodeInvalid as invalid:
        g.code_failed = True
        return error(401, "Voter code not recognised", [str(invalid)])
    except voting.AlreadyVoted as already:
        return error(409, "Already voted", [str(already)])
    except voting.VotingClosed as closed_now:
        return error(403, "Voting is not open", [str(closed_now)])
    except voting.BallotInvalid as invalid_ballot:
        return error(
            422,
            "Ballot not accepted",
            [problem.message for problem in invalid_ballot.problems],
            problems=[
                {"code": p.code, "message": p.message, "project": p.project_id}
                for p in invalid_ballot.problems
            ],
        )
    return {"receipt": result.receipt, "superseded": result.superseded}, 201
