"""Every table of a book in one Spark DataFrame, and back to a chunk's Portfolio.

A chunk holds whole customers, with every row of their loans in every table. On
Spark the tables are read with ``spark.read.parquet``, each row tagged with its
chunk (a join with the chunk plan's ids: :func:`chunk_maps`), and the tables
stacked into one tagged union (:func:`tagged_union`): a ``__t`` column names
the table, ``__row`` its place in the table (file, then row in file), and each
table's columns fill typed *slots* (its first text column the slot ``s0``, its
second ``s1``; likewise ``f`` floats, ``b`` booleans, ``d`` dates, ``i``
integers and instants), so that the union is as wide as the widest table, not
as all of them. Grouped by chunk, the rows reach :func:`decode` as one pandas
frame, which splits them back into the tables, in their files' order, with the
Arrow types the pandas engine's reader gives (:class:`TableLayout`).

Integers travel with a separate null mask (``i0`` and ``i0_null``): Spark hands
a nullable integer column to pandas as floats, which would round ids and
nanosecond dates past 2**53. Parquet's nanosecond timestamps (what pandas
writes) are read as their integer count (``spark.sql.legacy.parquet.nanosAsLong``),
Spark's own timestamps as microseconds, so that no time zone ever applies.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import reduce
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from ...contract import Portfolio
from ._compat import SparkEngineError, quiet

__all__ = ["Column", "Layout", "TableLayout", "chunk_maps", "decode", "read_layout", "tagged_union"]

KINDS = "sfbdi"  # text, float, boolean, date, integer (and instants)
_ARROW = {"s": pa.string(), "f": pa.float64(), "b": pa.bool_(), "d": pa.date32()}
_EPOCH_NTZ = "TIMESTAMP_NTZ'1970-01-01 00:00:00'"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/+")
ROW_BITS = 40  # rows per file below 2**40: the file's rank takes the bits above
# Up to this many loans, the chunk map (ids and chunk numbers, some 30 bytes a loan) is
# broadcast to the executors and each table joined to it where it is read; beyond, each
# table and the map are shuffled by id (a sort-merge join).
BROADCAST_IDS = 2_000_000


@dataclass(frozen=True)
class Column:
    """One column of a table: its name, its slot's kind and name, how Spark reads it
    (``plain``; ``ltz``/``ntz``: a timestamp sent as microseconds; ``cast``: as text)."""

    name: str
    kind: str
    slot: str
    how: str = "plain"


@dataclass(frozen=True)
class TableLayout:
    """A table in the union: its tag, its columns, and the Arrow schema that the pandas
    engine's reader (a pyarrow dataset over the same files) gives it."""

    name: str
    tag: int
    schema: pa.Schema
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Layout:
    """Every table of the union, and its slots (name, kind) in order."""

    tables: tuple[TableLayout, ...]
    slots: tuple[tuple[str, str], ...]


def _kind(dtype) -> tuple[str, str]:
    from pyspark.sql import types as T

    if isinstance(dtype, T.StringType):
        return "s", "plain"
    if isinstance(dtype, T.DoubleType | T.FloatType):
        return "f", "plain"
    if isinstance(dtype, T.BooleanType):
        return "b", "plain"
    if isinstance(dtype, T.DateType):
        return "d", "plain"
    if isinstance(dtype, T.ByteType | T.ShortType | T.IntegerType | T.LongType):
        return "i", "plain"
    if isinstance(dtype, T.TimestampNTZType):
        return "i", "ntz"
    if isinstance(dtype, T.TimestampType):
        return "i", "ltz"
    return "s", "cast"  # decimals and the rest: as text, parsed back to the file's type


def read_layout(spark, folders: dict[str, Path]):
    """Each table read by Spark, and the union's layout.

    ``folders`` maps a table to its Parquet file or dataset folder. Returns the
    :class:`Layout` and, by table, the Spark DataFrame and its files in order.
    """
    frames, tables, widths = {}, [], dict.fromkeys(KINDS, 0)
    for tag, (name, path) in enumerate(sorted(folders.items())):
        hive = {"partitioning": "hive"} if path.is_dir() else {}
        schema = ds.dataset(path, format="parquet", **hive).schema
        frame = spark.read.parquet(str(path))
        used = dict.fromkeys(KINDS, 0)
        columns = []
        for field in frame.schema.fields:
            kind, how = _kind(field.dataType)
            columns.append(Column(field.name, kind, f"{kind}{used[kind]}", how))
            used[kind] += 1
        widths = {k: max(widths[k], used[k]) for k in KINDS}
        tables.append(TableLayout(name, tag, schema, tuple(columns)))
        files = sorted(_SCHEME.sub("/", f) for f in frame.inputFiles())
        frames[name] = (frame, files)
    slots = tuple((f"{k}{j}", k) for k in KINDS for j in range(widths[k]))
    return Layout(tuple(tables), slots), frames


def chunk_maps(spark, plan, parts: np.ndarray):
    """The chunk of every loan and of every customer, as two small Spark DataFrames
    (``__key``, ``__chunk``, ``__part``); ``parts[k]`` is the partition key of chunk
    ``k`` (:func:`partition_keys`)."""
    out = []
    for ids, bounds in (
        (plan.loan_ids, plan.loan_bounds),
        (plan.customer_ids, plan.customer_bounds),
    ):
        chunk = np.repeat(np.arange(len(bounds) - 1, dtype=np.int64), np.diff(bounds))
        frame = pd.DataFrame({"__key": ids.to_pandas(), "__chunk": chunk, "__part": parts[chunk]})
        with quiet():
            out.append(spark.createDataFrame(frame))
    return tuple(out)


