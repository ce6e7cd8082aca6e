"""Tie-breaking declared before voting: an ordered list of keys turned into one total order.

Every key here depends only on the election (costs, support, ids, a published seed), so the
order is computed once and is the same in every step and every Add1 iteration.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence

from pb_app.tally.election import Election

TIE_BREAK_KEYS = ("min-cost", "max-cost", "max-support", "id", "lot")
DEFAULT_ROUND_TIE_BREAK = ("min-cost", "max-support", "lot")
DEFAULT_FILE_TIE_BREAK = ("id",)


class TieBreakError(ValueError):
    """A tie-break list names an unknown key, or uses ``lot`` without a seed."""


def parse_tie_break(text: str) -> tuple[str, ...]:
    """Parse ``"min-cost,max-support,lot"`` into keys, rejecting unknown ones in plain words."""
    keys = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [key for key in keys if key not in TIE_BREAK_KEYS]
    if unknown or not keys:
        raise TieBreakError(
            f"Unknown tie-break key {', '.join(unknown) or '(none given)'}; "
            f"use a comma-separated list of: {', '.join(TIE_BREAK_KEYS)}."
        )
    return keys


def lot_order(project_ids: Sequence[str], seed: str) -> list[str]:
    """The lot: ids sorted by SHA-256(seed ‖ ":" ‖ id), reproducible in any language."""
    return sorted(
        project_ids,
        key=lambda pid: hashlib.sha256(f"{seed}:{pid}".encode()).hexdigest(),
    )


def support_counts(election: Election) -> Counter[str]:
    """Number of ballots containing each project (tally.md's ``votes``)."""
    columns = election.columns
    counts: Counter[str] = Counter({project.id: 0 for project in election.projects})
    counts.update(dict(zip(columns.ids, columns.support().tolist(), strict=True)))
    return counts


def tie_break_rank(
    election: Election,
    keys: Sequence[str] = DEFAULT_FILE_TIE_BREAK,
    seed: str | None = None,
    support: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Map each project id to its rank among ties: 0 wins every tie, then 1, and so on.

    Keys resolve in order what the previous left tied; ``id`` (string order, ``"10" < "9"``,
    as pabutools) is always appended last so the order is total.
    """
    for key in keys:
        if key not in TIE_BREAK_KEYS:
            raise TieBreakError(f"Unknown tie-break key {key!r}.")
    if "lot" in keys and seed is None:
        raise TieBreakError("The tie-break uses a lot, so a published seed is needed.")
    votes: Mapping[str, int] = {}
    if "max-support" in keys:
        votes = support if support is not None else support_counts(election)
    lot: dict[str, int] = {}
    if "lot" in keys:
        lot = {
            pid: i for i, pid in enumerate(lot_order([p.id for p in election.projects], seed or ""))
        }

    def sort_key(index: int) -> tuple[object, ...]:
        project = election.projects[index]
        parts: list[object] = []
        for key in (*keys, "id"):
            if key == "min-cost":
                parts.append(project.cost)
            elif key == "max-cost":
                parts.append(-project.cost)
            elif key == "max-support":
                parts.append(-votes.get(project.id, 0))
            elif key == "id":
                parts.append(project.id)
            else:
                parts.append(lot[project.id])
        return tuple(parts)

    ordered = sorted(range(len(election.projects)), key=sort_key)
    return {election.projects[index].id: rank for rank, index in enumerate(ordered)}
