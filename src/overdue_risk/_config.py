"""One configuration kernel: frozen dataclass trees, read from TOML or nested dicts.

A configuration (the prioritiser's :class:`~overdue_risk.Strategy`, the
simulator's :class:`~overdue_risk.Scenario`) is a tree of frozen dataclasses:
a field with :data:`SECTION` metadata holds a nested section, a :func:`setting`
field a value with the rule (:mod:`overdue_risk._params`) it must keep. This module holds what
every such tree needs, once:

* walking the tree, checking and normalising every leaf against its rule, so a
  message names the full key (``strategy.actions.visit.min_dpd``) however the
  tree was built;
* building from nested dicts and merging changes into a tree, with unknown keys
  rejected and the nearest valid key suggested;
* reading TOML (a leading UTF-8 byte order mark is dropped), with a clear
  error for a file that cannot be read, is not UTF-8 or is not valid TOML;
* ``to_dict``, ``to_toml`` and the provenance summary (``key``, ``value``,
  ``default``, ``source``).

Each configuration raises its own error class: it names it, with its root key,
in a :class:`ConfigRoot`, and every problem is raised as that class directly.

Examples
--------
>>> from dataclasses import dataclass, field
>>> from overdue_risk._params import Interval
>>> @dataclass(frozen=True)
... class Limits:
...     per_day: int = setting(3, Interval(int, 1))
>>> @dataclass(frozen=True)
... class Plan:
...     limits: Limits = field(default_factory=Limits, metadata=SECTION)
...     def __post_init__(self):
...         ROOT.validate(self)
>>> ROOT = ConfigRoot("plan", ValueError)
>>> ROOT.build(Plan, {"limits": {"per_day": 5}}).limits.per_day
5
>>> ROOT.build(Plan, {"limits": {"per_dya": 5}})
Traceback (most recent call last):
...
ValueError: Unknown key plan.limits.per_dya; did you mean per_day?
>>> print(to_toml(Plan()), end="")
[limits]
per_day = 3
"""

from __future__ import annotations

import codecs
import datetime as dt
import difflib
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from ._params import as_rule, check

__all__ = ["SECTION", "ConfigRoot", "rule", "setting", "summary", "to_dict", "to_toml"]


# The metadata of a field holding a nested section, whose class is that of its
# default: ``field(default_factory=Section, metadata=SECTION)``.
SECTION = MappingProxyType({"section": True})


def rule(spec: Any) -> MappingProxyType:
    """The metadata of a leaf field that keeps ``spec`` (a rule of :mod:`overdue_risk._params`,
    ``None``, or a list of them): ``field(default=None, metadata=rule([None, Date()]))``."""
    return MappingProxyType({"rule": as_rule(spec)})


def setting(default: Any, spec: Any) -> Any:
    """A leaf field: its default and the rule it keeps (see :func:`rule`)."""
    return field(default=default, metadata=rule(spec))


def _names(cls: Any) -> list[str]:
    return [f.name for f in fields(cls)]


def _unknown(key: str, name: str, cls: Any) -> str:
    close = difflib.get_close_matches(name, _names(cls), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]}?" if close else f"; valid keys: {', '.join(_names(cls))}."
    return f"Unknown key {key}{hint}"


