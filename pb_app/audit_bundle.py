"""The audit bundle, pure: the declared count, its files, the zip, and checking it again.

A bundle is a zip (or a directory) of these files, all derived from the database, so building
it twice gives the same bytes:

``round.json``       the round, its projects' money and the declared count (rule, utility,
                     tie-break, lot seed, threshold, sub-pots and what happens to leftovers)
``ballots.pb``       the counted ballots as a pabulib file; voters renumbered 1…n in a seeded
                     shuffled order (seed: the final chain hash), no personal columns
``ballots.csv``      the same ballots as CSV
``result.json``      the stored result: the outcome with every step and reason, and how it was
                     counted (ballots counted, chain head, code version)
``receipts.csv``     receipt → ballot hash, sorted by receipt
``ballot_log.jsonl`` the whole ballot log (superseded ballots too): seq, previous hash, the
                     canonical content and the hash of each link
``chain.json``       the genesis hash, the number of ballots and the final chain hash
``VERSION``          the code version that counted
``README.txt``       how to check all this
``SHA256SUMS``       ``sha256sum`` lines for every other file, sorted by name

**The certified digest is SHA-256 of the bytes of ``SHA256SUMS``**: it fixes every other file
through its hash, and does not depend on how the zip was compressed.

A known trade-off: recomputing the chain needs each ballot's content, so receipts.csv together
with ballot_log.jsonl lets a receipt holder show which ballot is theirs (and the log keeps how a
ballot was cast: channel, venue, assisted). Publishing both is what the round's audit promises;
a receipt scheme that proves inclusion without revealing content would need commitments.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from pb_app.ledger import Link, genesis_hash, verify_chain
from pb_app.tally.election import Ballot, Election, Limits
from pb_app.tally.outcome import Outcome
from pb_app.tally.pabulib import MONEY_LIMITS, PabulibError, read_pb, write_pb
from pb_app.tally.report import outcome_to_json
from pb_app.tally.rules import CountOptions, count
from pb_app.tally.subpots import Leftover, SubPot, count_with_subpots

SUMS = "SHA256SUMS"
FILES = (
    "README.txt",
    "VERSION",
    "ballot_log.jsonl",
    "ballots.csv",
    "ballots.pb",
    "chain.json",
    "receipts.csv",
    "result.json",
    "round.json",
)
# Every timestamp in the zip: a fixed one, so the same files always make the same zip.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
PENCE = 100

README = """pb_app audit bundle
===================

Everything needed to check this round's result without access to pb_app's database.

1. Integrity: `sha256sum -c SHA256SUMS` checks every file. The digest the funder certified
   is the SHA-256 of the SHA256SUMS file itself: `sha256sum SHA256SUMS`.
