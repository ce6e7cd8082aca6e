"""The ballot log's hash chain, pure: canonical JSON, link hashes, and the verifier."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pb_app.ledger import (
    Link,
    NotCanonical,
    canonical_json,
    genesis_hash,
    link_hash,
    verify_chain,
)


def build(genesis: str, contents: list[dict[str, object]]) -> list[Link]:
    links, head = [], genesis
    for seq, content in enumerate(contents, start=1):
        text = canonical_json(content)
        digest = link_hash(head, text)
        links.append(Link(seq, head, text, digest))
        head = digest
    return links


def test_genesis_is_documented_sha256() -> None:
    expected = hashlib.sha256(b"pb_app ballot log v1\nmy-round").hexdigest()
    assert genesis_hash("my-round") == expected
    assert genesis_hash("a") != genesis_hash("b")


def test_canonical_json_sorts_keys_and_drops_whitespace() -> None:
    assert canonical_json({"b": [1, 2], "a": "é", "c": None, "d": True}) == (
        '{"a":"é","b":[1,2],"c":null,"d":true}'
    )


@pytest.mark.parametrize(
    "content", [{"x": 1.5}, {"x": float("nan")}, {"x": {1: 2}}, {"x": {1, 2}}, {"x": b"raw"}]
)
def test_canonical_json_refuses_what_other_languages_would_print_differently(
    content: dict[str, object],
) -> None:
    with pytest.raises(NotCanonical):
        canonical_json(content)


def test_link_hash_is_sha256_of_prev_then_content() -> None:
    prev = "0" * 64
    assert link_hash(prev, '{"a":1}') == hashlib.sha256(b"0" * 64 + b'{"a":1}').hexdigest()
    with pytest.raises(ValueError):
        link_hash("not hex", "{}")


def test_a_good_chain_verifies() -> None:
    genesis = genesis_hash("r")
    links = build(genesis, [{"projects": ["P01"]}, {"projects": ["P02"]}, {"projects": []}])
    check = verify_chain(genesis, links, expected_count=3, expected_head=links[-1].hash)
    assert check.ok
    assert check.count == 3
    assert check.head == links[-1].hash
    assert check.first_broken_seq is None


def test_an_empty_chain_verifies_to_genesis() -> None:
    genesis = genesis_hash("r")
    check = verify_chain(genesis, [], expected_count=0, expected_head=genesis)
    assert check.ok
    assert check.head == genesis


def test_edited_content_is_caught_at_that_ballot() -> None:
    genesis = genesis_hash("r")
    links = build(genesis, [{"p": [1]}, {"p": [2]}, {"p": [3]}])
    links[1] = Link(2, links[1].prev_hash, canonical_json({"p": [9]}), links[1].hash)
    check = verify_chain(genesis, links)
    assert not check.ok
    assert check.first_broken_seq == 2
    assert check.count == 1
    assert "edited" in check.reason


def test_rehashed_edit_breaks_the_next_link() -> None:
    genesis = genesis_hash("r")
    links = build(genesis, [{"p": [1]}, {"p": [2]}, {"p": [3]}])
    text = canonical_json({"p": [9]})
    links[1] = Link(2, links[1].prev_hash, text, link_hash(links[1].prev_hash, text))
    check = verify_chain(genesis, links)
    assert check.first_broken_seq == 3


def test_deleted_ballots_are_caught_in_the_middle_and_at_the_end() -> None:
    genesis = genesis_hash("r")
    links = build(genesis, [{"p": [1]}, {"p": [2]}, {"p": [3]}])
    middle = verify_chain(genesis, [links[0], links[2]])
    assert middle.first_broken_seq == 2
    assert "missing" in middle.reason
    end = verify_chain(genesis, links[:2], expected_count=3, expected_head=links[2].hash)
    assert not end.ok
    assert "deleted" in end.reason


def test_non_canonical_content_is_refused_even_when_hashed() -> None:
    genesis = genesis_hash("r")
    text = '{"b": 1, "a": 2}'
    check = verify_chain(genesis, [Link(1, genesis, text, link_hash(genesis, text))])
    assert check.first_broken_seq == 1
    assert "canonical" in check.reason


def test_wrong_genesis_fails_at_the_first_ballot() -> None:
    links = build(genesis_hash("r"), [{"p": [1]}])
    assert verify_chain(genesis_hash("other"), links).first_broken_seq == 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.lists(st.dictionaries(st.text(max_size=5), json_values, max_size=4), max_size=6), st.data()
)
def test_any_single_change_is_detected(
    contents: list[dict[str, object]], data: st.DataObject
) -> None:
    genesis = genesis_hash("prop")
    links = build(genesis, contents)
    assert verify_chain(genesis, links, expected_count=len(links)).ok
    if not links:
        return
    index = data.draw(st.integers(0, len(links) - 1))
    original = links[index]
    tampered = Link(original.seq, original.prev_hash, original.content + " ", original.hash)
    broken = [*links[:index], tampered, *links[index + 1 :]]
    check = verify_chain(genesis, broken)
    assert not check.ok
    assert check.first_broken_seq == index + 1
