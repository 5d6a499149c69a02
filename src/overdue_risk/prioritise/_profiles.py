"""The shipped strategy profiles: their folder, their names, and the checks on a name.

``profiles/*.toml`` (package data) are complete strategy files; a name that is
no profile is refused with the nearest one suggested, and so is a name that is
no file but looks like a profile's (``defualt``, ``uk-eu``).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

from .._params import suggest
from ..exceptions import StrategyError

__all__: list[str] = []


def _profile_dir():
    return resources.files(__package__).joinpath("profiles")


def _profile_names() -> tuple[str, ...]:
    names = (p.name for p in _profile_dir().iterdir() if p.name.endswith(".toml"))
    return tuple(sorted(n.removesuffix(".toml") for n in names))


def _check_strategy_name(text: str | bytes) -> None:
    """Refuse an empty strategy, and a name that is no file but looks like a profile's."""
    available = _profile_names()
    listed = f"Available profiles: {', '.join(available)}."
    if isinstance(text, bytes):
        return
    if not text.strip():
        raise StrategyError(
            f"strategy must be a profile name or a TOML file; got {text!r}. {listed}"
        )
    path = Path(text)
    if os.path.lexists(path) or len(path.parts) > 1 or path.suffix:
        return  # a file, present or not: from_toml names what is wrong with it
    normal = text.strip().lower().replace("-", "_").replace(" ", "_")
    hint = suggest(text, available) or suggest(normal, available) or "."
    raise StrategyError(
        f"strategy {text!r} is neither a profile nor an existing file{hint} {listed} "
        "A strategy file is named by its path (e.g. ./mine.toml)."
    )


def _profile_name(name: Any, key: str | None = None) -> str:
    """``name`` if it names a shipped profile; else StrategyError listing them."""
    available = _profile_names()
    if not isinstance(name, str) or name not in available:
        hint = suggest(name, available) or "."
        where = f"{key}: u" if key else "U"
        raise StrategyError(
            f"{where}nknown strategy profile {name!r}{hint} "
            f"Available profiles: {', '.join(available)}."
        )
    return name
