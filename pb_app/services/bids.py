"""Bids, the group's side: drafts, itemised budgets, submitting, withdrawing, replies, images."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from pb_app.bidflow import Action, Actor, TransitionRefused, allowed_actions, next_status
from pb_app.extensions import db
from pb_app.models import (
    Bid,
    BidImage,
    BidMessage,
    BidStatus,
    BidStatusChange,
    BudgetLine,
    Group,
    GroupMembership,
    Round,
)
from pb_app.phases import Phase
from pb_app.services import ServiceError
from pb_app.services.groups import MessageView, fits, messages_of
from pb_app.services.notifications import notify_group
from pb_app.services.rounds import round_phase

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_LINES = 30
MAX_LINE_PENCE = 100_000_000_00  # £100m: far above any grant, far below integer overflow
MAX_IMAGE_BYTES = 2 * 1024 * 1024
PUBLIC_STATUSES = frozenset({BidStatus.SHORTLISTED, BidStatus.FUNDED, BidStatus.NOT_FUNDED})
LENGTHS = {
    "title": 80,
    "summary": 200,
    "description": 10_000,
    "beneficiaries": 5_000,
    "timeline": 5_000,
    "contact_name": 120,
    "contact_email": 254,
}
EVENT_OF = {
    Action.SUBMIT: "submitted",
    Action.RESUBMIT: "resubmitted",
    Action.WITHDRAW: "withdrawn",
}


class BidNotFound(ServiceError):
    """There is no such bid or round."""


class NotYourBid(ServiceError):
    """The person is not a member of the group that owns the bid."""


class BidLocked(ServiceError):
    """The bid's status or the round's phase does not allow this now."""


class BidInvalid(ServiceError):
    """The bid's answers break a rule; ``problems`` lists each, with the field it is about."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(" ".join(p.message for p in problems))
        self.problems = problems


class ImageInvalid(ServiceError):
    """The uploaded picture is too big or not a PNG, JPEG or WebP file."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a bid: the form field it is about and what to do."""

    field: str
    message: str


@dataclass(frozen=True)
class BidValues:
    """A bid's answers as plain values; ``lines`` are (description, amount in pence)."""

    title: str
    summary: str = ""
    description: str = ""
    beneficiaries: str = ""
    beneficiaries_count: int | None = None
    ward_id: int | None = None
    theme_id: int | None = None
    timeline: str = ""
    contact_name: str = ""
    contact_email: str = ""
    lines: tuple[tuple[str, int], ...] = ()

    @property
    def total_pence(self) -> int:
        """The amount requested: the sum of the budget lines."""
        return sum(amount for _text, amount in self.lines)


@dataclass(frozen=True)
class GrantRules:
    """What a round allows a bid to ask for and where."""

    min_pence: int
    max_pence: int
    ward_ids: frozenset[int]
    theme_ids: frozenset[int]


@dataclass(frozen=True)
class HistoryEntry:
    """One status change, ready to show."""

    from_status: str | None
    to_status: str
    note: str
    at: datetime


@dataclass(frozen=True)
class BidPage:
    """Everything the group's page for a bid shows, with what the person may do now."""

    bid: Bid
    phase: Phase
    actions: frozenset[str]
    problems: list[Problem]
    messages: list[MessageView]
    history: list[HistoryEntry]
    can_reply: bool
    has_image: bool
    image_alt: str
    decided: bool
    round_title: str
    ward_name: str
    theme_name: str
    lines: list[tuple[str, int]]
    total_pence: int


def money(pence: int) -> str:
    """Pence as pounds for messages: 620000 → "£6,200", 50 → "£0.50"."""
    pounds, rest = divmod(pence, 100)
    return f"£{pounds:,}" if rest == 0 else f"£{pounds:,}.{rest:02d}"


def rules_of(round_: Round) -> GrantRules:
    """The round's grant limits, wards and themes as plain values."""
    return GrantRules(
        min_pence=round_.min_grant_pence,
        max_pence=round_.max_grant_pence,
        ward_ids=frozenset(w.id for w in round_.wards),
        theme_ids=frozenset(t.id for t in round_.themes),
    )


