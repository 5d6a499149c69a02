"""Shared fixtures: the hand-made test portfolio, writable copies of it, and the sample.

``tests/data/handmade`` is a small portfolio written by hand so that every case
(on time, late, partial, missed, prepaid, allocated payments, cards) sits in a
named loan; ``data/sample`` is the simulated sample users start from. Plain
helpers (paths, the CLI runner, hypothesis settings, builders) are in
``helpers.py``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

from overdue_risk import Portfolio, load_portfolio

# Hypothesis explores new random examples on every local run; in CI (``CI`` set,
# as scripts/test.sh does) it draws the same examples every time and keeps no
# example database, so a run never depends on an earlier one. No deadline in CI:
# a test's speed is for the benchmarks, and a loaded machine must not fail a test.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True, deadline=None)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

from helpers import HANDMADE, SAMPLE  # noqa: E402  (after the profile: helpers builds on it)


@pytest.fixture
def sample_dir() -> Path:
    """The hand-made clean portfolio (read only: copy it before changing it)."""
    return HANDMADE


@pytest.fixture
def portfolio_dir(tmp_path: Path) -> Callable[..., Path]:
    """Factory: a fresh copy of the hand-made portfolio in ``tmp_path / name``."""

    def make(name: str = "portfolio") -> Path:
        dest = tmp_path / name
        shutil.copytree(HANDMADE, dest)
        return dest

    return make


@pytest.fixture(scope="module")
def sample() -> Portfolio:
    """The simulated sample of ``data/sample``, loaded once per module (read only)."""
    return load_portfolio(SAMPLE)
