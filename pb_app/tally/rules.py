"""The rule registry: one ``count`` for every rule name of tally.md §2, and pabulib's names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from pb_app.tally.election import Election
from pb_app.tally.greedy import default_order, greedy
from pb_app.tally.outcome import Outcome
from pb_app.tally.tiebreak import DEFAULT_FILE_TIE_BREAK, tie_break_rank

RULES: tuple[str, ...] = (
    "greedy",
    "greedy-no-skip",
    "greedy-threshold",
    "greedy-per-cost",
    "mes",
    "mes-add1",
    "mes-add1-greedy",
    "mes-add1-comparison",
    "sequential-irv",
    "stv",
)
GREEDY_RULES = ("greedy", "greedy-no-skip", "greedy-threshold", "greedy-per-cost")
# Equal Shares rule → the completion ``mes.equal_shares`` runs after plain MES.
MES_COMPLETIONS: dict[str, Literal["none", "add1", "add1-greedy", "add1-comparison"]] = {
    "mes": "none",
    "mes-add1": "add1",
    "mes-add1-greedy": "add1-greedy",
    "mes-add1-comparison": "add1-comparison",
}
UTILITIES = ("cost", "cardinality", "points")
ADD1_STARTS = ("exact", "floor")
ADD1_STOPS = ("exhaustive", "feasible")

# pabulib META ``rule`` → our rule; greedy-exclusive, greedy-custom and unknown have none.
PABULIB_RULES = {
    "greedy": "greedy",
    "greedy-no-skip": "greedy-no-skip",
    "greedy-threshold": "greedy-threshold",
    "equalshares": "mes",
    "equalshares/add1": "mes-add1",
    "equalshares/add1-comparison": "mes-add1-comparison",
}


class UnknownRule(ValueError):
    """A rule name that is not one of ``RULES``."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Unknown rule {name!r}; choose one of: {', '.join(RULES)}.")
        self.name = name


@dataclass(frozen=True)
class CountOptions:
    """How to count: the rule and its settings, all declared before the count."""

    rule: str
    utility: str | None = None
    add1_start: str = "exact"
    add1_stop: str = "exhaustive"
    add1_step: int | None = None
    tie_break: tuple[str, ...] = DEFAULT_FILE_TIE_BREAK
    seed: str | None = None
    threshold: int | Fraction | None = None
    grant: int | None = None


def rule_from_pabulib(meta_rule: str) -> str | None:
    """Our rule for a pabulib META ``rule``, or ``None`` when we do not implement it."""
    return PABULIB_RULES.get(meta_rule.strip())


def _check_choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"Unknown {what} {value!r}; choose one of: {', '.join(choices)}.")


def count(
    election: Election,
    options: CountOptions,
    progress: Callable[[str], None] | None = None,
) -> Outcome:
    """Count ``election`` with the rule and settings of ``options``."""
    if options.rule not in RULES:
        raise UnknownRule(options.rule)
    rank = tie_break_rank(election, options.tie_break, options.seed)

    if options.rule in GREEDY_RULES:
        if options.rule == "greedy-threshold" and options.threshold is None:
            raise ValueError("The rule greedy-threshold needs a threshold.")
        return greedy(
            election,
            rank,
            order_by="per-cost" if options.rule == "greedy-per-cost" else default_order(election),
            skip=options.rule != "greedy-no-skip",
            threshold=options.threshold,
            rule=options.rule,
        )

    if options.rule in MES_COMPLETIONS:
        # Imported here so the registry works while the Equal Shares module is optional.
        from pb_app.tally.mes import Utility, equal_shares

        if options.utility is not None:
            _check_choice("utility", options.utility, UTILITIES)
        _check_choice("Add1 start", options.add1_start, ADD1_STARTS)
        _check_choice("Add1 stop", options.add1_stop, ADD1_STOPS)
        if options.add1_step is not None and options.add1_step <= 0:
            raise ValueError("The Add1 step must be a positive number of currency units.")
        start: Literal["exact", "floor"] = "floor" if options.add1_start == "floor" else "exact"
        stop: Literal["exhaustive", "feasible"] = (
            "feasible" if options.add1_stop == "feasible" else "exhaustive"
        )
        outcome: Outcome = equal_shares(
            election,
            rank,
            utility=Utility(options.utility) if options.utility is not None else None,
            completion=MES_COMPLETIONS[options.rule],
            add1_start=start,
            add1_stop=stop,
            add1_step=options.add1_step,
            progress=progress,
        )
        return outcome

    from pb_app.tally.ranked import sequential_irv, stv

    if options.rule == "sequential-irv":
        return sequential_irv(election, rank)
    return stv(election, rank, grant=options.grant)
