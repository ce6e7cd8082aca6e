"""The OpenAPI 3.0 document of ``/api/v1``, written by hand so it says what the API promises."""

from __future__ import annotations

import copy
from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}


def _reply(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema or _ERROR}},
    }


_SLUG = {
    "name": "slug",
    "in": "path",
    "required": True,
    "description": "The round's short name, as in its web address.",
    "schema": {"type": "string"},
}

_NOT_FOUND = _reply("No round has this slug.")

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "pb_app voting API",
        "version": "1.0.0",
        "description": (
            "Read participatory budgeting rounds and their projects, and cast a ballot with a "
            "one-time voter code. Money is in pence. Vote counts appear only when the round "
            "shows live totals or voting has closed."
        ),
    },
    "servers": [{"url": "/api/v1"}],
    "paths": {
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "openapi",
                "responses": {"200": _reply("The OpenAPI document.", {"type": "object"})},
            }
        },
        "/rounds": {
            "get": {
                "summary": "Rounds that are not archived, newest first",
                "operationId": "listRounds",
                "responses": {
                    "200": _reply(
                        "The rounds.",
                        {
                            "type": "object",
                            "required": ["rounds"],
                            "properties": {
                                "rounds": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/RoundSummary"},
                                }
                            },
                        },
                    )
                },
            }
        },
        "/rounds/{slug}": {
            "get": {
                "summary": "One round: rules, ballot limits, pot and eligibility",
                "operationId": "getRound",
                "parameters": [_SLUG],
                "responses": {
                    "200": _reply("The round.", {"$ref": "#/components/schemas/Round"}),
                    "404": _NOT_FOUND,
                },
            }
        },
        "/rounds/{slug}/projects": {
            "get": {
                "summary": "The projects on the round's ballot (shortlisted bids)",
                "operationId": "listProjects",
                "parameters": [_SLUG],
                "responses": {
                    "200": _reply(
                        "The projects, in reference order.",
                        {
                            "type": "object",
                            "required": ["projects"],
                            "properties": {
                                "projects": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Project"},
                                }
                            },
                        },
                    ),
                    "404": _NOT_FOUND,
                },
            }
        },
        "/rounds/{slug}/receipts/{receipt}": {
            "get": {
                "summary": "Whether a receipt is in the round's ballot log",
                "description": "Never says what the ballot with this receipt contains.",
                "operationId": "checkReceipt",
                "parameters": [
                    _SLUG,
                    {
                        "name": "receipt",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "example": "7KQM-4RXD-9TAB"},
                    },
                ],
                "responses": {
                    "200": _reply(
                        "The answer.",
                        {
                            "type": "object",
                            "required": ["receipt", "in_log"],
                            "properties": {
                                "receipt": {"type": "string"},
                                "in_log": {"type": "boolean"},
                            },
                        },
                    ),
                    "404": _NOT_FOUND,
                },
            }
        },
        "/rounds/{slug}/ballots": {
            "post": {
                "summary": "Cast a ballot with a one-time voter code",
                "description": (
                    "The ballot's key depends on the round's ballot_type: `projects` for "
                    "knapsack, approval and choose-1; `ranking` (best first) for ordinal; "
                    "`points` (project id → whole number) for cumulative and scoring. "
                    "Failed code entries are rate-limited per address (429)."
                ),
                "operationId": "castBallot",
                "parameters": [_SLUG],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/CastRequest"}}
                    },
                },
                "responses": {
                    "201": _reply(
                        "Stored. Keep the receipt to check later that the ballot is counted.",
                        {
                            "type": "object",
                            "required": ["receipt"],
                            "properties": {
                                "receipt": {"type": "string"},
                                "superseded": {
                                    "type": "boolean",
                                    "description": "True when it replaced an earlier ballot.",
                                },
                            },
                        },
                    ),
                    "400": _reply("The body is not JSON of the documented shape."),
                    "401": _reply("The voter code is not a code of this round."),
                    "403": _reply("Voting is not open in this round."),
                    "404": _NOT_FOUND,
                    "409": _reply("This code has already been used to vote."),
                    "410": _reply("The code's batch was withdrawn before it was used."),
                    "413": _reply("The body is larger than 64 KB."),
                    "422": _reply(
                        "The ballot breaks the round's rules; every reason is listed.",
                        {"$ref": "#/components/schemas/BallotProblems"},
                    ),
                    "429": _reply("Too many failed code entries from this address."),
                },
            }
        },
    },
    "components": {
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error", "reasons"],
                "properties": {
                    "error": {"type": "string"},
                    "reasons": {"type": "array", "items": {"type": "string"}},
                },
            },
            "BallotProblems": {
                "allOf": [
                    {"$ref": "#/components/schemas/Error"},
                    {
                        "type": "object",
                        "properties": {
                            "problems": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "code": {"type": "string"},
                                        "message": {"type": "string"},
                                        "project": {"type": "string", "nullable": True},
                                    },
                                },
                            }
                        },
                    },
                ]
            },
            "RoundSummary": {
                "type": "object",
                "required": ["slug", "title", "phase", "ballot_type", "pot_pence"],
                "properties": {
                    "slug": {"type": "string"},
                    "title": {"type": "string"},
                    "summary": {"type": "string"},
                    "phase": {
                        "type": "string",
                        "enum": [
                            "setup",
                            "bids",
                            "review",
                            "voting",
                            "counting",
                            "results",
                            "archived",
                        ],
                    },
                    "ballot_type": {
                        "type": "string",
                        "enum": [
                            "knapsack",
                            "approval",
                            "choose-1",
                            "ordinal",
                            "cumulative",
                            "scoring",
                        ],
                    },
                    "pot_pence": {"type": "integer"},
                    "currency": {"type": "string"},
                    "voting_open_at": {"type": "string", "format": "date-time", "nullable": True},
                    "voting_close_at": {"type": "string", "format": "date-time", "nullable": True},
                },
            },
            "Round": {
                "allOf": [
                    {"$ref": "#/components/schemas/RoundSummary"},
                    {
                        "type": "object",
                        "properties": {
                            "ballot_format": {
                                "type": "object",
                                "properties": {
                                    "key": {
                                        "type": "string",
                                        "enum": ["projects", "ranking", "points"],
                                    }
                                },
                            },
                            "limits": {
                                "type": "object",
                                "additionalProperties": {"type": "integer", "nullable": True},
                            },
                            "min_grant_pence": {"type": "integer"},
                            "max_grant_pence": {"type": "integer"},
                            "allow_ballot_change": {"type": "boolean"},
                            "rule": {"type": "string"},
                            "tie_break": {"type": "string"},
                            "eligibility": {"type": "object"},
                            "closed_at": {
                                "type": "string",
                                "format": "date-time",
                                "nullable": True,
                            },
                            "totals": {
                                "type": "object",
                                "description": (
                                    "Present only when the round shows live totals or voting "
                                    "has closed."
                                ),
                            },
                        },
                    },
                ]
            },
            "Project": {
                "type": "object",
                "required": ["id", "title", "cost_pence"],
                "properties": {
                    "id": {"type": "string"},
                    "title": {"type": "string"},
                    "summary": {"type": "string"},
                    "cost_pence": {"type": "integer"},
                    "ward": {"type": "string", "nullable": True},
                    "theme": {"type": "string", "nullable": True},
                    "url": {"type": "string"},
                },
            },
            "CastRequest": {
                "type": "object",
                "required": ["code", "ballot"],
                "additionalProperties": False,
                "properties": {
                    "code": {"type": "string", "maxLength": 64, "example": "K7QM-4RXD-9T"},
                    "ballot": {
                        "oneOf": [
                            {
                                "type": "object",
                                "required": ["projects"],
                                "additionalProperties": False,
                                "properties": {
                                    "projects": {"type": "array", "items": {"type": "string"}}
                                },
                            },
                            {
                                "type": "object",
                                "required": ["ranking"],
                                "additionalProperties": False,
                                "properties": {
                                    "ranking": {"type": "array", "items": {"type": "string"}}
                                },
                            },
                            {
                                "type": "object",
                                "required": ["points"],
                                "additionalProperties": False,
                                "properties": {
                                    "points": {
                                        "type": "object",
                                        "additionalProperties": {"type": "integer"},
                                    }
                                },
                            },
                        ]
                    },
                },
            },
        }
    },
}


def openapi_document() -> dict[str, Any]:
    """A copy of the OpenAPI document (callers may not change the module's own)."""
    return copy.deepcopy(SPEC)
