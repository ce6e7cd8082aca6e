"""The Method of Equal Shares (tally.md §2): plain, Add1, Add1 + greedy and Add1-comparison.

Exactness. Every voter starts with the endowment ``e = E / n`` minor units. A purchase at price
``π`` per unit of utility charges a supporter ``min(b, π·v)``, so budgets are rationals whose
denominators grow with every purchase. They are kept *exactly* as integer numerators over one
common denominator ``D`` (Python ints, any size). Voters with the same budget form a *class*;
the per-voter work (which class each supporter of a project is in) is integer NumPy, and the
rational work is done once per class, never per voter. No float ever decides anything.

Speed. Identical ballots are merged (with a weight), each project keeps an array of its
supporters, and a project's last computed price is a lower bound on its price later in the same
run (budgets only shrink), so a round only recomputes the projects whose bound could still beat
the best price found so far — the "effective vote count" bound pabutools also uses. A price
stays exact until a purchase touches one of the project's supporters, so it is kept till then.
Where projects have thousands of budget classes, a price is located with float copies of the
budgets and then confirmed with exact sums over the classes that pay all they have (see
_State.price_located); floats only ever choose where to look, never decide. The one exception
is proof, not estimate: supporters whose float budgets, plus far more than their worst rounding
error, still fall short of a cost are out of reach (_State._surely_short).

Add1 runs Equal Shares again at every endowment step, and neighbouring steps mostly give the
same outcome. Each run therefore also works out, exactly, how many further steps provably repeat
its outcome (budgets and prices are affine in the step count while the same comparisons decide;
see _Horizon), and Add1 jumps over them: it stops at the very step running every one would.
Where the outcome does change, the first purchases usually do not: a run keeps checkpoints
after its purchases, each with how many further steps its purchases provably hold for (of
purchases that hold equally far, only the last), and the next run starts at the last one that
holds there (see _Checkpoint). Once a run's purchases so far no longer hold at the next step,
it stops working out its horizon: nothing after could be skipped or resumed from. Add1 only
needs to know whether a run stops it, so a run ends as soon as the projects still in reach
could not make it overspend or exhaustive (see _run); only the iteration Add1 chooses is
counted whole.

Rationals are gmpy2's ``mpq`` inside a count (pabutools counts with it too) and ``Fraction``
in the outcome; budgets are Python ints.

The reference is pabutools 1.2.3 (``rules/mes/mes_rule.py``); comments mark where its
behaviour is reproduced on purpose.
"""

from __future__ import annotations

import functools
import gc
import heapq
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from fractions import Fraction
from operator import itemgetter, mul
from typing import Literal, NamedTuple, ParamSpec, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt
from gmpy2 import mpq

from pb_app.tally.election import INT64_SAFE, BallotType, Election, merge_identical
from pb_app.tally.greedy import greedy
from pb_app.tally.outcome import Decision, Outcome, Reason, Step, Value, format_money
from pb_app.tally.tiebreak import support_counts

IntArray = npt.NDArray[np.int64]
# Exact rationals inside a count are gmpy2's mpq (GMP, in C; pabutools counts with it too):
# Fraction's arithmetic, written in Python, was most of an Add1 count. Outcomes carry Fractions.
Rational: TypeAlias = mpq
Completion = Literal["none", "add1", "add1-greedy", "add1-comparison"]

# Above this endowment per voter (in currency units) Add1 steps by 100 units, not 1 (tally.md §2).
LARGE_ENDOWMENT = 10_000
LARGE_STEP = 100
# Dead budget classes tolerated before the live ones are numbered again (keeps arrays short).
RENUMBER_SLACK = 256
# Below about this many (merged) supporters a Python loop groups a project's supporters faster
# than NumPy, whose every call costs a few microseconds (see _Voters.few).
FEW_SUPPORTERS = 48
# Where projects have about this many supporters or more, budget classes also carry their
# value as a float, and a price over at least MANY_GROUPS classes is located with floats
# and then confirmed exactly (see _State.price_located).
MANY_SUPPORTERS = 256
MANY_GROUPS = 64
# A bound in the heap that would meet the winner's price within this many Add1 iterations is
# worked out again (it is usually old), so that it does not cut short how far purchases hold.
REFRESH_WITHIN = 4
# Floats closer than this (relatively) are not trusted to order budgets: the exact way decides.
FLOAT_MARGIN = 1e-9
# The most rounding moves a float (relative): half a unit in the last place.
FLOAT_ERROR = 2.0**-53


class Utility(StrEnum):
    """How much a supporter gains from a project, the measure Equal Shares prices."""

    COST = "cost"
    CARDINALITY = "cardinality"
    POINTS = "points"


def default_utility(election: Election) -> Utility:
    """Cost utilities for approval and choose-1 ballots, points for the others (tally.md §2)."""
    if election.ballot_type in (BallotType.APPROVAL, BallotType.CHOOSE_ONE):
        return Utility.COST
    return Utility.POINTS


def _points(
    election: Election, index: Mapping[str, int], chosen: tuple[str, ...], given: tuple[int, ...]
) -> dict[int, int]:
    """One ballot's positive points per project index (see ballot_points)."""
    kind = election.ballot_type
    points: dict[int, int] = {}
    if kind is BallotType.ORDINAL:
        length = len(chosen)
        for position, pid in enumerate(chosen):
            points.setdefault(index[pid], length - position)
    elif kind in (BallotType.CUMULATIVE, BallotType.SCORING):
        for pid, value in zip(chosen, given, strict=False):
            points[index[pid]] = points.get(index[pid], 0) + value
        default = election.limits.default_score
        if kind is BallotType.SCORING and default:
            for i in range(len(election.projects)):
                points.setdefault(i, default)
    else:
        for pid in chosen:
            points[index[pid]] = 1
    return {i: p for i, p in points.items() if p > 0}


def ballot_points(election: Election) -> list[dict[int, int]]:
    """Each ballot's points per project index: 1 for approval, ``len − position`` for ordinal."""
    index = {project.id: i for i, project in enumerate(election.projects)}
    return [_points(election, index, b.projects, b.points) for b in election.ballots]


@dataclass
class _Voters:
    """Identical ballots merged; for every project its supporters and their utility weights."""

    total: int  # number of voters n
    weight: IntArray  # voters per merged ballot
    members: list[IntArray]  # per project: merged-ballot indices of its supporters
    values: list[IntArray]  # per project: utility ÷ kappa of each supporter (≥ 1)
    weights: list[npt.NDArray[np.float64]]  # per project: each supporter's voters (see below)
    kappa: list[int]  # per project: utility = kappa · value (kappa = cost for cost utility)
    max_value: list[int]
    supporters: list[int]  # per project: voters who support it
    size: int  # number of merged ballots
    # per project: the projects that share a supporter with it (itself included), whose
    # prices a purchase of it may change
    neighbours: list[frozenset[int]]
    # Where most projects have FEW_SUPPORTERS or fewer, budget classes are also kept in a Python
    # list (_State.class_list), and such projects (with value 1) are grouped by Python loops
    # over their supporters (merged-ballot index, voters) instead of NumPy: ``few`` says which.
    few: list[bool]
    few_supporters: list[list[tuple[int, int]]]
    # Where budget classes carry float values (see MANY_SUPPORTERS): the fewest classes a
    # project (with values of 1) has for price_located to price it; None: it prices none.
    located_from: int | None
    # Whether budget classes carry their values as floats (_State.floats), as they must where
    # located_from is set: unless projects are grouped in Python loops (``few``), where
    # budgets grow long and working out their floats would cost more than they save.
    floated: bool = True
    # (cost ÷ total utility, project, project) for every supported project, heap-ordered:
    # a lower bound on its price (pabutools' initial affordability), the same in every run.
    first_bounds: list[tuple[Rational, int, int]] = field(default_factory=list)