@dataclass(frozen=True)
class ConfigRoot:
    """One kind of configuration: the root key of its messages and its error class.

    Parameters
    ----------
    name : str
        The first part of every key a message names (``"strategy"``), and the
        name of its files in messages (``"Cannot read strategy file ..."``).
    error : type
        The exception class every problem is raised as.
    """

    name: str
    error: type[Exception]

    def validate(self, tree: Any) -> None:
        """Check every value of ``tree`` against its rule, normalising it in place.

        Called once, from the root class's ``__post_init__``.
        """
        self._walk(tree, self.name)

    def _walk(self, obj: Any, prefix: str) -> None:
        for f in fields(obj):
            key = f"{prefix}.{f.name}"
            value = getattr(obj, f.name)
            if "section" in f.metadata:
                if not isinstance(value, type(f.default_factory())):
                    raise self.error(f"{key} must be a table of keys; got {value!r}.")
                self._walk(value, key)
                continue
            clean = check(f.metadata["rule"], value, key=key, error=self.error)
            if clean is not value:
                object.__setattr__(obj, f.name, clean)  # frozen: normalise once, at construction

    def build(self, cls: type, data: Any) -> Any:
        """A ``cls`` tree from nested dicts, as in a TOML file; missing keys keep their defaults."""
        self._table(data, self.name)
        return self.merge(cls(), data)

    def merge(self, tree: Any, data: Any, prefix: str | None = None) -> Any:
        """``tree`` with the keys in ``data`` changed; a section takes a dict of its keys
        (merged recursively) or a whole section object."""
        prefix = prefix or self.name
        self._table(data, prefix)
        changes = {}
        by_name = {f.name: f for f in fields(tree)}
        for name, value in data.items():
            key = f"{prefix}.{name}"
            f = by_name.get(name)
            if f is None:
                raise self.error(_unknown(key, name, type(tree)))
            if "section" in f.metadata and isinstance(value, dict):
                value = self.merge(getattr(tree, name), value, key)
            changes[name] = value
        return replace(tree, **changes)

    def _table(self, data: Any, key: str) -> None:
        if not isinstance(data, dict):
            raise self.error(f"{key} must be a table of keys; got {data!r}.")

    def read_toml(self, path: str | Path) -> dict[str, Any]:
        """The nested dicts of a TOML file."""
        p = Path(path)
        if p.exists() and not (p.is_file() or p.is_dir()):  # a pipe would block the read
            raise self.error(
                f"Cannot read {self.name} file {str(p)!r}: not a regular file (a pipe, "
                "device or socket)."
            )
        try:
            raw = p.read_bytes()
        except OSError as exc:
            raise self.error(f"Cannot read {self.name} file {str(p)!r}: {exc.strerror}.") from exc
        what = f"{self.name.capitalize()} file {str(p)!r}"
        # A byte order mark, as some Windows editors write, is not TOML but says
        # nothing else about the text: it is dropped.
        skip = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
        try:
            text = raw[skip:].decode("utf-8")
        except UnicodeDecodeError as exc:
            at = exc.start + skip
            raise self.error(
                f"{what} is not UTF-8 text: byte {raw[at]:#04x} at position {at}."
            ) from None
        return self.parse_toml(text, what)

    def parse_toml(self, text: str, what: str) -> dict[str, Any]:
        """The nested dicts of TOML ``text``; ``what`` names it in the message."""
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise self.error(f"{what} is not valid TOML: {exc}.") from exc


# -- reading a tree out ----------------------------------------------------------------------


def to_dict(tree: Any) -> dict[str, Any]:
    """Nested dicts of every value (tuples as lists; ``None`` values omitted)."""
    out: dict[str, Any] = {}
    for f in fields(tree):
        value = getattr(tree, f.name)
        if is_dataclass(value):
            out[f.name] = to_dict(value)
        elif value is not None:
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(type(value))  # pragma: no cover


def _toml_table(data: dict[str, Any], path: list[str], lines: list[str]) -> None:
    plain = {k: v for k, v in data.items() if not isinstance(v, dict)}
    if path and plain:
        lines.append(f"[{'.'.join(path)}]")
    for k, v in plain.items():
        lines.append(f"{k} = {_toml_value(v)}")
    if path and plain:
        lines.append("")
    for k, v in data.items():
        if isinstance(v, dict):
            _toml_table(v, [*path, k], lines)


def to_toml(tree: Any) -> str:
    """The tree as TOML text, one table per section, that reads back to an equal tree."""
    lines: list[str] = []
    _toml_table(to_dict(tree), [], lines)
    return "\n".join(lines).strip() + "\n"


def _leaves(tree: Any, ref: Any, prefix: str = "") -> Iterator[tuple[str, Any, Any]]:
    """``(key, value, value in ref)`` for every leaf, in field order."""
    for f in fields(tree):
        key = f"{prefix}.{f.name}" if prefix else f.name
        value, other = getattr(tree, f.name), getattr(ref, f.name)
        if is_dataclass(value):
            yield from _leaves(value, other, key)
        else:
            yield key, value, other


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def summary(
    tree: Any, default: Any, base: Any = None, base_source: str = "profile"
) -> pd.DataFrame:
    """One row per leaf: ``key``, ``value``, ``default`` and ``source``.

    ``source`` is ``"user"`` where the value differs from ``base`` (from
    ``default`` without one), ``base_source`` where it is the base's value and
    that differs from the default, and ``"default"`` elsewhere.
    """
    ref = default if base is None else base
    rows = []
    for (key, value, was), (_, _, dflt) in zip(
        _leaves(tree, ref), _leaves(tree, default), strict=True
    ):
        if not _same(value, was):
            source = "user"
        elif base is not None and not _same(value, dflt):
            source = base_source
        else:
            source = "default"
        rows.append({"key": key, "value": value, "default": dflt, "source": source})
    return pd.DataFrame(rows)