def draft_problems(values: BidValues, rules: GrantRules) -> list[Problem]:
    """What even a draft may not hold: over-long text, bad budget lines, a foreign ward or theme."""
    problems = []
    if not values.title.strip():
        problems.append(Problem("title", _("Enter a title for the bid")))
    for name, limit in LENGTHS.items():
        if len(getattr(values, name)) > limit:
            problems.append(
                Problem(name, _("This answer must be %(limit)d characters or fewer", limit=limit))
            )
    texts = [getattr(values, name) for name in LENGTHS] + [text for text, _pence in values.lines]
    if any(CONTROL.search(text) for text in texts):
        # PostgreSQL refuses NUL in text; the forms already drop control characters.
        problems.append(Problem("title", _("Remove the unusual characters from your answers")))
    if values.beneficiaries_count is not None and values.beneficiaries_count < 0:
        problems.append(
            Problem("beneficiaries_count", _("Enter the number of people as 0 or more"))
        )
    if values.ward_id is not None and values.ward_id not in rules.ward_ids:
        problems.append(Problem("ward_id", _("Select a ward from the list")))
    if values.theme_id is not None and values.theme_id not in rules.theme_ids:
        problems.append(Problem("theme_id", _("Select a theme from the list")))
    if len(values.lines) > MAX_LINES:
        problems.append(Problem("budget", _("A budget can have up to %(n)d lines", n=MAX_LINES)))
    for index, (text, amount) in enumerate(values.lines):
        if not text.strip() or len(text) > 200:
            problems.append(
                Problem(
                    f"lines-{index}-description",
                    _("Describe budget line %(n)d in 200 characters or fewer", n=index + 1),
                )
            )
        if not 0 < amount <= MAX_LINE_PENCE:
            problems.append(
                Problem(
                    f"lines-{index}-amount",
                    _("The amount on budget line %(n)d must be more than £0", n=index + 1),
                )
            )
    return problems


def submission_problems(values: BidValues, rules: GrantRules) -> list[Problem]:
    """Everything that stops a bid being submitted: draft rules plus completeness and limits."""
    problems = draft_problems(values, rules)
    required = [
        ("summary", values.summary, _("Enter a one-line summary")),
        ("description", values.description, _("Describe the project")),
        ("beneficiaries", values.beneficiaries, _("Say who will benefit and how")),
        ("timeline", values.timeline, _("Say when the project will happen")),
        ("contact_name", values.contact_name, _("Enter a contact name for the bid")),
        ("contact_email", values.contact_email, _("Enter a contact email address for the bid")),
    ]
    problems += [
        Problem(name, str(message)) for name, value, message in required if not value.strip()
    ]
    if values.beneficiaries_count is None:
        problems.append(
            Problem("beneficiaries_count", _("Enter roughly how many people will benefit"))
        )
    if rules.ward_ids and values.ward_id is None:
        problems.append(Problem("ward_id", _("Select the ward where the project will happen")))
    if rules.theme_ids and values.theme_id is None:
        problems.append(Problem("theme_id", _("Select the theme the project fits best")))
    total = values.total_pence
    if not values.lines:
        problems.append(Problem("budget", _("Add at least one budget line")))
    elif not rules.min_pence <= total <= rules.max_pence:
        problems.append(
            Problem(
                "budget",
                _(
                    "The total is %(total)s; grants in this round are from %(min)s to %(max)s.",
                    total=money(total),
                    min=money(rules.min_pence),
                    max=money(rules.max_pence),
                ),
            )
        )
    return problems


def values_of(bid: Bid) -> BidValues:
    """A stored bid's answers as plain values."""
    return BidValues(
        title=bid.title,
        summary=bid.summary,
        description=bid.description,
        beneficiaries=bid.beneficiaries,
        beneficiaries_count=bid.beneficiaries_count,
        ward_id=bid.ward_id,
        theme_id=bid.theme_id,
        timeline=bid.timeline,
        contact_name=bid.contact_name,
        contact_email=bid.contact_email,
        lines=tuple((line.description, line.amount_pence) for line in bid.budget_lines),
    )


