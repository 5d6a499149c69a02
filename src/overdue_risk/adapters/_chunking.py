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
* With ``drop_unplaced=True`` (a run that quarantines, chunk by chunk, what
  breaks the contract) the rows no chunk can hold (the ``not_null`` and
  ``orphan`` ones above) are left out of every chunk and listed in
  :attr:`ChunkPlan.dropped` instead; a repeated ``loan_id`` is placed once, in
  the chunk of its first row's customer, and every row with that id (in every
  table) is read into that chunk, where its validation sees the repetition. A
  row left out does not count for the plan (its customer is one only if
  another row names it). Whole-table problems (``missing_column``,
  ``id_type_mismatch``) still raise.

:func:`loan_id_type` checks what reading by ``loan_id`` needs of every table
but ``customers``, and :func:`as_loan_ids` turns the ids a caller gives into
an array of the loans' id type (:meth:`Source.read_loans`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..contract import show_value
from ..exceptions import DataValidationError, Problem
from ._drivers import SourceError
from ._tables import N_EXAMPLES, TableReader, id_kind, plain

__all__ = ["ChunkPlan", "as_loan_ids", "loan_id_type", "plan_chunks"]

# The rules of rows that no chunk can hold, left out on request; the other problems
# chunking finds concern a whole table (a repeated loan_id is placed once instead).
UNPLACED_RULES = ("not_null", "orphan")


@dataclass(frozen=True, repr=False)
class ChunkPlan:
    """Which loans and customers each chunk holds, in chunk order; made by
    :meth:`Source.plan <overdue_risk.adapters.Source.plan>`.

    A plan holds ids only (no rows), so it is small, and it pickles: it may be
    made in one process and read in another, by :meth:`Source.read_chunks` of
    the source that made it.

    Attributes
    ----------
    loan_ids, customer_ids : pyarrow.Array
        Every loan's id once, and every customer's, grouped by chunk:
        ``loan_ids[loan_bounds[i]:loan_bounds[i + 1]]`` are chunk ``i``'s loans,
        and likewise for customers.
    loan_bounds, customer_bounds : numpy.ndarray
        ``len(plan) + 1`` increasing positions into the ids.
    dropped : tuple of Problem
        The rows left out of every chunk (``drop_unplaced=True``), as the
        problems the strict plan would have raised for them; empty otherwise.

    Examples
    --------
    >>> import pickle
    >>> from overdue_risk.adapters import open_source
    >>> plan = open_source("data/sample").plan(customers_per_chunk=1000)
    >>> plan
    ChunkPlan(4 chunks, 5086 loans, 3830 customers, 0 rows dropped)
    >>> plan.chunk(0)[0][:2].to_pylist()
    ['L0000001', 'L0000002']
    >>> pickle.loads(pickle.dumps(plan)).n_loans
    5086
    """

    loan_ids: pa.Array
    loan_bounds: np.ndarray
    customer_ids: pa.Array
    customer_bounds: np.ndarray
    dropped: tuple[Problem, ...] = ()

    def __len__(self) -> int:
        return len(self.loan_bounds) - 1

    @property
    def n_loans(self) -> int:
        """Loans placed, each once."""
        return len(self.loan_ids)

    @property
    def n_customers(self) -> int:
        """Customers placed, each once."""
        return len(self.customer_ids)

    def chunk(self, i: int) -> tuple[pa.Array, pa.Array]:
        """(loan ids, customer ids) of chunk ``i``."""
        lo, hi = self.loan_bounds[i], self.loan_bounds[i + 1]
        clo, chi = self.customer_bounds[i], self.customer_bounds[i + 1]
        return self.loan_ids.slice(lo, hi - lo), self.customer_ids.slice(clo, chi - clo)

    def part(self, i: int) -> ChunkPlan:
        """The plan of chunk ``i`` alone, its ids copied (a small pickle): a worker
        process reads that chunk with ``source.read_chunks(plan.part(i))``.

        Examples
        --------
        >>> from overdue_risk.adapters import open_source
        >>> source = open_source("data/sample")
        >>> plan = source.plan(customers_per_chunk=1000)
        >>> (only,) = source.read_chunks(plan.part(2))
        >>> only.loans["loan_id"].tolist() == plan.chunk(2)[0].to_pylist()
        True
        """
        if not 0 <= i < len(self):
            raise SourceError(f"The plan has chunks 0 to {len(self) - 1}; got {i!r}.")
        loans, customers = (
            pc.take(ids, pa.array(np.arange(b[i], b[i + 1], dtype=np.int64)))
            for ids, b in (
                (self.loan_ids, self.loan_bounds),
                (self.customer_ids, self.customer_bounds),
            )
        )
        return ChunkPlan(
            loans,
            np.array([0, len(loans)], dtype=self.loan_bounds.dtype),
            customers,
            np.array([0, len(customers)], dtype=self.customer_bounds.dtype),
        )

    def __repr__(self) -> str:
        rows = sum(p.count for p in self.dropped)
        return (
            f"ChunkPlan({len(self)} chunks, {self.n_loans} loans, {self.n_customers} customers, "
            f"{rows} rows dropped)"
        )


def _problem(table: str, column: str, rule: str, count: int, examples, message: str) -> Problem:
    return Problem(table, column, rule, int(count), tuple(examples), message)


