"""Contract validation and dtype normalisation.

Validation collects every problem before raising, so a user fixes their
extract once rather than once per error. Each table is normalised on a copy:
dates to ``datetime64[ns]`` at day precision, amounts to float64, codes and
text to ``category``; ids are kept as given.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._sorting import duplicated, lexsort2, pack, presorted
from ..exceptions import DataQualityWarning, DataValidationError, Problem
from ._portfolio import Portfolio
from ._schema import TABLES, ColumnSpec, TableSpec

__all__ = ["validate"]

_N_EXAMPLES = 5
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


class _Collector:
    """Accumulates problems and warnings, with examples named by key."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[str] = []

    def add(
        self,
        spec_name: str,
        column: str,
        rule: str,
        count: int,
        examples: tuple[str, ...],
        message: str,
    ) -> None:
        self.problems.append(Problem(spec_name, column, rule, int(count), examples, message))

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def _examples(raw: pd.DataFrame, mask: np.ndarray, key: tuple[str, ...]) -> tuple[str, ...]:
    """Name the first offending rows by their key values and position."""
    pos = np.flatnonzero(mask)[:_N_EXAMPLES]
    cols = [c for c in key if c in raw.columns]
    out = []
    for i in pos:
        keys = ", ".join(f"{c}={raw[c].iloc[i]}" for c in cols)
        out.append(f"{keys} (row {i})" if keys else f"row {i}")
    return tuple(out)


def _is_text(s: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)


