"""Read and write pabulib ``.pb`` files (tally.md §5) for every vote type.

A file is three sections, ``META``, ``PROJECTS`` and ``VOTES``, each a title line, a header line
and ``;``-separated rows with CSV quoting. Money becomes integers: ``Election.unit`` is the power
of ten that makes the budget and every cost whole, and writing divides by it again. Columns this
module does not interpret are kept verbatim (``Election.meta``, ``Project.extra``,
``Ballot.extra``) so that reading what :func:`write_pb` wrote gives an equal ``Election``.

Real files break their own limits; that is reported in ``PbFile.warnings``. Input that cannot be
read as an election raises :class:`PabulibError` naming the line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path

from pb_app.tally.election import (
    INT64_SAFE,
    POINTS_TYPES,
    Ballot,
    BallotColumns,
    BallotType,
    Election,
    Limits,
    Project,
)

SECTIONS = ("META", "PROJECTS", "VOTES")
# Cost pabulib uses for a project that was on the ballot but could never be funded.
UNFUNDABLE_COST = 999_999_999
# Limits that are amounts of money, so they are scaled by ``unit`` like costs.
MONEY_LIMITS = ("min_sum_cost", "max_sum_cost")
LIMIT_KEYS = tuple(f.name for f in fields(Limits))


class PabulibError(ValueError):
    """The input is not a pabulib file we can read; the message names the line and the fault."""


@dataclass(frozen=True)
class PbFile:
    """A pabulib file as read: the election and what was wrong with it but could be read."""

    election: Election
    warnings: list[str] = field(default_factory=list)

    @property
    def rule(self) -> str | None:
        """The META ``rule`` (pabulib's name, e.g. ``equalshares/add1``), if the file gives one."""
        return meta_value(self.election, "rule")


def meta_value(election: Election, key: str) -> str | None:
    """The META value for ``key`` as written in the file, or ``None``."""
    for name, value in election.meta:
        if name == key:
            return value
    return None


def selected_in_file(pbfile: PbFile) -> set[str]:
    """Ids the file marks ``selected`` = 1 (funded by its rule); empty when there is no column."""
    chosen: set[str] = set()
    for project in pbfile.election.projects:
        if dict(project.extra).get("selected", "").strip() in ("1", "1.0"):
            chosen.add(project.id)
    return chosen


def file_threshold(election: Election) -> int | None:
    """META ``min_project_score_threshold``: an absolute support/score, ``None`` if absent or 0."""
    text = meta_value(election, "min_project_score_threshold")
    if text is None or not text.strip():
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    # A project "reaches" the threshold when its integer score is at least it: round up.
    threshold = int(value.to_integral_value(rounding="ROUND_CEILING"))
    return threshold or None


# --- reading ----------------------------------------------------------------------------------


@dataclass
class _Section:
    title_line: int
    header: list[str] = field(default_factory=list)
    header_line: int = 0
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


def _split_sections(text: str) -> dict[str, _Section]:
    reader = csv.reader(io.StringIO(text), delimiter=";", quotechar='"')
    sections: dict[str, _Section] = {}
    current: _Section | None = None
    try:
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line (";" alone is a row: an empty ballot without an id)
            title = row[0].strip().upper()
            if len(row) == 1 and title in SECTIONS:
                if title in sections:
                    raise PabulibError(f"Line {line}: a second {title} section.")
                current = sections[title] = _Section(title_line=line)
                continue
            if current is None:
                raise PabulibError(
                    f"Line {line}: expected a META, PROJECTS or VOTES title, found {row[0]!r}."
                )
            if not current.header:
                current.header = [cell.strip() for cell in row]
                current.header_line = line
            else:
                current.rows.append((line, row))
    except csv.Error as error:
        raise PabulibError(f"Line {reader.line_num}: {error}.") from error
    for title in SECTIONS:
        if title not in sections:
            raise PabulibError(f"The file has no {title} section.")
        if not sections[title].header:
            raise PabulibError(f"Line {sections[title].title_line}: {title} has no header line.")
    return sections


def _cells(section: _Section, name: str) -> Iterator[tuple[int, dict[str, str]]]:
    width = len(section.header)
    for line, row in section.rows:
        if len(row) > width and all(not cell.strip() for cell in row[width:]):
            row = row[:width]  # a trailing ';' adds empty cells, not data
        if len(row) != width:
            raise PabulibError(
                f"Line {line}: this {name} row has {len(row)} fields but the header has {width}."
            )
        yield line, dict(zip(section.header, row, strict=True))


def _decimal(text: str, line: int, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise PabulibError(f"Line {line}: {what} {text!r} is not a number.") from None
    if not value.is_finite():
        raise PabulibError(f"Line {line}: {what} {text!r} is not a number.")
    return value


def _whole(text: str, line: int, what: str) -> int:
    value = _decimal(text, line, what)
    if value != value.to_integral_value():
        raise PabulibError(f"Line {line}: {what} {text!r} is not a whole number.")
    return int(value)


def _decimals(value: Decimal) -> int:
    """How many decimal places ``value`` needs (``400000.0`` needs none, ``0.46`` two)."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite values only reach here
    return max(0, -exponent)


def _ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def read_pb(source: str | Path) -> PbFile:
    """Read a ``.pb`` file from a path, or from its text when given a string holding newlines."""
    if isinstance(source, Path) or "\n" not in source:
        try:
            text = Path(source).read_bytes().decode("utf-8-sig")
        except OSError as error:
            raise PabulibError(f"Cannot read {source}: {error.strerror or error}.") from error
        except UnicodeDecodeError as error:
            raise PabulibError(f"{source} is not UTF-8 text ({error.reason}).") from error
    else:
        text = source.removeprefix("\ufeff")
    return _parse(text)


def _parse(text: str) -> PbFile:
    sections = _split_sections(text)
    warnings: list[str] = []

    # META: key;value pairs, kept verbatim and in order.
    meta_section = sections["META"]
    meta: list[tuple[str, str]] = []
    meta_lines: dict[str, int] = {}
    for line, row in meta_section.rows:
        key = row[0].strip()
        if len(row) < 2:
            raise PabulibError(f"Line {line}: META row {key!r} has no value.")
        value = ";".join(row[1:]) if len(row) > 2 else row[1]
        if len(row) > 2 and any(cell.strip() for cell in row[2:]):
            warnings.append(f"Line {line}: META {key!r} has an unquoted ';'; read as one value.")
        if key in meta_lines:
            raise PabulibError(f"Line {line}: META key {key!r} appears twice.")
        meta.append((key, value))
        meta_lines[key] = line
    values = dict(meta)

    def meta_line(key: str) -> int:
        return meta_lines.get(key, meta_section.title_line)

    if "vote_type" not in values:
        raise PabulibError(f"Line {meta_section.title_line}: META has no vote_type.")
    try:
        ballot_type = BallotType(values["vote_type"].strip())
    except ValueError:
        raise PabulibError(
            f"Line {meta_line('vote_type')}: unknown vote_type {values['vote_type']!r}; expected "
            f"one of {', '.join(t.value for t in BallotType)}."
        ) from None
    if "budget" not in values:
        raise PabulibError(f"Line {meta_section.title_line}: META has no budget.")
    budget_value = _decimal(values["budget"], meta_line("budget"), "budget")
    if budget_value < 0:
        raise PabulibError(f"Line {meta_line('budget')}: budget {values['budget']!r} is negative.")

    # PROJECTS: parse costs as decimals first, to choose the unit that makes them all whole.
    projects_section = sections["PROJECTS"]
    for column in ("project_id", "cost"):
        if column not in projects_section.header:
            raise PabulibError(
                f"Line {projects_section.header_line}: PROJECTS header has no {column} column."
            )
    raw_projects: list[tuple[int, dict[str, str], Decimal]] = []
    for line, cells in _cells(projects_section, "PROJECTS"):
        if not cells["project_id"].strip():
            raise PabulibError(f"Line {line}: a project without a project_id.")
        cost = _decimal(cells["cost"], line, "cost")
        if cost < 0:
            raise PabulibError(f"Line {line}: cost {cells['cost']!r} is negative.")
        if cost == 0:
            warnings.append(f"Line {line}: project {cells['project_id']!r} costs nothing.")
        raw_projects.append((line, cells, cost))

    money_limits = {
        key: _decimal(values[key], meta_line(key), key)
        for key in MONEY_LIMITS
        if values.get(key, "").strip()
    }
    amounts = [budget_value, *money_limits.values(), *(cost for _, _, cost in raw_projects)]
    unit = 10 ** max(_decimals(amount) for amount in amounts)
    budget = int(budget_value * unit)

    projects: list[Project] = []
    seen: dict[str, int] = {}
    known = ("project_id", "cost", "name", "district", "category")
    for line, cells, cost in raw_projects:
        pid = cells["project_id"].strip()
        if pid in seen:
            raise PabulibError(
                f"Line {line}: project {pid!r} already appeared on line {seen[pid]}."
            )
        seen[pid] = line
        projects.append(
            Project(
                id=pid,
                cost=int(cost * unit),
                name=cells.get("name", ""),
                district=cells.get("district", ""),
                categories=tuple(_ids(cells.get("category", ""))),
                extra=tuple((k, v) for k, v in cells.items() if k not in known),
            )
        )

    limits_values: dict[str, int | None] = {}
    for key in LIMIT_KEYS:
        text = values.get(key, "").strip()
        if not text:
            continue
        if key in money_limits:
            limits_values[key] = int(money_limits[key] * unit)
        else:
            limits_values[key] = _whole(text, meta_line(key), key)
    limits = Limits(**limits_values)

    position = {pid: i for i, pid in enumerate(seen)}
    columns = _read_votes(sections["VOTES"], ballot_type, position, warnings)
    election = Election(
        ballot_type=ballot_type,
        budget=budget,
        projects=tuple(projects),
        ballots=columns.ballots,
        limits=limits,
        unit=unit,
        currency=values.get("currency", "").strip(),
        meta=tuple(meta),
        columns=columns,
    )
    _check_counts(election, values, meta_line, warnings)
    warnings.extend(_limit_warnings(election, [line for line, _ in sections["VOTES"].rows]))
    return PbFile(election=election, warnings=warnings)


def _read_votes(
    section: _Section, ballot_type: BallotType, position: Mapping[str, int], warnings: list[str]
) -> BallotColumns:
    """The ballots, as ``Ballot`` objects and as the columns built row by row beside them."""
    if "vote" not in section.header:
        raise PabulibError(f"Line {section.header_line}: VOTES header has no vote column.")
    with_points = ballot_type in POINTS_TYPES
    if with_points and "points" not in section.header:
        raise PabulibError(f"Line {section.header_line}: {ballot_type} votes need a points column.")
    used = ("voter_id", "vote", "points") if with_points else ("voter_id", "vote")
    ballots: list[Ballot] = []
    lengths: list[int] = []
    index: list[int] = []
    all_points: list[int] | None = [] if with_points else None
    unknown: dict[str, list[str]] = {}
    voter_lines: dict[str, int] = {}
    for line, cells in _cells(section, "VOTES"):
        voter = cells.get("voter_id", "").strip()
        if voter and voter in voter_lines:
            warnings.append(
                f"Line {line}: voter {voter!r} already voted on line {voter_lines[voter]}; "
                "both ballots are counted."
            )
        voter_lines.setdefault(voter, line)
        ids = _ids(cells["vote"])
        points: list[int] = []
        if with_points:
            points = [_whole(p, line, "points") for p in _ids(cells["points"])]
            if len(points) != len(ids):
                raise PabulibError(
                    f"Line {line}: voter {voter!r} names {len(ids)} projects but gives "
                    f"{len(points)} points."
                )
            if points and max(map(abs, points)) >= INT64_SAFE:
                raise PabulibError(
                    f"Line {line}: voter {voter!r} gives more points than can be counted."
                )
        keep = [i for i, pid in enumerate(ids) if pid in position]
        if len(keep) != len(ids):
            for pid in ids:
                if pid not in position:
                    unknown.setdefault(pid, []).append(f"voter {voter!r} (line {line})")
            ids = [ids[i] for i in keep]
            points = [points[i] for i in keep] if with_points else points
        lengths.append(len(ids))
        index.extend(map(position.__getitem__, ids))
        if all_points is not None:
            all_points.extend(points)
        ballots.append(
            Ballot(
                projects=tuple(ids),
                points=tuple(points),
                voter_id=voter,
                extra=tuple((k, v) for k, v in cells.items() if k not in used),
            )
        )
    for pid, voters in unknown.items():
        more = f" and {len(voters) - 1} more" if len(voters) > 1 else ""
        warnings.append(
            f"A vote names unknown project {pid!r} ({voters[0]}{more}); those choices were ignored."
        )
    return BallotColumns.build(tuple(ballots), tuple(position), lengths, index, all_points)


def _check_counts(
    election: Election,
    values: Mapping[str, str],
    meta_line: Callable[[str], int],
    warnings: list[str],
) -> None:
    for key, actual in (
        ("num_projects", len(election.projects)),
        ("num_votes", len(election.ballots)),
    ):
        text = values.get(key, "").strip()
        if text and text != str(actual):
            warnings.append(
                f"Line {meta_line(key)}: META says {key} {text} but the file has {actual}."
            )


def _limit_warnings(election: Election, lines: Sequence[int]) -> list[str]:
    """Ballots breaking the file's own limits: one warning per broken limit, with an example."""
    limits = election.limits
    cost = {p.id: p.cost for p in election.projects}
    found: dict[str, list[str]] = {}

    def note(message: str, ballot: Ballot, line: int) -> None:
        found.setdefault(message, []).append(f"voter {ballot.voter_id!r} (line {line})")

    for ballot, line in zip(election.ballots, lines, strict=True):
        size = len(ballot.projects)
        if len(set(ballot.projects)) != size:
            note("naming a project twice", ballot, line)
        if election.ballot_type is BallotType.CHOOSE_ONE and size > 1:
            note("choosing more than one project", ballot, line)
        if limits.max_length is not None and size > limits.max_length:
            note(f"naming more than max_length {limits.max_length} projects", ballot, line)
        if limits.min_length is not None and 0 < size < limits.min_length:
            note(f"naming fewer than min_length {limits.min_length} projects", ballot, line)
        if limits.max_sum_cost is not None:
            total = sum(cost.get(pid, 0) for pid in set(ballot.projects))
            if total > limits.max_sum_cost:
                note("costing more than max_sum_cost", ballot, line)
        if ballot.points:
            total_points = sum(ballot.points)
            if limits.max_sum_points is not None and total_points > limits.max_sum_points:
                note(
                    f"giving more than max_sum_points {limits.max_sum_points} points", ballot, line
                )
            if limits.min_sum_points is not None and total_points < limits.min_sum_points:
                note(
                    f"giving fewer than min_sum_points {limits.min_sum_points} points", ballot, line
                )
            if limits.max_points is not None and max(ballot.points) > limits.max_points:
                note(f"giving a project more than max_points {limits.max_points}", ballot, line)
            if limits.min_points is not None and min(ballot.points) < limits.min_points:
                note(f"giving a project fewer than min_points {limits.min_points}", ballot, line)
    messages = []
    for problem, where in found.items():
        count = "1 ballot" if len(where) == 1 else f"{len(where):,} ballots"
        example = where[0] if len(where) == 1 else f"e.g. {where[0]}"
        messages.append(f"{count} {problem}: {example}.")
    return messages


# --- writing ----------------------------------------------------------------------------------


def _row(cells: Iterable[str]) -> str:
    """One ``;`` row with CSV quoting; unlike ``csv.writer`` it also quotes a lone ``\\r``."""
    quoted = []
    for cell in cells:
        if any(char in cell for char in ';"\r\n'):
            cell = '"' + cell.replace('"', '""') + '"'
        quoted.append(cell)
    return ";".join(quoted)


def _money_text(amount: int, unit: int) -> str:
    value = (Decimal(amount) / Decimal(unit)).normalize()
    return f"{value:f}"


def _same_number(text: str, other: str) -> bool:
    try:
        return Decimal(text.strip()) == Decimal(other)
    except InvalidOperation:
        return False


def write_pb(election: Election) -> str:
    """Write ``election`` as pabulib text (money in the file's units, extra columns as read)."""
    lines: list[str] = []
    unit = election.unit

    # META: the pairs as read, with the values the election itself defines brought up to date.
    defined: dict[str, str] = {
        "num_projects": str(len(election.projects)),
        "num_votes": str(len(election.ballots)),
        "budget": _money_text(election.budget, unit),
        "vote_type": election.ballot_type.value,
    }
    if election.currency:
        defined["currency"] = election.currency
    for key in LIMIT_KEYS:
        limit = getattr(election.limits, key)
        if limit is not None:
            defined[key] = _money_text(limit, unit) if key in MONEY_LIMITS else str(limit)
    meta = dict(election.meta)
    for key in ("num_projects", "num_votes"):
        # Counts are informative only: refresh them when the file had them, never add them.
        if key not in meta:
            del defined[key]
    for key, text in defined.items():
        # Keep the file's own spelling ("400000.0") when it means the same number.
        if key in meta and (meta[key].strip() == text or _same_number(meta[key], text)):
            continue
        meta[key] = text
    lines += ["META", "key;value", *(_row(pair) for pair in meta.items())]

    # PROJECTS: id and cost, then the columns the model knows, then every extra column.
    extra_columns = _columns(project.extra for project in election.projects)
    header = ["project_id", "cost"]
    has_name = any(p.name for p in election.projects) or "name" in extra_columns
    if has_name:
        header.append("name")
    if any(p.categories for p in election.projects):
        header.append("category")
    if any(p.district for p in election.projects):
        header.append("district")
    header += [c for c in extra_columns if c not in header]
    lines += ["PROJECTS", _row(header)]
    for project in election.projects:
        row = dict(project.extra)
        row.update(
            project_id=project.id,
            cost=_money_text(project.cost, unit),
            name=project.name,
            category=",".join(project.categories),
            district=project.district,
        )
        lines.append(_row(row.get(column, "") for column in header))

    # VOTES: voter_id and vote (with points for points ballots), then every extra column.
    with_points = election.ballot_type in POINTS_TYPES
    vote_header = ["voter_id", "vote", *(["points"] if with_points else [])]
    vote_header += [c for c in _columns(b.extra for b in election.ballots) if c not in vote_header]
    lines += ["VOTES", _row(vote_header)]
    for ballot in election.ballots:
        row = dict(ballot.extra)
        row.update(voter_id=ballot.voter_id, vote=",".join(ballot.projects))
        if with_points:
            row["points"] = ",".join(str(p) for p in ballot.points)
        lines.append(_row(row.get(column, "") for column in vote_header))
    return "\n".join(lines) + "\n"


def _columns(extras: Iterable[tuple[tuple[str, str], ...]]) -> list[str]:
    """Every extra column name, in the order first seen."""
    names: dict[str, None] = {}
    for extra in extras:
        for name, _ in extra:
            names.setdefault(name, None)
    return list(names)
