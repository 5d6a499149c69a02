"""One table of a source, read whole, by key columns, or filtered by ids: :class:`TableReader`.

A reader answers the few questions chunking asks of any table, whatever holds
it: its columns and their Arrow types, some columns whole (the keys), the rows
whose id is among a set, and how many rows have no id or an id of no loan.
Here the file readers: a CSV file (:class:`CsvTable`) and a Parquet file or
dataset (:class:`ArrowTable`, through :mod:`pyarrow.dataset`, filters pushed
down to the scan). The database reader is in :mod:`._sql`.
"""

from __future__ import annotations

import io
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from .._io import read_csv_as_written
from ..contract import TABLES, show_value
from ..exceptions import DataValidationError, OverdueRiskError, Problem

__all__ = ["ArrowTable", "CsvTable", "TableReader", "id_kind", "plain", "to_frame"]

N_EXAMPLES = 5
# Rows of a CSV file parsed at a time when it is scanned for keys or a chunk's rows.
CSV_BLOCK = 100_000
# Ids tested against the loans' at a time when rows naming no loan are counted.
KEY_BLOCK = 2_000_000


def plain(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array of plain values: dictionary-encoded ids decoded."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    return values


def id_kind(t: pa.DataType) -> str:
    """``"text"``, ``"integer"``, ``"blank"`` (no value at all) or the type's own name."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or str(t) == "string_view":
        return "text"
    if pa.types.is_integer(t):
        return "integer"
    return "blank" if pa.types.is_null(t) else str(t)


def _storage(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """An extension column (PostgreSQL NUMERIC arrives as text in one) as its stored values."""
    storage = column.type.storage_type
    return pa.chunked_array([c.storage for c in column.chunks], type=storage)


def to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as pandas, one conversion for every route (files, datasets, databases).

    Extension types are unwrapped to their stored values (PostgreSQL ``numeric``
    arrives through ADBC as text, which validation parses as numbers).
    """
    for i, f in enumerate(table.schema):
        if isinstance(f.type, pa.BaseExtensionType):
            table = table.set_column(i, f.name, _storage(table.column(i)))
    with warnings.catch_warnings():
        # pyarrow < 15 warns that pandas 2.2 deprecates the block it builds timezone
        # columns with: nothing the user can act on.
        warnings.filterwarnings("ignore", "DatetimeTZBlock", DeprecationWarning)
        return table.to_pandas()


def _reading_errors() -> tuple[type[BaseException], ...]:
    # OSError: permissions, I/O; ValueError: CSV and Parquet parse errors (Arrow's
    # ArrowInvalid among them); NotImplementedError: Parquet types pandas cannot hold.
    return (OSError, ValueError, NotImplementedError, pa.ArrowException)


def _gathered(batches: Iterator[pa.Array], rows: int = KEY_BLOCK) -> Iterator[pa.Array]:
    """Consecutive pieces joined into pieces of about ``rows`` values: each membership
    test builds its hash set of the pool anew, so few large pieces beat many small ones."""
    held: list[pa.Array] = []
    n = 0
    for values in batches:
        held.append(values)
        n += len(values)
        if n >= rows:
            yield pa.concat_arrays(held) if len(held) > 1 else held[0]
            held, n = [], 0
    if held:
        yield pa.concat_arrays(held) if len(held) > 1 else held[0]


class TableReader(ABC):
    """One table of a source. ``name`` is its contract name, ``where`` what messages show."""

    name: str
    where: str

    @abstractmethod
    def schema(self) -> pa.Schema:
        """The columns and their Arrow types (a CSV file's are all text)."""

    @abstractmethod
    def read(self) -> pd.DataFrame:
        """The whole table, raw."""

    @abstractmethod
    def keys(self, columns: list[str]) -> pa.Table:
        """Only ``columns``, every row."""

    @abstractmethod
    def read_where(self, column: str, values: pa.Array) -> pd.DataFrame:
        """The rows whose ``column`` is among ``values``, every column, raw."""

    def prepare(self, folder: Path) -> None:
        """Get ready to read many chunks; ``folder`` is a temporary folder for copies.

        Only a CSV file needs it (see :class:`CsvTable`).
        """
        return None

    def batches(self, column: str) -> Iterator[pa.Array]:
        """``column`` in pieces of bounded size (the whole column by default)."""
        yield plain(self.keys([column]).column(0))

    def unmatched(
        self, column: str, pool: pa.Array, parent: TableReader
    ) -> tuple[int, int, tuple[str, ...]]:
        """Rows with no ``column``, rows whose ``column`` is not in ``pool`` (the ids of
        ``parent``'s rows), and the first such ids, streamed through :meth:`batches`."""
        blank = orphan = 0
        examples: list[str] = []
        for values in _gathered(self.batches(column)):
            blank += values.null_count
            if pa.types.is_null(values.type) or not len(values):
                continue
            values = values.cast(pool.type)  # same kind of id (checked), maybe another width
            outside = pc.and_(pc.invert(pc.is_in(values, value_set=pool)), pc.is_valid(values))
            n = pc.sum(outside).as_py() or 0
            orphan += n
            if n and len(examples) < N_EXAMPLES:
                for v in values.filter(outside).unique().to_pylist():
                    shown = f"{column}={show_value(v)}"
                    if shown not in examples and len(examples) < N_EXAMPLES:
                        examples.append(shown)
        return blank, orphan, tuple(examples)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """A file that cannot be read, as the ``unreadable`` problem of its table."""
        try:
            yield
        except OverdueRiskError:
            raise
        except _reading_errors() as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise DataValidationError(
                [
                    Problem(
                        self.name,
                        "",
                        "unreadable",
                        1,
                        (self.where,),
                        f"Could not read {self.where}: {type(exc).__name__}: {reason}",
                    )
                ]
            ) from exc


class CsvTable(TableReader):
    """A ``<table>.csv`` file, read as :func:`~overdue_risk.load_portfolio` reads it.

    Text cannot be filtered unread. Before the first of several chunks
    (:meth:`prepare`) the file is copied once, in blocks of :data:`CSV_BLOCK`
    rows and as text, into a Parquet file in a temporary folder; each chunk's
    rows are then found by a filtered scan of that copy and parsed as if they
    were the whole file (ids as text, other columns inferred).
    """

    def __init__(self, path: Path, name: str):
        self.path = path
        self.name = name
        self.where = path.name
        self._ids = {c.name: str for c in TABLES[name].columns if c.kind == "id"}
        self._copy: Path | None = None

    def _header(self) -> list[str]:
        with self.reading():
            header = pd.read_csv(self.path, header=None, nrows=1, dtype=str, keep_default_na=False)
        return header.iloc[0].tolist() if len(header) else []

    def schema(self) -> pa.Schema:
        return pa.schema([(c, pa.string()) for c in dict.fromkeys(self._header())])

    def read(self) -> pd.DataFrame:
        with self.reading():
            return read_csv_as_written(self.path, dtype=self._ids)

    def _blocks(self, columns: list[str] | None, *, raw: bool) -> Iterator[pd.DataFrame]:
        text = {"keep_default_na": False, "na_filter": False} if raw else {}
        with (
            self.reading(),
            pd.read_csv(
                self.path, usecols=columns, dtype=str, chunksize=CSV_BLOCK, **text
            ) as blocks,
        ):
            yield from blocks

    def keys(self, columns: list[str]) -> pa.Table:
        parts = [
            pa.Table.from_pandas(b, preserve_index=False) for b in self._blocks(columns, raw=False)
        ]
        if not parts:
            return pa.table({c: pa.array([], pa.string()) for c in columns})
        strings = pa.schema([(c, pa.string()) for c in columns])
        return pa.concat_tables([p.select(columns).cast(strings) for p in parts])

    def batches(self, column: str) -> Iterator[pa.Array]:
        for block in self._blocks([column], raw=False):
            yield pa.array(block[column], type=pa.string(), from_pandas=True)

    def prepare(self, folder: Path) -> None:
        """Copy the file's text into ``folder`` (columns ``c0``, ``c1``, ...: a header may
        repeat a name), so that each chunk filters the copy instead of parsing the file."""
        names = [f"c{i}" for i in range(len(self._header()))]
        schema = pa.schema([(n, pa.string()) for n in names])
        target = folder / f"{self.name}.parquet"
        with self.reading(), pq.ParquetWriter(target, schema) as writer:
            for block in self._blocks(None, raw=True):
                block.columns = names
                writer.write_table(pa.Table.from_pandas(block, schema=schema, preserve_index=False))
        self._copy = target

    def _text_rows(self, position: int, values: pa.Array) -> Iterator[pd.DataFrame]:
        """The rows whose column ``position`` is among ``values``, as text."""
        if self._copy is not None:
            name = f"c{position}"
            with self.reading():
                rows = ds.dataset(self._copy).to_table(
                    filter=pc.field(name).isin(values.cast(pa.string()))
                )
            yield rows.to_pandas()
            return
        wanted = set(values.to_pylist())
        for block in self._blocks(None, raw=True):
            ids = block.iloc[:, position]
            # A blank id is missing (NaN) in the whole read: it is in no set of ids.
            keep = ids.isin(wanted).to_numpy() & (ids != "").to_numpy()
            if keep.any():
                yield block[keep]

    def read_where(self, column: str, values: pa.Array) -> pd.DataFrame:
        header = self._header()
        kept = [b for b in self._text_rows(header.index(column), values) if len(b)]
        rows = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=header)
        # The rows, as text, are parsed again as if they were the whole file.
        buffer = io.StringIO()
        rows.to_csv(buffer, index=False, header=header)
        buffer.seek(0)
        with self.reading():
            df = pd.read_csv(buffer, dtype=self._ids, low_memory=False)
        if len(set(header)) < len(header):
            df.columns = header  # as read_csv_as_written keeps a repeated name
        return df


