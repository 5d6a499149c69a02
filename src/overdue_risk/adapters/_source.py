"""Where a portfolio lives: :class:`Source`, its folder kind, and :func:`open_source`.

A source reads a portfolio whole (:meth:`Source.read`), in chunks of whole
customers (:meth:`Source.chunks`, or :meth:`Source.plan` then
:meth:`Source.read_chunks`), or a few loans by id (:meth:`Source.read_loans`),
and fingerprints its inputs for a run's manifest (:meth:`Source.fingerprint`).
What it returns is raw, as ``load_portfolio(..., validate=False)`` returns it:
the caller validates.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from .._io import path_kind
from .._params import Boolean, Interval, check
from ..contract import TABLES, Portfolio
from ..exceptions import DataValidationError, Problem
from ._chunking import ChunkPlan, as_loan_ids, loan_id_type, plan_chunks
from ._drivers import SourceError, is_url, parse_url
from ._mapping import as_mapping
from ._tables import ArrowTable, CsvTable, TableReader

__all__ = ["FolderSource", "Source", "open_source"]

logger = logging.getLogger(__name__)

# Files that pyarrow's dataset discovery skips (``_SUCCESS``, ``.crc``): not data.
_SKIPPED = (".", "_")


class Source(ABC):
    """Where a portfolio lives; made by :func:`open_source`.

    Every method reads the inputs afresh: a source holds no data and no open
    connection, so it may be kept, printed and used again.
    """

    kind: str

    @abstractmethod
    def tables(self) -> dict[str, str]:
        """Where each table present is read from: a file, a dataset folder or a database table."""

    @abstractmethod
    def _open(self) -> AbstractContextManager[dict[str, TableReader]]:
        """The table readers, open for the duration of the block."""

    @abstractmethod
    def inputs(self) -> list[dict[str, Any]]:
        """What the source reads, one entry per file or database table, for a run's manifest.

        A folder: ``{"table", "path", "sha256"}`` for every file (``path``
        relative to the folder). A database: ``{"table", "relation", "rows",
        "hash"}`` for every table, counted and hashed in the database.
        """

    def fingerprint(self) -> str:
        """One sha256 (hex) of :meth:`inputs` and the source's kind: equal inputs, equal text.

        Examples
        --------
        >>> from overdue_risk.adapters import open_source
        >>> source = open_source("data/sample")
        >>> source.inputs()[0]["path"], len(source.fingerprint())
        ('loans.csv', 64)
        """
        text = json.dumps({"kind": self.kind, "inputs": self.inputs()}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def read(self) -> Portfolio:
        """The whole portfolio, raw: pass it to :func:`~overdue_risk.validate`.

        Returns
        -------
        Portfolio
            Every table present, not validated.

        Raises
        ------
        DataValidationError
            When a file cannot be read (``unreadable``, every such table listed).
        SourceError
            When the database cannot be reached or a query fails.
        """
        frames: dict[str, Any] = {}
        problems: list[Problem] = []
        with self._open() as readers:
            for name, reader in readers.items():
                try:
                    frames[name] = reader.read()
                except DataValidationError as exc:
                    problems += exc.problems
        if problems:
            raise DataValidationError(problems)
        return Portfolio(**frames)

    def plan(self, customers_per_chunk: int, *, drop_unplaced: bool = False) -> ChunkPlan:
        """Which loans and customers each chunk of whole customers holds, keys checked.

        Only the key columns are read (loans' ``loan_id``, ``customer_id`` and
        ``restructured_from``, customers' ``customer_id``, every other table's
        ``loan_id``); :meth:`read_chunks` then reads the chunks' rows. Customers
        are taken in sorted order and cut every ``customers_per_chunk``.

        Parameters
        ----------
        customers_per_chunk : int
            Customers per chunk (>= 1). A loan without a ``customer_id`` is a
            customer of its own; customers tied by a restructuring
            (``restructured_from``) stay in one chunk, which may then hold more.
        drop_unplaced : bool, default False
            For a run that quarantines chunk by chunk: leave out of every chunk
            the rows no chunk can hold (a blank ``loan_id`` in loans; a blank
            ``loan_id``, or one that names no loan, in another table; a blank
            ``customer_id`` in customers) and list them in
            :attr:`ChunkPlan.dropped`, as the problems the strict plan raises. A
            ``loan_id`` repeated in loans is placed once, in the chunk of its
            first row's customer, and all its rows (in every table) are read into
            that chunk, where validating the chunk finds the repetition.

        Returns
        -------
        ChunkPlan
            Picklable: it may be read in another process, by this source.

        Raises
        ------
        DataValidationError
            Rows that would fall in no chunk or in two (without
            ``drop_unplaced``): a missing or repeated ``loan_id`` in loans, a row
            whose ``loan_id`` is missing or names no loan, a customer row without
            ``customer_id``. In either mode: ids of another type than in loans, a
            key column missing.
        SourceError
            A parameter out of its range; a database query that fails.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> import pandas as pd
        >>> from overdue_risk.adapters import open_source
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> pd.DataFrame({"loan_id": ["L1", "L2", "L2"], "customer_id": ["C1", "C2", "C3"],
        ...     "product_type": "revolving", "start_date": "2024-01-01",
        ...     "principal": 500.0}).to_csv(folder / "loans.csv", index=False)
        >>> pd.DataFrame({"loan_id": ["L1", "L2", "L9"], "payment_date": "2024-02-01",
        ...     "amount": 5.0}).to_csv(folder / "payments.csv", index=False)
        >>> plan = open_source(folder).plan(2, drop_unplaced=True)
        >>> for problem in plan.dropped:
        ...     print(problem.table, problem.rule, problem.count, problem.examples)
        payments orphan 1 ('loan_id=L9',)
        >>> for chunk in open_source(folder).read_chunks(plan):
        ...     print(chunk.loans["customer_id"].tolist(), chunk.payments["loan_id"].tolist())
        ['C1', 'C2', 'C3'] ['L1', 'L2']
        """
        k = check(
            Interval(int, 1), customers_per_chunk, key="customers_per_chunk", error=SourceError
        )
        drop = check(Boolean(), drop_unplaced, key="drop_unplaced", error=SourceError)
        with self._open() as readers:
            plan = plan_chunks(readers, k, drop_unplaced=drop)
        logger.info(
            "%s: %d loans in %d chunks of about %d customers",
            self.location,
            plan.n_loans,
            len(plan),
            k,
        )
        if plan.dropped:
            logger.info(
                "%s: rows left out of every chunk: %s",
                self.location,
                "; ".join(f"{p.table}.{p.column} {p.rule} ({p.count})" for p in plan.dropped),
            )
        return plan

    def chunks(self, customers_per_chunk: int) -> Iterator[Portfolio]:
        """The portfolio in chunks of whole customers, raw, in sorted customer order.

        ``read_chunks(plan(customers_per_chunk))``: the key columns are read and
        checked first (so an error comes before any chunk); each chunk's rows
        are then read by their ids, one chunk at a time, so memory holds the
        keys and one chunk. Each chunk holds every row, in every table, of its
        customers' loans, and their ``customers`` rows; together the chunks hold
        the same rows as :meth:`read`. Rows keep their order within a chunk.

        Parameters
        ----------
        customers_per_chunk : int
            Customers per chunk (>= 1), as :meth:`plan` takes it.

        Returns
        -------
        iterator of Portfolio

        Raises
        ------
        DataValidationError
            Rows that would fall in no chunk or in two: a missing or repeated
            ``loan_id`` in loans, a row whose ``loan_id`` is missing or names no
            loan, a customer row without ``customer_id``, ids of another type
            than in loans; a key column missing.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> import pandas as pd
        >>> from overdue_risk.adapters import open_source
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> pd.DataFrame({"loan_id": ["L1", "L2", "L3"], "customer_id": ["C2", "C1", "C2"],
        ...     "product_type": "revolving", "start_date": "2024-01-01",
        ...     "principal": 500.0}).to_parquet(folder / "loans.parquet")
        >>> pd.DataFrame({"loan_id": ["L1", "L2", "L3"], "statement_date": "2024-02-01",
        ...     "balance": [50.0, 20.0, 0.0]}).to_parquet(folder / "statements.parquet")
        >>> for chunk in open_source(folder).chunks(customers_per_chunk=1):
        ...     print(chunk.loans["loan_id"].tolist(), chunk.statements["balance"].tolist())
        ['L2'] [20.0]
        ['L1', 'L3'] [50.0, 0.0]
        """
        return self.read_chunks(self.plan(customers_per_chunk))

    def read_chunks(self, plan: ChunkPlan) -> Iterator[Portfolio]:
        """Each chunk of ``plan`` (made by :meth:`plan` of this source), raw, in plan order.

        A generator: a chunk's rows are read, table by table and filtered by the
        chunk's loan ids (customers by its customer ids), when the chunk is asked
        for, so memory holds one chunk. A CSV file is copied once into a
        temporary Parquet file when the first of several chunks is asked for
        (removed when the iterator ends or is closed).

        Parameters
        ----------
        plan : ChunkPlan

        Returns
        -------
        iterator of Portfolio

        Raises
        ------
        SourceError
            ``plan`` is not a :class:`ChunkPlan`; a database query fails.
        DataValidationError
            A file that cannot be read (``unreadable``), when its chunk is read.
        """
        if not isinstance(plan, ChunkPlan):
            raise SourceError(
                f"plan must be a ChunkPlan (from Source.plan); got {type(plan).__name__}."
            )
        return self._chunks(plan)

    def _chunks(self, plan: ChunkPlan) -> Iterator[Portfolio]:
        with (
            self._open() as readers,
            tempfile.TemporaryDirectory(prefix="overdue-risk-chunks-") as tmp,
        ):
            if len(plan) > 1:
                for reader in readers.values():
                    reader.prepare(Path(tmp))
            for i in range(len(plan)):
                loan_ids, customer_ids = plan.chunk(i)
                frames = {
                    name: reader.read_where("customer_id", customer_ids)
                    if name == "customers"
                    else reader.read_where("loan_id", loan_ids)
                    for name, reader in readers.items()
                }
                yield Portfolio(**frames)

    def read_loans(self, loan_ids: Any) -> Portfolio:
        """Every row, raw, of the given loans, in every table but ``customers``.

        The rows are read by id, as a chunk's are (the filter pushed down to a
        Parquet scan or to the database; a CSV file scanned in blocks), so a few
        loans are read without reading the book. ``customers`` is left out: the
        loans' histories need none of it. Rows keep their order within a table.

        Parameters
        ----------
        loan_ids : pyarrow array, list or numpy array
            Ids of the loans' id type (text or integers); an id that is not in
            loans is simply absent from the result, and a repeated id is read once.

        Returns
        -------
        Portfolio
            The loans' rows of every table but ``customers``, not validated.

        Raises
        ------
        SourceError
            Ids that are not a sequence of ids of the loans' type; a database query
            that fails.
        DataValidationError
            A table without ``loan_id``, or with ids of another type than loans';
            a file that cannot be read (``unreadable``).

        Examples
        --------
        >>> from overdue_risk.adapters import open_source
        >>> sample = open_source("data/sample").read_loans(["L0000002", "L0000001", "X"])
        >>> sample.loans["loan_id"].tolist(), sample.customers is None
        (['L0000001', 'L0000002'], True)
        >>> sample.payments["loan_id"].value_counts().sort_index().tolist()
        [5, 16]
        """
        with self._open() as readers:
            ids = as_loan_ids(loan_ids, loan_id_type(readers))
            frames = {
                name: reader.read_where("loan_id", ids)
                for name, reader in readers.items()
                if name != "customers"
            }
        return Portfolio(**frames)

    def __repr__(self) -> str:
        where = ", ".join(f"{name}={place}" for name, place in self.tables().items())
        return f"{type(self).__name__}({self.location!r}: {where})"

    @property
    @abstractmethod
    def location(self) -> str:
        """The folder or the URL (password masked)."""


def _missing_folder(folder: Path, kind: str) -> DataValidationError:
    what = "does not exist" if kind == "missing" else f"is {kind}, not a folder"
    return DataValidationError(
        [
            Problem(
                "portfolio",
                "",
                "missing_folder",
                1,
                (str(folder),),
                f"The portfolio folder {what}.",
            )
        ]
    )


def _layout(folder: Path) -> dict[str, Path]:
    """The file or dataset folder of each table in ``folder``; problems all raised at once."""
    kind = path_kind(folder)
    if kind != "a directory":
        raise _missing_folder(folder, kind)
    layout: dict[str, Path] = {}
    problems: list[Problem] = []
    for name in TABLES:
        found = []
        for path, forms in (
            (folder / f"{name}.csv", ("a file",)),
            (folder / f"{name}.parquet", ("a file", "a directory")),
            (folder / name, ("a directory",)),
        ):
            what = path_kind(path)
            if what in forms:
                found.append(path)
            elif what not in ("missing", "a file"):  # a plain file named ``loans`` is not a table
                problems.append(
                    Problem(
                        name,
                        "",
                        "unreadable",
                        1,
                        (path.name,),
                        f"{path.name} is {what}: give the table as a CSV file, a Parquet file "
                        "or a folder of Parquet files.",
                    )
                )
        if len(found) > 1:
            names = tuple(p.name + ("/" if p.is_dir() else "") for p in found)
            problems.append(
                Problem(
                    name,
                    "",
                    "ambiguous_table",
                    len(found),
                    names,
                    f"{name} is given {len(found)} times ({', '.join(names)}): give it once.",
                )
            )
        elif found:
            layout[name] = found[0]
    if "loans" not in layout and not any(p.table == "loans" for p in problems):
        problems.append(
            Problem(
                "loans",
                "",
                "missing_table",
                1,
                (),
                "Every portfolio needs loans: loans.csv, loans.parquet, or a folder loans/ "
                "of Parquet files.",
            )
        )
    if problems:
        raise DataValidationError(problems)
    return layout


def _files(path: Path) -> list[Path]:
    """The files a table reads: itself, or every data file below a dataset folder, sorted."""
    if not path.is_dir():
        return [path]
    found = []
    for root, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith(_SKIPPED))
        found += [Path(root) / n for n in sorted(names) if not n.startswith(_SKIPPED)]
    return found


class FolderSource(Source):
    """A folder holding each table as ``<table>.csv``, ``<table>.parquet``, or a folder of
    Parquet files ``<table>/`` (or ``<table>.parquet/``, as Spark writes it), hive
    partitions (``region=north/part-0.parquet``) included.

    A CSV file is read as :func:`~overdue_risk.load_portfolio` reads it (ids as
    text); Parquet through :mod:`pyarrow.dataset`.
    """

    kind = "folder"

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self._layout = _layout(self.folder)

    @property
    def location(self) -> str:
        return str(self.folder)

    def tables(self) -> dict[str, str]:
        return {
            name: path.name + ("/" if path.is_dir() else "") for name, path in self._layout.items()
        }

    @contextmanager
    def _open(self) -> Iterator[dict[str, TableReader]]:
        yield {
            name: CsvTable(path, name)
            if path.suffix == ".csv" and not path.is_dir()
            else ArrowTable(path, name)
            for name, path in self._layout.items()
        }

    def inputs(self) -> list[dict[str, Any]]:
        """The sha256 of every file read, by table and path relative to the folder.

        The fingerprint changes when a byte changes, or a file is added, removed or
        renamed; files a dataset skips (names starting with ``.`` or ``_``) do not count.
        """
        out = []
        for name, path in self._layout.items():
            for file in _files(path):
                with open(file, "rb") as f:
                    digest = hashlib.file_digest(f, "sha256").hexdigest()
                rel = file.relative_to(self.folder).as_posix()
                out.append({"table": name, "path": rel, "sha256": digest})
        return out


def open_source(spec: Any, *, tables: Any = None) -> Source:
    """The source a path or a database URL names.

    Parameters
    ----------
    spec : str, path, Portfolio or Source
        A portfolio folder (``<table>.csv``, ``<table>.parquet`` or a folder of
        Parquet files per table), or a database URL: ``duckdb:///abs/path.db``,
        ``duckdb:relative/path.db``, ``postgresql://user@host:port/db``. A
        :class:`~overdue_risk.Portfolio` in memory is read as a
        :class:`MemorySource`; a :class:`Source` is returned as it is.
    tables : TableMapping, dict, str or path, optional
        For a database: which table holds each contract table, as a
        :class:`TableMapping`, a dict (``{"loans": "core.loan_accounts"}``, or
        the file's ``{"schema": ..., "tables": {...}}``) or the path of a TOML
        file. Without it, the contract's own names in the current schema.

    Returns
    -------
    Source
        A :class:`FolderSource`, an :class:`SqlSource` or a :class:`MemorySource`.
        A database is reached
        once here, to check that every table is there.

    Raises
    ------
    DataValidationError
        A folder that is missing, without loans, or with a table given twice.
    SourceError
        A URL of an unknown engine, a missing driver, a database that cannot be
        reached, a mapping that breaks its rules, or a mapped table that is not there.

    Examples
    --------
    >>> from overdue_risk import validate
    >>> from overdue_risk.adapters import open_source
    >>> source = open_source("data/sample")
    >>> source.kind, source.tables()["loans"]
    ('folder', 'loans.csv')
    >>> len(validate(source.read()).loans)
    5086
    """
    if isinstance(spec, Source):
        if tables is not None:
            raise SourceError("tables applies when a source is opened, not to an open Source.")
        return spec
    if isinstance(spec, Portfolio):
        if tables is not None:
            raise SourceError("tables maps a database's tables; the portfolio is in memory.")
        from ._memory import MemorySource

        return MemorySource(spec)
    if is_url(spec):
        from ._sql import SqlSource

        return SqlSource(parse_url(spec), as_mapping(tables))
    if isinstance(spec, str | os.PathLike):
        if tables is not None:
            raise SourceError(
                "tables maps a database's tables; a folder's tables are found by their "
                f"file names (loans.csv, loans.parquet, loans/). Got tables={tables!r}."
            )
        return FolderSource(spec)
    raise SourceError(
        f"A source is a folder path, a database URL or a Portfolio; got {type(spec).__name__}."
    )
