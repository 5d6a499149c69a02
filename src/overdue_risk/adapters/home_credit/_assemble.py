"""From the files read to the contract tables: which loans enter, their attributes, ids."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from ..._dates import to_datetime
from ...contract import MAX_AMOUNT
from ._balances import STATEMENT_COLUMNS, Balances, Columns
from ._bureau import Bureau
from ._files import FILES
from ._frames import concat
from ._instalments import Instalments
from ._log import Log
from ._previous import PRODUCTS

__all__ = ["BUREAU_PREFIX", "PREV_PREFIX", "Assembled", "assemble"]

#: Loan ids: ``prev-<SK_ID_PREV>`` for Home Credit's own loans, ``bureau-<SK_ID_BUREAU>``
#: for the bureau's credits, so that the two numberings never collide.
PREV_PREFIX, BUREAU_PREFIX = "prev-", "bureau-"
_PREV_FILE = FILES["previous_application"].file_name
_BUREAU_FILE = FILES["bureau"].file_name


@dataclass
class Assembled:
    """The contract tables (loan ids still as SK_ID numbers) and the money counted."""

    loans: pd.DataFrame
    installments: pd.DataFrame
    payments: pd.DataFrame
    statements: pd.DataFrame
    money: pd.DataFrame


def _min(*series: pd.Series) -> pd.Series:
    parts = [s for s in series if len(s)]
    if not parts:
        return pd.Series([], dtype=np.float64)
    return concat(parts).groupby(level=0).min().astype(np.float64)


def _start(own: pd.Series, first: pd.Series, file: str, log: Log) -> pd.Series:
    """The loan's own start, moved to its first record when one is earlier."""
    first = first.reindex(own.index)
    earlier = (first < own).to_numpy()
    log.add(file, "start_date", "start_before_application", earlier, action="adjusted")
    return own.where(~(first < own) & own.notna(), first)


def _closed(closed: pd.Series, start: pd.Series, file: str, log: Log) -> pd.Series:
    before = (closed < start).to_numpy()
    log.add(file, "closed_date", "closed_before_start", before, action="blanked")
    return closed.where(~before)


def _decide(frame: pd.DataFrame, log: Log, file: str, own_rows: pd.Series) -> dict:
    """Which loans cannot enter, by reason (SK_ID numbers); ``own_rows`` says which
    loans have a row in ``file`` (logged as that file's dropped rows)."""
    reasons = {}
    taken = np.zeros(len(frame), bool)
    # A loan without an amount cannot enter whatever its dates, so that reason comes
    # first: a POS loan whose application is missing has dated months but no balance
    # (no annuity), and no start date from them either.
    for reason, bad in (
        ("no_customer", frame["customer"].isna()),
        ("no_principal", frame["principal"].isna()),
        ("no_start_date", frame["start_day"].isna()),
    ):
        mask = bad.to_numpy() & ~taken
        taken |= mask
        reasons[reason] = frame.index.to_numpy()[mask]
        log.add(file, "row", reason, mask & own_rows.to_numpy())
    return reasons


def _home_credit(
    prev: pd.DataFrame, inst: Instalments | None, bal: Balances, log: Log
) -> tuple[pd.DataFrame, dict]:
    """The Home Credit loans (by SK_ID_PREV) and, by reason, those that cannot enter."""
    records = [inst.loans if inst else np.empty(0, np.int64), bal.loan_ids]
    recorded = np.unique(np.concatenate(records)).astype(np.int64)
    has_records = prev.index.isin(recorded)
    log.add(_PREV_FILE, "row", "not_a_credit", ~prev["approved"].to_numpy() & ~has_records)
    ids = np.union1d(prev.index[prev["approved"].to_numpy() | has_records], recorded)
    frame = prev.reindex(ids)
    kind = frame["contract_type"]
    typed = kind.isin(PRODUCTS).to_numpy()
    zero = inst.version_zero_only() if inst else np.empty(0, np.int64)
    revolving = (
        (kind == "Revolving loans").to_numpy()
        | np.isin(ids, bal.cards)
        | (~typed & np.isin(ids, zero))
    )
    frame["revolving"] = revolving
    if inst:
        inst.build(ids[revolving])
    bal.build(prev["annuity"])
    customers = [prev["customer"], bal.customers]
    if inst:
        customers.insert(1, inst.customers)
    customer = concat(customers)
    frame["customer"] = customer[~customer.index.duplicated()].reindex(ids)
    first = _min(inst.first_days() if inst else pd.Series([], dtype=float), bal.first_days())
    own = frame["start_day"].where(frame.index.isin(prev.index))
    frame["start_day"] = _start(own, first, _PREV_FILE, log)
    frame["closed_day"] = _closed(frame["closed_day"], frame["start_day"], _PREV_FILE, log)
    credit = frame["credit"].where((frame["credit"] > 0) & (frame["credit"] <= MAX_AMOUNT))
    fallback = pd.Series(np.nan, index=ids)
    if inst:
        fallback = inst.scheduled().reindex(ids)
    fallback = fallback.where(~revolving, bal.card_limits().reindex(ids))
    frame["principal"] = credit.fillna(fallback.where((fallback > 0) & (fallback <= MAX_AMOUNT)))
    frame.loc[revolving & frame["product"].isna().to_numpy(), "product"] = "card"
    frame["credit_source"] = "home_credit"
    dropped = _decide(frame, log, _PREV_FILE, pd.Series(frame.index.isin(prev.index)))
    return frame, dropped


