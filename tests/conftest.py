"""Shared fixtures: the bundled sample portfolio and writable copies of it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture
def sample_dir() -> Path:
    """The bundled clean sample portfolio (read only: copy it before changing it)."""
    return SAMPLE_DIR


@pytest.fixture
def portfolio_dir(tmp_path: Path) -> Callable[..., Path]:
    """Factory: a fresh copy of the sample portfolio in ``tmp_path / name``."""

    def make(name: str = "portfolio") -> Path:
        dest = tmp_path / name
        shutil.copytree(SAMPLE_DIR, dest)
        return dest

    return make
