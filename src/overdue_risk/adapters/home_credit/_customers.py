"""``application_{train,test}.csv``: the customers and their TARGET."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ..._dates import to_datetime
from ._calendar import day_numbers, whole
from ._files import FILES, Reader, as_arrays
from ._log import Log

__all__ = ["DATE_COLUMNS", "read_customers"]

#: ``DAYS_*`` columns of the applications and the date column each becomes.
DATE_COLUMNS = {
    "DAYS_BIRTH": "birth_date",
    "DAYS_EMPLOYED": "employment_start_date",
    "DAYS_REGISTRATION": "registration_date",
    "DAYS_ID_PUBLISH": "id_publish_date",
    "DAYS_LAST_PHONE_CHANGE": "phone_change_date",
}
# Dates are no features: these two also come as years before the application.
_YEARS = {"DAYS_BIRTH": "age_years", "DAYS_EMPLOYED": "employment_years"}
_YES_NO = ("FLAG_OWN_CAR", "FLAG_OWN_REALTY")
_NOT_AVAILABLE = "XNA"  # Kaggle's code for a missing category


def _read(reader: Reader, name: str) -> pa.Table | None:
    """The file's rows as one Arrow table (its blocks, not copied), or None when empty."""
    batches = list(reader.record_batches(name, FILES[name].columns, extra_text=True))
    if not batches or not batches[0].num_columns:
        return None
    return pa.Table.from_batches(batches)


def _column(table: pa.Table, name: str) -> np.ndarray | pd.Categorical:
    """A column as :meth:`Reader.batches` gives it: float64, or text as a Categorical."""
    return as_arrays(table.select([name]).unify_dictionaries().combine_chunks().to_batches()[0])[
        name
    ]


def _attribute(column: str, values, reference_day: int) -> dict[str, object]:
    """The customers' column(s) made from one Kaggle column (rows in customer order)."""
    if column in DATE_COLUMNS or column.startswith("DAYS_"):
        days = day_numbers(np.asarray(values, np.float64), reference_day)
        name = DATE_COLUMNS.get(column, f"{column.lower().removeprefix('days_')}_date")
        known = np.isfinite(days)
        dates = to_datetime(np.where(known, days, 0).astype(np.int64))
        dates[~known] = np.datetime64("NaT")
        out: dict[str, object] = {name: dates}
        if column in _YEARS:
            out[_YEARS[column]] = np.round((reference_day - days) / 365.25, 4)
        return out
    if column in _YES_NO:
        text = pd.Series(values).astype(object)
        flag = pd.Series(pd.NA, index=text.index, dtype="boolean")
        flag[text == "Y"] = True
        flag[text == "N"] = False
        return {column.lower(): flag.array}
    if isinstance(values, pd.Categorical):
        text = pd.Series(values).astype(object)
        return {column.lower(): text.where(text != _NOT_AVAILABLE).astype("category").array}
    num = np.asarray(values, np.float64)
    if len(num) and whole(num).all() and np.abs(num).max() < 2**31:
        return {column.lower(): num.astype(np.int64)}
    return {column.lower(): num}


def _later(raw: pa.Table, ids: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Rows whose customer an earlier row has: the training row first, then the row
    whose content (every column, text as categories) hashes first."""
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    later = np.zeros(ids.size, bool)
    if not dup.any():
        return later
    rows = raw.drop_columns(["_rank"]).take(pa.array(np.flatnonzero(dup)))
    shown = pd.DataFrame({c: _column(rows, c) for c in rows.column_names}, copy=False)
    content = np.zeros(ids.size, np.uint64)
    content[dup] = pd.util.hash_pandas_object(shown, index=False).to_numpy()
    order = np.lexsort((content, rank, ids))
    later[order[1:]] = ids[order][1:] == ids[order][:-1]
    return later


_NAMES = ("application_train", "application_test")


def _applications(reader: Reader, log: Log) -> pa.Table | None:
    """The rows of both files with an id, one table (``_rank``: 0 train, 1 test)."""
    tables = []
    for rank, name in enumerate(_NAMES):
        if name not in reader.files:
            continue
        table = _read(reader, name)
        if table is None or "SK_ID_CURR" not in table.column_names:
            continue
        blank = np.isnan(_column(table, "SK_ID_CURR"))
        log.add(FILES[name].file_name, "row", "blank_id", blank)
        if blank.any():
            table = table.filter(pa.array(~blank))
        tables.append(table.append_column("_rank", pa.array(np.full(len(table), rank, np.int8))))
    if not tables:
        return None
    return pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]


def read_customers(
    reader: Reader, reference_day: int, log: Log
) -> tuple[pd.DataFrame | None, pd.Series]:
    """The customers (``None`` without an application file) and the TARGET of
    ``application_train``, by customer id.

    A customer in both files, or twice in one, is kept once: the training row
    first, then the row whose content sorts first (the choice does not depend on
    the order of the rows). The rows stay in Arrow until each column is turned
    into the customers' column: memory holds about twice the files' numbers.
    """
    raw = _applications(reader, log)
    if raw is None:
        return None, pd.Series([], dtype=np.int64, name="target").rename_axis("customer_id")
    ids = _column(raw, "SK_ID_CURR").astype(np.int64)
    rank = raw.column("_rank").to_numpy()
    later = _later(raw, ids, rank)
    if later.any():
        for r, name in enumerate(_NAMES):
            log.add(FILES[name].file_name, "row", "duplicate_id", later & (rank == r))
        raw, ids, rank = raw.filter(pa.array(~later)), ids[~later], rank[~later]
    order = np.argsort(ids, kind="stable")
    ordered = bool(np.all(ids[1:] >= ids[:-1]))  # the files' usual order: no copy

    def sort(values):
        return values if ordered else values[order]

    target = np.full(ids.size, np.nan)
    if "TARGET" in raw.column_names:
        train = rank == 0
        values = _column(raw, "TARGET")
        binary = np.isin(values, (0.0, 1.0))
        log.add(
            FILES["application_train"].file_name, "TARGET", "target_not_binary", train & ~binary
        )
        target = np.where(train & binary, values, np.nan)
    columns: dict[str, object] = {"customer_id": sort(ids)}
    for name in raw.column_names:
        if name not in ("SK_ID_CURR", "TARGET", "_rank"):
            columns.update(_attribute(name, sort(_column(raw, name)), reference_day))
        raw = raw.drop_columns([name])  # each column's memory freed once converted
    customers = pd.DataFrame(columns, copy=False)
    labelled = sort(target)
    keep = ~np.isnan(labelled)
    y = pd.Series(
        labelled[keep].astype(np.int64),
        index=pd.Index(customers["customer_id"].to_numpy()[keep], name="customer_id"),
        name="target",
    )
    return customers, y
