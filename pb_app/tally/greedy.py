"""Greedy rules (tally.md §2): fund the most supported projects that still fit, with explanations.

One walk serves all four variants: ``greedy`` (skip what does not fit), ``greedy-no-skip`` (stop
at the first project that does not fit), ``greedy-threshold`` (only projects reaching a
threshold take part) and ``greedy-per-cost`` (order by support ÷ cost). Everything is exact:
support and scores are integers, per-cost order compares by cross-multiplication, and a
threshold given as a share of the maximum score is a ``Fraction``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cmp_to_key
from typing import Literal

import numpy as np

from pb_app.tally.election import BallotType, Election, Project
from pb_app.tally.outcome import Decision, Outcome, Reason, Step, Value, format_money
from pb_app.tally.tiebreak import support_counts

OrderBy = Literal["support", "score", "per-cost"]


def project_scores(election: Election) -> Counter[str]:
    """Score of every project: Σ points (cumulative, scoring) or positional score (ordinal).

    Approval and choose-1 ballots carry no points, so their score is their support. For
    scoring ballots with a ``default_score``, an unscored project counts that score.
    """
    columns = election.columns
    kind = election.ballot_type
    if kind is BallotType.ORDINAL:
        # The entry at offset i of a ballot ending at offset end is ranked end − i from last.
        lengths = np.diff(columns.offsets)
        ends = np.repeat(columns.offsets[1:], lengths)
        totals = columns.totals(ends - np.arange(ends.size, dtype=np.int64))
    elif columns.points is not None:
        totals = columns.totals(columns.points)
        default = election.limits.default_score
        if kind is BallotType.SCORING and default:
            voters = len(election.ballots)
            support = columns.support().tolist()
            for i in range(len(election.projects)):
                totals[i] += default * (voters - support[i])
    else:
        totals = columns.support().tolist()
    scores: Counter[str] = Counter({project.id: 0 for project in election.projects})
    scores.update(dict(zip(columns.ids, totals, strict=True)))
    return scores


def default_order(election: Election) -> OrderBy:
    """Support for approval and choose-1 ballots, score for ordinal, cumulative and scoring."""
    if election.ballot_type in (BallotType.APPROVAL, BallotType.CHOOSE_ONE):
        return "support"
    return "score"


def maximum_score(election: Election, order_by: OrderBy) -> int:
    """The largest score (or support) one project could have had: the base of a share threshold."""
    voters = len(election.ballots)
    kind = election.ballot_type
    limits = election.limits
    if order_by != "score" or kind in (BallotType.APPROVAL, BallotType.CHOOSE_ONE):
        return voters
    if kind is BallotType.ORDINAL:
        # A project ranked first on the longest allowed ballot gets that length.
        longest = limits.max_length or len(election.projects)
        return voters * longest
    per_project = limits.max_points or limits.max_sum_points
    if per_project is None:
        # No declared limit: the most any voter actually gave one project is the best bound known.
        given = election.columns.points
        assert given is not None  # only points ballots are ordered by a score of points
        if given.size and np.diff(election.columns.offsets).all():
            per_project = int(given.max())
        else:  # an empty ballot (or none at all) counts as giving 0
            per_project = int(given.max(initial=0))
    return voters * per_project


@dataclass(frozen=True, slots=True)
class _Candidate:
    project: Project
    support: int
    metric: int  # what the order uses: support or score (per-cost: support, divided by cost)


def _order(candidates: list[_Candidate], rank: Mapping[str, int], per_cost: bool) -> None:
    """Sort best first in place; equal values go to the lower tie-break rank."""
    if not per_cost:
        candidates.sort(key=lambda c: (-c.metric, rank[c.project.id]))
        return

    def compare(a: _Candidate, b: _Candidate) -> int:
        # a.metric / a.cost > b.metric / b.cost, without division.
        left = a.metric * b.project.cost
        right = b.metric * a.project.cost
        if left != right:
            return -1 if left > right else 1
        return rank[a.project.id] - rank[b.project.id]

    candidates.sort(key=cmp_to_key(compare))


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def _percent(share: Fraction, *, floor: bool = False) -> str:
    """A share as a percentage, for reading only: decisions compare the exact fractions.

    A project's share is rounded down so that one just below a 40% threshold never reads
    "40%"; a threshold is shown exactly when it is a whole percentage, else to two decimals.
    """
    percent = share * 100
    if floor or percent.denominator == 1:
        return f"{percent.numerator // percent.denominator}%"
    return f"{float(percent):.2f}%"


def greedy(
    election: Election,
    rank: Mapping[str, int],
    *,
    order_by: OrderBy = "support",
    skip: bool = True,
    threshold: int | Fraction | None = None,
    initial: Sequence[str] = (),
    first_step: int = 1,
    rule: str = "greedy",
) -> Outcome:
    """Count ``election`` greedily and explain every project (tally.md §2, §4).

    ``threshold`` is an absolute support/score (``int``) or a share of the maximum possible
    score (``Fraction``); projects below it take no part. ``initial`` are projects already
    funded (their cost is spent; they come first in ``selected`` and get no new step), as in
    the greedy completion of Equal Shares. Steps are numbered from ``first_step``.
    """
    unit, currency = election.unit, election.currency

    def money(amount: int) -> str:
        return format_money(amount, unit, currency)

    support = support_counts(election)
    scores = project_scores(election) if order_by == "score" else support
    already = set(initial)
    left = election.budget - sum(election.project(pid).cost for pid in initial)
    reasons: dict[str, Reason] = {}
    for pid in initial:
        reasons[pid] = Reason(
            code="funded-before",
            text="Funded before the greedy completion.",
            funded=True,
            params={"cost": election.project(pid).cost},
        )

    def figures(c: _Candidate) -> str:
        if order_by == "score":
            return f"score {c.metric:,} ({_plural(c.support, 'vote')})"
        return _plural(c.support, "vote")

    # Fraction's isinstance goes through ABCMeta, slow enough to matter once per project.
    share_threshold = isinstance(threshold, Fraction)
    maximum = maximum_score(election, order_by) if share_threshold else None
    candidates: list[_Candidate] = []
    for project in election.projects:
        if project.id in already:
            continue
        candidate = _Candidate(project, support[project.id], scores[project.id])
        base: dict[str, Value] = {
            "votes": candidate.support,
            "score": scores[project.id] if order_by == "score" else None,
            "cost": project.cost,
        }
        if candidate.support == 0 or candidate.metric == 0:
            text = (
                "Not funded: no votes." if candidate.support == 0 else "Not funded: a score of 0."
            )
            reasons[project.id] = Reason("no-support", text, funded=False, params=base)
            continue
        if share_threshold:
            assert isinstance(threshold, Fraction)  # what share_threshold says
            assert maximum is not None  # computed above whenever the threshold is a share
            share = Fraction(candidate.metric, maximum) if maximum else Fraction(0)
            if share < threshold:
                measure = "score" if order_by == "score" else "support"
                reasons[project.id] = Reason(
                    "below-threshold",
                    f"Not funded: {_percent(share, floor=True)} of the maximum {measure}, "
                    f"below the {_percent(threshold)} threshold.",
                    funded=False,
                    params={**base, "share": share, "threshold": threshold, "maximum": maximum},
                )
                continue
        elif threshold is not None and candidate.metric < threshold:
            measure = f"score {candidate.metric:,}" if order_by == "score" else figures(candidate)
            what = f"a score of {threshold:,}" if order_by == "score" else f"{threshold:,} votes"
            reasons[project.id] = Reason(
                "below-threshold",
                f"Not funded: {measure}, below the threshold of {what}.",
                funded=False,
                params={**base, "threshold": threshold},
            )
            continue
        candidates.append(candidate)

    _order(candidates, rank, per_cost=order_by == "per-cost")

    selected = list(initial)
    steps: list[Step] = []
    stopped_at: int | None = None
    stopper = ""
    for offset, candidate in enumerate(candidates):
        project = candidate.project
        number = first_step + offset
        params: dict[str, Value] = {
            "votes": candidate.support,
            "score": candidate.metric if order_by == "score" else None,
            "cost": project.cost,
            "money_before": left,
        }
        if stopped_at is not None:
            reasons[project.id] = Reason(
                "stopped-before",
                f"Not funded: counting stopped at step {stopped_at}, when {stopper} did not fit, "
                "before its turn.",
                funded=False,
                params={**params, "stopped_at": stopped_at},
            )
            continue
        before = left
        if project.cost <= left:
            left -= project.cost
            decision = Decision.FUNDED
            selected.append(project.id)
            reasons[project.id] = Reason(
                "funded",
                f"Funded in step {number}: {figures(candidate)}, cost {money(project.cost)}; "
                f"{money(left)} was left.",
                funded=True,
                step=number,
                params={**params, "money_after": left},
            )
        else:
            decision = Decision.SKIPPED if skip else Decision.STOPPED
            text = (
                f"Not funded: it needed {money(project.cost)} and {money(before)} was left "
                f"when its turn came (step {number})"
            )
            if not skip:
                stopped_at, stopper = number, project.name or project.id
                text += ", so counting stopped there"
            reasons[project.id] = Reason(
                "did-not-fit",
                text + ".",
                funded=False,
                step=number,
                params={**params, "money_after": left},
            )
        detail: dict[str, Value] = {"votes": candidate.support, "cost": project.cost}
        if order_by == "per-cost":
            detail["votes_per_cost"] = Fraction(candidate.support, project.cost)
        steps.append(
            Step(
                number=number,
                project_id=project.id,
                decision=decision,
                phase="greedy",
                support=candidate.metric,
                money_before=before,
                money_after=left,
                detail=detail,
            )
        )

    notes: list[str] = []
    if threshold is not None:
        measure = "score" if order_by == "score" else "support"
        if isinstance(threshold, Fraction):
            shown = f"{_percent(threshold)} of the maximum {measure}"
        else:
            shown = f"a score of {threshold:,}" if measure == "score" else f"{threshold:,} votes"
        notes.append(f"Threshold: {shown}; projects below it take no part.")
    if initial:
        notes.append(f"Greedy completion after {len(initial)} funded projects.")
    return Outcome(
        rule=rule,
        budget=election.budget,
        selected=tuple(selected),
        spent=election.budget - left,
        steps=tuple(steps),
        # Reasons in ballot order, so every listing of them reads the same.
        reasons={project.id: reasons[project.id] for project in election.projects},
        notes=tuple(notes),
        unit=unit,
        currency=currency,
    )