def _round_by_slug(slug: str) -> Round:
    if CONTROL.search(slug):
        raise BidNotFound(_("There is no such round."))
    round_ = db.session.scalar(select(Round).where(Round.slug == slug))
    if round_ is None:
        raise BidNotFound(_("There is no such round."))
    return round_


def _member_groups(user_id: int) -> list[Group]:
    return list(
        db.session.scalars(
            select(Group)
            .join(GroupMembership)
            .where(GroupMembership.user_id == user_id)
            .order_by(Group.name, Group.id)
        )
    )


def _check_open(round_: Round, now: datetime) -> None:
    """Refuse unless the round takes new bids (drafts may be edited only while bids are open)."""
    try:
        next_status(BidStatus.DRAFT, round_phase(round_, now), Actor.GROUP, Action.EDIT)
    except TransitionRefused:
        raise BidLocked(_("This round is not open for bids.")) from None


def round_for_new_bid(user_id: int, slug: str, now: datetime) -> tuple[Round, list[Group]]:
    """The round (open for bids) and the person's groups that may bid in it."""
    round_ = _round_by_slug(slug)
    _check_open(round_, now)
    groups = _member_groups(user_id)
    if not groups:
        raise NotYourBid(_("Register your community group before you start a bid."))
    return round_, groups


def ref_prefix(title: str) -> str:
    """Two capital letters from a round's title: "Ageing Better 2026" → "AB"."""
    words: list[str] = re.findall(r"[A-Za-z]+", title)
    if len(words) >= 2:
        return (words[0][0] + words[1][0]).upper()
    if words and len(words[0]) >= 2:
        return words[0][:2].upper()
    return "PB"


def _next_ref(round_: Round) -> str:
    """The next unused public ref in the round, like AB-07 (the round row is locked)."""
    prefix = ref_prefix(round_.title)
    taken = set(db.session.scalars(select(Bid.ref).where(Bid.round_id == round_.id)))
    number = len(taken) + 1
    while f"{prefix}-{number:02d}" in taken:
        number += 1
    return f"{prefix}-{number:02d}"


def _apply(bid: Bid, values: BidValues) -> None:
    """Copy the answers onto the bid, replacing its budget lines."""
    bid.title = values.title.strip()
    bid.summary = values.summary.strip()
    bid.description = values.description.strip()
    bid.beneficiaries = values.beneficiaries.strip()
    bid.beneficiaries_count = values.beneficiaries_count
    bid.ward_id = values.ward_id
    bid.theme_id = values.theme_id
    bid.timeline = values.timeline.strip()
    bid.contact_name = values.contact_name.strip()
    bid.contact_email = values.contact_email.strip()
    bid.budget_lines = [
        BudgetLine(position=i, description=text.strip(), amount_pence=amount)
        for i, (text, amount) in enumerate(values.lines)
    ]


def create_bid(user_id: int, slug: str, group_id: int, values: BidValues, now: datetime) -> Bid:
    """Save a new draft bid for one of the person's groups in a round open for bids."""
    # Lock the round row so parallel new bids take refs one after another (PostgreSQL).
    round_ = db.session.scalar(
        select(Round).where(Round.id == _round_by_slug(slug).id).with_for_update()
    )
    if round_ is None:
        raise BidNotFound(_("There is no such round."))
    _check_open(round_, now)
    if group_id not in {g.id for g in _member_groups(user_id)}:
        raise NotYourBid(_("You can only bid for a group you belong to."))
    problems = draft_problems(values, rules_of(round_))
    if problems:
        raise BidInvalid(problems)
    bid = Bid(round_id=round_.id, group_id=group_id, ref=_next_ref(round_), status=BidStatus.DRAFT)
    _apply(bid, values)
    bid.history = [
        BidStatusChange(from_status=None, to_status=BidStatus.DRAFT, by_user_id=user_id, at=now)
    ]
    db.session.add(bid)
    try:
        db.session.commit()
    except IntegrityError:
        # Only a parallel bid taking the same ref gets here (PostgreSQL locks the round first).
        db.session.rollback()
        raise BidLocked(_("Someone else saved a bid at the same moment. Try again.")) from None
    return bid


