"""The public read model of a certified result: projects with the reason for each, the steps,
the money, a bar chart's geometry, and turnout with small numbers suppressed.

Nothing here is shown until the funder has certified the round (a ``Certification`` row
exists): before that, even officers see only "not published yet" (security.md, Decidim #12348).
The figures come from the certified ``ResultSnapshot``, whose ``outcome`` column holds the JSON
of ``pb_app.tally.report.outcome_to_json`` — the tally's own plain-English explanations.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from pb_app.extensions import db
from pb_app.models import Ballot, Bid, Certification, Participation, ResultSnapshot, Round, Ward
from pb_app.services.public_rounds import PublicNotFound, rule_sentence, tie_break_sentence

# Turnout cells from 1 to SMALL_NUMBER - 1 are shown as "fewer than 10", so that a count cannot
# point at one or two people in a small area (product.md §7; the ONS convention for small areas).
SMALL_NUMBER = 10

CHANNEL_LABELS: dict[str, Any] = {
    "online": _l("Online"),
    "kiosk": _l("Kiosk at an event"),
    "paper": _l("Paper ballot"),
    "api": _l("Other app (API)"),
}
DECISION_LABELS: dict[str, Any] = {
    "funded": _l("Funded"),
    "skipped": _l("Did not fit; skipped"),
    "stopped": _l("Did not fit; counting stopped"),
    "below-threshold": _l("Below the threshold"),
    "no-support": _l("No support"),
    "not-affordable": _l("Supporters could not pay"),
    "eliminated": _l("Eliminated"),
}

# The bar chart: an SVG viewBox this wide; each bar has a label line above it.
# 320 units read at about 1:1 on a 320 px phone; CSS caps the width on larger screens.
CHART_WIDTH = 320
CHART_VALUE_SPACE = 60  # room to the right of the longest bar for its figure
CHART_ROW = 44  # label line + bar + gap, in viewBox units
# A longer title is cut in the chart (the table beside it has it whole); this still fits at 320 px
# with WCAG 1.4.12's extra letter and word spacing.
CHART_LABEL_CHARS = 28


@dataclass(frozen=True)
class ProjectResult:
    """One project of the result: its money, its support, and why it was or was not funded."""

    ref: str
    title: str
    group_name: str
    ward: str
    theme: str
    cost_pence: int
    funded: bool
    votes: int
    score: int | None
    step: int | None
    reason: str
    pot: str  # the sub-pot or "central pot" it was counted in; "" without sub-pots


@dataclass(frozen=True)
class StepRow:
    """One step of the rule, for the step-by-step table."""

    number: int
    ref: str
    title: str
    phase: str
    decision: Any
    funded: bool
    support: str
    money_before_pence: int
    money_after_pence: int


@dataclass(frozen=True)
class PotResult:
    """What one sub-pot (or the central pot) funded."""

    name: str
    budget_pence: int | None  # declared budget; None for a pot only the count names
    spent_pence: int
    funded: int


@dataclass(frozen=True)
class ChartBar:
    """One bar of the chart, in viewBox units, with its label and figure."""

    name: str  # the project's ref and whole title, for the table beside the chart
    label: str
    value: int
    value_text: str
    funded: bool
    label_y: int
    bar_y: int
    bar_width: int
    value_x: int
    value_y: int


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart of support, ready for an inline SVG."""

    title: Any
    measure: Any
    width: int
    height: int
    bar_height: int
    bars: tuple[ChartBar, ...]


@dataclass(frozen=True)
class Cell:
    """A turnout figure: the label, and the count as it may be shown (small numbers hidden)."""

    label: str
    shown: str
    suppressed: bool


@dataclass(frozen=True)
class Turnout:
    """Who took part: participations by ward and channel, assisted ballots by venue."""

    total: str
    by_ward: tuple[Cell, ...]
    by_channel: tuple[Cell, ...]
    assisted_by_venue: tuple[Cell, ...]
    threshold: int


@dataclass(frozen=True)
class Certified:
    """Who certified the result, when, and the digest they certified."""

    by: str
    at: datetime
    digest: str
    statement: str