2. The ballot log: ballot_log.jsonl holds every link of the hash chain. Each link's hash is
   SHA-256( previous hash as 64 ASCII hex digits || the UTF-8 bytes of "content" ); the first
   previous hash is SHA-256("pb_app ballot log v1\\n" || the round's slug) (chain.json).
   The last hash must equal chain.json's final_hash and result.json's chain_head.
3. The count: ballots.pb (pabulib format; ballots.csv is the same) holds the ballots the log
   says count (those no later ballot supersedes). round.json declares the rule, tie-break,
   lot seed, threshold and sub-pots; result.json is the result.

With pb_app installed: `flask --app pb_app verify-bundle BUNDLE` does all three, and
`flask --app pb_app recount BUNDLE` recounts (add --rule to see what another rule gives).
"""


class BundleError(ValueError):
    """A bundle that cannot be read or checked; the message says which file and why."""


# --- the declared count ------------------------------------------------------------------------


@dataclass(frozen=True)
class DeclaredCount:
    """How a round is counted, as declared before voting (money in pence)."""

    rule: str
    tie_break: tuple[str, ...]
    lot_seed: str | None = None
    utility: str | None = None
    threshold_percent: int | None = None
    add1_start: str = "exact"
    add1_stop: str = "exhaustive"
    sub_pots: tuple[SubPot, ...] = ()
    central_pot_pence: int = 0
    subpot_leftover: str = "central"

    def to_json(self) -> dict[str, Any]:
        """The declaration as JSON-ready values (as stored in a snapshot and in round.json)."""
        return {
            "rule": self.rule,
            "tie_break": list(self.tie_break),
            "lot_seed": self.lot_seed,
            "utility": self.utility,
            "threshold_percent": self.threshold_percent,
            "add1_start": self.add1_start,
            "add1_stop": self.add1_stop,
            "sub_pots": [
                {
                    "key": pot.key,
                    "label": pot.label,
                    "budget_pence": pot.budget,
                    "projects": list(pot.project_ids),
                }
                for pot in self.sub_pots
            ],
            "central_pot_pence": self.central_pot_pence,
            "subpot_leftover": self.subpot_leftover,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DeclaredCount:
        """Read a declaration written by ``to_json``; BundleError if it is malformed."""
        try:
            return cls(
                rule=str(data["rule"]),
                tie_break=tuple(str(key) for key in data["tie_break"]),
                lot_seed=data.get("lot_seed"),
                utility=data.get("utility"),
                threshold_percent=data.get("threshold_percent"),
                add1_start=str(data.get("add1_start", "exact")),
                add1_stop=str(data.get("add1_stop", "exhaustive")),
                sub_pots=tuple(
                    SubPot(
                        key=str(pot["key"]),
                        label=str(pot["label"]),
                        budget=int(pot["budget_pence"]),
                        project_ids=tuple(str(pid) for pid in pot["projects"]),
                    )
                    for pot in data.get("sub_pots", ())
                ),
                central_pot_pence=int(data.get("central_pot_pence", 0)),
                subpot_leftover=str(data.get("subpot_leftover", "central")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise BundleError(f"The declared count is not readable ({error!r}).") from None

    def options(self, rule: str | None = None) -> CountOptions:
        """The tally's options for this declaration (``rule`` overrides the declared one)."""
        threshold = (
            Fraction(self.threshold_percent, 100) if self.threshold_percent is not None else None
        )
        chosen = rule or self.rule
        return CountOptions(
            rule=chosen,
            utility=self.utility,
            add1_start=self.add1_start,
            add1_stop=self.add1_stop,
            tie_break=self.tie_break,
            seed=self.lot_seed,
            threshold=threshold if chosen == "greedy-threshold" else None,
        )


def count_declared(election: Election, declared: DeclaredCount, rule: str | None = None) -> Outcome:
    """Count ``election`` as declared: the rule on each sub-pot, then the leftovers."""
    options = declared.options(rule)
    if not declared.sub_pots:
        return count(election, options)
    leftover: Leftover = (
        "oversubscribed" if declared.subpot_leftover == "oversubscribed" else "central"
    )
    return count_with_subpots(
        election,
        declared.sub_pots,
        lambda part: count(part, options),
        leftover=leftover,
        central_budget=declared.central_pot_pence,
    )


# --- ballots as published ----------------------------------------------------------------------


def shuffle_key(seed: str, voter: str) -> str:
    """Where a ballot goes in the published order: SHA-256 of ``seed:voter`` (any language)."""
    return hashlib.sha256(f"{seed}:{voter}".encode()).hexdigest()


def anonymised(election: Election, seed: str) -> Election:
    """The election with ballots in a seeded shuffled order, voters renumbered 1…n."""
    ordered = sorted(election.ballots, key=lambda b: shuffle_key(seed, b.voter_id))
    ballots = tuple(
        replace(ballot, voter_id=str(number), extra=())
        for number, ballot in enumerate(ordered, start=1)
    )
    return replace(election, ballots=ballots)


def in_pence(election: Election) -> Election:
    """The election with money in pence (a .pb file states pounds; its reader picks a unit)."""
    if election.unit == PENCE:
        return election
    if PENCE % election.unit:
        raise BundleError(f"ballots.pb: money in units of 1/{election.unit} is not whole pence.")
    factor = PENCE // election.unit
    limits = {
        name: (value * factor if name in MONEY_LIMITS and value is not None else value)
        for name, value in vars_of(election.limits).items()
    }
    return replace(
        election,
        budget=election.budget * factor,
        projects=tuple(replace(p, cost=p.cost * factor) for p in election.projects),
        limits=Limits(**limits),
        unit=PENCE,
    )


def vars_of(limits: Limits) -> dict[str, int | None]:
    """The limits as a name → value mapping (Limits has slots, so no ``vars``)."""
    return {name: getattr(limits, name) for name in Limits.__dataclass_fields__}


def ballots_csv(election: Election) -> str:
    """The ballots as CSV: voter, vote (ids, best first for ranked) and points if any."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    with_points = any(ballot.points for ballot in election.ballots)
    writer.writerow(["voter", "vote", *(["points"] if with_points else [])])
    for ballot in election.ballots:
        row = [ballot.voter_id, ",".join(ballot.projects)]
        if with_points:
            row.append(",".join(str(p) for p in ballot.points))
        writer.writerow(row)
    return buffer.getvalue()


# --- building ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogEntry:
    """One link of the ballot log as published (the receipt goes to receipts.csv only)."""

    seq: int
    prev_hash: str
    content: str
    hash: str
    receipt: str


def _json(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def build_files(
    *,
    slug: str,
    round_info: Mapping[str, Any],
    declared: DeclaredCount,
    election: Election,
    result: Mapping[str, Any],
    log: Sequence[LogEntry],
    code_version: str,
) -> dict[str, bytes]:
    """Every file of the bundle, SHA256SUMS included, from plain values."""
    genesis = genesis_hash(slug)
    final = log[-1].hash if log else genesis
    receipts = io.StringIO()
    writer = csv.writer(receipts, lineterminator="\n")
    writer.writerow(["receipt", "ballot_hash"])
    writer.writerows(sorted((entry.receipt, entry.hash) for entry in log))
    lines = [
        json.dumps(
            {"seq": e.seq, "prev_hash": e.prev_hash, "content": e.content, "hash": e.hash},
            ensure_ascii=False,
            sort_keys=True,
        )
        for e in log
    ]
    files = {
        "README.txt": README.encode(),
        "VERSION": f"{code_version}\n".encode(),
        "ballot_log.jsonl": "".join(f"{line}\n" for line in lines).encode(),
        "ballots.csv": ballots_csv(election).encode(),
        "ballots.pb": write_pb(election).encode(),
        "chain.json": _json(
            {"round": slug, "genesis_hash": genesis, "ballots": len(log), "final_hash": final}
        ),
        "receipts.csv": receipts.getvalue().encode(),
        "result.json": _json(result),
        "round.json": _json({**round_info, "count": declared.to_json()}),
    }
    files[SUMS] = sha256sums(files)
    return files


def sha256sums(files: Mapping[str, bytes]) -> bytes:
    """``sha256sum`` lines for every file but SHA256SUMS, sorted by name."""
    return "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n"
        for name, data in sorted(files.items())
        if name != SUMS
    ).encode()


def digest(files: Mapping[str, bytes]) -> str:
    """The bundle's digest: SHA-256 of its SHA256SUMS file."""
    return hashlib.sha256(files[SUMS]).hexdigest()


def zip_bytes(files: Mapping[str, bytes]) -> bytes:
    """The files as a zip, byte for byte the same every time (fixed order, times, modes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name], compresslevel=9)
    return buffer.getvalue()


# --- reading and checking ----------------------------------------------------------------------


def read_bundle(path: Path) -> dict[str, bytes]:
    """The files of a bundle zip or directory, by name."""
    if path.is_dir():
        return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}
    if not zipfile.is_zipfile(path):
        raise BundleError(f"{path}: not a zip file or a directory.")
    with zipfile.ZipFile(path) as archive:
        return {
            Path(info.filename).name: archive.read(info)
            for info in archive.infolist()
            if not info.is_dir()
        }


def is_bundle(path: Path) -> bool:
    """Whether ``path`` looks like a bundle (a directory or a zip) rather than a .pb file."""
    return path.is_dir() or (path.is_file() and zipfile.is_zipfile(path))


def sum_problems(files: Mapping[str, bytes]) -> list[str]:
    """Every file whose SHA-256 differs from SHA256SUMS, or that is missing or unlisted."""
    if SUMS not in files:
        return [f"{SUMS} is missing."]
    listed: dict[str, str] = {}
    for number, line in enumerate(files[SUMS].decode("utf-8", "replace").splitlines(), 1):
        hexdigest, sep, name = line.partition("  ")
        if not sep or len(hexdigest) != 64:
            return [f"{SUMS} line {number} is not '<sha256>  <file>'."]
        listed[name] = hexdigest
    problems = []
    for name, expected in sorted(listed.items()):
        if name not in files:
            problems.append(f"{name} is missing.")
        elif hashlib.sha256(files[name]).hexdigest() != expected:
            problems.append(f"{name} has changed: its SHA-256 differs from {SUMS}.")
    problems += [
        f"{name} is not listed in {SUMS}." for name in sorted(files) if name not in (*listed, SUMS)
    ]
    return problems


def _load_json(files: Mapping[str, bytes], name: str) -> Any:
    if name not in files:
        raise BundleError(f"{name} is missing.")
    try:
        return json.loads(files[name].decode("utf-8"))
    except ValueError as error:
        raise BundleError(f"{name} is not JSON ({error}).") from None


@dataclass(frozen=True)
class ChainReport:
    """The chain recomputed from the bundle's log."""

    ok: bool
    message: str
    head: str
    counted: tuple[Ballot, ...] = ()


def check_chain(files: Mapping[str, bytes]) -> ChainReport:
    """Recompute the ballot log's chain to chain.json's final hash; say where it breaks."""
    chain = _load_json(files, "chain.json")
    slug = str(chain.get("round", ""))
    if chain.get("genesis_hash") != genesis_hash(slug):
        return ChainReport(False, "chain.json: the genesis hash is not that of the round.", "")
    links: list[Link] = []
    contents: list[tuple[int, dict[str, Any]]] = []
    raw = files.get("ballot_log.jsonl")
    if raw is None:
        raise BundleError("ballot_log.jsonl is missing.")
    for number, line in enumerate(raw.decode("utf-8").splitlines(), 1):
        try:
            item = json.loads(line)
            links.append(Link(int(item["seq"]), item["prev_hash"], item["content"], item["hash"]))
            contents.append((int(item["seq"]), json.loads(item["content"])))
        except (ValueError, KeyError, TypeError):
            return ChainReport(False, f"ballot_log.jsonl line {number} is not readable.", "")
    check = verify_chain(
        str(chain["genesis_hash"]),
        links,
        expected_count=int(chain.get("ballots", -1)),
        expected_head=str(chain.get("final_hash", "")),
    )
    if not check.ok:
        return ChainReport(False, f"ballot_log.jsonl: {check.reason}", check.head)
    superseded = {c.get("supersedes") for _, c in contents if c.get("supersedes") is not None}
    counted = tuple(
        Ballot(projects=tuple(c["projects"]), points=tuple(c["points"]), voter_id=str(seq))
        for seq, c in contents
        if seq not in superseded
    )
    return ChainReport(
        True, f"{check.count} ballots; final hash {check.head}.", check.head, counted
    )


@dataclass(frozen=True)
class Recount:
    """A recount of a bundle: the outcome, and whether it is the bundle's result."""

    election: Election
    outcome: Outcome
    outcome_json: dict[str, Any]
    recorded: dict[str, Any]
    rule: str
    matches: bool
    differences: tuple[str, ...]


def bundle_election(files: Mapping[str, bytes]) -> Election:
    """The bundle's ballots.pb as an election in pence."""
    if "ballots.pb" not in files:
        raise BundleError("ballots.pb is missing.")
    try:
        text = files["ballots.pb"].decode("utf-8-sig")
        # read_pb takes text when it holds a newline; every .pb file has several.
        pbfile = read_pb(text if "\n" in text else "\n").election
    except (PabulibError, UnicodeDecodeError) as error:
        raise BundleError(f"ballots.pb: {error}") from None
    round_info = _load_json(files, "round.json")
    return replace(in_pence(pbfile), currency=str(round_info.get("currency", "GBP")))


def recount_bundle(files: Mapping[str, bytes], rule: str | None = None) -> Recount:
    """Count the bundle's ballots by its declared count (or ``rule``), compare with its result."""
    round_info = _load_json(files, "round.json")
    declared = DeclaredCount.from_json(round_info.get("count", {}))
    recorded = _load_json(files, "result.json")
    election = bundle_election(files)
    outcome = count_declared(election, declared, rule)
    data = outcome_to_json(outcome, election)
    stored = recorded.get("outcome", {})
    differences: list[str] = []
    if list(data["selected"]) != list(stored.get("selected", [])):
        differences.append(
            f"funded {', '.join(data['selected']) or 'nothing'}; the bundle's result funded "
            f"{', '.join(stored.get('selected', [])) or 'nothing'}"
        )
    if data["spent"] != stored.get("spent"):
        differences.append(f"spent {data['spent']} pence; the result spent {stored.get('spent')}")
    if not differences and _canonical(data) != _canonical(stored):
        differences.append("the same projects are funded, but the explanations differ")
    return Recount(
        election=election,
        outcome=outcome,
        outcome_json=data,
        recorded=recorded,
        rule=rule or declared.rule,
        matches=not differences,
        differences=tuple(differences),
    )


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def ballots_match(log_ballots: Sequence[Ballot], election: Election) -> bool:
    """Whether the published ballots are exactly the log's counted ones (in any order)."""

    def key(ballot: Ballot) -> tuple[tuple[str, ...], tuple[int, ...]]:
        return (tuple(ballot.projects), tuple(ballot.points))

    return Counter(map(key, log_ballots)) == Counter(map(key, election.ballots))
