"""Chunks of whole customers: which loans and customers each chunk holds.

:func:`plan_chunks` reads only the key columns (loans' ``loan_id``,
``customer_id`` and ``restructured_from``, customers' ``customer_id``, every
other table's ``loan_id``) and returns a :class:`ChunkPlan`: for each chunk,
the ids of its loans and of its customers. The rows themselves are read chunk
by chunk, filtered by those ids.

* A customer is a ``customer_id``; a loan without one is a customer of its own.
  Customers in the ``customers`` table without a loan are customers too (their
  chunk holds their row alone).
* Customers are taken in sorted order (ids as they sort in their own type; the
  loans without a customer after them, by ``loan_id``) and cut every
  ``customers_per_chunk``. A loan restructured from another customer's loan
  (``restructured_from``) ties the two customers: such a group is never cut, so
  a chunk may hold a few more customers.
* Every row of every table lands in exactly one chunk, or the rows that could
  not are refused before the first chunk, as the rules of the data contract
  they break: a ``loan_id`` missing (``not_null``) or repeated (``unique``) in
  loans, a customer row without ``customer_id`` (``not_null``), a row whose
  ``loan_id`` is missing (``not_null``) or names no loan (``orphan``), ids of
  another type than in loans (``id_type_mismatch``), a key column missing
  (``missing_column``). The concatenated chunks then hold the same rows as the
  whole table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from ..contract import show_value
from ..exceptions import DataValidationError, Problem
from ._tables import N_EXAMPLES, TableReader, id_kind, plain

__all__ = ["ChunkPlan", "plan_chunks"]


@dataclass(frozen=True)
class ChunkPlan:
    """The ids of each chunk's loans and customers, in chunk order.

    ``loan_ids[loan_bounds[i]:loan_bounds[i + 1]]`` are chunk ``i``'s loans, and
    likewise for customers.
    """

    loan_ids: pa.Array
    loan_bounds: np.ndarray
    customer_ids: pa.Array
    customer_bounds: np.ndarray

    def __len__(self) -> int:
        return len(self.loan_bounds) - 1

    def chunk(self, i: int) -> tuple[pa.Array, pa.Array]:
        """(loan ids, customer ids) of chunk ``i``."""
        lo, hi = self.loan_bounds[i], self.loan_bounds[i + 1]
        clo, chi = self.customer_bounds[i], self.customer_bounds[i + 1]
        return self.loan_ids.slice(lo, hi - lo), self.customer_ids.slice(clo, chi - clo)


def _problem(table: str, column: str, rule: str, count: int, examples, message: str) -> Problem:
    return Problem(table, column, rule, int(count), tuple(examples), message)


def _repeated(ids: pd.Series) -> tuple[int, list[str]]:
    dup = ids.duplicated(keep=False).to_numpy() & ids.notna().to_numpy()
    shown = [f"loan_id={show_value(v)}" for v in pd.unique(ids[dup])[:N_EXAMPLES]]
    return int(dup.sum()), shown


def _rows(mask: np.ndarray) -> list[str]:
    return [f"row {i}" for i in np.flatnonzero(mask)[:N_EXAMPLES]]


def _missing(readers: Mapping[str, TableReader]) -> list[Problem]:
    """A ``missing_column`` problem for each key column chunking reads that a table lacks."""
    problems = []
    for name, reader in readers.items():
        need = {"loans": ("loan_id", "customer_id"), "customers": ("customer_id",)}
        names = reader.schema().names
        for column in need.get(name, ("loan_id",)):
            if column not in names:
                problems.append(
                    _problem(
                        name,
                        column,
                        "missing_column",
                        1,
                        (),
                        f"{name} has no {column} column: chunks gather each customer's rows by it.",
                    )
                )
    return problems


def _mismatch(name: str, column: str, here: pa.DataType, there: pa.DataType) -> Problem | None:
    a, b = id_kind(here), id_kind(there)
    if a == b or "blank" in (a, b):
        return None
    return _problem(
        name,
        column,
        "id_type_mismatch",
        1,
        (),
        f"{column} is {a} here but {b} in loans; use one type for ids.",
    )


def _check(readers: Mapping[str, TableReader], keys: pa.Table) -> pa.Array | None:
    """Every rule chunking needs, checked; the customers' ids (None: no customers table)."""
    problems: list[Problem] = []
    loan_id = plain(keys.column("loan_id"))
    ids = loan_id.to_pandas()
    if loan_id.null_count:
        problems.append(
            _problem(
                "loans",
                "loan_id",
                "not_null",
                loan_id.null_count,
                _rows(ids.isna().to_numpy()),
                "loan_id is blank: a loan without an id cannot be placed in a chunk.",
            )
        )
    n, shown = _repeated(ids)
    if n:
        problems.append(
            _problem(
                "loans",
                "loan_id",
                "unique",
                n,
                shown,
                "loan_id repeats: each loan's rows must go to one chunk.",
            )
        )
    customers = None
    if "customers" in readers:
        reader = readers["customers"]
        found = _mismatch(
            "customers",
            "customer_id",
            reader.schema().field("customer_id").type,
            keys.schema.field("customer_id").type,
        )
        if found is not None:
            problems.append(found)
        else:
            customers = plain(reader.keys(["customer_id"]).column(0))
            if customers.null_count:
                problems.append(
                    _problem(
                        "customers",
                        "customer_id",
                        "not_null",
                        customers.null_count,
                        _rows(customers.is_null().to_numpy(zero_copy_only=False)),
                        "customer_id is blank: the row belongs to no customer's chunk.",
                    )
                )
    for name, reader in readers.items():
        if name in ("loans", "customers"):
            continue
        found = _mismatch(name, "loan_id", reader.schema().field("loan_id").type, loan_id.type)
        if found is not None:
            problems.append(found)
            continue
        pool = loan_id if id_kind(loan_id.type) != "blank" else pa.array([], pa.string())
        blank, orphan, examples = reader.unmatched("loan_id", pool, readers["loans"])
        if blank:
            problems.append(
                _problem(
                    name,
                    "loan_id",
                    "not_null",
                    blank,
                    (),
                    "loan_id is blank: the row belongs to no loan's chunk.",
                )
            )
        if orphan:
            problems.append(
                _problem(
                    name,
                    "loan_id",
                    "orphan",
                    orphan,
                    examples,
                    "loan_id is not in loans: the row belongs to no loan's chunk.",
                )
            )
    if problems:
        raise DataValidationError(problems)
    return customers


