"""Keys and links: unique keys within a table, and every table's ``loan_id`` joined to loans.

Each table's ``loan_id`` is coded once against the loans' ids
(:func:`code_loan_ids`); unique keys, orphan ids and every later look-up of a
row's loan then compare integers instead of hashing ids again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._sorting import duplicated
from ._problems import Collector, examples_of
from ._schema import TABLES, TableSpec

__all__ = [
    "LoanCodes",
    "check_keys",
    "check_links",
    "code_loan_ids",
    "id_kind",
    "isin",
    "loan_attr",
    "with_codes",
]


def isin(values: pd.Series, pool: pd.Series) -> np.ndarray:
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
class LoanCodes:
    """Each table's ``loan_id`` as int64 codes, computed once by :func:`code_loan_ids`.

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


def code_loan_ids(loan_ids: pd.Series, tables: dict[str, pd.Series]) -> LoanCodes:
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
    return LoanCodes(n, np.flatnonzero(new), codes)


def id_kind(s: pd.Series) -> str:
    if pd.api.types.is_numeric_dtype(s):
        return "number"
    inferred = pd.api.types.infer_dtype(s, skipna=True)
    return "number" if inferred in ("integer", "floating", "mixed-integer-float") else "text"


def with_codes(df: pd.DataFrame, cols: tuple[str, ...], codes: np.ndarray) -> pd.DataFrame:
    """``df[cols]`` with ``loan_id`` replaced by its codes: same duplicates, integer key.

    Only read, so the columns are not copied (a copy costs more than the check).
    """
    columns = {c: codes if c == "loan_id" else df[c].to_numpy() for c in cols}
    return pd.DataFrame(columns, copy=False)


def check_keys(
    spec: TableSpec, df: pd.DataFrame, c: Collector, codes: np.ndarray | None = None
) -> None:
    """Repeated keys of a table whose key must be unique (``codes``: its coded loan ids)."""
    if not spec.unique_key:
        return
    keyed = df if codes is None else with_codes(df, spec.key, codes)
    dup = duplicated(keyed, spec.key)
    if dup.any():
        c.add(
            spec.name,
            ",".join(spec.key),
            "unique",
            int(dup.sum()),
            examples_of(df, dup, spec.key),
            f"({', '.join(spec.key)}) must be unique.",
            rows=dup,
        )


def check_links(
    name: str, df: pd.DataFrame, loans: pd.DataFrame, codes: LoanCodes, c: Collector
) -> bool:
    """Orphan loan ids; True when every loan_id joins loans."""
    spec = TABLES[name]
    if not len(df):  # an empty table has no id type to disagree with
        return True
    if id_kind(df["loan_id"]) != id_kind(loans["loan_id"]):
        c.add(
            name,
            "loan_id",
            "id_type_mismatch",
            len(df),
            (),
            f"loan_id is {id_kind(df['loan_id'])} here but "
            f"{id_kind(loans['loan_id'])} in loans; use one type for ids.",
            rows=None,  # the whole column: no row alone is to blame
        )
        return False
    orphan = ~codes.in_loans(name) & df["loan_id"].notna().to_numpy()
    if orphan.any():
        c.add(
            name,
            "loan_id",
            "orphan",
            int(orphan.sum()),
            examples_of(df, orphan, spec.key),
            "loan_id not found in loans.",
            rows=orphan,
        )
        return False
    return True


def loan_attr(
    name: str, df: pd.DataFrame, loans: pd.DataFrame, codes: LoanCodes, column: str
) -> np.ndarray:
    """``loans[column]`` for each row of table ``name`` (first loan row if ids repeat)."""
    rows = codes.loan_rows(name)
    missing = df["loan_id"].isna().to_numpy()
    if missing.any():  # a missing id joins no loan (it is reported as not_null)
        rows = np.where(missing, -1, rows)
    return pd.api.extensions.take(loans[column].to_numpy(), rows, allow_fill=True)
