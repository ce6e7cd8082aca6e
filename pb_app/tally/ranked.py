"""Ranked rules for ordinal ballots: sequential instant-runoff and single transferable vote.

Both rules use pyrankvote 2.0.6 for the counting (papers, first preferences, transfers) but run
the rounds here, because its own ``instant_runoff_voting`` and ``single_transferable_vote``
cannot be trusted as they stand (tally.md §3):

* on equal votes they compare "second choices" and then call the global ``random``, so a tie
  is neither declared nor reproducible;
* its STV elects on ``votes > voters/(seats+1)`` and transfers float surpluses, instead of the
  Droop quota ``⌊v/(s+1)⌋ + 1`` (a smaller quota leaves a larger surplus and can change who wins);
* its IRV is ``preferential_block_voting`` with one seat, and that function can elect more
  candidates than seats.

So each round is decided here, in exact fractions: the leader and the loser are read from a
pyrankvote count whose order among equal votes is the round's declared tie-break (``rank``), and
which transfers votes exactly. Nothing in this module can reach pyrankvote's random.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from typing import Any

from pyrankvote.helpers import ElectionManager
from pyrankvote.models import Ballot as _PaperBallot
from pyrankvote.models import Candidate as _Candidate

from pb_app.tally.election import BallotType, Election, Project
from pb_app.tally.outcome import Decision, Outcome, Reason, Step, Value, format_money

# --- a small typed wrapper around pyrankvote ------------------------------------------------


class _ExactManager(ElectionManager):  # type: ignore[misc]  # pyrankvote has no type hints
    """pyrankvote's vote bookkeeping with exact votes and the declared tie-break for equal votes.

    pyrankvote keeps the candidates in the race sorted best first; on equal votes its comparison
    looks at second choices and finally calls ``random.choice``. Overriding the comparison makes
    the order total and declared, so neither ever runs. Transfers are redone in ``Fraction``s
    with pyrankvote's own method (the transferred votes split equally over the candidate's
    papers, the unweighted inclusive Gregory method) so no float ever decides.
    """

    def __init__(self, candidates: list[Any], papers: list[Any], order: Mapping[str, int]) -> None:
        # Set before pyrankvote's constructor, which already sorts with our comparison.
        self._order = order
        super().__init__(candidates, papers, number_of_votes_pr_voter=1)
        for count in self._candidate_vote_counts.values():
            count.number_of_votes = Fraction(round(count.number_of_votes))
        self._number_of_blank_votes = Fraction(0)
        self._sort_candidates_in_race()

    def _cmp_candidate_vote_counts(self, first: Any, second: Any) -> int:
        if first.number_of_votes != second.number_of_votes:
            return -1 if first.number_of_votes > second.number_of_votes else 1
        return -1 if self._order[first.candidate.name] < self._order[second.candidate.name] else 1

    def transfer_votes(self, candidate: Any, number_of_trans_votes: Fraction) -> None:
        count = self._candidate_vote_counts[candidate]
        if number_of_trans_votes == 0 or not count.votes:
            return
        share = Fraction(number_of_trans_votes) / len(count.votes)
        for paper in count.votes:
            following = self._get_ballot_candidate_nr_x_in_race_or_none(paper, 0)
            if following is None:
                self._exhausted_ballots.append(paper)
                self._number_of_blank_votes += share
            else:
                receiver = self._candidate_vote_counts[following]
                receiver.number_of_votes += share
                receiver.votes.append(paper)
        count.number_of_votes -= number_of_trans_votes
        count.votes = []
        self._sort_candidates_in_race()


class _Count:
    """A ranked count in progress: who is still in the race, with how many votes, best first."""

    def __init__(
        self,
        candidate_ids: Sequence[str],
        ballots: Sequence[Sequence[str]],
        rank: Mapping[str, int],
    ) -> None:
        self._candidates = {cid: _Candidate(cid) for cid in candidate_ids}
        papers = [_PaperBallot([self._candidates[cid] for cid in ballot]) for ballot in ballots]
        self._manager = _ExactManager(list(self._candidates.values()), papers, rank)

    def standing(self) -> list[tuple[str, Fraction]]:
        """Candidates still in the race with their votes, most votes first, ties by rank."""
        return [
            (candidate.name, Fraction(self._manager.get_number_of_votes(candidate)))
            for candidate in self._manager.get_candidates_in_race()
        ]

    def elect(self, candidate_ids: Sequence[str]) -> None:
        """Mark these candidates elected (before any of their surpluses move)."""
        for cid in candidate_ids:
            self._manager.elect_candidate(self._candidates[cid])

    def transfer_surplus(self, candidate_id: str, surplus: Fraction) -> None:
        """Pass an elected candidate's surplus on to the next preferences still in the race."""
        self._manager.transfer_votes(self._candidates[candidate_id], surplus)

    def eliminate(self, candidate_id: str) -> None:
        """Remove a candidate and pass all its votes on."""
        candidate = self._candidates[candidate_id]
        votes = Fraction(self._manager.get_number_of_votes(candidate))
        self._manager.reject_candidate(candidate)
        self._manager.transfer_votes(candidate, votes)


