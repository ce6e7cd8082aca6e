"""The ballot sheet a voter fills in, shared by the phone flow and the kiosk: the projects, those
this voter may not choose, the layout, and every problem with a filled-in ballot in plain words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from pb_app import ballot_forms
from pb_app.forms.vote import BallotForm
from pb_app.models import Round
from pb_app.services import elections
from pb_app.tally.ballots import validate_ballot


@dataclass(frozen=True)
class BallotSheet:
    """The ballot as this voter sees it: the projects, those they may not choose, the layout."""

    kind: str
    cards: list[elections.ProjectCard]
    excluded: set[str]
    ranks: int

    @property
    def names(self) -> dict[str, str]:
        """Project titles by ref."""
        return {card.ref: card.title for card in self.cards}

    @property
    def costs(self) -> dict[str, int]:
        """Project costs in pence by ref."""
        return {card.ref: card.cost_pence for card in self.cards}

    def read(self, values: Any) -> ballot_forms.Draft:
        """The ballot in these form values."""
        return ballot_forms.ballot_from_form(self.kind, values, self.cards, ranks=self.ranks)


def ballot_page(
    round_: Round, sheet: BallotSheet, values: Any, problems: list[tuple[str, str]]
) -> dict[str, Any]:
    """What ``vote/ballot.html`` shows: the sheet, the limits, the running total, any problems."""
    return {
        "round": round_,
        "form": BallotForm(),
        "sheet": sheet,
        "limits": elections.limits_of(round_),
        "scale": ballot_forms.score_scale(round_.min_points, round_.max_points),
        "values": values,
        "total": ballot_forms.running_total(sheet.read(values).ballot, sheet.cards),
        "problems": problems,
    }


def ballot_problems(
    round_: Round, sheet: BallotSheet, draft: ballot_forms.Draft
) -> list[tuple[str, str]]:
    """Every problem with the ballot as (field id, message), for the error summary."""
    field_for = ballot_forms.field_ids(sheet.kind, sheet.cards, sheet.ranks)
    found = [
        (
            field_for(entry.ref),
            _("Enter a whole number for '%(name)s', like 3; '%(value)s' is not one.")
            % {"name": sheet.names.get(entry.ref, entry.ref), "value": entry.value},
        )
        for entry in draft.entry_problems
    ]
    election = elections.election_for_round(round_)
    problems = validate_ballot(
        election.ballot_type,
        draft.ballot,
        election.projects,
        election.limits,
        excluded=sheet.excluded,
        unit=election.unit,
        currency=election.currency,
    )
    found.extend((field_for(problem.project_id), problem.message) for problem in problems)
    return found
