"""Column normalisation: each table checked column by column and normalised on a copy.

Dates become ``datetime64[ns]`` at day precision (an aware timestamp in its own
local date, see :func:`overdue_risk._dates.local_times`), amounts float64,
codes and text ``category``; ids are kept as given. Every value that breaks its
column's rule (type, range, allowed values, required) is reported to the
:class:`~overdue_risk.contract._problems.Collector`.

A column that fails its type as a whole (booleans for an amount, lists or
structs for anything) is left out of the normalised table, and a table that
then lacks a required column is left out of every later rule, as a table
missing that column is: no rule reads a column that is not what it claims.
"""

from __future__ import annotations

import decimal
import numbers

import numpy as np
import pandas as pd

from .._dates import day_precision, local_times, zone_outliers
from ._problems import N_EXAMPLES, Collector, examples_of
from ._schema import MAX_AMOUNT, MAX_INTEGER, ColumnSpec, TableSpec, amount_text

__all__ = ["FLOAT32_MAX", "normalise_table"]

#: The largest magnitude a number outside money and integers may have: features are
#: float32, and a larger value would turn into inf there.
FLOAT32_MAX = float(np.finfo(np.float32).max)

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def _is_text(s: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)


def _nested(s: pd.Series) -> np.ndarray | None:
    """Which values are lists, arrays, dicts or sets (a Parquet list or struct column).

    None when there are none; only object columns that are not plain text are
    looked at value by value. Tuples are single (hashable) values: ids may be tuples.
    """
    dtype = s.dtype
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        return s.notna().to_numpy() if pa.types.is_nested(dtype.pyarrow_dtype) else None
    if not pd.api.types.is_object_dtype(dtype):
        return None
    if pd.api.types.infer_dtype(s, skipna=True) not in ("mixed", "unknown-array"):
        return None
    nested = np.fromiter((isinstance(v, list | dict | set | np.ndarray) for v in s), bool, len(s))
    return nested if nested.any() else None


_FLOAT32_MESSAGE = (
    f"Numbers must be at most {FLOAT32_MAX:.4g} in absolute value: features hold them "
    "in float32, where a larger value would become infinite."
)
# What a number column may hold value by value (text is parsed; booleans are no numbers).
_NUMBER_TYPES = (str, numbers.Real, decimal.Decimal)


def _type_names(values: pd.Series) -> str:
    names = sorted({type(v).__name__ for v in values})
    return ", ".join(names[:N_EXAMPLES])


def _not_numbers(s: pd.Series, present: np.ndarray) -> tuple[bool, np.ndarray, str] | None:
    """Which values of a number column are not numbers (or text to parse as one).

    None when every value may be one. Otherwise ``(whole, mask, what)``: ``whole``
    when the column's dtype itself is not numbers (booleans, complex numbers,
    dates, durations), so the column fails as a whole; ``mask`` the values to
    report and ``what`` what they are. A boolean is never a number here, nor is
    a complex number, a date or a duration: each would pass as a count (1.0,
    nanoseconds) that changes results.
    """
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        s, dtype = s.astype(object), np.dtype(object)
    if pd.api.types.is_bool_dtype(dtype):
        return True, present, "booleans"
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty", "integer", "floating"):
            return None
        wrong = np.fromiter(
            (
                not isinstance(v, _NUMBER_TYPES) or isinstance(v, bool | np.bool_)
                for v in s.to_numpy(dtype=object)
            ),
            bool,
            len(s),
        )
        wrong &= present
        return (False, wrong, _type_names(s[wrong])) if wrong.any() else None
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
    if numeric and not isinstance(dtype, pd.ArrowDtype):
        return None
    if numeric and isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        if pa.types.is_integer(dtype.pyarrow_dtype) or pa.types.is_floating(dtype.pyarrow_dtype):
            return None
    kinds = {
        "m": "durations",
        "M": "dates",
        "c": "complex numbers",
    }
    what = kinds.get(getattr(dtype, "kind", ""), f"values of type {dtype}")
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        if pa.types.is_duration(dtype.pyarrow_dtype):
            what = "durations"
    return True, present, what


def _check_extra_numbers(
    spec: TableSpec, name: str, s: pd.Series, raw: pd.DataFrame, c: Collector
) -> bool:
    """Check an extra column of numbers, which becomes a feature; False when it fails its type.

    Its values must be finite and fit the float32 the features hold them in;
    complex numbers are no attribute.
    """
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return True

    def add(rule: str, mask: np.ndarray, message: str, *, whole: bool = False) -> None:
        c.add(
            spec.name,
            str(name),
            rule,
            int(mask.sum()),
            examples_of(raw, mask, spec.key),
            message,
            rows=None if whole else mask,
        )

    if pd.api.types.is_complex_dtype(dtype):
        add(
            "wrong_type", s.notna().to_numpy(), "Expected numbers, got complex numbers.", whole=True
        )
        return False
    values = s.to_numpy(dtype=np.float64, na_value=np.nan)
    inf = np.isinf(values)
    if inf.any():
        add("not_finite", inf, "Values must be finite.")
    huge = np.isfinite(values) & (np.abs(values) > FLOAT32_MAX)
    if huge.any():
        add("maximum", huge, _FLOAT32_MESSAGE)
    return True