# --- shared helpers ----------------------------------------------------------------------


def _ranked_ids(ballot_projects: Iterable[str], allowed: Mapping[str, int]) -> tuple[str, ...]:
    """The ballot restricted to ``allowed``, best first; a repeated id counts at its first place."""
    seen: set[str] = set()
    kept: list[str] = []
    for pid in ballot_projects:
        if pid in allowed and pid not in seen:
            seen.add(pid)
            kept.append(pid)
    return tuple(kept)


def _restricted_ballots(
    election: Election, candidates: Sequence[str], rank: Mapping[str, int]
) -> list[tuple[str, ...]]:
    allowed = {pid: rank[pid] for pid in candidates}
    restricted = (_ranked_ids(ballot.projects, allowed) for ballot in election.ballots)
    return [ballot for ballot in restricted if ballot]


def _support(election: Election) -> dict[str, int]:
    """Ballots ranking each project (a repeated id counts once)."""
    support = {project.id: 0 for project in election.projects}
    for ballot in election.ballots:
        for pid in set(ballot.projects):
            if pid in support:
                support[pid] += 1
    return support


def _votes_text(votes: Fraction) -> str:
    """Votes for people: whole numbers as such, transferred fractions to two decimals."""
    if votes.denominator == 1:
        return f"{votes.numerator:,}"
    return f"{float(votes):,.2f}"


def _votes_phrase(votes: Fraction) -> str:
    return f"{_votes_text(votes)} vote" if votes == 1 else f"{_votes_text(votes)} votes"


def _value(votes: Fraction) -> Value:
    return votes.numerator if votes.denominator == 1 else votes


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def _check_ranked(election: Election, rule: str) -> None:
    # An approval or points ballot lists projects in no meaningful order; counting it as a
    # ranking would invent preferences the voter never expressed.
    if election.ballot_type not in (BallotType.ORDINAL, BallotType.CHOOSE_ONE):
        raise ValueError(
            f"The rule {rule} counts ranked ballots, but this election's ballots are "
            f"{election.ballot_type.value}."
        )


def _tied(standing: Sequence[tuple[str, Fraction]], fewest: Fraction) -> tuple[str, ...]:
    return tuple(pid for pid, votes in standing if votes == fewest)


def _tie_note(loser: str, votes: Fraction, tied: Sequence[str]) -> str:
    return (
        f"{', '.join(tied[:-1])} and {tied[-1]} were tied for fewest votes "
        f"({_votes_text(votes)} each); the declared tie-break eliminated {loser}."
    )


def _no_support_reason() -> Reason:
    return Reason(code="no-support", text="Not funded: no ballot ranked it.", funded=False)


# --- sequential instant-runoff -----------------------------------------------------------


@dataclass
class _Runoff:
    winner: str
    votes: Fraction  # the winner's votes in the final round
    active: Fraction  # votes still in the count in the final round
    rounds: int
    # (id, votes, the ids tied with it for fewest votes, itself included; one id: no tie)
    eliminated: list[tuple[str, Fraction, tuple[str, ...]]] = field(default_factory=list)


def _instant_runoff(
    candidates: Sequence[str], ballots: Sequence[Sequence[str]], rank: Mapping[str, int]
) -> _Runoff:
    """One instant-runoff count: a strict majority of the votes in play wins, else the fewest go."""
    count = _Count(candidates, ballots, rank)
    eliminated: list[tuple[str, Fraction, tuple[str, ...]]] = []
    while True:
        standing = count.standing()
        active = sum((votes for _, votes in standing), Fraction(0))
        leader, top = standing[0]
        if len(standing) == 1 or 2 * top > active:
            return _Runoff(leader, top, active, len(eliminated) + 1, eliminated)
        loser, fewest = standing[-1]
        # The count orders equal votes by the declared tie-break, so the last of several tied
        # candidates is the one the tie-break puts last.
        eliminated.append((loser, fewest, _tied(standing, fewest)))
        count.eliminate(loser)