@dataclass(frozen=True)
class ResultsPage:
    """Everything the public results page shows."""

    slug: str
    title: str
    rule_text: Any
    tie_break_text: Any
    budget_pence: int
    spent_pence: int
    leftover_pence: int
    ballots_counted: int
    uses_score: bool
    funded: tuple[ProjectResult, ...]
    unfunded: tuple[ProjectResult, ...]
    steps: tuple[StepRow, ...]
    show_phase: bool  # sub-pots, or a rule with stages (Equal Shares, then its completion)
    has_rho: bool  # some steps carry an Equal Shares price, which the page explains
    pots: tuple[PotResult, ...]
    notes: tuple[str, ...]
    chart: Chart
    turnout: Turnout
    certified: Certified
    chain_head: str


@dataclass(frozen=True)
class NotPublished:
    """A known round whose result is not certified yet: what the page may say, and no more."""

    slug: str
    title: str
    closed_at: datetime | None  # when voting closed, if it has
    closes_at: datetime | None  # when voting is due to close, if it has not


def certification_of(round_id: int) -> Certification | None:
    """The round's certification, or None while its result is not public."""
    return db.session.scalar(select(Certification).where(Certification.round_id == round_id))


def certified_outcome(round_id: int) -> dict[str, Any] | None:
    """The certified outcome JSON of a round, or None when nothing is certified."""
    certification = certification_of(round_id)
    if certification is None:
        return None
    snapshot = db.session.get(ResultSnapshot, certification.snapshot_id)
    if snapshot is None:  # pragma: no cover - a certification always names its snapshot
        return None
    outcome: dict[str, Any] = json.loads(snapshot.outcome)
    return outcome


def _load_round(slug: str) -> Round:
    round_ = db.session.scalar(select(Round).where(Round.slug == slug, Round.archived_at.is_(None)))
    if round_ is None:
        raise PublicNotFound(_l("There is no such round."))
    return round_


def _support_text(step: Mapping[str, Any], project: ProjectResult | None, uses_score: bool) -> str:
    """The project's votes or score; for an Equal Shares step also its price rho, rounded."""
    value = step.get("support")
    if project is not None:
        text = f"{(project.score or 0) if uses_score else project.votes:,}"
    elif isinstance(value, int) and not isinstance(value, bool):
        text = f"{value:,}"
    else:
        text = ""
    if isinstance(step.get("support_float"), float):
        # A fraction, shown rounded for reading only; the count decided on the exact value.
        text += f" (ρ {step['support_float']:.3g})"
    return text.strip()


PHASE_LABELS: dict[str, Any] = {
    "equal-shares": _l("Equal Shares"),
    "completion": _l("Completion"),
    "greedy": _l("Greedy"),
    "runoff": _l("Runoff"),
}


def _phase_label(phase: str) -> str:
    label = PHASE_LABELS.get(phase)
    return str(label) if label is not None else phase[:1].upper() + phase[1:]


