"""Helpers shared by the Equal Shares tests: small elections and pabutools instances."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pb_app.tally.election import Ballot, BallotType, Election, Project
from pb_app.tally.outcome import Outcome


def approval(
    budget: int,
    costs: Mapping[str, int],
    ballots: Sequence[Sequence[str]],
    unit: int = 1,
    currency: str = "",
) -> Election:
    """An approval election from ``{id: cost}`` and ballots as lists of ids."""
    return Election(
        ballot_type=BallotType.APPROVAL,
        budget=budget,
        projects=tuple(Project(pid, cost) for pid, cost in costs.items()),
        ballots=tuple(Ballot(tuple(b), voter_id=str(i)) for i, b in enumerate(ballots)),
        unit=unit,
        currency=currency,
    )


def cumulative(
    budget: int,
    costs: Mapping[str, int],
    ballots: Sequence[Mapping[str, int]],
) -> Election:
    """A cumulative election from ``{id: cost}`` and ballots as ``{id: points}``."""
    return Election(
        ballot_type=BallotType.CUMULATIVE,
        budget=budget,
        projects=tuple(Project(pid, cost) for pid, cost in costs.items()),
        ballots=tuple(
            Ballot(tuple(b), points=tuple(b.values()), voter_id=str(i))
            for i, b in enumerate(ballots)
        ),
    )


def mes_part(outcome: Outcome) -> list[str]:
    """The projects Equal Shares itself funded, in order (the completion's left out)."""
    return [s.project_id for s in outcome.steps if s.phase == "equal-shares"]


def pabutools_instance(election: Election) -> tuple[object, object]:
    """The same approval election as a pabutools Instance and ApprovalProfile."""
    from pabutools.election import ApprovalBallot, ApprovalProfile, Instance
    from pabutools.election import Project as PbProject

    projects = {p.id: PbProject(p.id, p.cost) for p in election.projects}
    instance = Instance(projects.values(), budget_limit=election.budget)
    profile = ApprovalProfile(
        [ApprovalBallot({projects[pid] for pid in b.projects}) for b in election.ballots]
    )
    return instance, profile