def partition_keys(spark, n: int) -> np.ndarray:
    """For each chunk ``k`` a key that Spark's hash partitioning into ``n`` partitions
    sends to partition ``k``: one chunk per partition, none sharing one."""
    from pyspark.sql import functions as F

    found = (
        spark.range(0, 64 * n)
        .select(F.expr(f"pmod(hash(id), {n})").alias("p"), "id")
        .groupBy("p")
        .agg(F.min("id").alias("id"))
        .collect()
    )
    keys = np.arange(n, dtype=np.int64)  # a partition no key reached keeps its own number
    for row in found:
        keys[row["p"]] = row["id"]
    return keys


def tagged_union(layout: Layout, frames, loan_map, customer_map, n_chunks: int, n_ids: int = 0):
    """The tables as one DataFrame, one partition per chunk (see the module); ``n_ids``,
    the loans planned, chooses how each table meets the chunk map (:data:`BROADCAST_IDS`)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    spark_types = {
        "s": T.StringType(),
        "f": T.DoubleType(),
        "b": T.BooleanType(),
        "d": T.DateType(),
        "i": T.LongType(),
    }
    parts = []
    for table in layout.tables:
        frame, files = frames[table.name]
        rank = F.create_map(*[v for i, f in enumerate(files) for v in (F.lit(f), F.lit(i))])
        path = F.regexp_replace(F.col("_metadata.file_path"), _SCHEME.pattern, "/")
        mine = {c.slot: c for c in table.columns}
        exprs = [
            "__part",
            "__chunk",
            F.lit(table.tag).cast("byte").alias("__t"),
            (rank[path].cast("long") * F.lit(1 << ROW_BITS) + F.col("_metadata.row_index")).alias(
                "__row"
            ),
        ]
        for slot, kind in layout.slots:
            column = mine.get(slot)
            if column is None:
                if kind == "i":
                    exprs += [F.lit(0).cast("long").alias(slot), F.lit(True).alias(f"{slot}_null")]
                else:
                    exprs.append(F.lit(None).cast(spark_types[kind]).alias(slot))
                continue
            value = F.col(f"`{column.name}`")
            if column.how == "ltz":
                value = F.expr(f"unix_micros(`{column.name}`)")
            elif column.how == "ntz":
                value = F.expr(f"timestampdiff(MICROSECOND, {_EPOCH_NTZ}, `{column.name}`)")
            if kind == "i":
                exprs += [
                    F.coalesce(value.cast("long"), F.lit(0).cast("long")).alias(slot),
                    value.isNull().alias(f"{slot}_null"),
                ]
            else:
                exprs.append(value.cast(spark_types[kind]).alias(slot))
        key, ids = (
            ("customer_id", customer_map) if table.name == "customers" else ("loan_id", loan_map)
        )
        ids = F.broadcast(ids) if n_ids <= BROADCAST_IDS else ids.hint("merge")
        rows = frame.select("*", "_metadata").join(ids, frame[f"`{key}`"] == ids["__key"], "inner")
        parts.append(rows.select(*exprs))
    union = reduce(lambda a, b: a.unionAll(b), parts)
    return union.repartition(n_chunks, "__part")


def _array(rows: pd.DataFrame, take: np.ndarray, column: Column, target: pa.DataType) -> pa.Array:
    """One column of a table, from its slot's rows at ``take``, as the file's Arrow type."""
    values = rows[column.slot].to_numpy()[take]
    if column.kind == "i":
        mask = rows[f"{column.slot}_null"].to_numpy(bool)[take]
        array = pa.array(values.astype(np.int64, copy=False), mask=mask)
        if column.how in ("ltz", "ntz"):
            array = array.cast(pa.timestamp("us", tz=getattr(target, "tz", None)))
    else:
        array = pa.array(values, type=_ARROW[column.kind], from_pandas=True)
    if pa.types.is_dictionary(target):
        # Old pyarrow casts no text to a dictionary; encoding it gives the same categories.
        return array.cast(target.value_type).dictionary_encode()
    return array.cast(target)


def _sorted_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """Categories in sorted order, as pandas writes a categorical column's dictionary."""
    for name in frame.columns:
        s = frame[name]
        if isinstance(s.dtype, pd.CategoricalDtype):
            try:
                frame[name] = s.cat.set_categories(sorted(s.cat.categories))
            except TypeError:  # categories of mixed types do not sort
                pass
    return frame


def decode(rows: pd.DataFrame, layout: Layout) -> Portfolio:
    """A chunk's union rows as its raw Portfolio: every table's rows in their files'
    order, typed as the pandas engine's reader types them (see the module)."""
    tag = rows["__t"].to_numpy()
    order = np.lexsort((rows["__row"].to_numpy(), tag))  # by table, then by place in it
    frames = {}
    for table in layout.tables:
        take = order[tag[order] == table.tag]
        try:
            arrays = [_array(rows, take, c, table.schema.field(c.name).type) for c in table.columns]
        except (pa.ArrowException, KeyError) as exc:
            raise SparkEngineError(
                f"{table.name}: a column could not be read back as the file's type: {exc}"
            ) from exc
        arrow = pa.table(arrays, names=[c.name for c in table.columns])
        with warnings.catch_warnings():
            # pyarrow < 15 warns that pandas 2.2 deprecates the block it builds timezone
            # columns with (as the pandas engine's reader does).
            warnings.filterwarnings("ignore", "DatetimeTZBlock", DeprecationWarning)
            frames[table.name] = _sorted_categories(arrow.to_pandas())
    return Portfolio(**frames)