def _cut(text: str, limit: int = CHART_LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def build_chart(projects: Iterable[ProjectResult], uses_score: bool) -> Chart:
    """Bars of votes (or score), largest first, scaled to the chart's width."""

    def measure(p: ProjectResult) -> int:
        return (p.score or 0) if uses_score else p.votes

    ordered = sorted(projects, key=lambda p: (-measure(p), p.ref))
    values = [measure(p) for p in ordered]
    top = max(values, default=0) or 1
    room = CHART_WIDTH - CHART_VALUE_SPACE
    bars = []
    for index, (project, value) in enumerate(zip(ordered, values, strict=True)):
        width = max(1, round(room * value / top)) if value else 0
        top_y = index * CHART_ROW
        bars.append(
            ChartBar(
                name=f"{project.ref} {project.title}",
                # A tick as well as the colour, so the chart does not rely on colour alone.
                label=("✓ " if project.funded else "") + _cut(f"{project.ref} {project.title}"),
                value=value,
                value_text=f"{value:,}",
                funded=project.funded,
                label_y=top_y + 13,
                bar_y=top_y + 19,
                bar_width=width,
                value_x=width + 6,
                value_y=top_y + 33,
            )
        )
    return Chart(
        title=_l("Score for each project") if uses_score else _l("Votes for each project"),
        measure=_l("Score") if uses_score else _l("Votes"),
        width=CHART_WIDTH,
        height=max(CHART_ROW, len(bars) * CHART_ROW),
        bar_height=18,
        bars=tuple(bars),
    )


def suppress(counts: Mapping[str, int], labels: Iterable[str] = ()) -> tuple[Cell, ...]:
    """Cells for a breakdown, hiding 1–9 as "fewer than 10" (and one more if only one is hidden).

    When exactly one cell is hidden, the total would give it away, so the next smallest
    non-zero cell is hidden too (secondary suppression). Zero is shown: it names nobody.
    """
    order = list(dict.fromkeys([*labels, *counts]))
    hidden = {label for label in order if 0 < counts.get(label, 0) < SMALL_NUMBER}
    if len(hidden) == 1:
        others = sorted(
            (counts[label], label)
            for label in order
            if counts.get(label, 0) and label not in hidden
        )
        if others:
            hidden.add(others[0][1])
    fewer = str(_l("fewer than %(n)s", n=SMALL_NUMBER))
    withheld = str(_l("not shown"))  # a larger cell hidden only so the small one stays hidden

    def shown(label: str) -> str:
        count = counts.get(label, 0)
        if label not in hidden:
            return f"{count:,}"
        return fewer if count < SMALL_NUMBER else withheld

    return tuple(
        Cell(label=label, shown=shown(label), suppressed=label in hidden) for label in order
    )


def _shown_total(total: int) -> str:
    return str(_l("fewer than %(n)s", n=SMALL_NUMBER)) if 0 < total < SMALL_NUMBER else f"{total:,}"


def turnout(round_: Round) -> Turnout:
    """Participations by ward and channel, assisted ballots by venue; small numbers hidden."""
    rows = db.session.execute(
        select(Participation.ward_id, Participation.channel, func.count())
        .where(Participation.round_id == round_.id)
        .group_by(Participation.ward_id, Participation.channel)
    ).all()
    ward_names = {
        w.id: w.name for w in db.session.scalars(select(Ward).where(Ward.round_id == round_.id))
    }
    not_recorded = str(_l("Ward not recorded"))
    by_ward: Counter[str] = Counter()
    by_channel: Counter[str] = Counter()
    for ward_id, channel, count in rows:
        by_ward[ward_names.get(ward_id, not_recorded) if ward_id else not_recorded] += count
        by_channel[str(CHANNEL_LABELS.get(channel, channel))] += count
    # Assisted ballots: only ballots that count (a superseded ballot was replaced by its voter).
    superseded = select(Ballot.supersedes_seq).where(
        Ballot.round_id == round_.id, Ballot.supersedes_seq.is_not(None)
    )
    assisted = db.session.execute(
        select(Ballot.venue, func.count())
        .where(
            Ballot.round_id == round_.id,
            Ballot.assisted.is_(True),
            Ballot.seq.not_in(superseded),
        )
        .group_by(Ballot.venue)
    ).all()
    no_venue = str(_l("No venue recorded"))
    by_venue: Counter[str] = Counter()
    for venue, count in assisted:
        by_venue[venue or no_venue] += count
    channel_order = [str(label) for label in CHANNEL_LABELS.values()]
    return Turnout(
        total=_shown_total(sum(by_channel.values())),
        by_ward=suppress(by_ward, ward_names.values()),
        by_channel=suppress(by_channel, channel_order),
        assisted_by_venue=suppress(dict(sorted(by_venue.items()))),
        threshold=SMALL_NUMBER,
    )


def _declared_pots(round_: Round) -> dict[str, int]:
    names = {w.id: w.name for w in round_.wards}
    themes = {t.id: t.name for t in round_.themes}
    pots = {}
    for pot in round_.sub_pots:
        name = names.get(pot.ward_id or 0) or themes.get(pot.theme_id or 0, "")
        pots[f"sub-pot {name}"] = pot.budget_pence
    return pots


def _pots(round_: Round, projects: Iterable[ProjectResult]) -> tuple[PotResult, ...]:
    declared = _declared_pots(round_)
    if not declared:
        return ()
    spent: Counter[str] = Counter()
    funded: Counter[str] = Counter()
    for project in projects:
        if project.funded and project.pot:
            spent[project.pot] += project.cost_pence
            funded[project.pot] += 1
    names = list(dict.fromkeys([*declared, *spent]))
    return tuple(
        PotResult(
            name=name[:1].upper() + name[1:],
            budget_pence=declared.get(name),
            spent_pence=spent[name],
            funded=funded[name],
        )
        for name in names
    )


def _projects(round_: Round, outcome: Mapping[str, Any]) -> list[ProjectResult]:
    bids = {
        bid.ref: bid
        for bid in db.session.scalars(
            select(Bid)
            .where(Bid.round_id == round_.id)
            .options(joinedload(Bid.group), joinedload(Bid.ward), joinedload(Bid.theme))
        )
    }
    projects = []
    for item in outcome["projects"]:
        bid = bids.get(item["id"])
        params = item.get("params") or {}
        projects.append(
            ProjectResult(
                ref=item["id"],
                title=item.get("name") or (bid.title if bid else item["id"]),
                group_name=bid.group.name if bid else "",
                ward=bid.ward.name if bid and bid.ward else "",
                theme=bid.theme.name if bid and bid.theme else "",
                cost_pence=int(item["cost"]),
                funded=bool(item["funded"]),
                votes=int(item.get("votes") or 0),
                score=item.get("score"),
                step=item.get("step"),
                reason=item.get("reason_text") or str(_l("No explanation was given.")),
                pot=str(params.get("phase", "")),
            )
        )
    return projects


def results_page(slug: str, now: datetime) -> ResultsPage | NotPublished:
    """The certified result of a round, or what may be said before it is certified."""
    round_ = _load_round(slug)
    certification = certification_of(round_.id)
    if certification is None:
        closed = round_.closed_at or (
            round_.voting_close_at
            if round_.voting_close_at is not None and round_.voting_close_at <= now
            else None
        )
        return NotPublished(
            slug=round_.slug,
            title=round_.title,
            closed_at=closed,
            closes_at=None if closed else round_.voting_close_at,
        )
    snapshot = db.session.get(ResultSnapshot, certification.snapshot_id)
    assert snapshot is not None
    outcome: dict[str, Any] = json.loads(snapshot.outcome)
    projects = _projects(round_, outcome)
    by_ref = {p.ref: p for p in projects}
    order = {ref: i for i, ref in enumerate(outcome.get("selected", []))}
    uses_score = any(p.score is not None for p in projects)

    def support(p: ProjectResult) -> int:
        return (p.score or 0) if uses_score else p.votes

    funded = sorted((p for p in projects if p.funded), key=lambda p: order.get(p.ref, len(order)))
    unfunded = sorted((p for p in projects if not p.funded), key=lambda p: (-support(p), p.ref))
    steps = tuple(
        StepRow(
            number=int(step["number"]),
            ref=step["project_id"],
            title=by_ref[step["project_id"]].title if step["project_id"] in by_ref else "",
            phase=_phase_label(str(step.get("phase", ""))),
            decision=DECISION_LABELS.get(step["decision"], step["decision"]),
            funded=step["decision"] == "funded",
            support=_support_text(step, by_ref.get(step["project_id"]), uses_score),
            money_before_pence=int(step["money_before"]),
            money_after_pence=int(step["money_after"]),
        )
        for step in outcome.get("steps", [])
    )
    return ResultsPage(
        slug=round_.slug,
        title=round_.title,
        rule_text=rule_sentence(round_),
        tie_break_text=tie_break_sentence(round_),
        budget_pence=int(outcome["budget"]),
        spent_pence=int(outcome["spent"]),
        leftover_pence=int(outcome["leftover"]),
        ballots_counted=snapshot.ballots_counted,
        uses_score=uses_score,
        funded=tuple(funded),
        unfunded=tuple(unfunded),
        steps=steps,
        show_phase=len({step.phase for step in steps}) > 1 or bool(round_.sub_pots),
        has_rho=any(isinstance(step.get("support_float"), float) for step in outcome["steps"]),
        pots=_pots(round_, projects),
        notes=tuple(outcome.get("notes", [])),
        chart=build_chart(projects, uses_score),
        turnout=turnout(round_),
        certified=Certified(
            by=certification.certified_by_name,
            at=certification.at,
            digest=certification.bundle_digest,
            statement=certification.statement,
        ),
        chain_head=snapshot.chain_head,
    )


@dataclass(frozen=True)
class BidOutcome:
    """A bid's certified outcome, for its group's dashboard."""

    funded: bool
    amount_pence: int
    reason: str


def bid_outcomes(round_id: int) -> dict[str, BidOutcome]:
    """Each project's certified outcome by ref, or {} while the round is not certified."""
    outcome = certified_outcome(round_id)
    if outcome is None:
        return {}
    return {
        item["id"]: BidOutcome(
            funded=bool(item["funded"]),
            amount_pence=int(item["cost"]) if item["funded"] else 0,
            reason=item.get("reason_text") or "",
        )
        for item in outcome["projects"]
    }