def _holds_dates(dtype) -> bool:
    """Whether a column of this dtype may hold dates value by value (text, objects,
    datetimes); numbers, booleans and durations are no dates in any row."""
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        arrow = dtype.pyarrow_dtype
        if pa.types.is_timestamp(arrow) or pa.types.is_date(arrow):
            return True
    return (
        pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_datetime64_any_dtype(dtype)
    )


def _date_column(s: pd.Series, present: np.ndarray, fail) -> pd.Series:
    times, zones = local_times(s)
    if zones is not None:
        mixed, labels = zone_outliers(zones)
        fail(
            "mixed_timezones",
            mixed,
            "A date column must use one UTC offset or timezone (or none); found "
            f"{', '.join(labels)}. Each timestamp counts in its own local date.",
        )
    parsed = day_precision(times)
    bad = present & parsed.isna().to_numpy()
    if bad.any():
        fail(
            "unparseable_date",
            bad,
            "Dates must be full ISO 8601 dates (YYYY-MM-DD; not a number, a year or a "
            "month) between 1900 and 2200; leave a date blank when it does not apply.",
            whole=not _holds_dates(s.dtype),
        )
    return parsed


def _normalise_column(
    spec: TableSpec, col: ColumnSpec, raw: pd.DataFrame, out: dict[str, pd.Series], c: Collector
) -> None:
    s = raw[col.name]
    name = spec.name
    present = s.notna().to_numpy()

    def fail(rule: str, mask: np.ndarray, message: str, *, whole: bool = False) -> None:
        # ``whole``: the column's type fails, not some rows: nothing to set aside.
        c.add(
            name,
            col.name,
            rule,
            int(mask.sum()),
            examples_of(raw, mask, spec.key),
            message,
            rows=None if whole else mask,
        )

    nested = _nested(s)
    if nested is not None:
        fail(
            "wrong_type",
            nested,
            "Values must be single values, not lists or structs.",
            whole=isinstance(s.dtype, pd.ArrowDtype),
        )
        return  # the column failed its type: no later rule reads it
    if col.kind == "id":
        out[col.name] = s
    elif col.kind == "date":
        out[col.name] = _date_column(s, present, fail)
    elif col.kind in ("amount", "float", "int"):
        got = _not_numbers(s, present)
        wrong = np.zeros(len(s), bool)
        if got is not None:
            whole, wrong, what = got
            fail("wrong_type", wrong, f"Expected numbers, got {what}.", whole=whole)
            if whole:
                return  # the column failed its type: no later rule reads it
            s = s.astype(object).where(~wrong)
        num = s if pd.api.types.is_numeric_dtype(s) else pd.to_numeric(s, errors="coerce")
        num = num.astype("float64")
        values = num.to_numpy()
        bad = present & np.isnan(values) & ~wrong
        if bad.any():
            fail("wrong_type", bad, f"Expected {'integers' if col.kind == 'int' else 'numbers'}.")
        inf = np.isinf(values)
        if inf.any():
            fail("not_finite", inf, "Values must be finite.")
            num = num.mask(inf)  # reported: no later rule or cast reads inf
            values = num.to_numpy()
        ok = np.isfinite(values)
        if col.kind == "int":
            frac = ok & (values != np.round(values))
            if frac.any():
                fail("wrong_type", frac, "Expected integers.")
        if col.minimum is not None:
            low = ok & ((values <= col.minimum) if col.strict else (values < col.minimum))
            if low.any():
                rule = {(0, True): "positive", (0, False): "non_negative"}.get(
                    (col.minimum, col.strict), "minimum"
                )
                op = ">" if col.strict else ">="
                fail(rule, low, f"Values must be {op} {col.minimum:g}.")
        if col.maximum is not None:
            high = ok & (values > col.maximum)
            if high.any():
                fail("maximum", high, f"Values must be <= {col.maximum:g}.")
        if col.kind == "amount":
            huge = ok & (np.abs(values) > MAX_AMOUNT)
            if huge.any():
                fail(
                    "max_amount",
                    huge,
                    f"Amounts must be at most {amount_text()} in absolute value "
                    "(MAX_AMOUNT): the ledger counts money to the cent in 64-bit integers.",
                )
        elif col.kind == "float" and (col.maximum is None or col.maximum > FLOAT32_MAX):
            huge = ok & (np.abs(values) > FLOAT32_MAX)
            if huge.any():
                fail("maximum", huge, _FLOAT32_MESSAGE)
        elif col.kind == "int" and (col.maximum is None or col.maximum > MAX_INTEGER):
            huge = ok & (np.abs(values) > MAX_INTEGER)
            if huge.any():
                fail(
                    "maximum", huge, f"Integers must be at most {MAX_INTEGER:,} in absolute value."
                )
        if col.kind == "int" and not col.nullable and not np.isnan(values).any():
            out[col.name] = num.astype("int64")
        else:
            out[col.name] = num
    elif col.kind == "category":
        text = s.astype("string").str.strip()
        keep = present
        if col.allowed is not None:
            text = text.str.lower()
            unknown = present & ~text.isin(col.allowed).fillna(False).to_numpy(dtype=bool)
            keep = present & ~unknown
            if unknown.any():
                seen = sorted(set(text[unknown].astype(str)))[:N_EXAMPLES]
                fail(
                    "allowed_values",
                    unknown,
                    f"Allowed: {', '.join(col.allowed)}; found {', '.join(repr(v) for v in seen)}.",
                )
            dtype = pd.CategoricalDtype(list(col.allowed))
        else:
            dtype = "category"
        out[col.name] = text.astype(object).where(keep, None).astype(dtype)
    elif col.kind == "bool":
        if pd.api.types.is_bool_dtype(s):
            out[col.name] = s.astype("boolean")
        else:
            text = s.astype("string").str.strip().str.lower()
            truth = text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)
            false = text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)
            bad = present & ~truth & ~false
            if bad.any():
                fail("wrong_type", bad, "Expected true/false, yes/no or 1/0.")
            values = pd.array(np.where(truth, True, False), dtype="boolean")
            values[~(truth | false)] = pd.NA
            out[col.name] = pd.Series(values, index=s.index)
    if not col.nullable and col.name in out:
        missing = ~present
        if missing.any():
            fail("not_null", missing, "Values are required.")