def _repeated(ids: pd.Series) -> tuple[int, list[str]]:
    dup = ids.duplicated(keep=False).to_numpy() & ids.notna().to_numpy()
    shown = [f"loan_id={show_value(v)}" for v in pd.unique(ids[dup])[:N_EXAMPLES]]
    return int(dup.sum()), shown


def _rows(mask: np.ndarray) -> list[str]:
    return [f"row {i}" for i in np.flatnonzero(mask)[:N_EXAMPLES]]


# The key columns chunking reads: loans' two, customers' id, every other table's loan_id.
_CHUNK_KEYS = {"loans": ("loan_id", "customer_id"), "customers": ("customer_id",)}


def _missing(
    readers: Mapping[str, TableReader], need: Mapping[str, tuple[str, ...]], why: str
) -> list[Problem]:
    """A ``missing_column`` problem for each key column (``need``, by table; ``loan_id``
    for a table not named) that a table lacks."""
    problems = []
    for name, reader in readers.items():
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
                        f"{name} has no {column} column: {why}",
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


def _check(
    readers: Mapping[str, TableReader], keys: pa.Table
) -> tuple[pa.Array | None, list[Problem]]:
    """Every rule chunking needs, checked: the customers' ids (None: no customers table,
    or ids of another type) and the problems found, in the order they are raised."""
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
    return customers, problems


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


def _placeable(keys: pa.Table) -> pa.Table:
    """The loans' key rows with a ``loan_id``, the first of each ``loan_id`` only."""
    ids = plain(keys.column("loan_id"))
    first = ~ids.to_pandas().duplicated(keep="first").to_numpy()
    keep = ids.is_valid().to_numpy(zero_copy_only=False) & first
    return keys if keep.all() else keys.filter(pa.array(keep))


def plan_chunks(
    readers: Mapping[str, TableReader], customers_per_chunk: int, *, drop_unplaced: bool = False
) -> ChunkPlan:
    """Read the keys, check them, and cut the customers into chunks (see the module)."""
    problems = _missing(readers, _CHUNK_KEYS, "chunks gather each customer's rows by it.")
    if problems:
        raise DataValidationError(problems)
    loans = readers["loans"]
    columns = ["loan_id", "customer_id"]
    if "restructured_from" in loans.schema().names:
        columns.append("restructured_from")
    keys = loans.keys(columns)
    customers, problems = _check(readers, keys)
    dropped: tuple[Problem, ...] = ()
    if drop_unplaced:
        whole = [p for p in problems if p.rule not in (*UNPLACED_RULES, "unique")]
        if whole:
            raise DataValidationError(whole)
        dropped = tuple(p for p in problems if p.rule in UNPLACED_RULES)
        keys = _placeable(keys)
        if customers is not None and customers.null_count:
            customers = customers.drop_null()
    elif problems:
        raise DataValidationError(problems)

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
    return ChunkPlan(loans_sorted, loan_bounds, customers_sorted, customer_bounds, dropped)


def loan_id_type(readers: Mapping[str, TableReader]) -> pa.DataType:
    """The loans' id type, once every table but ``customers`` is checked to have a
    ``loan_id`` of the same kind (a :class:`DataValidationError` naming each that has not)."""
    tables = {n: r for n, r in readers.items() if n != "customers"}
    problems = _missing(tables, {}, "a loan's rows are found by it.")
    if problems:
        raise DataValidationError(problems)
    target = readers["loans"].schema().field("loan_id").type
    for name, reader in tables.items():
        found = _mismatch(name, "loan_id", reader.schema().field("loan_id").type, target)
        if found is not None:
            problems.append(found)
    if problems:
        raise DataValidationError(problems)
    return target.value_type if pa.types.is_dictionary(target) else target


def as_loan_ids(values: Any, target: pa.DataType) -> pa.Array:
    """``values`` (a pyarrow array, a list, a numpy array or a pandas Series of loan ids) as
    distinct ids of ``target``, the loans' id type; blanks left out.

    Examples
    --------
    >>> import pyarrow as pa
    >>> as_loan_ids(["L2", "L1", "L2", None], pa.string()).to_pylist()
    ['L2', 'L1']
    >>> as_loan_ids([7, 12], pa.string())
    Traceback (most recent call last):
    ...
    overdue_risk.adapters._drivers.SourceError: loan_ids must be ids of the loans' type \
(text); got integer ids.
    """
    if isinstance(values, str | bytes) or not isinstance(
        values, pa.Array | pa.ChunkedArray | list | tuple | np.ndarray | pd.Series | pd.Index
    ):
        raise SourceError(
            "loan_ids must be a pyarrow array, a list or a numpy array of loan ids; "
            f"got {type(values).__name__}."
        )
    try:
        ids = plain(values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values))
    except (pa.ArrowException, ValueError, TypeError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SourceError(f"loan_ids must be ids of one type; {reason}") from None
    given, kind = id_kind(ids.type), id_kind(target)
    if kind == "blank" or not len(ids):  # no id asked for, or loans without a single id
        return pa.array([], target)
    if given not in (kind, "blank"):
        raise SourceError(f"loan_ids must be ids of the loans' type ({kind}); got {given} ids.")
    if given == "integer":  # an integer beyond the loans' id width names no loan
        info = np.iinfo(target.to_pandas_dtype())
        inside = pc.and_(pc.greater_equal(ids, info.min), pc.less_equal(ids, info.max))
        ids = ids.filter(pc.fill_null(inside, True))
    ids = ids.cast(target)
    return ids.drop_null().unique()
