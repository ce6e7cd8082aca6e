"""Fixtures for the counting tests: the shared pabulib files, their expected outcomes, copies.

The shared files live in ``../shared/data/pabulib`` beside the checkout; ``tests/data`` holds
copies of a few small ones (with their slice of ``expected.json``) so a fresh clone without
``../shared`` still tests real elections.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from pb_app.tally.pabulib import PbFile, read_pb

SHARED_PABULIB = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "pabulib"
DATA_DIR = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="session")
def shared_pabulib_dir() -> Path:
    """The shared pabulib folder; the test is skipped, saying why, when it is absent."""
    if not (SHARED_PABULIB / "expected.json").is_file():
        pytest.skip(f"shared pabulib files not found at {SHARED_PABULIB}")
    return SHARED_PABULIB


@pytest.fixture(scope="session")
def expected() -> dict[str, Any]:
    """Expected pabutools outcomes per file: the shared expected.json, else the local slice."""
    source = SHARED_PABULIB / "expected.json"
    if not source.is_file():
        source = DATA_DIR / "expected.json"
    files: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))["files"]
    return files


@cache
def load(name: str) -> PbFile:
    """Read a pabulib file by name from tests/data, else from the shared folder (read once)."""
    local = DATA_DIR / name
    return read_pb(local if local.is_file() else SHARED_PABULIB / name)
