""":func:`convert`: the Kaggle folder written as a portfolio folder, in bounded memory.

Pass 1 spills the loan files to disk in buckets of whole loans (:mod:`._spill`);
pass 2 converts one bucket at a time with the mapping :func:`load` uses, validates
it, and appends its rows to each table's file. Nothing crosses loans but the
customers (read whole, as :func:`load` reads them), the table of what did not
enter and the money (summed over the buckets), and the data-quality warnings
(their counts summed).
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..._io import check_output_folder, check_outputs_apart, replace_folder, write_table
from ..._params import Interval, check
from ...contract import TABLES, Portfolio
from ...contract import validate as validate_portfolio
from ...exceptions import DataQualityWarning, DataValidationError, OverdueRiskError
from ._convert import (
    REFERENCE_DATE,
    TARGET_FOLDER,
    HomeCreditResult,
    check_format,
    customers_of,
    map_loans,
    open_folder,
)
from ._customers import read_customers
from ._files import Reader
from ._log import Log
from ._spill import Spill, bucket_count

__all__ = ["ROWS_PER_BUCKET", "convert"]

logger = logging.getLogger(__name__)

#: The rows of the loan files per bucket, unless another number is given: about
#: 0.3 GB of memory above the interpreter's at the peak of a bucket (docs/home-credit.md).
ROWS_PER_BUCKET = 500_000
_LOAN_TABLES = ("loans", "installments", "payments", "statements")
_SPILL = ".spill"  # inside the output's temporary folder: removed with it, never published
_COUNTED = re.compile(r"(?s)(\w+): (\d+) (.*)")  # "<table>: <count> <what>"


class _TableFile:
    """One table's file, ``<table>.parquet`` or ``<table>.csv``, written in pieces: a
    Parquet row group, or CSV rows, per piece with rows. The first such piece fixes the
    columns' types, the others are cast to them; a table without any row is written
    from its first piece as a whole table is."""

    def __init__(self, path: Path, format: str):
        self.path = path
        self.format = format
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._empty: pd.DataFrame | None = None

    def add(self, df: pd.DataFrame) -> None:
        if not len(df):
            if self._empty is None:
                self._empty = df
            return
        if self.format == "csv":
            df.to_csv(self.path, mode="a", header=not self.rows, index=False)
        else:
            table = _typed(pa.Table.from_pandas(df, preserve_index=False))
            if self._writer is None:
                self._schema = table.schema
                self._writer = pq.ParquetWriter(self.path, self._schema)
            self._writer.write_table(table.cast(self._schema))
        self.rows += len(df)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        elif not self.rows and self._empty is not None:
            write_table(self._empty, self.path)


def _typed(table: pa.Table) -> pa.Table:
    """One Arrow type per kind of column, whatever a piece holds: text as large_string
    (a piece without any text value reads as null), categories as dictionary<int32,
    large_string> (the contract's categories are text). The pandas metadata is kept
    for the columns' pandas types (``boolean``, say)."""
    fields = []
    for field in table.schema:
        kind = field.type
        if pa.types.is_dictionary(kind):
            kind = pa.dictionary(pa.int32(), pa.large_string())
        elif pa.types.is_null(kind) or pa.types.is_string(kind):
            kind = pa.large_string()
        fields.append(field.with_type(kind))
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


class _Warnings:
    """The data-quality warnings of every bucket, one per kind, counts summed: those of
    the whole portfolio (``"payments: 12 rows repeat ..."``)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}
        self.other: dict[str, None] = {}

    def add(self, caught: list[warnings.WarningMessage]) -> None:
        for w in caught:
            if not issubclass(w.category, DataQualityWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
                continue
            text = str(w.message)
            found = _COUNTED.fullmatch(text)
            if found is None:
                self.other[text] = None
                continue
            key = (found.group(1), found.group(3))
            self.counts[key] = self.counts.get(key, 0) + int(found.group(2))

    def emit(self) -> None:
        for (table, what), n in self.counts.items():
            warnings.warn(DataQualityWarning(f"{table}: {n} {what}"), stacklevel=3)
        for text in self.other:
            warnings.warn(DataQualityWarning(text), stacklevel=3)


def _no_loans() -> dict[str, pd.DataFrame]:
    """Loans and statements without a row: the portfolio customers are validated in."""
    frames = {
        name: pd.DataFrame({c: pd.Series([], dtype=object) for c in TABLES[name].required_columns})
        for name in ("loans", "statements")
    }
    frames["loans"]["customer_id"] = pd.Series([], dtype=np.int64)
    return frames


def _validated(portfolio: Portfolio, found: _Warnings) -> Portfolio:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        checked = validate_portfolio(portfolio)
    found.add(caught)
    return checked


class _Conversion:
    """One streaming conversion, filling the output's temporary folder (:meth:`fill`)."""

    def __init__(self, reader: Reader, ref_day: int, subject: str, k: int, format: str):
        self.reader, self.ref_day, self.subject = reader, ref_day, subject
        self.k, self.format = k, format
        self.log = Log()
        self.found = _Warnings()
        self.money: list[pd.DataFrame] = []
        self.counts: dict[str, int] = {}
        self.target: pd.Series | None = None

    def fill(self, tmp: Path) -> None:
        files = {
            name: _TableFile(tmp / f"{name}.{self.format}", self.format) for name in _LOAN_TABLES
        }
        try:
            with Spill(tmp / _SPILL, self.k) as spill:
                customers, self.target = read_customers(self.reader, self.ref_day, self.log)
                # Written now (a loan's customer missing from them is added at the end), and
                # kept on disk as read: memory then holds one bucket at a time.
                spill.keep(customers)
                ids = None
                if customers is not None and not self.reader.problems:
                    ids = customers["customer_id"].to_numpy()
                    self._customers(tmp, customers)
                del customers
                spill.write(self.reader)
                if self.reader.problems:
                    raise DataValidationError(self.reader.problems, subject=self.subject)
                of_loans = self._buckets(spill, files)
                if ids is not None and np.setdiff1d(of_loans, ids).size:
                    self._customers(tmp, customers_of(spill.kept(), of_loans))
        finally:
            for file in files.values():
                file.close()
        self.counts = {name: file.rows for name, file in files.items()} | self.counts
        (tmp / TARGET_FOLDER).mkdir()
        write_table(self.target.reset_index(), tmp / TARGET_FOLDER / f"target.{self.format}")
        write_table(self.log.table(), tmp / TARGET_FOLDER / f"dropped.{self.format}")

    def _customers(self, tmp: Path, customers: pd.DataFrame) -> None:
        """Validate and write the customers (validated with no loan: they are checked on
        their own; every loan's customer is among them by construction)."""
        checked = _validated(Portfolio(**_no_loans(), customers=customers), self.found)
        write_table(checked.customers, tmp / f"customers.{self.format}")
        self.counts["customers"] = len(checked.customers)

    def _buckets(self, spill: Spill, files: dict[str, _TableFile]) -> np.ndarray:
        """Convert, validate and append every bucket; the loans' customers."""
        of_loans = []
        for bucket in range(self.k):
            tables = map_loans(
                spill.reader(bucket, self.reader), self.ref_day, self.log, self.subject
            )
            spill.drop(bucket)
            last = _validated(
                Portfolio(**{name: getattr(tables, name) for name in _LOAN_TABLES}), self.found
            )
            for name, df in last.tables().items():
                files[name].add(df)
            of_loans.append(np.unique(last.loans["customer_id"].to_numpy()))
            self.money.append(tables.money)
            logger.info("Converted bucket %d of %d: %s", bucket + 1, self.k, last)
        return np.concatenate(of_loans)


def convert(
    folder: str | os.PathLike,
    out: str | os.PathLike,
    *,
    reference_date=REFERENCE_DATE,
    format: str = "parquet",
    overwrite: bool = False,
    rows_per_bucket: int = ROWS_PER_BUCKET,
    buckets: int | None = None,
) -> HomeCreditResult:
    """Convert a folder of Home Credit files into a portfolio folder, in bounded memory.

    The result is the portfolio :func:`load` gives (the same rows and values; the
    rows in another order), streamed: the loan files are read once and spilled to
    disk in buckets of whole loans, each bucket is converted and validated alone
    and appended to the tables: memory holds the customers while they are read,
    then one bucket at a time, however large the loan files. ``out`` is written as
    a whole (or not at all): the contract tables (``loans``, ``installments``,
    ``payments``, ``statements``, ``customers``) and, in ``out/home_credit/``,
    ``target`` (``customer_id``, ``target``) and ``dropped``
    (:meth:`HomeCreditResult.table`). The buckets live in the output's temporary
    folder and are removed whatever happens. See ``docs/home-credit.md``.

    Parameters
    ----------
    folder : path
        The folder holding the Kaggle files.
    out : path
        The portfolio folder to write; its parent must exist.
    reference_date : date-like, default "2018-05-17"
        The application date: day 0 of every relative day.
    format : {"parquet", "csv"}, default "parquet"
        File format of every table written.
    overwrite : bool, default False
        Replace a folder that is not empty.
    rows_per_bucket : int, default 500,000
        Rows of the loan files (all but the applications) per bucket, estimated
        from the files' sizes: fewer take less memory and more buckets.
    buckets : int, optional
        The number of buckets, instead of one per ``rows_per_bucket`` rows.

    Returns
    -------
    HomeCreditResult
        Its ``portfolio`` is read from ``out`` when first asked for.

    Raises
    ------
    OverdueRiskError
        A bad ``format``, ``rows_per_bucket`` or ``buckets``, or an output that cannot
        be written, before anything is read.
    DataValidationError
        As :func:`load`, before any table is written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import overdue_risk as odr
    >>> from overdue_risk.adapters import home_credit
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "portfolio"
    >>> result = home_credit.convert("tests/data/home_credit", out, buckets=3)
    >>> portfolio = odr.load_portfolio(out)
    >>> len(portfolio.loans) == result.to_dict()["tables"]["loans"] == 9
    True
    """
    check_format(format)
    rows_per_bucket = check(
        Interval(int, 1, None), rows_per_bucket, key="rows_per_bucket", error=OverdueRiskError
    )
    buckets = check([None, Interval(int, 1, None)], buckets, key="buckets", error=OverdueRiskError)
    out_path = check_output_folder(out, overwrite)
    check_outputs_apart([out], [folder])
    path, ref_day, reader, subject = open_folder(folder, reference_date)
    k = buckets if buckets is not None else bucket_count(reader.files, rows_per_bucket)
    run = _Conversion(reader, ref_day, subject, k, format)
    replace_folder(out_path, run.fill)
    run.found.emit()
    result = HomeCreditResult(
        None,
        run.target,
        run.log.table(),
        pd.concat(run.money).groupby(["file", "column"], sort=False, as_index=False).sum(),
        reader.rows_read,
        pd.Timestamp(np.datetime64(ref_day, "D")),
        counts=run.counts,
        folder=out_path,
    )
    logger.info("Wrote %s from %s to %s in %d buckets", result, path, out, k)
    return result