def _member_bid(user_id: int, bid_id: int, *, lock: bool = False) -> Bid:
    """The bid, if the person belongs to its group; raise BidNotFound or NotYourBid."""
    query = select(Bid).where(Bid.id == bid_id)
    bid = db.session.scalar(query.with_for_update() if lock else query) if fits(bid_id) else None
    if bid is None:
        raise BidNotFound(_("There is no such bid."))
    member = db.session.scalar(
        select(GroupMembership.id).where(
            GroupMembership.group_id == bid.group_id, GroupMembership.user_id == user_id
        )
    )
    if member is None:
        raise NotYourBid(_("Only members of the group that made this bid can see or change it."))
    return bid


def bid_for_member(user_id: int, bid_id: int) -> Bid:
    """The bid, for a member of its group."""
    return _member_bid(user_id, bid_id)


def bid_for_editing(user_id: int, bid_id: int, now: datetime) -> Bid:
    """The bid, for a member of its group, if its status and the round's phase allow changes."""
    bid = _member_bid(user_id, bid_id)
    _move(bid, Action.EDIT, now)
    return bid


def bid_for_withdrawal(user_id: int, bid_id: int, now: datetime) -> Bid:
    """The bid, for a member of its group, if it may be withdrawn now."""
    bid = _member_bid(user_id, bid_id)
    _move(bid, Action.WITHDRAW, now)
    return bid


def _move(bid: Bid, action: Action, now: datetime) -> BidStatus:
    """The status ``action`` leads to, as the bid state machine decides."""
    try:
        return next_status(BidStatus(bid.status), round_phase(bid.round, now), Actor.GROUP, action)
    except TransitionRefused as error:
        raise BidLocked(str(error)) from None


def update_bid(user_id: int, bid_id: int, values: BidValues, now: datetime) -> Bid:
    """Save changed answers; a submitted bid must stay complete, so the full rules apply to it."""
    bid = _member_bid(user_id, bid_id, lock=True)
    _move(bid, Action.EDIT, now)
    rules = rules_of(bid.round)
    complete = bid.status in (BidStatus.SUBMITTED, BidStatus.RESUBMITTED)
    problems = submission_problems(values, rules) if complete else draft_problems(values, rules)
    if problems:
        db.session.rollback()
        raise BidInvalid(problems)
    _apply(bid, values)
    db.session.commit()
    return bid


def _change_status(bid: Bid, action: Action, user_id: int, note: str, now: datetime) -> None:
    """Move the bid on, keep the change in its history, commit, then tell the group."""
    target = _move(bid, action, now)
    bid.history.append(
        BidStatusChange(
            from_status=bid.status, to_status=target, by_user_id=user_id, note=note, at=now
        )
    )
    bid.status = target
    if action in (Action.SUBMIT, Action.RESUBMIT):
        bid.submitted_at = now
    db.session.commit()
    notify_group(bid, EVENT_OF[action], note)


def submit_bid(user_id: int, bid_id: int, now: datetime) -> Bid:
    """Submit a draft, or resubmit after changes were asked for; every rule is enforced."""
    bid = _member_bid(user_id, bid_id, lock=True)
    action = Action.RESUBMIT if bid.status == BidStatus.CHANGES_REQUESTED else Action.SUBMIT
    _move(bid, action, now)
    problems = submission_problems(values_of(bid), rules_of(bid.round))
    if problems:
        db.session.rollback()
        raise BidInvalid(problems)
    _change_status(bid, action, user_id, "", now)
    return bid


def withdraw_bid(user_id: int, bid_id: int, note: str, now: datetime) -> Bid:
    """Withdraw the bid from the round, with the group's optional reason."""
    if len(note) > 2000:
        raise BidInvalid([Problem("note", _("The reason must be 2000 characters or fewer"))])
    bid = _member_bid(user_id, bid_id, lock=True)
    _change_status(bid, Action.WITHDRAW, user_id, note.strip(), now)
    return bid


