"""The collections log as arrays, read alike by the account state and the logged decisions.

:func:`~overdue_risk.prioritise._rules.account_state` (one morning, every
overdue account) and :func:`~overdue_risk.prioritise._decisions.logged_decisions`
(every morning of a window, the randomised cell) aggregate the log in different
ways, but read its rows, and the facts the contact rules rest on, from here: the
state a value model learns from is then the state it scores.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._dates import NAT, to_days
from ..contract import LOGGED_ACTIONS, OUTCOMES
from ..ledger import Ledger

__all__ = ["actions_in", "among", "category_codes", "latest_offer", "log_columns", "outcomes_in"]


def category_codes(values: pd.Series, categories: tuple[str, ...]) -> np.ndarray:
    """Positions in ``categories`` (-1: missing), from category or text values."""
    return pd.Categorical(values, categories=list(categories)).codes.astype(np.int8)


def among(codes: np.ndarray, wanted, n_codes: int) -> np.ndarray:
    """``np.isin(codes, wanted)`` for small codes (-1: missing) by a table look-up."""
    table = np.zeros(n_codes + 1, bool)  # the last slot answers code -1
    table[list(wanted)] = True
    return table[codes]


def actions_in(codes: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Whether each action code is one of the logged actions ``names``."""
    return among(codes, [LOGGED_ACTIONS.index(a) for a in names], len(LOGGED_ACTIONS))


def outcomes_in(codes: np.ndarray, wanted: tuple[int, ...]) -> np.ndarray:
    """Whether each outcome code (-1: none) is one of the outcome codes ``wanted``."""
    return among(codes, wanted, len(OUTCOMES))


def log_columns(log: pd.DataFrame, ledger: Ledger) -> dict[str, np.ndarray]:
    """Every log row's loan ``code`` (-1: unknown), ``day``, ``action`` and ``outcome``
    codes (-1: missing) and promise day ``pdate`` (:data:`~overdue_risk._dates.NAT`: none)."""
    m = len(log)
    return {
        "code": ledger.codes(log["loan_id"]),
        "day": to_days(log["action_date"].to_numpy()),
        "action": category_codes(log["action"], LOGGED_ACTIONS),
        "outcome": (
            category_codes(log["outcome"], OUTCOMES)
            if "outcome" in log
            else np.full(m, -1, np.int8)
        ),
        "pdate": to_days(log["promise_date"].to_numpy())
        if "promise_date" in log
        else np.full(m, NAT),
    }


def latest_offer(logged: np.ndarray, loans: pd.DataFrame, code: np.ndarray) -> np.ndarray:
    """The day of each row's latest restructuring offer (NAT: none).

    ``logged`` is the latest logged ``restructure`` action of the row's loan
    (``code``: its position in ``loans``). A loan that replaces a restructured
    one (``restructured_from``) was restructured on its start date.
    """
    if "restructured_from" not in loans:
        return logged
    replaces = loans["restructured_from"].notna().to_numpy()[code]
    began = to_days(loans["start_date"].to_numpy())[code]
    return np.maximum(logged, np.where(replaces, began, NAT))