class ArrowTable(TableReader):
    """A Parquet file, or a folder of Parquet files (hive partitions ``key=value/`` too).

    Read with :mod:`pyarrow.dataset`: key columns alone, and each chunk's rows
    with the id filter pushed down to the scan, so a table is never loaded whole.
    """

    def __init__(self, path: Path, name: str):
        self.path = path
        self.name = name
        self.where = path.name + ("/" if path.is_dir() else "")
        self._dataset: ds.Dataset | None = None

    @property
    def dataset(self) -> ds.Dataset:
        if self._dataset is None:
            with self.reading():
                hive = {"partitioning": "hive"} if self.path.is_dir() else {}
                self._dataset = ds.dataset(self.path, format="parquet", **hive)
        return self._dataset

    def schema(self) -> pa.Schema:
        return self.dataset.schema

    def read(self) -> pd.DataFrame:
        with self.reading():
            return to_frame(self.dataset.to_table())

    def keys(self, columns: list[str]) -> pa.Table:
        with self.reading():
            return self.dataset.to_table(columns=columns)

    def batches(self, column: str) -> Iterator[pa.Array]:
        with self.reading():
            for batch in self.dataset.to_batches(columns=[column]):
                yield plain(batch.column(0))

    def read_where(self, column: str, values: pa.Array) -> pd.DataFrame:
        target = self.dataset.schema.field(column).type
        if pa.types.is_dictionary(target):
            target = target.value_type
        with self.reading():
            wanted = values.cast(target)
            return to_frame(self.dataset.to_table(filter=pc.field(column).isin(wanted)))
