"""The ballot log's hash chain, pure: canonical JSON, link hashes and a verifier.

Every round has its own chain. Link ``i`` stores the canonical JSON of ballot ``i`` and

    hash_i = SHA-256( ascii(hash_{i-1}) ‖ utf8(canonical_i) )  as 64 lowercase hex digits

where ``hash_0`` is :func:`genesis_hash` of the round's slug. ``hash_{i-1}`` is always exactly
64 ASCII hex characters, so the concatenation needs no separator to be unambiguous. Anyone can
recompute the chain from the published log with ``hashlib`` and ``json`` alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

GENESIS_PREFIX = "pb_app ballot log v1\n"
_HEX = frozenset("0123456789abcdef")


class NotCanonical(ValueError):
    """A value that cannot go into the ballot log (a float, a non-string key, …)."""


def genesis_hash(round_slug: str) -> str:
    """The hash before the first ballot: SHA-256 of ``"pb_app ballot log v1\\n" ‖ utf8(slug)``."""
    return hashlib.sha256((GENESIS_PREFIX + round_slug).encode("utf-8")).hexdigest()


def _check(value: object, where: str) -> None:
    # Floats are refused: their text form varies between languages, so a recount in another
    # language could not reproduce the hash. Money and points are integers anyway.
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{where}[{index}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotCanonical(f"{where}: key {key!r} is not a string")
            _check(item, f"{where}.{key}")
        return
    raise NotCanonical(f"{where}: {type(value).__name__} is not allowed in the ballot log")


def canonical_json(content: Mapping[str, object]) -> str:
    """The one text form of ``content``: sorted keys, no whitespace, UTF-8 kept, ints only."""
    _check(content, "content")
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def link_hash(prev_hash: str, canonical: str) -> str:
    """SHA-256 hex of ``ascii(prev_hash) ‖ utf8(canonical)``."""
    if len(prev_hash) != 64 or not set(prev_hash) <= _HEX:
        raise ValueError("prev_hash must be 64 lowercase hex digits")
    return hashlib.sha256(prev_hash.encode("ascii") + canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Link:
    """One stored ballot as the verifier sees it: ``content`` is the stored canonical JSON."""

    seq: int
    prev_hash: str
    content: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The verdict on a chain: ``head`` is the last good hash, ``count`` the good links."""

    ok: bool
    count: int
    head: str
    first_broken_seq: int | None = None
    reason: str = ""


def _content_problem(content: str) -> str | None:
    try:
        parsed = json.loads(content)
    except ValueError:
        return "its content is not JSON"
    if not isinstance(parsed, dict):
        return "its content is not a JSON object"
    try:
        again = canonical_json(parsed)
    except NotCanonical as error:
        return f"its content is not canonical ({error})"
    if again != content:
        return "its content is not in canonical form"
    return None


def verify_chain(
    genesis: str,
    links: Iterable[Link],
    *,
    expected_count: int | None = None,
    expected_head: str | None = None,
) -> ChainCheck:
    """Recompute the chain from ``genesis``; report the first link that does not hold.

    ``links`` must come in ``seq`` order. ``expected_count``/``expected_head`` (the stored chain
    head) catch what a chain alone cannot: ballots removed from its end.
    """
    head = genesis
    count = 0
    for link in links:
        expected_seq = count + 1
        reason = ""
        if link.seq != expected_seq:
            reason = f"expected ballot {expected_seq} here but found ballot {link.seq} (missing?)"
        elif link.prev_hash != head:
            reason = "its previous hash does not match the ballot before it"
        else:
            reason = _content_problem(link.content) or ""
            if not reason and link_hash(head, link.content) != link.hash:
                reason = "its hash does not match its content (edited?)"
        if reason:
            return ChainCheck(False, count, head, expected_seq, f"Ballot {expected_seq}: {reason}.")
        head = link.hash
        count += 1
    if expected_count is not None and count != expected_count:
        return ChainCheck(
            False,
            count,
            head,
            count + 1,
            f"The log holds {count} ballots but its head records {expected_count} (deleted?).",
        )
    if expected_head is not None and head != expected_head:
        return ChainCheck(
            False, count, head, count, "The last ballot's hash differs from the recorded head."
        )
    return ChainCheck(True, count, head, None, "")