def _bureau(bureau: Bureau, log: Log) -> tuple[pd.DataFrame, dict]:
    frame = bureau.loans.copy()
    first = _min(bureau.first_days())
    frame["start_day"] = _start(frame["start_day"], first, _BUREAU_FILE, log)
    closed = frame["closed_day"].fillna(bureau.first_closed_days().reindex(frame.index))
    frame["closed_day"] = _closed(closed, frame["start_day"], _BUREAU_FILE, log)
    frame["credit_source"] = "bureau"
    frame["channel"] = None
    frame["term_months"] = np.nan
    frame["customer"] = frame["customer"].astype(np.float64)
    dropped = _decide(frame, log, _BUREAU_FILE, pd.Series(np.ones(len(frame), bool)))
    return frame, dropped


def _kept(frame: pd.DataFrame, dropped: dict) -> np.ndarray:
    out = np.concatenate([np.empty(0, np.int64), *dropped.values()])
    return frame.index.to_numpy()[~np.isin(frame.index.to_numpy(), out)]


def assemble(
    prev: pd.DataFrame, inst: Instalments | None, bal: Balances, bureau: Bureau, log: Log
) -> Assembled:
    """Decide the loans, then take each file's rows of the loans that enter."""
    hc, hc_dropped = _home_credit(prev, inst, bal, log)
    cb, cb_dropped = _bureau(bureau, log)
    hc_kept, cb_kept = _kept(hc, hc_dropped), _kept(cb, cb_dropped)
    schedule: Columns = {"prev": np.empty(0, np.int64)}
    paid: Columns = {
        "prev": np.empty(0, np.int64),
        "day": np.empty(0, np.int64),
        "installment_no": np.empty(0),
        "amount": np.empty(0),
    }
    paid_by_rows = np.empty(0, np.int64)
    if inst:
        frames = inst.finish(hc_kept, hc_dropped, log)
        schedule, paid = ({c: df[c].to_numpy() for c in df.columns} for df in frames)
        paid_by_rows = inst.loans
    # A card's payments come from installments_payments when it has rows there, else from
    # its monthly AMT_PAYMENT_TOTAL_CURRENT: never both, so no money counts twice.
    from_cards = np.setdiff1d(bal.cards, paid_by_rows)
    statements, card_paid = bal.finish(hc_kept, hc_dropped, from_cards)
    cb_statements = bureau.finish(cb_kept, cb_dropped)
    money = pd.DataFrame(
        {
            "file": [
                FILES["installments_payments"].file_name,
                FILES["credit_card_balance"].file_name,
            ],
            "column": ["AMT_PAYMENT", "AMT_PAYMENT_TOTAL_CURRENT"],
            "read": [inst.amount_read if inst else 0.0, bal.payment_total],
            "written": [float(paid["amount"].sum()), float(card_paid["amount"].sum())],
        }
    )
    both = {k: np.concatenate([paid[k], card_paid[k]]) for k in card_paid}
    day = {"due_day": "due_date", "day": "payment_date"}
    return Assembled(
        loans=_loans([(hc.loc[hc_kept], PREV_PREFIX), (cb.loc[cb_kept], BUREAU_PREFIX)]),
        installments=_table(
            [(schedule, "prev", PREV_PREFIX)],
            ["installment_no", "due_day", "amount_due"],
            day,
            by=["installment_no"],
        ),
        payments=_table(
            [(both, "prev", PREV_PREFIX)],
            ["day", "amount", "installment_no"],
            day,
            by=["day", "installment_no"],
        ),
        statements=_table(
            [(statements, "prev", PREV_PREFIX), (cb_statements, "bureau", BUREAU_PREFIX)],
            ["day", *STATEMENT_COLUMNS],
            {"day": "statement_date"},
            by=["day"],
        ),
        money=money,
    )