def _prepare(election: Election, utility: Utility) -> _Voters:
    if len(election.ballots) >= EXACT_FLOAT_INTEGERS:
        raise ValueError("Too many ballots to count exactly.")  # pragma: no cover
    # Each ballot's positive points per project, as _points gives them, for all ballots at
    # once: 1 for approval, len − position of its first mention for ordinal, Σ points for the
    # others (with the scoring default for a project left unscored). An id that is not a
    # project takes no part, but keeps its place in an ordinal ranking.
    columns = election.columns
    count = len(election.projects)
    kind = election.ballot_type
    lengths = np.diff(columns.offsets)
    rows = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)
    index = columns.index
    if kind is BallotType.ORDINAL:
        given = np.repeat(columns.offsets[1:], lengths) - np.arange(index.size, dtype=np.int64)
    elif columns.points is not None:
        given = columns.points
        largest = max(-int(given.min()), int(given.max())) if given.size else 0
        if largest * int(lengths.max(initial=0)) >= INT64_SAFE:
            raise ValueError("A ballot gives more points than can be counted exactly.")
    else:
        given = np.ones_like(index)
    known = index < count
    rows, index, given = rows[known], index[known], given[known]
    default = election.limits.default_score
    if kind is BallotType.SCORING and default:
        named = np.zeros((lengths.size, count), dtype=bool)
        named[rows, index] = True
        unnamed_rows, unnamed_index = np.nonzero(~named)
        rows = np.concatenate((rows, unnamed_rows))
        index = np.concatenate((index, unnamed_index))
        given = np.concatenate((given, np.full(unnamed_rows.size, default, dtype=np.int64)))
    # Sort by (ballot, project); the stable sort keeps an ordinal ballot's first mention first.
    width = max(count, 1)
    keys = rows * width + index
    order = np.argsort(keys, kind="stable")
    keys, given = keys[order], given[order]
    first = np.ones(keys.size, dtype=bool)
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    if not first.all():
        starts = np.flatnonzero(first)
        summed = kind in (BallotType.CUMULATIVE, BallotType.SCORING)
        given = np.add.reduceat(given, starts) if summed else given[starts]
        keys = keys[starts]
    positive = given > 0
    keys, given = keys[positive], given[positive]
    # Ballots equal as counted are merged.
    merged = merge_identical(keys // width, keys % width, given, len(election.ballots))
    weight = merged.weight
    size = weight.size
    lengths = np.diff(merged.offsets)
    projects, values = merged.index, merged.values
    if utility is not Utility.POINTS:
        values = np.ones_like(projects)
    owner = np.repeat(np.arange(size, dtype=np.int64), lengths)
    # Supporters of each project in merged-ballot order: a stable sort by project, then cut.
    order = np.argsort(projects, kind="stable")
    cuts = np.cumsum(np.bincount(projects, minlength=count))[:-1]
    member_arrays = np.split(owner[order], cuts)
    value_arrays = np.split(values[order], cuts)
    kappa = [project.cost if utility is Utility.COST else 1 for project in election.projects]
    voters = _Voters(
        total=len(election.ballots),
        weight=weight,
        members=member_arrays,
        values=value_arrays,
        weights=[weight[m].astype(np.float64) for m in member_arrays],
        kappa=kappa,
        max_value=[int(v.max()) if v.size else 0 for v in value_arrays],
        supporters=[int(weight[m].sum()) for m in member_arrays],
        size=size,
        neighbours=_neighbours(owner, projects, member_arrays, size, count),
        few=[False] * count,
        few_supporters=[[] for _ in range(count)],
        located_from=None,
    )
    supported = [m.size for m in member_arrays if m.size]
    if supported and sum(supported) >= MANY_SUPPORTERS * len(supported):
        voters.located_from = MANY_GROUPS
    if supported and sum(supported) <= FEW_SUPPORTERS * len(supported):
        for p, members in enumerate(member_arrays):
            if 0 < members.size <= FEW_SUPPORTERS and voters.max_value[p] == 1:
                voters.few[p] = True
                pairs = zip(members.tolist(), weight[members].tolist(), strict=True)
                voters.few_supporters[p] = list(pairs)
    voters.floated = voters.located_from is not None or not any(voters.few)
    for p, members in enumerate(voters.members):
        if members.size:
            total = int(np.dot(weight[members], voters.values[p])) * kappa[p]
            voters.first_bounds.append((mpq(election.projects[p].cost, total), p, p))
    heapq.heapify(voters.first_bounds)
    return voters


# Ballot entries handled at once while finding neighbours (keeps temporary arrays small).
NEIGHBOUR_CHUNK = 1 << 18


def _neighbours(
    owner: IntArray, projects: IntArray, members: list[IntArray], size: int, count: int
) -> list[frozenset[int]]:
    """For every project, the projects that share a supporter with it (itself included)."""
    # Each merged ballot's projects as a bit set (64 projects per word); a project's
    # neighbours are the union over its supporters' ballots. A ballot names a project once,
    # so adding its bits is or-ing them.
    words = max(1, (count + 63) // 64)
    flat = np.zeros(size * words, dtype=np.uint64)
    one = np.uint64(1)
    for start in range(0, projects.size, NEIGHBOUR_CHUNK):  # bounded temporaries
        word, bit = np.divmod(projects[start : start + NEIGHBOUR_CHUNK], 64)
        at = owner[start : start + NEIGHBOUR_CHUNK] * words + word
        np.add.at(flat, at, np.left_shift(one, bit.astype(np.uint64)))
    bits = flat.reshape(size, words)
    every = np.bitwise_or.reduce(bits, axis=0)
    neighbours: list[frozenset[int]] = []
    for supporters in members:
        union = np.zeros(words, dtype=np.uint64)
        # In slices of growing length: in a large election most projects meet every other
        # one within the first few thousand supporters.
        start, length = 0, 1024
        while start < supporters.size and not np.array_equal(union, every):
            union |= np.bitwise_or.reduce(bits[supporters[start : start + length]], axis=0)
            start, length = start + length, 4 * length
        flags = np.unpackbits(union.astype("<u8").view(np.uint8), bitorder="little")[:count]
        neighbours.append(frozenset(np.flatnonzero(flags).tolist()))
    return neighbours


# bincount adds weights in float64. Every weight and every partial sum is a whole number of
# voters below 2**53, and float64 holds each such integer exactly, so no sum is ever rounded:
# this is integer arithmetic done in a float register, not an approximation.
EXACT_FLOAT_INTEGERS = 2**53


def _weighted_counts(keys: IntArray, weights: npt.NDArray[np.float64]) -> IntArray:
    """Voters per key, exactly (see EXACT_FLOAT_INTEGERS)."""
    counts = np.bincount(keys, weights=weights)
    return counts.astype(np.int64)


# Supporters of one project who share a budget class and a utility value:
# (budget numerator over D, value, number of voters, key = class · span + value − 1,
#  budget slope numerator over S: how the budget grows per Add1 iteration, see _Horizon).
_Group = tuple[int, int, int, int, int]


class _Horizon:
    """How many more Add1 iterations provably give the same outcome as this run.

    Within one run every budget is an affine function of the iteration count ``t`` (the
    endowment grows by one step per iteration): it starts at ``e + t·step``, and while the
    same projects are bought with the same supporters paying in full, every price and every
    budget left stays affine in ``t``. The run records each comparison that decided anything —
    which supporters of a winner pay in full, that every other project's price (or a lower
    bound on it) stays above the winner's, that a project its supporters could not pay for
    stays out of reach — as "this affine quantity keeps its sign". The smallest ``t`` at which
    one of them could flip bounds the stretch of iterations with the very same outcome, so
    Add1 may jump there without running the iterations in between.
    """

    __slots__ = ("denominator", "inclusive", "numerator")

    def __init__(self) -> None:
        self.numerator: int | None = None  # the limit numerator / denominator, None: no limit
        self.denominator = 1
        self.inclusive = True  # whether the outcome still holds at the limit itself

    def keep_sign(
        self, value: int, value_den: int, slope: int, slope_den: int, *, strict: bool
    ) -> None:
        """Record that ``value/value_den + t · slope/slope_den`` keeps its sign (value ≥ 0)."""
        if slope >= 0:
            return  # it grows: the sign never flips for larger t
        # root t = (value / value_den) / (−slope / slope_den)
        numerator = value * slope_den
        denominator = -slope * value_den
        if self.numerator is not None:
            left = numerator * self.denominator
            right = self.numerator * denominator
            if left > right or (left == right and (not strict or not self.inclusive)):
                return
        self.numerator, self.denominator, self.inclusive = numerator, denominator, not strict

    def keep_above(
        self,
        high: Rational,
        high_slope: Rational,
        low: Rational,
        low_slope: Rational,
        *,
        strict: bool,
        unless_within: int = 0,
    ) -> bool:
        """Record that ``high + t·high_slope`` stays above ``low + t·low_slope`` (or level).

        Unless they meet within ``unless_within`` iterations: then record nothing, return False.
        """
        gap = high - low
        slope = high_slope - low_slope
        if slope >= 0:
            return True
        if gap < -slope * unless_within:
            return False
        self.keep_sign(
            gap.numerator, gap.denominator, slope.numerator, slope.denominator, strict=strict
        )
        return True

    def advance(self) -> int | None:
        """Iterations to the next one that may differ (≥ 1); None if none ever does."""
        if self.numerator is None:
            return None
        whole, rest = divmod(int(self.numerator), int(self.denominator))
        if self.inclusive:
            return whole + 1
        return max(1, whole + (1 if rest else 0))


class _Unsure:
    """price_located could not settle the price with floats: work it out the exact way."""


_UNSURE = _Unsure()


@dataclass
class _Price:
    rho: Rational  # price per unit of utility (pabutools' "affordability")
    pi: Rational  # price per unit of value (= rho · kappa): what a full payer pays per value
    # Supporters with money, poorest first (by budget ÷ value); None: not yet worked out
    # (price_located), buy() does so.
    groups: list[_Group] | None
    poor: int  # the first ``poor`` groups pay all they have
    # The denominators the groups' budgets and slopes are over (the state's when priced).
    denominator: int
    slope_denominator: int
    # How rho and pi change per Add1 iteration while the same supporters pay in full.
    rho_slope: Rational = field(default_factory=mpq)
    pi_slope: Rational = field(default_factory=mpq)


class _Purchase(NamedTuple):
    """A purchase as a run records it; its figures are worked out for the explained run only."""

    project: int
    rho: Rational
    pi: Rational
    before: int  # the pot left before it, scaled by n
    after: int
    payers: int
    most: int  # the most one supporter paid, over ``denominator``
    denominator: int
    tied: int

    def figures(self, voters: _Voters, cost: int) -> dict[str, Value]:
        """The step's figures as the outcome reports them."""
        n = voters.total
        return {
            "rho": _fraction(self.rho),
            "effective_votes": _fraction(cost / self.pi),
            "money_before": self.before // n,
            "money_after": self.after // n,
            "supporters": voters.supporters[self.project],
            "payers": self.payers,
            "max_paid": Fraction(self.most, self.denominator),
            "tied": self.tied,
        }


@dataclass
class _Run:
    """One run of Equal Shares at a fixed endowment, with every purchase recorded."""

    selected: list[int] = field(default_factory=list)
    steps: list[_Purchase] = field(default_factory=list)
    leftover: dict[int, Rational] = field(default_factory=dict)  # unfunded: supporters' money
    spent: int = 0
    # Iterations after this one that provably give the same outcome + 1 (None: all of them).
    advance: int | None = 1
    endowment: int = 0  # scaled by n
    state: _State | None = None  # the budgets when counting ended, until leftover is taken
    # Add1: where later iterations may start (see _Checkpoint), and whether this run started
    # at one (its steps then hold only the purchases after it).
    checkpoints: list[_Checkpoint] = field(default_factory=list)
    resumed: bool = False
    # Add1: counting stopped once the outcome could no longer stop Add1 (see _run).
    cut_short: bool = False

    def explain_leftover(self, voters: _Voters) -> None:
        """What each unfunded project's supporters hold when counting ended."""
        if self.state is None:
            return
        funded = set(self.selected)
        for p, members in enumerate(voters.members):
            if members.size and p not in funded:
                self.leftover[p] = self.state.money_of(p)
        self.state = None


class _State:
    """Budgets of all merged ballots as exact classes over a common denominator.

    Class 0 is the empty purse. A purchase moves each group of supporters to a new class; the
    classes nobody is left in are dropped now and then (``_renumber``).
    Each class also has a slope (numerator over ``slope_denominator``): its growth per Add1
    iteration, for the horizon (see _Horizon); class 0 is the only one with no money and no slope.

    The common denominators only grow, by a factor at a purchase. Rather than multiply every
    live class by it (thousands of big integers per purchase in a large election), a class
    stores its numerators over the denominators of its *epoch*, the purchase it was made in,
    and ``value_scale[epoch]`` / ``slope_scale[epoch]`` carry them to today's denominators.
    """

    def __init__(self, voters: _Voters, endowment: int, step: int) -> None:
        self.voters = voters
        self.denominator = voters.total  # budgets are numerator / denominator minor units
        self.numerators: list[int] = [0, endowment]  # over the class's epoch denominator
        self.slope_denominator = 1
        self.slopes: list[int] = [0, step]  # minor units per voter per iteration
        self.epoch_of: list[int] = [0, 0]
        self.value_scale: list[int] = [1]  # today's denominator ÷ the epoch's
        self.slope_scale: list[int] = [1]
        self.class_of: IntArray = np.ones(voters.size, dtype=np.int64)
        self.class_list: list[int] = [1] * voters.size if any(voters.few) else []
        # Each class's budget in minor units as the nearest float (where voters.floated): they
        # screen out projects surely out of reach (_surely_short) and locate prices.
        self.floats: npt.NDArray[np.float64] = np.zeros(0, dtype=np.float64)
        if voters.floated:
            self._float_classes(1, [endowment])
        # When there are this many classes, number the ones still holding someone again.
        self.renumber_at = RENUMBER_SLACK
        # Prices worked out since the last purchase that touched their supporters: still exact.
        self.fresh: dict[int, _Price] = {}

    def _keys(self, project: int, classes: IntArray | None = None) -> tuple[IntArray, int]:
        voters = self.voters
        span = voters.max_value[project]
        if classes is None:
            classes = self.class_of[voters.members[project]]
        if span == 1:
            return classes, span
        return classes * span + (voters.values[project] - 1), span

    def groups(self, project: int, classes: IntArray | None = None) -> tuple[list[_Group], int]:
        """The supporters of ``project`` who have money (or gain some), by class and value.

        Also what they hold together, as a numerator over ``denominator``. ``classes`` are
        the supporters' classes where the caller has them already.
        """
        voters = self.voters
        items: Iterable[tuple[int, int]]
        if voters.few[project]:
            items, span = self._count_few(project).items(), 1
        else:
            members = voters.members[project]
            if members.size == 0:
                return [], 0
            keys, span = self._keys(project, classes)
            counts = _weighted_counts(keys, voters.weights[project])
            present = counts.nonzero()[0]
            items = zip(present.tolist(), counts[present].tolist(), strict=True)
        numerators, slopes, epoch_of = self.numerators, self.slopes, self.epoch_of
        value_scale, slope_scale = self.value_scale, self.slope_scale
        current = len(value_scale) - 1
        groups: list[_Group] = []
        total = 0
        if span == 1:
            # Every supporter has value 1 (approval, cost or cardinality utility): key = class.
            for c, weight in items:
                if c:
                    epoch = epoch_of[c]
                    if epoch != current:
                        numerators[c] *= value_scale[epoch]
                        slopes[c] *= slope_scale[epoch]
                        epoch_of[c] = current
                    numerator = numerators[c]
                    total += numerator * weight
                    groups.append((numerator, 1, weight, c, slopes[c]))
            return groups, total
        for key, weight in items:
            c = key // span
            if c:
                epoch = epoch_of[c]
                if epoch != current:
                    # Bring the class to today's denominators once, not at every look.
                    numerators[c] *= value_scale[epoch]
                    slopes[c] *= slope_scale[epoch]
                    epoch_of[c] = current
                numerator = numerators[c]
                total += numerator * weight
                groups.append((numerator, key % span + 1, weight, key, slopes[c]))
        return groups, total

    def _count_few(self, project: int) -> dict[int, int]:
        """Voters per class among the supporters of a project with few (see _Voters.few)."""
        classes = self.class_list
        counted: dict[int, int] = {}
        get = counted.get
        for member, weight in self.voters.few_supporters[project]:
            c = classes[member]
            counted[c] = get(c, 0) + weight
        return counted

    def price(self, project: int, cost: int, horizon: _Horizon | None = None) -> _Price | None:
        """The smallest price at which the supporters can pay ``cost``; None if they cannot."""
        known = self.fresh.get(project)
        if known is not None:
            return known
        voters = self.voters
        classes = None
        if not voters.few[project] and voters.members[project].size:
            classes = self.class_of[voters.members[project]]
            # (Where prices are located, price_located screens its classes, fewer than voters.)
            screen = horizon is None and voters.floated and voters.located_from is None
            if screen and self._surely_short(classes, voters.weights[project], cost):
                return None
        if voters.located_from is not None and voters.max_value[project] == 1:
            located = self.price_located(project, cost, horizon, classes)
            if not isinstance(located, _Unsure):
                if located is not None:
                    self.fresh[project] = located
                return located
        groups, total = self.groups(project, classes)
        scaled_cost = cost * self.denominator
        if total < scaled_cost:
            if horizon is not None:
                # Out of reach: it stays so while cost − Σ budgets(t) > 0.
                growth = sum(map(mul, map(itemgetter(4), groups), map(itemgetter(2), groups)))
                horizon.keep_sign(
                    scaled_cost - total,
                    self.denominator,
                    -growth,
                    self.slope_denominator,
                    strict=True,
                )
            return None
        remaining = self._poorest_first(project, groups)
        paid = 0
        paid_slope = 0
        kappa = self.voters.kappa[project]
        for position, (numerator, value, weight, _, slope) in enumerate(groups):
            owed = scaled_cost - paid
            # pabutools: the first supporter (poorest first) who can pay afford·sat is rich,
            # and with them everyone after; before them all pay their whole budget.
            if owed * value <= numerator * remaining:
                pi = mpq(owed, self.denominator * remaining)
                rho = pi / kappa
                found = _Price(rho, pi, groups, position, self.denominator, self.slope_denominator)
                if horizon is not None and paid_slope:
                    found.pi_slope = mpq(-paid_slope, self.slope_denominator * remaining)
                    found.rho_slope = found.pi_slope / kappa
                self.fresh[project] = found
                return found
            paid += weight * numerator
            paid_slope += weight * slope
            remaining -= weight * value
        raise AssertionError("unreachable: the supporters had enough money")  # pragma: no cover

    def _surely_short(self, classes: IntArray, weights: npt.NDArray[np.float64], cost: int) -> bool:
        """Whether float budgets prove that these supporters cannot pay ``cost`` (True is sure).

        About half the projects priced in an Add1 run turn out to be out of reach; this tells
        most of them without grouping their supporters. (A run working out its horizon needs
        the exact shortfall, so it does not ask.)
        """
        # Each float is within 2⁻⁵³ (relative) of the exact budget and a sum of k such
        # products within (k + 2)·2⁻⁵³ of the exact sum; FLOAT_MARGIN covers the rest.
        slack = FLOAT_MARGIN + (classes.size + 2) * FLOAT_ERROR
        # Multiplied and summed by NumPy, not a BLAS dot (``@``), which runs threads on long
        # vectors: a count keeps to one core.
        most = float(np.multiply(self.floats[classes], weights).sum()) * (1 + slack)
        return most < cost * (1 - FLOAT_MARGIN)

    def _poorest_first(self, project: int, groups: list[_Group]) -> int:
        """Sort the groups of ``project`` poorest first; return their total value · voters.

        Groups level in budget ÷ value all pay in full or all pay everything they have, so
        their order among themselves does not matter.
        """
        if self.voters.max_value[project] > 1:
            # Order by budget ÷ value exactly: scale every budget to a common value multiple.
            common = math.lcm(*{g[1] for g in groups})
            groups.sort(key=lambda g: g[0] * (common // g[1]))
            return sum(g[1] * g[2] for g in groups)
        groups.sort(key=itemgetter(0))
        return sum(map(itemgetter(2), groups))

    def price_located(
        self, project: int, cost: int, horizon: _Horizon | None, classes: IntArray | None = None
    ) -> _Price | _Unsure | None:
        """``price``, the payers located with float budgets and every decision made exactly.

        A project with many budget classes (approval-like values of 1) is priced without
        building a group per class: the classes are ordered by their float budgets, the
        float sums find the first class that pays in full, and exact sums over the classes
        before it confirm that split (see FLOAT_MARGIN). Where floats could mislead, or the
        horizon needs exact figures for a project out of reach, it returns _UNSURE.
        """
        voters = self.voters
        classes, _ = self._keys(project, classes)
        counts = np.bincount(classes, weights=voters.weights[project])
        present = counts.nonzero()[0]
        present = present[present != 0]
        if voters.located_from is None or present.size < voters.located_from:
            return _UNSURE
        order = present[np.argsort(self.floats[present], kind="stable")]
        budgets = self.floats[order]
        weights = counts[order]
        voters_in_all = int(weights.sum())
        spend = budgets * weights
        total = float(spend.sum())
        if total < cost * (1 - FLOAT_MARGIN):
            return None if horizon is None else _UNSURE  # out of reach, surely
        # Paid by the classes before each one if they all pay everything, and who is left.
        paid = np.cumsum(spend) - spend
        left = voters_in_all - (np.cumsum(weights) - weights)
        pays_full = np.flatnonzero(cost - paid <= budgets * left)
        if pays_full.size == 0:
            return _UNSURE
        k = int(pays_full[0])
        # The poor classes (before k) must lie clearly below the others, and the last poor
        # class and the first full payer clearly apart from their neighbours, for the exact
        # checks below to be about the classes the exact ordering would put there.
        margin = 1 + FLOAT_MARGIN
        if k and not budgets[k] > budgets[k - 1] * margin:
            return _UNSURE
        if k > 1 and not budgets[k - 1] > budgets[k - 2] * margin:
            return _UNSURE
        if k + 1 < budgets.size and not budgets[k + 1] > budgets[k] * margin:
            return _UNSURE
        poor = order[: k + 1].tolist()  # with the first full payer
        self._catch_up(poor)
        numerators = list(map(self.numerators.__getitem__, poor))
        poor_weights = weights[:k].astype(np.int64).tolist()
        spent = sum(map(mul, numerators, poor_weights))
        remaining = voters_in_all - sum(poor_weights)
        owed = cost * self.denominator - spent
        if not owed <= numerators[k] * remaining:
            return _UNSURE
        if k and not owed + numerators[k - 1] * poor_weights[-1] > numerators[k - 1] * (
            remaining + poor_weights[-1]
        ):
            return _UNSURE
        pi = mpq(owed, self.denominator * remaining)
        kappa = voters.kappa[project]
        found = _Price(pi / kappa, pi, None, k, self.denominator, self.slope_denominator)
        if horizon is not None:
            slopes = map(self.slopes.__getitem__, poor[:k])
            paid_slope = sum(map(mul, slopes, poor_weights))
            if paid_slope:
                found.pi_slope = mpq(-paid_slope, self.slope_denominator * remaining)
                found.rho_slope = found.pi_slope / kappa
        return found

    def _catch_up(self, classes: list[int]) -> None:
        """Bring these classes to today's denominators (once per epoch, not at every look)."""
        epoch_of = self.epoch_of
        current = len(self.value_scale) - 1
        numerators, slopes = self.numerators, self.slopes
        value_scale, slope_scale = self.value_scale, self.slope_scale
        for c in classes:
            epoch = epoch_of[c]
            if epoch != current:
                numerators[c] *= value_scale[epoch]
                slopes[c] *= slope_scale[epoch]
                epoch_of[c] = current

    def money_of(self, project: int) -> Rational:
        """What the supporters of ``project`` have left, in minor units."""
        return mpq(self.groups(project)[1], self.denominator)

    def buy(
        self,
        project: int,
        price: _Price,
        horizon: _Horizon | None = None,
        before_change: Callable[[], None] | None = None,
    ) -> tuple[int, int]:
        """Charge the supporters; return how many paid and the most one of them paid.

        The most is a numerator over ``denominator`` as it is after the purchase. Once the
        purchase's checks are on the horizon and before any budget changes (denominators may
        have grown, values have not), ``before_change`` is called.
        """
        groups, poor = price.groups, price.poor
        if groups is None:
            # Located with floats (price_located): the same split, group by group, exactly.
            groups = self.groups(project)[0]
            self._poorest_first(project, groups)
            price.groups = groups
            price.denominator, price.slope_denominator = self.denominator, self.slope_denominator
        value_carry = self.denominator // price.denominator
        slope_carry = self.slope_denominator // price.slope_denominator
        if value_carry > 1 or slope_carry > 1:
            # Priced before other purchases (see fresh): its budgets over today's denominators.
            groups = [(g[0] * value_carry, g[1], g[2], g[3], g[4] * slope_carry) for g in groups]
        pi = price.pi
        # Budgets stay Python ints: mixing gmpy2's mpz into them makes every later step slower.
        pi_numerator, pi_denominator = int(pi.numerator), int(pi.denominator)
        factor = pi_denominator // math.gcd(self.denominator, pi_denominator)
        slope_numerator, slope_denominator = (
            int(price.pi_slope.numerator),
            int(price.pi_slope.denominator),
        )
        slope_factor = slope_denominator // math.gcd(self.slope_denominator, slope_denominator)
        if factor > 1 or slope_factor > 1:
            # A new epoch: older classes are carried over by their epoch's scale.
            self.denominator *= factor
            self.slope_denominator *= slope_factor
            self.value_scale = [scale * factor for scale in self.value_scale] + [1]
            self.slope_scale = [scale * slope_factor for scale in self.slope_scale] + [1]
        unit_charge = pi_numerator * (self.denominator // pi_denominator)
        unit_slope = slope_numerator * (self.slope_denominator // slope_denominator)
        rich = groups[poor:]
        # The first ``poor`` groups pay all they have and join class 0; each other group pays
        # π per unit of value and becomes a new class (lists built in C: this is per group).
        if self.voters.max_value[project] == 1:
            left = [g[0] * factor - unit_charge for g in rich]
            most = unit_charge if rich else 0
        else:
            left = [g[0] * factor - unit_charge * g[1] for g in rich]
            most = unit_charge * max(g[1] for g in rich) if rich else 0
        if poor:
            most = max(most, max(g[0] for g in groups[:poor]) * factor)
        if horizon is None:
            left_slope: list[int] = [0] * len(rich)
        else:
            left_slope = [g[4] * slope_factor - unit_slope * g[1] for g in rich]
            charges = (factor, slope_factor, unit_charge, unit_slope)
            self._keep_payers(horizon, groups[:poor], charges, left, left_slope)
        if before_change is not None:
            before_change()
        numerators = self.numerators
        first = len(numerators)
        targets = [0] * poor
        targets.extend(range(first, first + len(rich)))
        numerators.extend(left)
        self.epoch_of.extend([len(self.value_scale) - 1] * len(rich))
        if self.voters.floated:
            self._float_classes(first, left)
        self.slopes.extend(left_slope)
        if 0 in left:
            # Paid exactly all it had: an empty purse, unless it grows again in later iterations.
            for position, (gap, slope) in enumerate(zip(left, left_slope, strict=True)):
                if gap == 0 and slope == 0:
                    targets[poor + position] = 0
        # Every supporter with money is in a group; the others go to class 0.
        self._move(project, [g[3] for g in groups], targets)
        fresh = self.fresh
        if fresh:
            # The prices of projects sharing no supporter with this one stay as they were.
            for changed in fresh.keys() & self.voters.neighbours[project]:
                del fresh[changed]
        if len(numerators) > self.renumber_at:
            self._renumber()
        return sum(map(itemgetter(2), groups)), most

    def _move(self, project: int, keys: list[int], targets: list[int]) -> None:
        """Move the supporters of ``project`` in each group ``keys[i]`` to class ``targets[i]``."""
        voters = self.voters
        classes = self.class_list
        if voters.few[project]:
            target_of = dict(zip(keys, targets, strict=True)).get
            supporters = [member for member, _ in voters.few_supporters[project]]
            moved = [target_of(classes[member], 0) for member in supporters]
            for member, c in zip(supporters, moved, strict=True):
                classes[member] = c
            self.class_of[voters.members[project]] = moved
            return
        old, _ = self._keys(project)
        remap = np.zeros(int(old.max()) + 1, dtype=np.int64)
        remap[keys] = targets
        new = remap[old]
        self.class_of[voters.members[project]] = new
        if classes:
            for member, c in zip(voters.members[project].tolist(), new.tolist(), strict=True):
                classes[member] = c

    def _float_classes(self, first: int, numerators: list[int]) -> None:
        """Record the float values of the classes ``first``, ``first + 1``, … (see _Voters)."""
        end = first + len(numerators)
        if end > self.floats.size:
            grown = np.zeros(max(2 * self.floats.size, end), dtype=np.float64)
            grown[: self.floats.size] = self.floats
            self.floats = grown
        denominator = self.denominator
        self.floats[first:end] = [numerator / denominator for numerator in numerators]

    def _keep_payers(
        self,
        horizon: _Horizon,
        poorest: list[_Group],
        charges: tuple[int, int, int, int],
        left: list[int],
        left_slope: list[int],
    ) -> None:
        """Record that each group keeps paying as it does: all it has, or π per unit of value.

        A group that pays all it has (``poorest``) stays so while budget − π·value ≤ 0; one
        that pays in full (what it has ``left``, and its slope) while budget − π·value ≥ 0.
        ``charges`` is (factor, slope factor, π and its slope per unit of value, as
        numerators). Every check has the same denominators, so only the tightest (the smallest
        root a / b) goes to the horizon.
        """
        factor, slope_factor, unit_charge, unit_slope = charges
        roots = [
            (unit_charge * value - numerator * factor, gap_slope)
            for numerator, value, _, _, slope in poorest
            if (gap_slope := slope * slope_factor - unit_slope * value) > 0
        ]
        # Budgets only grow with the endowment and π only falls, so a full payer's budget left
        # almost never falls: a pass in C rules that out before any root is worked out.
        if left_slope and min(left_slope) < 0:
            roots += [(gap, -s) for gap, s in zip(left, left_slope, strict=True) if s < 0]
        if not roots:
            return
        tightest = roots[0]
        for root in roots[1:]:
            if root[0] * tightest[1] < tightest[0] * root[1]:
                tightest = root
        horizon.keep_sign(
            tightest[0], self.denominator, -tightest[1], self.slope_denominator, strict=False
        )

    def snapshot(self) -> _State:
        """A copy of these budgets that later purchases on this state leave as they are.

        Only for ``moved``: the copy has no ``class_list`` and prices nothing itself.
        """
        twin = object.__new__(_State)
        twin.voters = self.voters
        twin.denominator, twin.slope_denominator = self.denominator, self.slope_denominator
        twin.numerators, twin.slopes = self.numerators.copy(), self.slopes.copy()
        twin.epoch_of = self.epoch_of.copy()
        twin.value_scale, twin.slope_scale = self.value_scale.copy(), self.slope_scale.copy()
        twin.class_of, twin.renumber_at = self.class_of.copy(), self.renumber_at
        twin.class_list = []
        twin.floats = self.floats  # moved() works out its own
        twin.fresh = {}
        return twin

    def moved(self, delta: int) -> _State:
        """These budgets ``delta`` Add1 iterations later (each class grows by its slope).

        Valid only while the purchases made so far still happen there (the caller checks
        their horizon). The live classes are numbered 1, 2, … again, all in one epoch.
        """
        keep = self._held()
        denominator = math.lcm(self.denominator, self.slope_denominator)
        value_factor = denominator // self.denominator
        slope_factor = denominator // self.slope_denominator * delta
        # Class by class in comprehensions: a checkpoint late in a run has hundreds of classes.
        epochs = [self.epoch_of[c] for c in keep]
        value_scale = [scale * value_factor for scale in self.value_scale]
        slope_scale = self.slope_scale
        slopes = [self.slopes[c] * slope_scale[e] for c, e in zip(keep, epochs, strict=True)]
        numerators = [
            self.numerators[c] * value_scale[e] + slope * slope_factor
            for c, e, slope in zip(keep, epochs, slopes, strict=True)
        ]
        twin = object.__new__(_State)
        twin.voters = self.voters
        twin.denominator, twin.slope_denominator = denominator, self.slope_denominator
        twin.numerators, twin.slopes = numerators, slopes
        twin.epoch_of = [0] * len(keep)
        twin.value_scale, twin.slope_scale = [1], [1]
        twin.class_of = self._class_of_renumbered(keep)
        twin.class_list = twin.class_of.tolist() if any(self.voters.few) else []
        twin.renumber_at = 2 * len(keep) + RENUMBER_SLACK
        twin.floats = np.zeros(0, dtype=np.float64)
        if self.voters.floated:
            twin._float_classes(0, numerators)
        twin.fresh = {}
        return twin

    def _class_of_renumbered(self, keep: list[int]) -> IntArray:
        """Each merged ballot's class once the classes ``keep`` are numbered 0, 1, 2, …"""
        mapping = np.zeros(len(self.numerators), dtype=np.int64)
        mapping[keep] = np.arange(len(keep), dtype=np.int64)
        return mapping[self.class_of]

    def _renumber(self) -> None:
        """Number the classes still holding someone 1, 2, … again, so counts stay short."""
        keep = self._held()
        self.class_of = self._class_of_renumbered(keep)
        if self.class_list:
            self.class_list = self.class_of.tolist()
        self.numerators = [self.numerators[c] for c in keep]
        self.slopes = [self.slopes[c] for c in keep]
        self.epoch_of = [self.epoch_of[c] for c in keep]
        self.renumber_at = 2 * len(keep) + RENUMBER_SLACK
        if self.voters.floated:
            self.floats = self.floats[keep]
        self.fresh.clear()  # their groups name classes by the old numbers

    def _held(self) -> list[int]:
        """Class 0 and, in order, every class some merged ballot is in."""
        held = np.zeros(len(self.numerators), dtype=bool)
        held[self.class_of] = True
        held[0] = True
        return np.flatnonzero(held).tolist()


# A heap entry: (lower bound on rho now, project, how that bound changes per iteration).
_Bound = tuple[Rational, int, Rational]


@dataclass(frozen=True)
class _Checkpoint:
    """An Add1 run after some purchases, and the Add1 iterations where they happen again.

    Neighbouring Add1 iterations mostly share their first purchases even where the outcome
    differs. While the horizon of the purchases so far (see _Horizon) reaches an iteration,
    that iteration's run starts here, moved along, instead of from nothing.
    """

    state: _State  # a snapshot: nothing changes it
    heap: list[_Bound]
    left: int
    selected: tuple[int, ...]
    spent: int
    endowment: int  # the endowment (scaled by n) these budgets are at
    until: int | None  # the last endowment where these purchases still happen; None: all

    def holds_at(self, endowment: int) -> bool:
        """Whether the purchases up to here happen in the run at ``endowment`` too."""
        return self.until is None or endowment <= self.until


def _run(
    election: Election,
    voters: _Voters,
    rank: Mapping[str, int],
    endowment: int,
    explain: bool,
    step: int = 0,
    resume: Sequence[_Checkpoint] = (),
    track: bool = True,
    stop: Literal["exhaustive", "feasible"] | None = None,
) -> _Run:
    """Equal Shares at ``endowment / n`` minor units per voter (one pabutools inner run).

    With a ``step`` (Add1), the run also finds how many further iterations of that step give
    the same outcome (``_Run.advance``, see _Horizon). With ``explain`` it also records what
    each unfunded project's supporters hold at the end; without, it keeps the budgets so
    ``_Run.explain_leftover`` can do so later if Add1 chooses this run. It starts from the last
    of the earlier run's checkpoints in ``resume`` that holds at ``endowment``, if any; without
    ``track`` it neither works out the horizon nor keeps checkpoints of its own.

    With Add1's ``stop`` rule, the run ends as soon as its outcome provably cannot stop Add1
    (``_Run.cut_short``): the projects still in reach could not together overspend the
    budget, and, for an exhaustive stop, one out of reach would still fit beside them.
    """
    costs = [project.cost for project in election.projects]
    order = [rank[project.id] for project in election.projects]  # tie-break rank by index
    horizon = _Horizon() if step and track else None
    run = _Run()
    n = voters.total
    held = [c.holds_at(endowment) for c in resume]
    start = held.index(False) if False in held else len(held)  # checkpoints hold up to a point
    until: int | None = None
    if not start:
        state = _State(voters, endowment, step if track else 0)
        # A project's last price is a lower bound for the rest of the run (budgets only
        # shrink); its first bound is cost ÷ total utility, as pabutools' initial
        # affordability. A heap keyed by that bound hands out only the projects that could
        # still beat the best price.
        zero = mpq(0)
        heap: list[_Bound] = [(bound, p, zero) for bound, p, _ in voters.first_bounds]
        # The entries whose bound moves with the endowment (the others never do), by project.
        moving: dict[int, _Bound] = {}
        left = election.budget * n  # the pot, scaled by n like the budgets
    else:
        checkpoint = resume[start - 1]
        delta = (endowment - checkpoint.endowment) // (step * n)
        state = checkpoint.state.moved(delta)
        # A price worked out with its payers split as they were, at any later budgets, is no
        # more than the price then (Σ min(budget, π·value) ≤ that split's sum), so a bound
        # moved along its slope still bounds the price from below.
        heap = [
            (entry[0] + delta * entry[2], entry[1], entry[2]) if entry[2] else entry
            for entry in checkpoint.heap
        ]
        heapq.heapify(heap)
        moving = {entry[1]: entry for entry in heap if entry[2]}
        left, until = checkpoint.left, checkpoint.until
        run.selected, run.spent = list(checkpoint.selected), checkpoint.spent
        run.checkpoints, run.resumed = list(resume[:start]), True
    next_endowment = endowment + step * n
    if until is not None and until < next_endowment:
        horizon = None  # the purchases so far do not happen at the next endowment (see below)
    budget = election.budget
    # What the projects still in the heap (not funded, not out of reach) cost together, and
    # the cheapest project out of reach (None: none yet).
    pending = sum(costs[entry[1]] for entry in heap)
    out_of_reach = [
        costs[p]
        for p in set(range(len(costs))) - {entry[1] for entry in heap} - set(run.selected)
        if voters.members[p].size
    ]
    cheapest = min(out_of_reach) if out_of_reach else None
    # The checkpoint after the last purchase, all but its budgets (_Checkpoint's other fields
    # in order). Only the last of the checkpoints that hold equally far is ever started from,
    # so the budgets are copied only once the next purchase holds less far (settle).
    unsaved: tuple[list[_Bound], int, tuple[int, ...], int, int, int | None] | None = None

    def save() -> None:
        """Keep the unsaved checkpoint, with a copy of the budgets (unchanged in value since)."""
        assert unsaved is not None
        run.checkpoints.append(_Checkpoint(state.snapshot(), *unsaved))

    def settle() -> None:
        """Once a purchase's checks are on the horizon, before any budget changes (see buy)."""
        nonlocal until, unsaved
        assert horizon is not None
        advance = horizon.advance()
        if advance is not None:
            reach = endowment + (advance - 1) * step * n
            until = reach if until is None else min(until, reach)
        if unsaved is not None and until != unsaved[-1]:
            save()
        unsaved = None

    while heap:
        if (
            stop is not None
            and cheapest is not None
            and run.spent + pending <= budget
            and (stop == "feasible" or cheapest <= budget - run.spent - pending)
        ):
            # However it goes on, this run neither overspends nor is exhaustive (nor funds
            # every project): Add1 goes on to the next iteration, so counting on is moot.
            run.cut_short = True
            break
        best: Rational | None = None
        tied: list[tuple[int, _Price]] = []
        looked: list[tuple[int, _Price]] = []
        # pabutools breaks at the first project whose bound is above the best price so far;
        # projects whose bound equals it are still examined, so every tie is found.
        while heap and (best is None or heap[0][0] <= best):
            _, p, slope = heapq.heappop(heap)
            if slope:
                del moving[p]
            pending -= costs[p]
            price = state.price(p, costs[p], horizon)
            if price is None:
                # Its supporters can no longer pay for it in this run.
                cheapest = costs[p] if cheapest is None else min(cheapest, costs[p])
                continue
            looked.append((p, price))
            if best is None or price.rho < best:
                best, tied = price.rho, [(p, price)]
            elif price.rho == best:
                tied.append((p, price))
        if not tied:
            break
        winner, price = tied[0] if len(tied) == 1 else min(tied, key=lambda t: order[t[0]])
        for p, other in looked:
            if p != winner:
                entry = (other.rho, p, other.rho_slope)
                heapq.heappush(heap, entry)
                pending += costs[p]
                if other.rho_slope:
                    moving[p] = entry
        if horizon is not None:
            for p in _keep_winner_ahead(state, horizon, heap, moving, winner, price, order, costs):
                # Priced again at this purchase (see _keep_winner_ahead): out of reach.
                pending -= costs[p]
                cheapest = costs[p] if cheapest is None else min(cheapest, costs[p])
        before = left
        payers, most = state.buy(winner, price, horizon, settle if horizon is not None else None)
        left -= costs[winner] * n
        run.selected.append(winner)
        run.spent += costs[winner]
        if horizon is not None:
            if until is not None and until < next_endowment:
                # The purchases so far do not happen at the next endowment: the rest of the
                # run can neither skip an iteration nor leave a checkpoint, so it stops
                # working out how far its outcome holds (run.advance stays 1).
                horizon = None
            else:
                unsaved = (heap.copy(), left, tuple(run.selected), run.spent, endowment, until)
        # Every step is kept (cheaply), so Add1 need not rerun the iteration it chooses.
        run.steps.append(
            _Purchase(
                winner,
                price.rho,
                price.pi,
                before,
                left,
                payers,
                most,
                state.denominator,
                len(tied),
            )
        )
    if unsaved is not None:
        save()
    if horizon is not None:
        # A run cut short holds its purchases and out-of-reach projects as far as the horizon
        # reaches, so the iterations it skips are cut short (cannot stop Add1) as well.
        run.advance = horizon.advance()
        if until is not None:
            # The purchases this run started from hold only so far.
            reach = (until - endowment) // (step * n) + 1
            run.advance = reach if run.advance is None else min(run.advance, reach)
    run.endowment = endowment
    run.state = state
    if explain:
        run.explain_leftover(voters)
    return run


def _keep_winner_ahead(
    state: _State,
    horizon: _Horizon,
    heap: list[_Bound],
    moving: dict[int, _Bound],
    winner: int,
    price: _Price,
    order: list[int],
    costs: list[int],
) -> list[int]:
    """Record that every other project's price stays above the winner's (see _Horizon).

    Each must stay above, or level where the tie-break still favours the winner. The heap
    holds lower bounds; one that would meet the winner's price within REFRESH_WITHIN
    iterations is usually old (worked out before purchases that took money from its
    supporters), so the project is priced again now and its entry renewed: its price may meet
    the winner's much later. Returns the projects that then prove out of reach, taken off
    the heap (they stay so for the rest of the run, and the horizon records until when).
    """
    win_rank = order[winner]
    # Most bounds never move (first bounds): while the winner's price falls, no check.
    watched = moving.values() if price.rho_slope <= 0 else heap
    stale = [
        entry
        for entry in watched
        if not horizon.keep_above(
            entry[0],
            entry[2],
            price.rho,
            price.rho_slope,
            strict=order[entry[1]] < win_rank,
            unless_within=REFRESH_WITHIN,
        )
    ]
    gone: list[int] = []
    for entry in stale:
        p = entry[1]
        heap.remove(entry)
        if entry[2]:
            del moving[p]
        now = state.price(p, costs[p], horizon)
        if now is None:
            gone.append(p)
            continue
        horizon.keep_above(
            now.rho, now.rho_slope, price.rho, price.rho_slope, strict=order[p] < win_rank
        )
        renewed = (now.rho, p, now.rho_slope)
        heap.append(renewed)
        if now.rho_slope:
            moving[p] = renewed
    if stale:
        heapq.heapify(heap)
    return gone


@dataclass(frozen=True)
class _Add1:
    run: _Run
    endowment: int  # scaled by n
    iterations: int
    step: int
    stop_reason: str


def _add1(
    election: Election,
    voters: _Voters,
    rank: Mapping[str, int],
    start: Literal["exact", "floor"],
    stop: Literal["exhaustive", "feasible"],
    step: int,
    progress: Callable[[str], None] | None,
    jump: bool = True,
) -> _Add1:
    """Raise the endowment by ``step`` until the outcome is exhaustive or would overspend.

    With ``jump``, iterations that provably repeat the outcome before them are not run
    (see _Horizon); without, every iteration is run, as pabutools does (tests compare the two).
    """
    n = voters.total
    budget = election.budget
    if start == "exact":
        endowment = budget  # e = B / n, kept as B over the denominator n
    else:
        # pabulib's checker: whole currency units, e = ⌊B / n⌋.
        unit = election.unit
        endowment = (budget // (n * unit)) * unit * n
    costs = [p.cost for p in election.projects]
    eligible = [p for p, members in enumerate(voters.members) if members.size]
    previous: _Run | None = None
    previous_endowment = endowment
    iterations = 0
    while True:
        iterations += 1
        run = _run(
            election,
            voters,
            rank,
            endowment,
            explain=False,
            step=step,
            resume=previous.checkpoints if previous is not None else (),
            track=jump,
            stop=stop,
        )
        if progress is not None:
            progress(
                f"Add1 iteration {iterations}: endowment "
                f"{format_money(Fraction(endowment, n), election.unit, election.currency)} "
                f"per voter, {len(run.selected)} funded, "
                f"{format_money(run.spent, election.unit, election.currency)} spent"
            )
        if run.spent > budget:
            # pabutools: the next outcome would overspend, so the previous one stands.
            assert previous is not None  # e ≤ B/n never overspends
            return _Add1(previous, previous_endowment, iterations, step, "next would overspend")
        funded = set(run.selected)
        unfunded = [p for p in eligible if p not in funded]
        if not unfunded:
            return _Add1(run, endowment, iterations, step, "every supported project funded")
        # pabutools' is_exhaustive(available_projects=MES projects): supported projects only.
        if stop == "exhaustive" and all(run.spent + costs[p] > budget for p in unfunded):
            return _Add1(run, endowment, iterations, step, "exhaustive")
        # The next run.advance − 1 iterations give this very outcome (see _Horizon), so they
        # would not stop either: skip to the first one that may differ. Its predecessor has
        # this outcome, which is what "the previous one stands" then keeps.
        advance = run.advance if jump else 1
        assert advance is not None  # some unfunded project comes within reach eventually
        iterations += advance - 1
        previous, previous_endowment = run, endowment + (advance - 1) * step * n
        endowment += advance * step * n


def _fraction(value: Rational | int) -> Fraction:
    """An exact rational from a count as the Fraction outcomes carry."""
    return Fraction(int(value.numerator), int(value.denominator))


def _explain_mes(
    election: Election,
    voters: _Voters,
    run: _Run,
) -> tuple[list[Step], dict[str, Reason]]:
    """A step for every purchase and a reason for every project, from the explained run."""
    unit, currency = election.unit, election.currency

    def money(amount: int | Fraction) -> str:
        return format_money(amount, unit, currency)

    # Votes are counted again only to tell "no votes" from "no points", when some project needs it.
    unsupported = any(not members.size for members in voters.members)
    support = support_counts(election) if unsupported else None
    steps: list[Step] = []
    reasons: dict[str, Reason] = {}
    for number, purchase in enumerate(run.steps, start=1):
        project = election.projects[purchase.project]
        detail = purchase.figures(voters, project.cost)
        most = Fraction(purchase.most, purchase.denominator)
        payers = purchase.payers
        before, after = purchase.before // voters.total, purchase.after // voters.total
        detail["cost"] = project.cost
        steps.append(
            Step(
                number=number,
                project_id=project.id,
                decision=Decision.FUNDED,
                phase="equal-shares",
                support=detail["rho"],
                money_before=before,
                money_after=after,
                detail=detail,
            )
        )
        people = "supporter" if payers == 1 else "supporters"
        reasons[project.id] = Reason(
            "funded",
            f"Funded in step {number}: its {payers:,} {people} each paid up to {money(most)}.",
            funded=True,
            step=number,
            params=detail,
        )
    for p, project in enumerate(election.projects):
        if project.id in reasons:
            continue
        supporters = voters.supporters[p]
        params: dict[str, Value] = {"cost": project.cost, "supporters": supporters}
        if supporters == 0:
            assert support is not None  # counted above: this project has no supporters
            text = "Not funded: no votes." if support[project.id] == 0 else "Not funded: no points."
            reasons[project.id] = Reason("no-support", text, funded=False, params=params)
            continue
        left = _fraction(run.leftover.get(p, 0))
        params["supporters_money"] = left
        people = "supporter" if supporters == 1 else "supporters"
        had = "had" if left > 0 else "had nothing"
        amount = f" {money(left)}" if left > 0 else ""
        reasons[project.id] = Reason(
            "supporters-short",
            f"Not funded: its {supporters:,} {people} {had}{amount} left of their equal shares; "
            f"it needed {money(project.cost)}.",
            funded=False,
            params=params,
        )
    return steps, reasons


P = ParamSpec("P")
R = TypeVar("R")


def _without_cycle_collection(count: Callable[P, R]) -> Callable[P, R]:
    """Run ``count`` with Python's cycle collector paused, as it was before afterwards."""

    # A count allocates millions of short-lived tuples and lists and builds no reference
    # cycles: reference counting frees everything, and the collector's passes over the young
    # objects (checkpoints hold long lists) only cost time, about 5% of a long Add1 count.
    @functools.wraps(count)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return count(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return paused


@_without_cycle_collection
def equal_shares(
    election: Election,
    rank: Mapping[str, int],
    *,
    utility: Utility | None = None,
    completion: Completion = "none",
    add1_start: Literal["exact", "floor"] = "exact",
    add1_stop: Literal["exhaustive", "feasible"] = "exhaustive",
    add1_step: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Outcome:
    """Count ``election`` by the Method of Equal Shares, with the chosen completion."""
    utility = utility or default_utility(election)
    rule = "mes" if completion == "none" else f"mes-{completion}"
    voters = _prepare(election, utility)
    n = voters.total
    notes: list[str] = [f"Utility: {utility.value}."]
    if n == 0:
        run = _Run()
        endowment = 0
    elif completion == "none":
        endowment = election.budget
        run = _run(election, voters, rank, endowment, explain=True)
    else:
        step = add1_step
        if step is None:
            step = election.unit
            if election.budget > LARGE_ENDOWMENT * election.unit * n:
                step = LARGE_STEP * election.unit
                notes.append(
                    "Add1 step raised to 100 currency units: the endowment per voter is above "
                    f"{LARGE_ENDOWMENT:,} units."
                )
        add1 = _add1(election, voters, rank, add1_start, add1_stop, step, progress)
        endowment = add1.endowment
        run = add1.run
        if run.endowment == endowment and not run.resumed and not run.cut_short:
            run.explain_leftover(voters)
        else:
            # The chosen iteration was skipped (it repeats an outcome) or started part way:
            # run it whole for its figures.
            run = _run(election, voters, rank, endowment, explain=True)
        notes.append(
            f"Add1 ({add1_start} start, {add1_stop} stop): step "
            f"{format_money(step, election.unit, election.currency)}, {add1.iterations} "
            f"iterations, stopped because {add1.stop_reason}."
        )
    if n:
        share = format_money(Fraction(endowment, n), election.unit, election.currency)
        notes.append(f"Endowment per voter in the final iteration: {share}.")
    steps, reasons = _explain_mes(election, voters, run)
    selected = tuple(election.projects[p].id for p in run.selected)
    mes_outcome = Outcome(
        rule=rule,
        budget=election.budget,
        selected=selected,
        spent=run.spent,
        steps=tuple(steps),
        reasons={p.id: reasons[p.id] for p in election.projects},
        notes=tuple(notes),
        unit=election.unit,
        currency=election.currency,
    )
    if completion == "add1-greedy":
        return _complete(election, rank, mes_outcome, utility)
    if completion == "add1-comparison":
        return _compare(election, rank, mes_outcome, utility)
    return mes_outcome


def _completion_order(utility: Utility) -> Literal["support", "score", "per-cost"]:
    # pabutools completes with greedy_utilitarian_welfare on the same satisfaction: Cost_Sat
    # orders by support, points by score, Cardinality_Sat by support ÷ cost.
    if utility is Utility.POINTS:
        return "score"
    if utility is Utility.CARDINALITY:
        return "per-cost"
    return "support"


def _complete(
    election: Election, rank: Mapping[str, int], mes: Outcome, utility: Utility
) -> Outcome:
    """Greedy over the money Equal Shares left; MES reasons for its projects, greedy's else."""
    extra = greedy(
        election,
        rank,
        order_by=_completion_order(utility),
        initial=mes.selected,
        first_step=len(mes.steps) + 1,
        rule=mes.rule,
    )
    funded_by_mes = set(mes.selected)
    reasons: dict[str, Reason] = {}
    for project in election.projects:
        if project.id in funded_by_mes:
            reasons[project.id] = mes.reasons[project.id]
            continue
        reason = extra.reasons[project.id]
        if reason.funded:
            reason = replace(
                reason,
                text=reason.text.replace("Funded in step", "Funded in the completion step", 1),
            )
        reasons[project.id] = reason
    steps = (*mes.steps, *(replace(s, phase="completion") for s in extra.steps))
    added = len(extra.selected) - len(mes.selected)
    notes = (*mes.notes, f"Greedy completion funded {added} more projects.")
    return replace(
        mes, selected=extra.selected, spent=extra.spent, steps=steps, reasons=reasons, notes=notes
    )


def _preferring(election: Election, first: Sequence[str], second: Sequence[str]) -> int:
    """Voters whose ballot holds more projects of ``first`` than of ``second``."""
    a, b = set(first), set(second)
    count = 0
    for ballot in election.ballots:
        chosen = set(ballot.projects)
        if len(chosen & a) > len(chosen & b):
            count += 1
    return count


def _compare(
    election: Election, rank: Mapping[str, int], mes: Outcome, utility: Utility
) -> Outcome:
    """Wieliczka's comparison: greedy replaces Equal Shares only if more voters prefer it."""
    plain = greedy(election, rank, order_by=_completion_order(utility), rule=mes.rule)
    for_greedy = _preferring(election, plain.selected, mes.selected)
    for_mes = _preferring(election, mes.selected, plain.selected)
    summary = (
        f"Comparison: {for_mes:,} voters have more funded projects they chose under Equal "
        f"Shares, {for_greedy:,} under greedy;"
    )
    if for_greedy > for_mes:
        notes = (*mes.notes, f"{summary} greedy's outcome is used.")
        return replace(plain, notes=notes)
    notes = (*mes.notes, f"{summary} Equal Shares' outcome is kept.")
    return replace(mes, notes=notes)
