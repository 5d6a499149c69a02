"""``previous_application.csv``: the Home Credit loans' own attributes, one row per SK_ID_PREV."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._calendar import day_numbers, whole
from ._files import FILES, Reader, read_whole
from ._log import Log

__all__ = ["COLUMNS", "PRODUCTS", "first_by_content", "read_previous"]

#: NAME_CONTRACT_TYPE -> the loan's ``product`` label.
PRODUCTS = {"Cash loans": "cash", "Consumer loans": "pos", "Revolving loans": "card"}
COLUMNS = (
    "SK_ID_PREV",
    "SK_ID_CURR",
    "NAME_CONTRACT_TYPE",
    "NAME_CONTRACT_STATUS",
    "FLAG_LAST_APPL_PER_CONTRACT",
    "AMT_CREDIT",
    "AMT_ANNUITY",
    "CNT_PAYMENT",
    "CHANNEL_TYPE",
    "DAYS_DECISION",
    "DAYS_FIRST_DRAWING",
    "DAYS_TERMINATION",
)


def first_by_content(df: pd.DataFrame, key: str) -> np.ndarray:
    """Which rows repeat an earlier row's ``key``, the row kept being the one whose
    content sorts first: the choice does not depend on the order of the rows."""
    ids = df[key].to_numpy()
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    later = np.zeros(len(df), bool)
    if not dup.any():
        return later
    content = np.zeros(len(df), np.uint64)
    content[dup] = pd.util.hash_pandas_object(df.loc[dup], index=False).to_numpy()
    order = np.lexsort((content, ids))
    later[order[1:]] = ids[order][1:] == ids[order][:-1]
    return later


def read_previous(reader: Reader, reference_day: int, log: Log) -> pd.DataFrame:
    """One row per SK_ID_PREV (the index): ``customer``, ``contract_type``, ``approved``
    (and its contract's last application), ``credit``, ``annuity``, ``term_months``,
    ``product``, ``channel``, ``start_day`` (first drawing, else decision) and
    ``closed_day`` (termination, when before the application), days since 1970."""
    name = "previous_application"
    file = FILES[name].file_name
    raw = read_whole(reader, name, COLUMNS)
    if raw.empty:
        return _empty()
    blank = raw["SK_ID_PREV"].isna().to_numpy() | raw["SK_ID_CURR"].isna().to_numpy()
    log.add(file, "row", "blank_id", blank)
    raw = raw.loc[~blank].reset_index(drop=True)
    raw["SK_ID_PREV"] = raw["SK_ID_PREV"].astype(np.int64)
    later = first_by_content(raw, "SK_ID_PREV")
    log.add(file, "row", "duplicate_id", later)
    raw = raw.loc[~later]
    drawing = day_numbers(raw["DAYS_FIRST_DRAWING"].to_numpy(), reference_day)
    decision = day_numbers(raw["DAYS_DECISION"].to_numpy(), reference_day)
    closed = day_numbers(raw["DAYS_TERMINATION"].to_numpy(), reference_day)
    term = raw["CNT_PAYMENT"].to_numpy(np.float64)
    kind = raw["NAME_CONTRACT_TYPE"].to_numpy(object)
    channel = raw["CHANNEL_TYPE"].to_numpy(object)
    out = pd.DataFrame(
        {
            "customer": raw["SK_ID_CURR"].to_numpy(np.int64),
            "contract_type": kind,
            # Approved, and the contract's last application (an earlier one for the same
            # contract is a clerk's or a client's mistake, says Kaggle's description).
            "approved": (raw["NAME_CONTRACT_STATUS"].to_numpy(object) == "Approved")
            & (raw["FLAG_LAST_APPL_PER_CONTRACT"].to_numpy(object) != "N"),
            "credit": raw["AMT_CREDIT"].to_numpy(np.float64),
            "annuity": raw["AMT_ANNUITY"].to_numpy(np.float64),
            "term_months": np.where(whole(term, 1, 2**31 - 1), term, np.nan),
            "product": pd.Series(kind).map(PRODUCTS).to_numpy(object),
            "channel": np.where(channel == "XNA", None, channel),
            "start_day": np.where(np.isfinite(drawing), drawing, decision),
            "closed_day": np.where(closed <= reference_day, closed, np.nan),
        },
        index=pd.Index(raw["SK_ID_PREV"].to_numpy(), name="SK_ID_PREV"),
    )
    return out.sort_index()


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer": pd.Series([], dtype=np.int64),
            "contract_type": pd.Series([], dtype=object),
            "approved": pd.Series([], dtype=bool),
            **{c: pd.Series([], dtype=np.float64) for c in ("credit", "annuity", "term_months")},
            "product": pd.Series([], dtype=object),
            "channel": pd.Series([], dtype=object),
            "start_day": pd.Series([], dtype=np.float64),
            "closed_day": pd.Series([], dtype=np.float64),
        },
        index=pd.Index([], dtype=np.int64, name="SK_ID_PREV"),
    )