def _id_text(parts: list[tuple[str, np.ndarray]]):
    """``prefix<id>`` for the ids of each (prefix, ids) part, one after the other: one
    string built per run of equal ids (the tables are sorted by loan: one per loan).
    Under pandas 3, whose text is Arrow-backed, Arrow gathers the column: many times
    faster than converting a Python string per row."""
    names, codes, offset = [], [], 0
    for prefix, ids in parts:
        head = np.ones(ids.size, bool)
        head[1:] = ids[1:] != ids[:-1]
        names += [f"{prefix}{i}" for i in ids[head].tolist()]
        codes.append(np.cumsum(head) - 1 + offset)
        offset = len(names)
    code = np.concatenate(codes) if codes else np.empty(0, np.int64)
    text = np.array(names, dtype=object)
    dtype = pd.Series(["text"]).dtype  # what pandas makes of text: object, or Arrow-backed
    if code.size and not pd.api.types.is_object_dtype(dtype):
        gathered = pa.DictionaryArray.from_arrays(
            pa.array(code, pa.int64()), pa.array(text, pa.large_string())
        )
        return pd.array(gathered.cast(pa.large_string()), dtype=dtype)
    return text[code]


def _order(columns: list[np.ndarray]) -> np.ndarray | None:
    """The order that sorts the rows by ``columns`` (major first; NaN last), or None
    when they are sorted already (as the files' rows usually are)."""
    n = columns[0].size
    tied = np.ones(max(n - 1, 0), bool)
    for values in columns:
        a, b = values[:-1], values[1:]
        if (tied & ~(a <= b) & ~(np.isnan(a) & np.isnan(b))).any():
            return _sort(columns)
        tied &= (a == b) | (np.isnan(a) & np.isnan(b))
    return None


def _sort(columns: list[np.ndarray]) -> np.ndarray:
    """Sort whole-number columns (ids, days, instalment numbers; NaN last) through one
    packed int64 key when their ranges fit in 63 bits: one argsort instead of a lexsort."""
    packed, bits = np.zeros(columns[0].size, np.int64), 0
    for values in columns:
        known = np.isfinite(values)
        low = values[known].min() if known.any() else 0.0
        high = values[known].max() if known.any() else 0.0
        width = int(high - low + 1).bit_length()  # NaN sorts last: one more than high
        bits += width
        if bits > 63 or not np.array_equal(values[known], np.round(values[known])):
            return np.lexsort(columns[::-1])
        part = np.where(known, values - low, high - low + 1).astype(np.int64)
        packed = (packed << width) | part
    return np.argsort(packed, kind="stable")


def _dates(days: np.ndarray) -> np.ndarray:
    values = np.asarray(days, dtype=np.float64)
    known = np.isfinite(values)
    out = to_datetime(np.where(known, values, 0).astype(np.int64))
    out[~known] = np.datetime64("NaT")
    return out


def _loans(parts: list[tuple[pd.DataFrame, str]]) -> pd.DataFrame:
    """The loans table: the Home Credit loans, then the bureau's credits."""

    def column(name: str, dtype=None) -> np.ndarray:
        return np.concatenate([frame[name].to_numpy(dtype) for frame, _ in parts])

    revolving = column("revolving", bool)
    return pd.DataFrame(
        {
            "loan_id": _id_text([(p, f.index.to_numpy(np.int64)) for f, p in parts]),
            "customer_id": column("customer", np.float64).astype(np.int64),
            "product_type": np.where(revolving, "revolving", "instalment"),
            "start_date": _dates(column("start_day", np.float64)),
            "principal": column("principal", np.float64),
            "term_months": column("term_months", np.float64),
            "product": column("product", object),
            "channel": column("channel", object),
            "closed_date": _dates(column("closed_day", np.float64)),
            "credit_source": column("credit_source", object),
            "annuity": column("annuity", np.float64),
        },
        copy=False,  # fresh arrays: pandas would copy them into one block
    )


def _table(
    parts: list[tuple[Columns, str, str]],
    columns: list[str],
    dates: dict[str, str],
    by: list[str],
) -> pd.DataFrame:
    """One contract table from (columns, SK_ID column, prefix) parts: each part sorted by
    its id and ``by``, ids as text loan ids, day columns as dates (renamed by ``dates``);
    a column a part lacks is blank there."""
    ids, values = [], {c: [] for c in columns}
    for cols, key, prefix in parts:
        n = len(cols[key])
        order = _order([np.asarray(cols[c], np.float64) for c in [key, *by]]) if n else None
        rows = slice(None) if order is None else order
        ids.append((prefix, np.asarray(cols[key], np.int64)[rows]))
        for c in columns:
            values[c].append(np.asarray(cols[c])[rows] if c in cols else np.full(n, np.nan))
    out = {"loan_id": _id_text(ids)}
    for c in columns:
        joined = np.concatenate(values[c])
        out[dates.get(c, c)] = _dates(joined) if c in dates else joined
    return pd.DataFrame(out, copy=False)  # fresh arrays: no copy into one block
