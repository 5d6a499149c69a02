"""The :class:`Portfolio` container and :func:`load_portfolio`."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path

import pandas as pd

from .._io import OUTPUT_FORMATS, path_kind, read_csv_as_written
from ..exceptions import DataQualityWarning, DataValidationError, Problem
from ._schema import TABLES

__all__ = ["Portfolio", "load_portfolio"]

_SUFFIXES = tuple(OUTPUT_FORMATS)  # .parquet, .csv
_TABLE_FILES = {f"{name}{s}" for name in TABLES for s in _SUFFIXES}


@dataclass(frozen=True, eq=False)
class Portfolio:
    """A lender's portfolio: the contract tables as DataFrames.

    Build one from frames with ``Portfolio(loans=..., installments=..., ...)``
    and pass it to :func:`~overdue_risk.validate`, or read a folder with
    :func:`~overdue_risk.load_portfolio`. Validation returns a new, normalised
    Portfolio (``validated`` is True); the frames you passed are never changed.

    Parameters
    ----------
    loans : DataFrame
        Required. See ``docs/data-contract.md`` for every table's columns.
    installments, payments, statements, collections, customers : DataFrame, optional
        A portfolio needs ``installments`` with ``payments``, or ``statements``.

    Examples
    --------
    >>> import pandas as pd
    >>> from overdue_risk import Portfolio, validate
    >>> loans = pd.DataFrame({"loan_id": [1], "customer_id": [7],
    ...     "product_type": ["instalment"], "start_date": ["2024-01-01"],
    ...     "principal": [300.0]})
    >>> schedule = pd.DataFrame({"loan_id": [1, 1, 1], "installment_no": [1, 2, 3],
    ...     "due_date": ["2024-02-01", "2024-03-01", "2024-04-01"],
    ...     "amount_due": [105.0, 105.0, 105.0]})
    >>> payments = pd.DataFrame({"loan_id": [1], "payment_date": ["2024-02-01"],
    ...     "amount": [105.0]})
    >>> p = validate(Portfolio(loans=loans, installments=schedule, payments=payments))
    >>> p.summary()["rows"].tolist()
    [1, 3, 1]
    """

    loans: pd.DataFrame
    installments: pd.DataFrame | None = None
    payments: pd.DataFrame | None = None
    statements: pd.DataFrame | None = None
    collections: pd.DataFrame | None = None
    customers: pd.DataFrame | None = None
    # Set only by validate(): a caller cannot declare raw frames validated.
    validated: bool = field(default=False, init=False, repr=False)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables that are present, by name, in contract order."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name in TABLES and getattr(self, f.name) is not None
        }

    def summary(self) -> pd.DataFrame:
        """Rows, columns and date range of each table present."""
        rows = []
        for name, df in self.tables().items():
            date_col = TABLES[name].date_column
            first = last = pd.NaT
            if (
                date_col
                and date_col in df.columns
                and pd.api.types.is_datetime64_any_dtype(df[date_col])
            ):
                first, last = df[date_col].min(), df[date_col].max()
            rows.append(
                {
                    "table": name,
                    "rows": len(df),
                    "columns": df.shape[1],
                    "first_date": first,
                    "last_date": last,
                }
            )
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={len(v):,} rows" for k, v in self.tables().items())
        return f"Portfolio({parts}{', validated' if self.validated else ''})"


def _not_a_file(path: Path) -> str | None:
    """What ``path`` is when it is there but is not a regular file (None: a file).

    Nothing that is not a regular file is ever opened: reading a FIFO would
    wait for ever, and a directory or a symlink loop is not a table.
    """
    kind = path_kind(path)
    return None if kind == "a file" else kind


def _lookalike_of(name: str) -> str | None:
    """The table a file name looks like when it is not read as one: another case or
    extension (``loans.CSV``, ``loans.tsv``, ``loans.csv.bak``, ``"loans.csv "``).

    Only ``<table>.csv`` and ``<table>.parquet`` are read, exactly so written.
    """
    if name in _TABLE_FILES:
        return None
    stem = name.strip().split(".")[0].strip().lower()
    return stem if stem in TABLES and "." in name else None


def _lookalikes(folder: Path) -> dict[str, list[str]]:
    """The files that look like each table but are not read, by table."""
    found: dict[str, list[str]] = {}
    for p in sorted(folder.iterdir(), key=lambda p: p.name):
        table = _lookalike_of(p.name)
        if table is None:
            continue
        # A case-insensitive file system reads loans.CSV as loans.csv: it is read.
        read = [folder / f"{table}{s}" for s in _SUFFIXES]
        with contextlib.suppress(OSError):
            if any(r.exists() and os.path.samefile(r, p) for r in read):
                continue
        found.setdefault(table, []).append(p.name)
    return found


def _read_table(path: Path, name: str) -> pd.DataFrame:
    if path.suffix == ".parquet":
        with warnings.catch_warnings():
            # pyarrow < 15 warns that pandas 2.2 deprecates the block it builds timezone
            # columns with: nothing the user can act on.
            warnings.filterwarnings("ignore", "DatetimeTZBlock", DeprecationWarning)
            return pd.read_parquet(path)
    spec = TABLES[name]
    # Ids are read as text so that "00123" stays "00123": ids are kept as given.
    ids = {c.name: str for c in spec.columns if c.kind == "id"}
    return read_csv_as_written(path, dtype=ids)


def load_portfolio(path: str | Path, *, validate: bool = True) -> Portfolio:
    """Read a portfolio folder and (by default) validate it.

    Each table is a file named after it: ``loans.csv`` or ``loans.parquet``, and
    so on for ``installments``, ``payments``, ``statements``, ``collections`` and
    ``customers``. CSV id columns are read as text; everything else is parsed
    and normalised by :func:`~overdue_risk.validate`.

    Parameters
    ----------
    path : str or Path
        The portfolio folder.
    validate : bool, default True
        Validate and normalise the tables. With False the raw frames are
        returned, for inspection.

    Returns
    -------
    Portfolio

    Raises
    ------
    DataValidationError
        When the folder is missing, a table is ambiguous or unreadable, or the
        data break the contract.
    """
    folder = Path(path)
    if not folder.is_dir():
        what = _not_a_file(folder)
        raise DataValidationError(
            [
                Problem(
                    "portfolio",
                    "",
                    "missing_folder",
                    1,
                    (str(folder),),
                    "The portfolio folder does not exist."
                    if what == "missing"
                    else f"The portfolio folder is {what or 'a file'}, not a folder.",
                )
            ]
        )
    problems: list[Problem] = []
    frames: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        candidates = [folder / f"{name}{s}" for s in _SUFFIXES]
        kinds = {p: _not_a_file(p) for p in candidates}
        found = [p for p, kind in kinds.items() if kind != "missing"]
        odd = [(p, kind) for p, kind in kinds.items() if kind not in (None, "missing")]
        if odd and len(found) == 1:
            where, kind = odd[0]
            problems.append(
                Problem(
                    name,
                    "",
                    "unreadable",
                    1,
                    (where.name,),
                    f"{where.name} is {kind}, not a file: give the table as a CSV or Parquet file.",
                )
            )
            continue
        if len(found) > 1:
            problems.append(
                Problem(
                    name,
                    "",
                    "ambiguous_table",
                    len(found),
                    tuple(p.name for p in found),
                    "Give each table as one file, CSV or Parquet, not both.",
                )
            )
            continue
        if not found:
            continue
        try:
            frames[name] = _read_table(found[0], name)
        except Exception as exc:  # any reader failure is the file's fault, not ours
            problems.append(
                Problem(
                    name,
                    "",
                    "unreadable",
                    1,
                    (found[0].name,),
                    f"Could not read the file: {type(exc).__name__}: {exc}",
                )
            )
    lookalikes = _lookalikes(folder)
    for table, names in lookalikes.items():
        warnings.warn(
            DataQualityWarning(
                f"Ignored {', '.join(repr(n) for n in names)}: "
                f"{'it looks' if len(names) == 1 else 'they look'} like table {table} "
                f"but only {table}.csv or {table}.parquet (exactly so named) is read; "
                "rename it to use it."
            ),
            stacklevel=2,
        )
    unknown = sorted(
        p.name
        for p in folder.iterdir()
        if p.suffix in _SUFFIXES and p.stem not in TABLES and _lookalike_of(p.name) is None
    )
    if unknown:
        warnings.warn(
            DataQualityWarning(f"Ignored files that are not contract tables: {', '.join(unknown)}"),
            stacklevel=2,
        )
    if "loans" not in frames and not any(p.table == "loans" for p in problems):
        problems.append(
            Problem(
                "loans",
                "",
                "missing_table",
                1,
                (),
                "Every portfolio needs loans.csv or loans.parquet.",
            )
        )
    from ._validate import validate as _validate

    if problems and validate and "loans" in frames:
        # Validate what could be read as well, so that one run reports everything.
        broken = {p.table for p in problems}
        try:
            _validate(Portfolio(**frames))
        except DataValidationError as exc:
            problems += [
                p for p in exc.problems if not (p.rule == "missing_table" and p.table in broken)
            ]
    if problems:
        raise DataValidationError(_name_lookalikes(problems, lookalikes))
    portfolio = Portfolio(**frames)
    if not validate:
        return portfolio
    try:
        return _validate(portfolio)
    except DataValidationError as exc:
        if not any(p.rule == "missing_table" and p.table in lookalikes for p in exc.problems):
            raise
        raise DataValidationError(_name_lookalikes(exc.problems, lookalikes)) from None


def _name_lookalikes(problems: list[Problem], lookalikes: dict[str, list[str]]) -> list[Problem]:
    """The problems, a missing table's naming the files that look like it."""
    out = []
    for p in problems:
        names = lookalikes.get(p.table) if p.rule == "missing_table" else None
        if names:
            p = dataclasses.replace(
                p,
                examples=tuple(names[:5]),
                message=f"{p.message} Found {', '.join(repr(n) for n in names)}, which is "
                f"not read: name the file {p.table}.csv or {p.table}.parquet.",
            )
        out.append(p)
    return out