def sequential_irv(election: Election, rank: Mapping[str, int]) -> Outcome:
    """Fund instant-runoff winners one by one among the projects that still fit (tally.md §2)."""
    _check_ranked(election, "sequential-irv")
    money = partial(format_money, unit=election.unit, currency=election.currency)
    support = _support(election)
    reasons: dict[str, Reason] = {}
    steps: list[Step] = []
    notes: list[str] = []
    selected: list[str] = []
    left = election.budget
    pending: list[Project] = []
    for project in election.projects:
        if support[project.id] == 0:
            reasons[project.id] = _no_support_reason()
        else:
            pending.append(project)

    while True:
        still_fit: list[Project] = []
        for project in pending:
            if project.cost <= left:
                still_fit.append(project)
                continue
            number = len(steps) + 1
            steps.append(
                Step(
                    number, project.id, Decision.SKIPPED, "runoff", support[project.id], left, left
                )
            )
            reasons[project.id] = Reason(
                code="did-not-fit",
                text=f"Not funded: it needed {money(project.cost)} and {money(left)} was left.",
                funded=False,
                step=number,
                params={"cost": project.cost, "left": left},
            )
        pending = still_fit
        candidates = sorted((project.id for project in pending), key=rank.__getitem__)
        ballots = _restricted_ballots(election, candidates, rank)
        if not ballots:
            break  # nothing fits (a supported project is always on some ballot)
        runoff = _instant_runoff(candidates, ballots, rank)
        winner = election.project(runoff.winner)
        number = len(steps) + 1
        summary = "; ".join(
            f"round {i}: {pid} out with {_votes_text(votes)}"
            + (" (tie broken)" if len(tied) > 1 else "")
            for i, (pid, votes, tied) in enumerate(runoff.eliminated, start=1)
        )
        final = f"round {runoff.rounds}: {winner.id} wins with {_votes_text(runoff.votes)}"
        detail: dict[str, Value] = {
            "candidates": len(candidates),
            "ballots": len(ballots),
            "rounds": runoff.rounds,
            "final_votes": _value(runoff.votes),
            "final_active": _value(runoff.active),
            "eliminated": ",".join(pid for pid, _, _ in runoff.eliminated),
            "runoff": f"{summary}; {final}" if summary else final,
        }
        steps.append(
            Step(
                number,
                winner.id,
                Decision.FUNDED,
                "runoff",
                _value(runoff.votes),
                left,
                left - winner.cost,
                detail,
            )
        )
        notes.extend(
            f"Step {number}: {_tie_note(pid, votes, tied)}"
            for pid, votes, tied in runoff.eliminated
            if len(tied) > 1
        )
        if len(candidates) == 1:
            how = "it was the only project that still fitted, ranked on " + _plural(
                len(ballots), "ballot"
            )
        else:
            how = (
                f"won the instant-runoff count among the {len(candidates)} projects that still "
                f"fitted, with {_votes_text(runoff.votes)} of {_votes_text(runoff.active)} "
                "votes in the final round"
            )
        reasons[winner.id] = Reason(
            code="funded",
            text=f"Funded in step {number}: {how}.",
            funded=True,
            step=number,
            params={"cost": winner.cost, "left": left, **detail},
        )
        selected.append(winner.id)
        left -= winner.cost
        pending = [project for project in pending if project.id != winner.id]

    return Outcome(
        rule="sequential-irv",
        budget=election.budget,
        selected=tuple(selected),
        spent=election.budget - left,
        steps=tuple(steps),
        reasons=reasons,
        notes=tuple(notes),
        unit=election.unit,
        currency=election.currency,
    )


# --- single transferable vote ------------------------------------------------------------


def droop_quota(votes: int, seats: int) -> int:
    """The Droop quota ⌊votes/(seats+1)⌋ + 1: at most ``seats`` candidates can ever reach it."""
    return votes // (seats + 1) + 1


def _grant(election: Election, grant: int | None) -> int:
    costs = sorted({project.cost for project in election.projects})
    if grant is None:
        if len(costs) > 1:
            raise ValueError(
                "STV needs equal-cost grants, but the project costs differ "
                f"({', '.join(format_money(c, election.unit, election.currency) for c in costs)}); "
                "pass grant= the amount of one grant."
            )
        return costs[0] if costs else 1
    if grant <= 0:
        raise ValueError("The grant must be a positive amount.")
    dearer = [project.id for project in election.projects if project.cost > grant]
    if dearer:
        raise ValueError(
            f"These projects cost more than the grant of "
            f"{format_money(grant, election.unit, election.currency)}: {', '.join(dearer)}."
        )
    return grant


