"""Side-by-side timings of pb_app's counts and pabutools 1.2.3 on the shared pabulib files.

Run from the checkout (see benchmarks/README.md):

    PYTHONPATH=. python benchmarks/tally.py [--files NAME ...] [--skip-pabutools-mes-over N]

For every shared file with at least 1,000 voters (and three small ones for reference) it times
our greedy and pabutools' ``greedy_utilitarian_welfare`` (Cost_Sat), our MES Add1 (exact start,
exhaustive stop) and pabutools' ``method_of_equal_shares(..., voter_budget_increment=step)``,
checks the outcomes are identical and prints a table with the ratios. Then it counts a
synthetic 1,000,000-voter, 200-project approval election by ``mes-add1-greedy`` in a fresh
process and reports its wall time and peak memory (VmHWM of that process).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from pb_app.tally.election import Ballot, BallotType, Election, Project
from pb_app.tally.greedy import greedy
from pb_app.tally.mes import equal_shares
from pb_app.tally.pabulib import read_pb
from pb_app.tally.tiebreak import tie_break_rank

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "pabulib"
REFERENCE_SMALL = (
    "Netherlands_Assen_2024.pb",
    "Switzerland_Zurich_S5.pb",
    "Canada_Stanford_Dataset_PB_Dieppe_2018_vote_approvals.pb",
)
T = TypeVar("T")


def timed(call: Callable[[], T]) -> tuple[T, float]:
    """Run ``call`` once; return its result and the wall time in seconds."""
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


def pabutools_counts(
    path: Path, vote_type: str, step: int, run_mes: bool
) -> tuple[list[str], float, list[str] | None, float | None]:
    """pabutools' greedy (Cost_Sat) and, if asked, MES Add1: selections and seconds."""
    from pabutools.election import (
        Additive_Borda_Sat,
        Additive_Cardinal_Sat,
        Cost_Sat,
        parse_pabulib,
    )
    from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares

    instance, profile = parse_pabulib(str(path))
    multi = profile.as_multiprofile()  # identical ballots merged, as tally.md §7 measured
    allocation, greedy_seconds = timed(
        lambda: greedy_utilitarian_welfare(instance, multi, sat_class=Cost_Sat)
    )
    greedy_selected = [p.name for p in allocation]
    if not run_mes:
        return greedy_selected, greedy_seconds, None, None
    sat = {"ordinal": Additive_Borda_Sat, "cumulative": Additive_Cardinal_Sat}.get(
        vote_type, Cost_Sat
    )
    mes, mes_seconds = timed(
        lambda: method_of_equal_shares(instance, multi, sat_class=sat, voter_budget_increment=step)
    )
    return greedy_selected, greedy_seconds, [p.name for p in mes], mes_seconds


def compare_file(name: str, entry: dict[str, Any], skip_mes_over: int) -> dict[str, Any]:
    """Count one file both ways; return the row of the table."""
    election = read_pb(SHARED / name).election
    rank = tie_break_rank(election)
    ours_greedy, ours_greedy_s = timed(lambda: greedy(election, rank, order_by="support"))
    step = entry["add1_step"]
    ours_mes, ours_mes_s = timed(
        lambda: equal_shares(election, rank, completion="add1", add1_step=step * election.unit)
    )
    # pabutools' Additive_Borda_Sat scores len − position − 1, not our len − position, so on
    # ordinal files its outcome is the expected.json one, computed with positional points.
    run_mes = entry["voters"] <= skip_mes_over and entry["vote_type"] != "ordinal"
    their_greedy, their_greedy_s, their_mes, their_mes_s = pabutools_counts(
        SHARED / name, entry["vote_type"], step, run_mes
    )
    # pabutools' greedy also adds zero-support projects that fit at the end: not ours.
    supported = {pid for ballot in election.ballots for pid in ballot.projects}
    greedy_same = list(ours_greedy.selected) == [p for p in their_greedy if p in supported]
    reference = entry["rules"]["mes_add1"]
    if their_mes is None:
        their_mes, their_mes_s, source = (
            reference["selected"],
            reference["pabutools_seconds"],
            ("expected.json"),
        )
    else:
        source = "measured"
    return {
        "file": name.removesuffix(".pb"),
        "voters": entry["voters"],
        "projects": entry["projects"],
        "ours_greedy": ours_greedy_s,
        "pabu_greedy": their_greedy_s,
        "ours_mes": ours_mes_s,
        "pabu_mes": their_mes_s,
        "ref": source,
        "same": greedy_same and list(ours_mes.selected) == their_mes,
    }