def normalise_table(spec: TableSpec, raw: object, c: Collector) -> pd.DataFrame | None:
    """A normalised copy of table ``raw``, or None when it is not a DataFrame, repeats a
    column name or lacks a required column; every problem goes to ``c``.

    Columns outside the contract are kept (as ``category`` when they hold text
    and the table allows extra columns).
    """
    if not isinstance(raw, pd.DataFrame):
        c.add(
            spec.name,
            "",
            "wrong_type",
            1,
            (type(raw).__name__,),
            "Each table must be a pandas DataFrame.",
            rows=None,
        )
        return None
    if isinstance(raw.columns, pd.MultiIndex):
        c.add(
            spec.name,
            "",
            "column_names",
            raw.shape[1],
            tuple(map(str, raw.columns[:N_EXAMPLES])),
            f"Column names must be one row of labels, not a MultiIndex of "
            f"{raw.columns.nlevels} levels; flatten them (e.g. df.columns = [...]).",
            rows=None,
        )
        return None
    raw = raw.reset_index(drop=True)
    dup_cols = raw.columns[raw.columns.duplicated()]
    if len(dup_cols):
        c.add(
            spec.name,
            "",
            "duplicate_column",
            len(dup_cols),
            tuple(map(str, dup_cols[:N_EXAMPLES])),
            "Column names must be unique.",
            rows=None,
        )
        return None
    missing = [n for n in spec.required_columns if n not in raw.columns]
    for n in missing:
        c.add(spec.name, n, "missing_column", 1, (), "Required column is missing.", rows=None)
    out: dict[str, pd.Series] = {}
    for col in spec.columns:
        if col.name in raw.columns:
            _normalise_column(spec, col, raw, out, c)
    for name in raw.columns:
        if name in spec.column_map:
            continue
        s = raw[name]
        nested = _nested(s)
        if nested is not None:
            c.add(
                spec.name,
                str(name),
                "wrong_type",
                int(nested.sum()),
                examples_of(raw, nested, spec.key),
                "Values must be single values, not lists or structs.",
                rows=None if isinstance(s.dtype, pd.ArrowDtype) else nested,
            )
        elif spec.extra_columns and (_is_text(s) or isinstance(s.dtype, pd.CategoricalDtype)):
            out[name] = s.astype("category")
        elif not spec.extra_columns or _check_extra_numbers(spec, name, s, raw, c):
            out[name] = s
    failed = [n for n in spec.required_columns if n in raw.columns and n not in out]
    if missing or failed:
        return None
    ordered = [n for n in raw.columns if n in out]
    return pd.DataFrame({n: out[n] for n in ordered}, index=raw.index)
