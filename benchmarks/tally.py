"""Side-by-side timings of pb_app's counts and pabutools 1.2.3 on the shared pabulib files.

Run from the checkout (see benchmarks/README.md):

    PYTHONPATH=. python benchmarks/tally.py [--files NAME ...] [--skip-pabutools-mes-over N]

For every shared file with at least 1,000 voters (and three small ones for reference) it times
greedy, MES Add1 (exact start, exhaustive stop), MES Add1 + greedy completion and MES Add1
(floor start, feasible stop), ours and pabutools', checks the outcomes are identical and prints
a table with the ratios. Then it counts a synthetic 1,000,000-voter, 200-project approval
election by ``mes-add1-greedy`` in a fresh process and reports its wall time and peak memory.

What is timed, like for like. Both sides start from the ballots as parsed (file reading and
parsing is never timed):

* pabutools: ``profile.as_multiprofile()`` (identical ballots merged, as tally.md §7 measured;
  the "merge" column), then the rule on the multiprofile. Its ratio column compares *merge +
  count* with our time; the "count only" ratio leaves pabutools' merge out (and still counts
  ours), the view least favourable to us.
* ours: the public call on a fresh copy of the parsed ``Election`` — ``greedy(...)`` or
  ``equal_shares(...)``, tie-break order included — which merges identical ballots itself
  and builds the full explanations pabutools does not. The copy (``dataclasses.replace``)
  carries the ballots as parsed: the ``Ballot`` objects and the ``BallotColumns`` arrays the
  reader builds beside them while parsing (project indices per ballot, nothing merged or
  counted), as pabutools' profile carries the ballot objects its parser built. Every count
  and merge is done inside the timed call: an Election keeps none, and the fresh copy per
  call makes sure of it.

Calls shorter than 0.2 s are repeated (best of 3 rounds, as ``timeit`` does) on both sides;
longer ones are timed once. Times are CPU seconds of the process (``time.process_time``): the
machine is shared, and wall time would charge either side for the other work on it.

Rows marked ``expected.json`` use pabutools' count time recorded there (same 2-core machine)
plus the merge measured here: for ordinal files (pabutools' ``Additive_Borda_Sat`` scores
``len − position − 1``, not our positional points), files above ``--skip-pabutools-mes-over``
voters or whose recorded time is above ``--pabutools-mes-limit`` seconds. pabutools has no
floor/feasible Add1: that column always uses the recorded time of ``mes_add1_integral_nostop``
(repeated fixed-endowment MES runs).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from pb_app.tally.election import Ballot, BallotType, Election, Project
from pb_app.tally.greedy import greedy
from pb_app.tally.mes import Completion, equal_shares
from pb_app.tally.outcome import Outcome
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


# CPU time of this process, not wall time: the benchmark machine is shared, and other work on
# it stretches wall times of both sides unevenly; every count timed here is single-threaded.
clock = time.process_time


def timed(call: Callable[[], T]) -> tuple[T, float]:
    """Run ``call`` once; return its result and the CPU time in seconds."""
    start = clock()
    result = call()
    return result, clock() - start


def best_time(call: Callable[[], T], short: float = 0.2) -> tuple[T, float]:
    """Time ``call``; under ``short`` seconds, repeat it and keep the best of 3 rounds."""
    result, first = timed(call)
    if first >= short:
        return result, first
    number = max(1, int(short / max(first, 1e-6)))
    best = first
    for _ in range(3):
        start = clock()
        for _ in range(number):
            call()
        best = min(best, (clock() - start) / number)
    return result, best


def pabutools_counts(path: Path, vote_type: str, step: int, run_mes: bool) -> dict[str, Any]:
    """pabutools' merge, greedy (Cost_Sat) and, if asked, MES Add1 (+ greedy): ids and seconds."""
    from pabutools.election import (
        Additive_Borda_Sat,
        Additive_Cardinal_Sat,
        Cost_Sat,
        parse_pabulib,
    )
    from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares

    instance, profile = parse_pabulib(str(path))
    multi, merge_s = best_time(profile.as_multiprofile)
    allocation, greedy_s = best_time(
        lambda: greedy_utilitarian_welfare(instance, multi, sat_class=Cost_Sat)
    )
    result: dict[str, Any] = {
        "merge": merge_s,
        "greedy": greedy_s,
        "greedy_ids": [p.name for p in allocation],
    }
    if not run_mes:
        return result
    sat = {"ordinal": Additive_Borda_Sat, "cumulative": Additive_Cardinal_Sat}.get(
        vote_type, Cost_Sat
    )
    mes, mes_s = best_time(
        lambda: method_of_equal_shares(instance, multi, sat_class=sat, voter_budget_increment=step)
    )
    completed, completion_s = best_time(
        lambda: greedy_utilitarian_welfare(
            instance, multi, sat_class=sat, initial_budget_allocation=mes
        )
    )
    result.update(
        mes=mes_s,
        mes_ids=[p.name for p in mes],
        mes_greedy=mes_s + completion_s,
        mes_greedy_ids=[p.name for p in completed],
    )
    return result


