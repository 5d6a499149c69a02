"""The ledger's result: one row per (loan, as-of date), and its summary and plot."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._config import LedgerConfig

__all__ = ["COLUMNS", "COPIED", "RAW", "LedgerSnapshot"]

# The result's columns, in order, with the dtypes of their values or codes.
COLUMNS = {
    "amount_due_to_date": np.float64,
    "amount_paid_to_date": np.float64,
    "overdue_amount": np.float64,
    "paid_ahead": np.float64,
    "dpd": np.int64,
    "bucket": np.int8,
    "outstanding_principal": np.float64,
    "next_due_date": "datetime64[ns]",
    "last_payment_date": "datetime64[ns]",
    "days_since_last_payment": np.float64,
    "n_installments": np.int64,
    "n_installments_due": np.int64,
    "n_installments_paid": np.int64,
    "is_closed": bool,
    "source": np.int8,
}
# The raw state columns of _blocks that are not float64.
RAW = {
    "dpd": np.int64,
    "next_due_date": np.int64,
    "last_payment_date": np.int64,
    "n_installments": np.int64,
    "n_installments_due": np.int64,
    "n_installments_paid": np.int64,
    "source": np.int8,
    "_paid_c": np.int64,
    "_due_c": np.int64,
}
COPIED = (
    "amount_due_to_date",
    "amount_paid_to_date",
    "overdue_amount",
    "paid_ahead",
    "outstanding_principal",
    "n_installments",
    "n_installments_due",
    "n_installments_paid",
    "source",
)


class LedgerSnapshot:
    """The ledger at one or more as-of dates.

    Attributes
    ----------
    frame : DataFrame
        Indexed by (loan_id, as_of); see :meth:`table`.
    config : LedgerConfig
    """

    def __init__(self, frame: pd.DataFrame, config: LedgerConfig):
        self.frame = frame
        self.config = config

    def table(self) -> pd.DataFrame:
        """One row per (loan, as-of date); columns are documented in ``docs/ledger.md``."""
        return self.frame

    def summary(self) -> pd.DataFrame:
        """Loans, share, overdue and outstanding amounts by as-of date and bucket."""
        f = self.frame
        as_of = f.index.get_level_values("as_of")
        g = f.groupby([as_of, f["bucket"]], observed=False, sort=True)
        out = g.agg(
            loans=("dpd", "size"),
            overdue_amount=("overdue_amount", "sum"),
            outstanding_principal=("outstanding_principal", "sum"),
        )
        totals = out.groupby(level=0)["loans"].transform("sum")
        out.insert(1, "share", (out["loans"] / totals.where(totals > 0)).fillna(0.0))
        return out

    def plot(self, ax=None):
        """Share of loans by bucket at each as-of date, as stacked bars."""
        from .._compat import pyplot

        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        shares = self.summary()["share"].unstack("bucket")
        shares.index = [d.strftime("%Y-%m-%d") for d in shares.index]
        shares.plot.bar(stacked=True, ax=ax, width=0.8)
        ax.set_ylabel("share of loans")
        ax.set_xlabel("as of")
        ax.legend(title="bucket", loc="upper left", bbox_to_anchor=(1, 1))
        return ax

    def __repr__(self) -> str:
        n_dates = self.frame.index.get_level_values("as_of").nunique()
        return f"LedgerSnapshot({len(self.frame):,} rows, {n_dates} as-of dates)"
