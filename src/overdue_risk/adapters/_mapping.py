"""Which database table holds which table: :class:`TableMapping`, read from TOML or a dict.

The file has a ``[tables]`` section, one key per table, and an optional
``schema`` for the names written without one::

    schema = "core"                     # optional

    [tables]
    loans = "loan_accounts"             # core.loan_accounts
    installments = "core.schedule"
    payments = "ledger.payments"        # another schema

Every name is an SQL identifier (a letter or ``_``, then letters, digits or
``_``; at most 63 characters), or two joined by a dot (``schema.table``). Names
are always quoted in SQL, so they match exactly as written: a table created
in PostgreSQL without quotes has a lower-case name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .._config import ConfigRoot
from .._params import suggest
from ..contract import TABLES
from ._drivers import SourceError, quote

__all__ = ["TableMapping", "as_mapping"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1: longer names are cut silently
_KEYS = ("schema", "tables")
_FILE = ConfigRoot("mapping", SourceError)


def _identifier(value: Any, key: str) -> str:
    if not (
        isinstance(value, str)
        and _IDENTIFIER.fullmatch(value)
        and len(value.encode()) <= _MAX_IDENTIFIER
    ):
        raise SourceError(
            f"{key} must be an SQL identifier (a letter or _, then letters, digits or _; "
            f"at most {_MAX_IDENTIFIER} characters); got {value!r}."
        )
    return value


def _split(value: Any, key: str) -> tuple[str | None, str]:
    """``"schema.table"`` or ``"table"`` as (schema or None, table), each part checked."""
    if not isinstance(value, str):
        raise SourceError(f"{key} must be a table name (table or schema.table); got {value!r}.")
    parts = value.split(".")
    if len(parts) > 2:
        raise SourceError(
            f"{key} must be a table name (table or schema.table); got {value!r}, "
            f"which has {len(parts)} parts."
        )
    if len(parts) == 2:
        return _identifier(parts[0], key), _identifier(parts[1], key)
    return None, _identifier(parts[0], key)


@dataclass(frozen=True)
class TableMapping:
    """Database tables by table name, and the schema of the names given without one.

    Parameters
    ----------
    tables : mapping of str to str
        ``{name: "table"}`` or ``{name: "schema.table"}``. For a source the names
        are contract tables (``loans`` is required); for :func:`publish` they
        are the names of the tables published.
    schema : str, optional
        The schema of the tables named without one; the database's current
        schema when absent (``main`` in DuckDB, usually ``public`` in PostgreSQL).
        A source's mapping with a schema and no tables reads the contract's
        table names in that schema.

    Examples
    --------
    >>> m = TableMapping({"loans": "core.loan_accounts", "payments": "payments"}, schema="ops")
    >>> m.relation("loans"), m.relation("payments")
    ('"core"."loan_accounts"', '"ops"."payments"')
    >>> TableMapping({"loans": "loan accounts"})
    Traceback (most recent call last):
    ...
    overdue_risk.adapters._drivers.SourceError: tables.loans must be an SQL identifier (a \
letter or _, then letters, digits or _; at most 63 characters); got 'loan accounts'.
    """

    tables: Mapping[str, str]
    schema: str | None = None
    # What the messages call the mapping: "mapping file 'x.toml'" when read from one.
    origin: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        where = f"{self.origin}: " if self.origin else ""
        if not isinstance(self.tables, Mapping):
            raise SourceError(
                f'{where}tables must be a table of names (name = "schema.table"); '
                f"got {self.tables!r}."
            )
        if self.schema is not None:
            _identifier(self.schema, f"{where}schema")
        checked = {}
        for name, value in self.tables.items():
            _identifier(name, f"{where}tables key {name!r}")
            _split(value, f"{where}tables.{name}")
            checked[name] = value
        object.__setattr__(self, "tables", MappingProxyType(checked))

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> TableMapping:
        """Read a mapping file (see the module's description); unknown keys are refused."""
        shown = f"mapping file {str(path)!r}"
        return cls.from_dict(_FILE.read_toml(Path(path)), origin=shown)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, origin: str = "") -> TableMapping:
        """A mapping from ``{"tables": {...}, "schema": ...}``, as a TOML file holds it."""
        where = f"{origin}: " if origin else ""
        if not isinstance(data, Mapping):
            raise SourceError(f"{where}a table mapping must be a table of keys; got {data!r}.")
        for key in data:
            if key not in _KEYS:
                hint = suggest(key, _KEYS) or f"; the keys are {', '.join(_KEYS)}."
                raise SourceError(f"{where}unknown key {key!r}{hint}")
        tables = data.get("tables", {})
        tables = dict(tables) if isinstance(tables, Mapping) else tables
        return cls(tables, schema=data.get("schema"), origin=origin)

    def where(self, name: str) -> tuple[str | None, str]:
        """(schema, table) of ``name``: its own schema, else :attr:`schema` (None: the default)."""
        schema, table = _split(self.tables[name], name)
        return schema or self.schema, table

    def relation(self, name: str) -> str:
        """The quoted SQL name of ``name``'s table."""
        return quote(*self.where(name))

    def check_names(self, allowed: Iterable[str], what: str) -> None:
        """Every key is one of ``allowed`` (``what`` names them in the message)."""
        allowed = tuple(allowed)
        for name in self.tables:
            if name not in allowed:
                where = f"{self.origin}: " if self.origin else ""
                hint = suggest(name, allowed) or f"; the {what} are {', '.join(allowed)}."
                raise SourceError(f"{where}tables.{name}: {name!r} is not one of the {what}{hint}")

    def for_contract(self) -> TableMapping:
        """This mapping, checked as a source's: contract tables only, ``loans`` among them
        (unless no table is named: then the contract's names in :attr:`schema` are read)."""
        self.check_names(TABLES, "contract tables")
        if self.tables and "loans" not in self.tables:
            where = f"{self.origin}: " if self.origin else ""
            raise SourceError(
                f"{where}tables.loans is missing: every portfolio needs loans, so the mapping "
                'must say which table holds them (loans = "schema.table").'
            )
        return self


def as_mapping(spec: Any, what: str = "tables") -> TableMapping | None:
    """A :class:`TableMapping` from None, a mapping, a dict as in the file, or a TOML path.

    A plain ``{name: "schema.table"}`` dict is the ``[tables]`` section alone.
    """
    if spec is None or isinstance(spec, TableMapping):
        return spec
    if isinstance(spec, str | os.PathLike):
        return TableMapping.from_toml(spec)
    if isinstance(spec, Mapping):
        if isinstance(spec.get("tables"), Mapping) or "schema" in spec:
            return TableMapping.from_dict(spec)  # as the file holds it
        return TableMapping(dict(spec))
    raise SourceError(
        f"{what} must be None, a TableMapping, a dict of table names or the path of a "
        f"mapping TOML file; got {type(spec).__name__}."
    )