def compare_file(
    name: str, entry: dict[str, Any], skip_mes_over: int, mes_limit: float
) -> dict[str, Any]:
    """Count one file both ways; return the row of the table."""
    election = read_pb(SHARED / name).election
    step = entry["add1_step"] * election.unit
    rules = entry["rules"]

    # A fresh copy per call, so that nothing a count could keep on the Election is reused:
    # every timed call merges and counts again, as pabutools' times include its merge.
    def ours_greedy() -> Outcome:
        fresh = replace(election)
        return greedy(fresh, tie_break_rank(fresh), order_by="support")

    def ours_mes(completion: Completion, start: str = "exact", stop: str = "exhaustive") -> Outcome:
        fresh = replace(election)
        return equal_shares(
            fresh,
            tie_break_rank(fresh),
            completion=completion,
            add1_step=step,
            add1_start=start,  # type: ignore[arg-type]
            add1_stop=stop,  # type: ignore[arg-type]
        )

    greedy_out, greedy_s = best_time(ours_greedy)
    mes_out, mes_s = best_time(lambda: ours_mes("add1"))
    mes_greedy_out, mes_greedy_s = best_time(lambda: ours_mes("add1-greedy"))
    floor = rules.get("mes_add1_integral_nostop")
    floor_out, floor_s = (
        best_time(lambda: ours_mes("add1", "floor", "feasible")) if floor else (None, None)
    )
    run_mes = (
        entry["voters"] <= skip_mes_over
        and entry["vote_type"] != "ordinal"
        and rules["mes_add1"]["pabutools_seconds"] <= mes_limit
    )
    theirs = pabutools_counts(SHARED / name, entry["vote_type"], entry["add1_step"], run_mes)
    merge = theirs["merge"]
    if run_mes:
        source = "measured"
    else:
        source = "expected.json"
        theirs.update(
            mes=rules["mes_add1"]["pabutools_seconds"],
            mes_ids=rules["mes_add1"]["selected"],
            mes_greedy=rules["mes_add1_greedy"]["pabutools_seconds"],
            mes_greedy_ids=rules["mes_add1_greedy"]["selected"],
        )
    # pabutools' greedy also adds zero-support projects that fit at the end: not ours.
    supported = {pid for ballot in election.ballots for pid in ballot.projects}
    same = (
        list(greedy_out.selected) == [p for p in theirs["greedy_ids"] if p in supported]
        and list(mes_out.selected) == theirs["mes_ids"]
        and list(mes_greedy_out.selected) == [p for p in theirs["mes_greedy_ids"] if p in supported]
        and (floor_out is None or list(floor_out.selected) == floor["selected"])
    )
    return {
        "file": name.removesuffix(".pb"),
        "voters": entry["voters"],
        "projects": entry["projects"],
        "merge": merge,
        "greedy": (greedy_s, merge + theirs["greedy"], theirs["greedy"]),
        "mes": (mes_s, merge + theirs["mes"], theirs["mes"]),
        "mes_greedy": (mes_greedy_s, merge + theirs["mes_greedy"], theirs["mes_greedy"]),
        "floor": (
            (floor_s, merge + floor["pabutools_seconds"], floor["pabutools_seconds"])
            if floor
            else None
        ),
        "ref": source,
        "same": same,
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


def seconds(value: float) -> str:
    """Seconds for the table: milliseconds below a second."""
    return f"{value * 1000:.2f}ms" if value < 1 else f"{value:.2f}s"


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
    parser.add_argument(
        "--pabutools-mes-limit",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="use expected.json's pabutools_seconds where it recorded more than this",
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
    columns = ("greedy", "mes", "mes_greedy", "floor")
    titles = ("greedy", "Add1 exact/exhaustive", "Add1 + greedy", "Add1 floor/feasible")
    header = f"{'file':<40} {'voters':>7} {'proj':>4} {'merge':>7} | " + " | ".join(
        f"{title:<31}" for title in titles
    )
    sub = f"{'':<40} {'':>7} {'':>4} {'pabu':>7} | " + " | ".join(
        f"{'ours':>8} {'pabu':>8} {'ratio':>6} {'count':>6}" for _ in titles
    )
    print(header)
    print(sub + " | ref           | same")
    print("-" * (len(sub) + 24))
    for name in names:
        row = compare_file(
            name, files[name], args.skip_pabutools_mes_over, args.pabutools_mes_limit
        )
        cells = []
        for column in columns:
            figures = row[column]
            if figures is None:
                cells.append(f"{'—':>8} {'—':>8} {'—':>6} {'—':>6}")
                continue
            ours, total, count = figures
            cells.append(
                f"{seconds(ours):>8} {seconds(total):>8} {ratio(ours, total):>6} "
                f"{ratio(ours, count):>6}"
            )
        print(
            f"{row['file'][:40]:<40} {row['voters']:>7,} {row['projects']:>4} "
            f"{seconds(row['merge']):>7} | " + " | ".join(cells) + f" | {row['ref']:<13} | "
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
