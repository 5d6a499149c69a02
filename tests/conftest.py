"""Shared fixtures: the hand-made test portfolio and writable copies of it.

``tests/data/handmade`` is a small portfolio written by hand so that every case
(on time, late, partial, missed, prepaid, allocated payments, cards) sits in a
named loan; ``data/sample`` is the simulated sample users start from.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

# Hypothesis explores new random examples on every local run; in CI (``CI`` set,
# as scripts/test.sh does) it draws the same examples every time and keeps no
# example database, so a run never depends on an earlier one.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

SAMPLE_DIR = Path(__file__).resolve().parent / "data" / "handmade"


@pytest.fixture
def sample_dir() -> Path:
    """The hand-made clean portfolio (read only: copy it before changing it)."""
    return SAMPLE_DIR


@pytest.fixture
def portfolio_dir(tmp_path: Path) -> Callable[..., Path]:
    """Factory: a fresh copy of the hand-made portfolio in ``tmp_path / name``."""

    def make(name: str = "portfolio") -> Path:
        dest = tmp_path / name
        shutil.copytree(SAMPLE_DIR, dest)
        return dest

    return make