def synthetic(voters: int, projects: int, seed: int) -> Election:
    """A seeded approval election: costs spread 20k–1M, each voter approves 3–10 projects."""
    rng = np.random.default_rng(seed)
    costs = np.round(np.exp(rng.uniform(np.log(20_000), np.log(1_000_000), projects)), -3)
    popularity = rng.pareto(1.5, projects) + 1.0
    popularity /= popularity.sum()
    ids = [str(i + 1) for i in range(projects)]
    sizes = rng.integers(3, 11, voters)
    ballots = []
    for size in sizes.tolist():
        chosen = rng.choice(projects, size=size, replace=False, p=popularity)
        ballots.append(Ballot(tuple(ids[i] for i in chosen.tolist())))
    return Election(
        ballot_type=BallotType.APPROVAL,
        budget=int(costs.sum()) // 4,
        projects=tuple(Project(pid, int(c)) for pid, c in zip(ids, costs.tolist(), strict=True)),
        ballots=tuple(ballots),
        currency="PLN",
    )


def peak_memory_mib() -> tuple[float, str]:
    """Peak resident memory of this process in MiB, and where the figure comes from.

    Linux's VmHWM starts afresh with the new program; ``ru_maxrss`` survives ``exec`` and so
    also counts the parent's peak before it started us (pabutools' hundreds of MB).
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024, "VmHWM"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "ru_maxrss"


def run_synthetic(voters: int, projects: int, seed: int) -> None:
    """Build and count the synthetic election; print one line of figures as JSON."""
    election, build_s = timed(lambda: synthetic(voters, projects, seed))
    rank = tie_break_rank(election)
    outcome, count_s = timed(lambda: equal_shares(election, rank, completion="add1-greedy"))
    peak_mib, source = peak_memory_mib()
    print(
        json.dumps(
            {
                "voters": voters,
                "projects": projects,
                "build_s": round(build_s, 1),
                "count_s": round(count_s, 1),
                "peak_mib": round(peak_mib),
                "peak_source": source,
                "funded": len(outcome.selected),
                "spent": outcome.spent,
                "budget": outcome.budget,
                "notes": list(outcome.notes),
            }
        )
    )


def ratio(ours: float, theirs: float | None) -> str:
    """How many times faster we are, e.g. ``23×`` (one decimal below 10)."""
    if theirs is None or ours == 0:
        return "—"
    times = theirs / ours
    return f"{times:,.0f}×" if times >= 10 else f"{times:.1f}×"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", nargs="*", help="file names (default: ≥1,000 voters + 3 small)")
    parser.add_argument(
        "--skip-pabutools-mes-over",
        type=int,
        default=20_000,
        metavar="N",
        help="above N voters use expected.json's pabutools_seconds instead of running it",
    )
    parser.add_argument("--synthetic-voters", type=int, default=1_000_000)
    parser.add_argument("--synthetic-projects", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-synthetic", action="store_true")
    parser.add_argument("--synthetic-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.synthetic_only:
        run_synthetic(args.synthetic_voters, args.synthetic_projects, args.seed)
        return

    files: dict[str, Any] = json.loads((SHARED / "expected.json").read_text())["files"]
    names = args.files or [
        n for n, e in sorted(files.items(), key=lambda kv: kv[1]["voters"]) if e["voters"] >= 1000
    ]
    if not args.files:
        names = [*REFERENCE_SMALL, *names]
    header = (
        f"{'file':<46} {'voters':>7} {'proj':>4} | {'greedy ours':>11} {'pabutools':>9} "
        f"{'ratio':>6} | {'Add1 ours':>9} {'pabutools':>9} {'ratio':>6} {'ref':>13} | same"
    )
    print(header)
    print("-" * len(header))
    for name in names:
        row = compare_file(name, files[name], args.skip_pabutools_mes_over)
        print(
            f"{row['file'][:46]:<46} {row['voters']:>7,} {row['projects']:>4} | "
            f"{row['ours_greedy']:>10.3f}s {row['pabu_greedy']:>8.3f}s "
            f"{ratio(row['ours_greedy'], row['pabu_greedy']):>6} | "
            f"{row['ours_mes']:>8.2f}s {row['pabu_mes']:>8.2f}s "
            f"{ratio(row['ours_mes'], row['pabu_mes']):>6} {row['ref']:>13} | "
            f"{'yes' if row['same'] else 'NO'}",
            flush=True,
        )
    if not args.no_synthetic:
        print(
            f"\nSynthetic approval election, {args.synthetic_voters:,} voters × "
            f"{args.synthetic_projects} projects, seed {args.seed}, mes-add1-greedy "
            "(fresh process; memory = its peak resident set, /proc VmHWM):",
            flush=True,
        )
        result = subprocess.run(
            [
                sys.executable,
                __file__,
                "--synthetic-only",
                f"--synthetic-voters={args.synthetic_voters}",
                f"--synthetic-projects={args.synthetic_projects}",
                f"--seed={args.seed}",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        print(result.stdout.strip())


if __name__ == "__main__":
    main()