def _first_of_each(codes: np.ndarray, n: int) -> np.ndarray:
    """The first position of each code ``0..n-1`` in ``codes``."""
    first = np.full(n, len(codes), np.int64)
    np.minimum.at(first, codes, np.arange(len(codes)))
    return first


def _units(node: np.ndarray, n_nodes: int, loan_ids: pd.Series, moved_from: pa.Array | None):
    """Each customer's unit: itself, or the group tied by restructurings, numbered in
    the order of their first customer."""
    if moved_from is None or moved_from.null_count == len(moved_from):
        return np.arange(n_nodes)
    source = pd.Index(loan_ids).get_indexer(moved_from.to_pandas())
    rows = np.flatnonzero(source >= 0)
    if not rows.size:
        return np.arange(n_nodes)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix(
        (np.ones(rows.size), (node[rows], node[source[rows]])), shape=(n_nodes, n_nodes)
    )
    n_groups, group = connected_components(graph, directed=False)
    rank = np.argsort(np.argsort(_first_of_each(group, n_groups), kind="stable"), kind="stable")
    return rank[group]


def _sorted_by(chunk: np.ndarray, values: pa.Array, n_chunks: int) -> tuple[pa.Array, np.ndarray]:
    order = np.argsort(chunk, kind="stable")
    bounds = np.searchsorted(chunk[order], np.arange(n_chunks + 1))
    return values.take(pa.array(order, pa.int64())), bounds


def plan_chunks(readers: Mapping[str, TableReader], customers_per_chunk: int) -> ChunkPlan:
    """Read the keys, check them, and cut the customers into chunks (see the module)."""
    problems = _missing(readers)
    if problems:
        raise DataValidationError(problems)
    loans = readers["loans"]
    columns = ["loan_id", "customer_id"]
    if "restructured_from" in loans.schema().names:
        columns.append("restructured_from")
    keys = loans.keys(columns)
    customers = _check(readers, keys)

    loan_id = plain(keys.column("loan_id"))
    owner = plain(keys.column("customer_id"))
    has_owner = owner.is_valid().to_numpy(zero_copy_only=False)
    pool = owner.filter(pa.array(has_owner))
    if customers is not None and len(customers):
        if id_kind(pool.type) == "blank":
            pool = pa.array([], customers.type)
        pool = pa.concat_arrays([pool, customers.cast(pool.type)])
    codes, uniques = pd.factorize(pool.to_pandas(), sort=True)
    n_customers = len(uniques)
    customer_ids = pool.take(pa.array(_first_of_each(codes, n_customers)))

    ids = loan_id.to_pandas()
    node = np.empty(len(loan_id), np.int64)
    node[has_owner] = codes[: int(has_owner.sum())]
    alone = np.flatnonzero(~has_owner)
    if alone.size:  # a loan without a customer is one, after the others, by loan_id
        node[alone] = n_customers + pd.factorize(ids.iloc[alone], sort=True)[0]
    n_nodes = n_customers + alone.size
    moved = plain(keys.column("restructured_from")) if len(columns) == 3 else None
    unit = _units(node, n_nodes, ids, moved)

    sizes = np.bincount(unit, minlength=int(unit.max(initial=-1)) + 1)
    start = np.cumsum(sizes) - sizes
    _, chunk_of_unit = np.unique(start // customers_per_chunk, return_inverse=True)
    chunk_of_node = chunk_of_unit.reshape(-1)[unit]
    n_chunks = int(chunk_of_node.max(initial=-1)) + 1
    loans_sorted, loan_bounds = _sorted_by(chunk_of_node[node], loan_id, n_chunks)
    customers_sorted, customer_bounds = _sorted_by(
        chunk_of_node[:n_customers], customer_ids, n_chunks
    )
    return ChunkPlan(loans_sorted, loan_bounds, customers_sorted, customer_bounds)