def stv(election: Election, rank: Mapping[str, int], *, grant: int | None = None) -> Outcome:
    """Single transferable vote for ⌊budget/grant⌋ equal grants, with the Droop quota."""
    _check_ranked(election, "stv")
    money = partial(format_money, unit=election.unit, currency=election.currency)
    grant = _grant(election, grant)
    seats = election.budget // grant
    support = _support(election)
    reasons: dict[str, Reason] = {}
    steps: list[Step] = []
    notes: list[str] = []
    selected: list[str] = []
    left = election.budget

    candidates = sorted(
        (project.id for project in election.projects if support[project.id] > 0),
        key=rank.__getitem__,
    )
    for project in election.projects:
        if support[project.id] == 0:
            reasons[project.id] = _no_support_reason()
    ballots = _restricted_ballots(election, candidates, rank)
    quota = droop_quota(len(ballots), seats)
    notes.append(
        f"{_plural(seats, 'grant')} of {money(grant)}; {_plural(len(ballots), 'ballot')}; "
        f"Droop quota {quota:,} votes."
    )
    if seats == 0:
        for pid in candidates:
            reasons[pid] = Reason(
                code="no-grant",
                text=f"Not funded: the budget of {money(election.budget)} does not cover one "
                f"grant of {money(grant)}.",
                funded=False,
            )
        candidates = []

    def fund(pid: str, votes: Fraction, round_number: int, how: str) -> None:
        nonlocal left
        cost = election.project(pid).cost
        number = len(steps) + 1
        detail: dict[str, Value] = {"round": round_number, "quota": quota, "seats": seats}
        steps.append(
            Step(number, pid, Decision.FUNDED, "stv", _value(votes), left, left - cost, detail)
        )
        reasons[pid] = Reason(
            code="funded",
            text=f"Funded in step {number}: {how}.",
            funded=True,
            step=number,
            params={"cost": cost, "left": left, "votes": _value(votes), **detail},
        )
        selected.append(pid)
        left -= cost

    count = _Count(candidates, ballots, rank) if candidates else None
    round_number = 0
    while count is not None and len(selected) < seats:
        standing = count.standing()
        if not standing:
            break
        round_number += 1
        seats_left = seats - len(selected)
        if len(standing) <= seats_left:
            # As many grants left as projects in the count: all of them are elected.
            count.elect([pid for pid, _ in standing])
            for pid, votes in standing:
                fund(
                    pid,
                    votes,
                    round_number,
                    f"elected in round {round_number} of the single-transferable-vote count, "
                    f"when the projects still in the count were no more than the "
                    f"{_plural(seats_left, 'grant')} left",
                )
            break
        # The Droop quota guarantees at most seats_left reach it; the slice is a safeguard.
        reached = [(pid, votes) for pid, votes in standing if votes >= quota][:seats_left]
        if reached:
            count.elect([pid for pid, _ in reached])
            for pid, votes in reached:
                fund(
                    pid,
                    votes,
                    round_number,
                    f"elected in round {round_number} of the single-transferable-vote count "
                    f"with {_votes_phrase(votes)}, reaching the quota of {quota:,}",
                )
            for pid, votes in reached:
                count.transfer_surplus(pid, votes - quota)
            continue
        loser, fewest = standing[-1]
        tied = len(_tied(standing, fewest)) > 1
        number = len(steps) + 1
        steps.append(
            Step(
                number,
                loser,
                Decision.ELIMINATED,
                "stv",
                _value(fewest),
                left,
                left,
                {"round": round_number, "quota": quota, "tie": tied},
            )
        )
        tie_text = ", tied with another and placed last by the declared tie-break" if tied else ""
        reasons[loser] = Reason(
            code="eliminated",
            text=f"Not funded: eliminated in round {round_number} of the single-transferable-"
            f"vote count with the fewest votes ({_votes_text(fewest)}){tie_text}.",
            funded=False,
            step=number,
            params={"round": round_number, "votes": _value(fewest), "quota": quota},
        )
        if tied:
            notes.append(
                f"Round {round_number}: {_tie_note(loser, fewest, _tied(standing, fewest))}"
            )
        count.eliminate(loser)

    if count is not None:
        for pid, votes in count.standing():
            reasons[pid] = Reason(
                code="not-elected",
                text=f"Not funded: all {_plural(seats, 'grant')} were filled first; it had "
                f"{_votes_phrase(votes)}, below the quota of {quota:,}.",
                funded=False,
                params={"votes": _value(votes), "quota": quota},
            )

    return Outcome(
        rule="stv",
        budget=election.budget,
        selected=tuple(selected),
        spent=election.budget - left,
        steps=tuple(steps),
        reasons=reasons,
        notes=tuple(notes),
        unit=election.unit,
        currency=election.currency,
    )