def reply(user_id: int, bid_id: int, body: str, now: datetime) -> BidMessage:
    """Add the group's reply to the conversation while officers have asked for changes."""
    if not body.strip() or len(body) > 5000:
        raise BidInvalid([Problem("body", _("Enter a message of 5000 characters or fewer"))])
    bid = _member_bid(user_id, bid_id, lock=True)
    if bid.status != BidStatus.CHANGES_REQUESTED:
        db.session.rollback()
        raise BidLocked(_("You can reply when officers have asked for changes to the bid."))
    message = BidMessage(bid_id=bid.id, author_id=user_id, body=body.strip(), at=now)
    db.session.add(message)
    db.session.commit()
    return message


def image_type(data: bytes) -> str | None:
    """The content type the file's first bytes prove (PNG, JPEG or WebP), else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def set_image(user_id: int, bid_id: int, data: bytes, alt_text: str, now: datetime) -> None:
    """Attach or replace the bid's picture after checking its real type and size."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageInvalid(_("The picture must be smaller than 2 MB"))
    content_type = image_type(data)
    if content_type is None:
        raise ImageInvalid(_("The picture must be a PNG, JPEG or WebP image"))
    if not alt_text.strip() or len(alt_text) > 300:
        raise ImageInvalid(_("Describe the picture in 300 characters or fewer"))
    bid = _member_bid(user_id, bid_id, lock=True)
    _move(bid, Action.EDIT, now)
    image = db.session.scalar(select(BidImage).where(BidImage.bid_id == bid.id))
    if image is None:
        image = BidImage(bid_id=bid.id)
        db.session.add(image)
    image.content_type = content_type
    image.data = data
    image.alt_text = alt_text.strip()
    db.session.commit()


def remove_image(user_id: int, bid_id: int, now: datetime) -> None:
    """Remove the bid's picture."""
    bid = _member_bid(user_id, bid_id, lock=True)
    _move(bid, Action.EDIT, now)
    image = db.session.scalar(select(BidImage).where(BidImage.bid_id == bid.id))
    if image is not None:
        db.session.delete(image)
    db.session.commit()


def image_of(bid_id: int, user_id: int | None, *, staff: bool) -> tuple[bytes, str]:
    """The picture's bytes and type, for the group, staff, or anyone once shortlisted."""
    found = (
        db.session.execute(
            select(BidImage, Bid.status, Bid.group_id)
            .join(Bid, Bid.id == BidImage.bid_id)
            .where(BidImage.bid_id == bid_id)
        ).first()
        if fits(bid_id)
        else None
    )
    if found is None:
        raise BidNotFound(_("This bid has no picture."))
    image, status, group_id = found
    member = user_id is not None and db.session.scalar(
        select(func.count())
        .select_from(GroupMembership)
        .where(GroupMembership.group_id == group_id, GroupMembership.user_id == user_id)
    )
    if not (staff or member or status in PUBLIC_STATUSES):
        raise NotYourBid(_("This picture is not public yet."))
    return image.data, image.content_type


def bid_page(user_id: int, bid_id: int, now: datetime) -> BidPage:
    """What the group sees of its bid: answers, what is missing, conversation, history, actions."""
    bid = _member_bid(user_id, bid_id)
    phase = round_phase(bid.round, now)
    actions = frozenset(a.value for a in allowed_actions(BidStatus(bid.status), phase, Actor.GROUP))
    open_for_submission = bool(actions & {Action.SUBMIT.value, Action.RESUBMIT.value})
    image = db.session.scalar(select(BidImage).where(BidImage.bid_id == bid.id))
    return BidPage(
        bid=bid,
        phase=phase,
        actions=actions,
        problems=submission_problems(values_of(bid), rules_of(bid.round))
        if open_for_submission
        else [],
        messages=messages_of(bid.id),
        history=[HistoryEntry(h.from_status, h.to_status, h.note, h.at) for h in bid.history],
        can_reply=bid.status == BidStatus.CHANGES_REQUESTED,
        has_image=image is not None,
        image_alt=image.alt_text if image else "",
        decided=bid.status in {BidStatus.REJECTED, BidStatus.FUNDED, BidStatus.NOT_FUNDED},
        round_title=bid.round.title,
        ward_name=bid.ward.name if bid.ward else "",
        theme_name=bid.theme.name if bid.theme else "",
        lines=[(line.description, line.amount_pence) for line in bid.budget_lines],
        total_pence=bid.amount_pence,
    )