def _parse_date(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert(None)
    if pd.api.types.is_datetime64_any_dtype(s):
        parsed = s
    else:
        parsed = pd.to_datetime(s, errors="coerce", format="ISO8601")
    # Out-of-range sentinels (9999-12-31) cannot be held in ns and must be blank.
    lo, hi = pd.Timestamp("1900-01-01"), pd.Timestamp("2200-01-01")
    parsed = parsed.where((parsed >= lo) & (parsed < hi))
    return parsed.astype("datetime64[ns]").dt.floor("D")


def _normalise_column(
    spec: TableSpec, col: ColumnSpec, raw: pd.DataFrame, out: dict[str, pd.Series], c: _Collector
) -> None:
    s = raw[col.name]
    name = spec.name
    present = s.notna().to_numpy()

    def fail(rule: str, mask: np.ndarray, message: str) -> None:
        c.add(name, col.name, rule, int(mask.sum()), _examples(raw, mask, spec.key), message)

    if col.kind == "id":
        out[col.name] = s
    elif col.kind == "date":
        parsed = _parse_date(s)
        bad = present & parsed.isna().to_numpy()
        if bad.any():
            fail(
                "unparseable_date",
                bad,
                "Dates must be ISO 8601 (YYYY-MM-DD) between "
                "1900 and 2200; leave a date blank when it does not apply.",
            )
        out[col.name] = parsed
    elif col.kind in ("amount", "float", "int"):
        if pd.api.types.is_bool_dtype(s):
            fail("wrong_type", present, "Expected numbers, got booleans.")
            return
        num = s if pd.api.types.is_numeric_dtype(s) else pd.to_numeric(s, errors="coerce")
        num = num.astype("float64")
        values = num.to_numpy()
        bad = present & np.isnan(values)
        if bad.any():
            fail("wrong_type", bad, f"Expected {'integers' if col.kind == 'int' else 'numbers'}.")
        inf = np.isinf(values)
        if inf.any():
            fail("not_finite", inf, "Values must be finite.")
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
                seen = sorted(set(text[unknown].astype(str)))[:_N_EXAMPLES]
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


def _normalise_table(spec: TableSpec, raw: object, c: _Collector) -> pd.DataFrame | None:
    if not isinstance(raw, pd.DataFrame):
        c.add(
            spec.name,
            "",
            "wrong_type",
            1,
            (type(raw).__name__,),
            "Each table must be a pandas DataFrame.",
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
            tuple(map(str, dup_cols[:_N_EXAMPLES])),
            "Column names must be unique.",
        )
        return None
    missing = [n for n in spec.required_columns if n not in raw.columns]
    for n in missing:
        c.add(spec.name, n, "missing_column", 1, (), "Required column is missing.")
    out: dict[str, pd.Series] = {}
    for col in spec.columns:
        if col.name in raw.columns:
            _normalise_column(spec, col, raw, out, c)
    for name in raw.columns:
        if name in spec.column_map:
            continue
        s = raw[name]
        if spec.extra_columns and (_is_text(s) or isinstance(s.dtype, pd.CategoricalDtype)):
            out[name] = s.astype("category")
        else:
            out[name] = s
    if missing:
        return None
    ordered = [n for n in raw.columns if n in out]
    return pd.DataFrame({n: out[n] for n in ordered}, index=raw.index)


def _isin(values: pd.Series, pool: pd.Series) -> np.ndarray:
    """``values.isin(pool)`` through one factorisation.

    Pool values are coded first, so a value is in the pool exactly when its code
    is below the number of distinct pool values. For text ids this is several
    times faster than ``isin``, which walks Arrow strings one by one.
    """
    if not len(pool) or not len(values):  # concat warns on empty frames under pandas 2.2
        return np.zeros(len(values), dtype=bool)
    codes, _ = pd.factorize(pd.concat([pool, values], ignore_index=True))
    n_pool = int(codes[: len(pool)].max()) + 1
    tail = codes[len(pool) :]
    return (tail >= 0) & (tail < n_pool)


@dataclass(frozen=True)
class _LoanCodes:
    """Each table's ``loan_id`` as int64 codes, computed once by :func:`_code_loan_ids`.

    Code ``k < n`` is the k-th distinct loan id of ``loans`` (first appearance);
    ids not in loans get codes ``>= n``, distinct per distinct value, so codes
    are equal exactly when ids are. Every cross-table check then compares or
    looks up integers instead of hashing text ids again.
    """

    n: int
    first_row: np.ndarray  # the loans row where each distinct id first appears
    codes: dict[str, np.ndarray]

    def in_loans(self, name: str) -> np.ndarray:
        return self.codes[name] < self.n

    def loan_rows(self, name: str) -> np.ndarray:
        """The loans row of each row of table ``name`` (first one if ids repeat), -1 if none."""
        codes = self.codes[name]
        if codes.size and int(codes.max()) < self.n:  # every row has a loan: nothing to fill
            # With unique loan ids code k is loans row k, and no gather is needed.
            return codes if self.n == self.codes["loans"].size else self.first_row[codes]
        rows = np.full(codes.size, -1, np.int64)
        known = codes < self.n
        rows[known] = self.first_row[codes[known]]
        return rows


def _code_loan_ids(loan_ids: pd.Series, tables: dict[str, pd.Series]) -> _LoanCodes:
    """Code loans' ids and every other table's ``loan_id`` against them.

    Missing ids get a code too (``use_na_sentinel=False``), as a missing id in
    loans is matched by the lookups of ``Index.get_indexer`` that came before.
    Numeric ids are looked up in an index of loans' distinct ids, which is
    fastest for them; text ids (Arrow strings above all) are hashed much faster
    by one factorisation of loans' ids followed by the table's than by
    ``get_indexer``. Both give codes in loans' order of first appearance.
    """
    loan_codes, uniques = pd.factorize(loan_ids, use_na_sentinel=False)
    loan_codes = loan_codes.astype(np.int64, copy=False)
    n = len(uniques)
    # A row holds a first appearance when its code exceeds all codes before it.
    new = np.ones(loan_codes.size, bool)
    new[1:] = loan_codes[1:] > np.maximum.accumulate(loan_codes)[:-1]
    codes = {"loans": loan_codes}
    numeric = pd.api.types.is_numeric_dtype(loan_ids)
    index = pd.Index(uniques) if numeric else None
    for name, ids in tables.items():
        if index is not None:
            coded = index.get_indexer(ids).astype(np.int64, copy=False)
            missing = coded < 0
            if missing.any():
                coded[missing] = n + pd.factorize(ids[missing], use_na_sentinel=False)[0]
        elif not len(ids) or not n:  # concat warns on empty frames under pandas 2.2
            coded = n + pd.factorize(ids, use_na_sentinel=False)[0]
        else:
            both = pd.concat([loan_ids, ids], ignore_index=True)
            coded = pd.factorize(both, use_na_sentinel=False)[0][len(loan_ids) :]
        codes[name] = coded.astype(np.int64, copy=False)
    return _LoanCodes(n, np.flatnonzero(new), codes)


def _id_kind(s: pd.Series) -> str:
    if pd.api.types.is_numeric_dtype(s):
        return "number"
    inferred = pd.api.types.infer_dtype(s, skipna=True)
    return "number" if inferred in ("integer", "floating", "mixed-integer-float") else "text"


def _with_codes(df: pd.DataFrame, cols: tuple[str, ...], codes: np.ndarray) -> pd.DataFrame:
    """``df[cols]`` with ``loan_id`` replaced by its codes: same duplicates, integer key.

    Only read, so the columns are not copied (a copy costs more than the check).
    """
    columns = {c: codes if c == "loan_id" else df[c].to_numpy() for c in cols}
    return pd.DataFrame(columns, copy=False)


def _check_keys(
    spec: TableSpec, df: pd.DataFrame, c: _Collector, codes: np.ndarray | None = None
) -> None:
    if not spec.unique_key:
        return
    keyed = df if codes is None else _with_codes(df, spec.key, codes)
    dup = duplicated(keyed, spec.key)
    if dup.any():
        c.add(
            spec.name,
            ",".join(spec.key),
            "unique",
            int(dup.sum()),
            _examples(df, dup, spec.key),
            f"({', '.join(spec.key)}) must be unique.",
        )


def _check_links(
    name: str, df: pd.DataFrame, loans: pd.DataFrame, codes: _LoanCodes, c: _Collector
) -> bool:
    """Orphan loan ids; True when every loan_id joins loans."""
    spec = TABLES[name]
    if not len(df):  # an empty table has no id type to disagree with
        return True
    if _id_kind(df["loan_id"]) != _id_kind(loans["loan_id"]):
        c.add(
            name,
            "loan_id",
            "id_type_mismatch",
            len(df),
            (),
            f"loan_id is {_id_kind(df['loan_id'])} here but "
            f"{_id_kind(loans['loan_id'])} in loans; use one type for ids.",
        )
        return False
    orphan = ~codes.in_loans(name) & df["loan_id"].notna().to_numpy()
    if orphan.any():
        c.add(
            name,
            "loan_id",
            "orphan",
            int(orphan.sum()),
            _examples(df, orphan, spec.key),
            "loan_id not found in loans.",
        )
        return False
    return True


def _loan_attr(
    name: str, df: pd.DataFrame, loans: pd.DataFrame, codes: _LoanCodes, column: str
) -> np.ndarray:
    """``loans[column]`` for each row of table ``name`` (first loan row if ids repeat)."""
    rows = codes.loan_rows(name)
    missing = df["loan_id"].isna().to_numpy()
    if missing.any():  # a missing id joins no loan (it is reported as not_null)
        rows = np.where(missing, -1, rows)
    return pd.api.extensions.take(loans[column].to_numpy(), rows, allow_fill=True)


def _check_before_start(
    name: str,
    df: pd.DataFrame,
    loans: pd.DataFrame,
    codes: _LoanCodes,
    c: _Collector,
    *,
    as_error: bool,
) -> None:
    spec = TABLES[name]
    col = spec.date_column
    early = df[col].to_numpy() < _loan_attr(name, df, loans, codes, "start_date")
    if early.any():
        if as_error:
            c.add(
                name,
                col,
                "before_loan_start",
                int(early.sum()),
                _examples(df, early, spec.key),
                f"{col} is before the loan's start_date.",
            )
        else:
            c.warn(f"{name}: {int(early.sum())} rows have {col} before the loan's start_date.")


def _check_schedule(df: pd.DataFrame, codes: np.ndarray, c: _Collector) -> None:
    key = ("loan_id", "installment_no")
    if presorted(_with_codes(df, key, codes), key)[0] == 2:
        order = slice(None)  # already in (loan, instalment) order
    else:
        order = lexsort2(codes, df["installment_no"].to_numpy())
    sorted_codes = codes[order]
    due = df["due_date"].to_numpy()[order]
    back = (sorted_codes[1:] == sorted_codes[:-1]) & (due[1:] < due[:-1])
    if back.any():
        bad = np.zeros(int(codes.max()) + 1, bool)
        bad[sorted_codes[1:][back]] = True
        # Name the loans as before: a missing id first, then the others in the
        # order they first appear in the table.
        rows = np.flatnonzero(bad[codes])
        _, first = np.unique(codes[rows], return_index=True)
        ids = df["loan_id"].iloc[rows[np.sort(first)]]
        ids = ids.iloc[np.argsort(ids.notna().to_numpy(), kind="stable")]
        examples = ids.iloc[:_N_EXAMPLES].to_numpy()
        c.add(
            "installments",
            "due_date",
            "due_dates_out_of_order",
            int(bad.sum()),
            tuple(f"loan_id={v}" for v in examples),
            "Due dates must not decrease as installment_no increases.",
        )
    if (df["amount_due"].to_numpy() == 0).any():
        c.warn(f"installments: {int((df['amount_due'] == 0).sum())} instalments have amount_due 0.")


def _known_pairs(
    pay_codes: np.ndarray, pay_no: np.ndarray, inst_codes: np.ndarray, inst_no: np.ndarray
) -> np.ndarray:
    """Whether each (loan code, instalment number) of a payment is in the schedule.

    Whole instalment numbers (the rule) are packed with the loan code into one
    int64 key, for which ``np.isin`` is a table lookup; others take a MultiIndex.
    """
    inst_codes, inst_no = inst_codes[~np.isnan(inst_no)], inst_no[~np.isnan(inst_no)]
    numbers = np.concatenate([pay_no, inst_no])
    if np.all(np.abs(numbers) < 2**53) and np.all(numbers == np.round(numbers)):
        packed = pack([np.concatenate([pay_codes, inst_codes]), numbers.astype(np.int64)])
        if packed is not None:
            key = packed[0]
            return np.isin(key[: pay_codes.size], key[pay_codes.size :])
    known = pd.MultiIndex.from_arrays([inst_codes, inst_no])
    return pd.MultiIndex.from_arrays([pay_codes, pay_no]).isin(known)


def _check_allocated(
    pay: pd.DataFrame, inst: pd.DataFrame, codes: _LoanCodes, c: _Collector
) -> None:
    tagged = pay["installment_no"].notna().to_numpy()
    if not tagged.any():
        return
    unknown = tagged.copy()
    unknown[tagged] = ~_known_pairs(
        codes.codes["payments"][tagged],
        pay["installment_no"].to_numpy(np.float64)[tagged],
        codes.codes["installments"],
        inst["installment_no"].to_numpy(np.float64),
    )
    if unknown.any():
        c.add(
            "payments",
            "installment_no",
            "unknown_installment",
            int(unknown.sum()),
            _examples(pay, unknown, ("loan_id", "payment_date", "installment_no")),
            "Payment allocated to an instalment that is not in the schedule.",
        )


def _check_tables_present(tables: dict[str, pd.DataFrame], c: _Collector) -> None:
    has = set(tables)
    if "installments" in has and "payments" not in has:
        c.add(
            "payments",
            "",
            "missing_table",
            1,
            (),
            "A schedule needs a payments table (it may be empty).",
        )
    if not has & {"installments", "statements"}:
        # One problem, not two: payments without a schedule is the same missing table.
        c.add(
            "installments",
            "",
            "missing_table",
            1,
            (),
            "Payments need a schedule (installments) to be allocated to."
            if "payments" in has
            else "A portfolio needs installments with payments, or statements.",
        )


def _cross_checks(t: dict[str, pd.DataFrame], codes: _LoanCodes, c: _Collector) -> None:
    loans = t["loans"]
    bad_close = (
        (loans["closed_date"] < loans["start_date"]).to_numpy()
        if "closed_date" in loans
        else np.zeros(len(loans), bool)
    )
    if bad_close.any():
        c.add(
            "loans",
            "closed_date",
            "date_order",
            int(bad_close.sum()),
            _examples(loans, bad_close, ("loan_id",)),
            "closed_date is before start_date.",
        )
    if "restructured_from" in loans:
        source = loans["restructured_from"]
        orphan = source.notna().to_numpy() & ~_isin(source, loans["loan_id"])
        if orphan.any():
            c.add(
                "loans",
                "restructured_from",
                "orphan",
                int(orphan.sum()),
                _examples(loans, orphan, ("loan_id", "restructured_from")),
                "restructured_from names a loan that is not in loans.",
            )
    linked = {
        n: _check_links(n, t[n], loans, codes, c)
        for n in ("installments", "payments", "statements", "collections")
        if n in t
    }
    if "customers" in t:
        cust = t["customers"]
        if _id_kind(cust["customer_id"]) != _id_kind(loans["customer_id"]):
            c.add(
                "loans",
                "customer_id",
                "id_type_mismatch",
                len(loans),
                (),
                "customer_id has a different type in loans and customers.",
            )
        else:
            orphan = ~_isin(loans["customer_id"], cust["customer_id"])
            if orphan.any():
                c.add(
                    "loans",
                    "customer_id",
                    "orphan",
                    int(orphan.sum()),
                    _examples(loans, orphan, ("loan_id", "customer_id")),
                    "customer_id not found in customers.",
                )
    if linked.get("installments"):
        _check_schedule(t["installments"], codes.codes["installments"], c)
        _check_before_start("installments", t["installments"], loans, codes, c, as_error=False)
    for name in ("payments", "statements", "collections"):
        if linked.get(name):
            _check_before_start(name, t[name], loans, codes, c, as_error=True)
    if linked.get("payments") and linked.get("installments") and "installment_no" in t["payments"]:
        _check_allocated(t["payments"], t["installments"], codes, c)
    if "collections" in t and "promise_date" in t["collections"]:
        col = t["collections"]
        bad = (col["promise_date"] < col["action_date"]).to_numpy()
        if bad.any():
            c.add(
                "collections",
                "promise_date",
                "date_order",
                int(bad.sum()),
                _examples(col, bad, ("loan_id", "action_date")),
                "promise_date is before action_date.",
            )
    _suspicious(t, linked, codes, c)


def _suspicious(
    t: dict[str, pd.DataFrame], linked: dict[str, bool], codes: _LoanCodes, c: _Collector
) -> None:
    """Legal but odd: reported as DataQualityWarning, never as errors."""
    loans = t["loans"]
    if linked.get("installments") or linked.get("statements"):
        covered = np.zeros(codes.n, bool)
        for name in ("installments", "statements"):
            if linked.get(name):
                covered[codes.codes[name][codes.in_loans(name)]] = True
        # A loan with a missing id never counts as covered.
        bare_rows = ~covered[codes.codes["loans"]] | loans["loan_id"].isna().to_numpy()
        bare = int(bare_rows.sum())
        if bare:
            c.warn(
                f"loans: {bare} loans have neither a schedule nor statements; "
                "they are never overdue."
            )
    if linked.get("payments"):
        pay = t["payments"]
        key = ("loan_id", "payment_date", "amount")
        dups = int(duplicated(_with_codes(pay, key, codes.codes["payments"]), key).sum())
        if dups:
            c.warn(f"payments: {dups} rows repeat another payment's loan, date and amount.")
        if "closed_date" in loans:
            late = pay["payment_date"].to_numpy() > _loan_attr(
                "payments", pay, loans, codes, "closed_date"
            )
            if late.any():
                c.warn(f"payments: {int(late.sum())} payments are dated after the loan closed.")


def validate(portfolio: Portfolio) -> Portfolio:
    """Check a portfolio against the data contract and normalise its dtypes.

    Every problem is collected before anything is raised, so one run lists all
    of them. Suspicious but legal data (duplicate-looking payments, loans with
    no repayment data, payments after closing) emits one
    :class:`~overdue_risk.DataQualityWarning` per finding.

    Parameters
    ----------
    portfolio : Portfolio
        Raw or already validated tables; the caller's frames are not modified.

    Returns
    -------
    Portfolio
        A new portfolio with normalised dtypes and ``validated=True``.

    Raises
    ------
    DataValidationError
        Listing every broken rule: table, column, rule, count and first keys.

    Examples
    --------
    >>> import pandas as pd
    >>> from overdue_risk import Portfolio, validate, DataValidationError
    >>> loans = pd.DataFrame({"loan_id": [1, 1], "customer_id": [7, 7],
    ...     "product_type": ["instalment", "card"], "start_date": ["2024-01-01", "x"],
    ...     "principal": [300.0, -5.0]})
    >>> try:
    ...     validate(Portfolio(loans=loans, statements=pd.DataFrame(
    ...         {"loan_id": [], "statement_date": [], "balance": []})))
    ... except DataValidationError as err:
    ...     print(sorted(err.table()["rule"]))
    ['allowed_values', 'positive', 'unique', 'unparseable_date']
    """
    if portfolio.validated:
        return portfolio
    c = _Collector()
    tables: dict[str, pd.DataFrame] = {}
    for name, raw in portfolio.tables().items():
        df = _normalise_table(TABLES[name], raw, c)
        if df is not None:
            tables[name] = df
    raw_tables = portfolio.tables()
    if "loans" not in raw_tables:
        c.add("loans", "", "missing_table", 1, (), "Every portfolio needs a loans table.")
    _check_tables_present(raw_tables, c)
    codes = None
    if "loans" in tables:
        # Code every table's loan_id once: keys, links and lookups reuse the codes.
        others = {n: df["loan_id"] for n, df in tables.items() if n != "loans" and "loan_id" in df}
        codes = _code_loan_ids(tables["loans"]["loan_id"], others)
    for name, df in tables.items():
        _check_keys(TABLES[name], df, c, None if codes is None else codes.codes.get(name))
    if codes is not None:
        _cross_checks(tables, codes, c)
    if c.problems:
        raise DataValidationError(c.problems)
    for message in c.warnings:
        warnings.warn(DataQualityWarning(message), stacklevel=2)
    checked = Portfolio(**tables)
    object.__setattr__(checked, "validated", True)  # frozen: only validation marks it
    return checked
