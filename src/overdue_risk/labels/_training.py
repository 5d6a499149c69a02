"""Training sets: point-in-time features joined with realised labels, and a leakage check."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from .._dates import AsOf, parse_as_of
from ..contract import Portfolio, validate
from ..exceptions import DataQualityWarning, OverdueRiskError
from ..ledger import LedgerConfig
from ._make import labelled
from ._targets import Target

__all__ = ["assert_no_leakage", "build_training_set"]


def build_training_set(
    portfolio: Portfolio,
    as_of_dates: AsOf,
    target: Target | str,
    *,
    families: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    custom: Sequence = (),
    ledger_config: LedgerConfig | None = None,
    observed_until: AsOf | None = None,
) -> pd.DataFrame:
    """Features at many as-of dates with the label of each row, for training a model.

    Each row is a (loan, as-of date) eligible for ``target`` whose horizon is
    fully observed (see :func:`make_labels`); its features use only records
    dated on or before its as-of date (see :func:`build_features`). The as-of
    date stays in the index, for out-of-time splits.

    Parameters
    ----------
    portfolio : Portfolio
        Validated on entry if it is not yet.
    as_of_dates : date-like or iterable of date-likes
        Typically month ends. Dates whose horizon is not yet observed give no
        rows.
    target : DpdTarget, CureTarget or str
        E.g. ``DpdTarget()`` or ``"dpd30_90d"``.
    families, exclude, custom
        As for :func:`build_features`.
    ledger_config : LedgerConfig, optional
        Tolerance used for DPD, by the features and the labels alike.
    observed_until : date-like, optional
        The last day the data describe (default: the latest record's date).

    Returns
    -------
    DataFrame
        Indexed by ``(loan_id, as_of)`` in the ledger's row order: the feature
        columns, then ``label`` (int8).

    Raises
    ------
    OverdueRiskError
        When no as-of date has its horizon observed, or a feature is named
        ``label``.

    Examples
    --------
    >>> from overdue_risk import DpdTarget, build_training_set, load_portfolio
    >>> portfolio = load_portfolio("data/sample")
    >>> train = build_training_set(portfolio, ["2024-03-31", "2024-06-30"], DpdTarget(),
    ...                            families=["ledger"])
    >>> train.index.get_level_values("as_of").unique().strftime("%Y-%m-%d").tolist()
    ['2024-03-31', '2024-06-30']
    >>> train.columns[-1], str(train["label"].dtype)
    ('label', 'int8')
    """
    from ..features import build_features

    lab = labelled(portfolio, as_of_dates, target, ledger_config, observed_until)
    p, target, ledger, end = lab.portfolio, lab.target, lab.ledger, lab.end
    kept, keep, label = lab.kept, lab.keep, lab.label
    if not kept.size:
        raise OverdueRiskError(
            f"No as-of date has its {target.horizon_days}-day horizon observed: the data "
            f"end on {pd.Timestamp(end, unit='D'):%Y-%m-%d}, so the last usable as-of date "
            f"is {pd.Timestamp(end - target.horizon_days, unit='D'):%Y-%m-%d}."
        )
    X = build_features(
        p,
        pd.to_datetime(kept, unit="D"),
        families=families,
        exclude=exclude,
        custom=custom,
        ledger_config=ledger_config,
    )
    if "label" in X.columns:
        raise OverdueRiskError(
            "A feature is named 'label', the name of the label column; rename it "
            "or leave it out with exclude=['label']."
        )
    rows = np.flatnonzero(keep)
    index = ledger.row_index(kept, np.searchsorted(kept, ledger.start_days, side="left"))
    if len(X) != keep.size or not X.index[rows].equals(index[rows]):
        raise AssertionError("build_features returned rows out of the ledger's order.")
    features = X.iloc[rows]
    y = pd.Series(label[rows], index=features.index, name="label")
    return pd.concat([features, y], axis=1)


def assert_no_leakage(
    portfolio: Portfolio,
    as_of_dates: AsOf,
    *,
    build: Callable[[Portfolio, list[pd.Timestamp]], pd.DataFrame] | None = None,
    families: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    custom: Sequence = (),
    ledger_config: LedgerConfig | None = None,
) -> None:
    """Check that features at each as-of date ignore every record dated after it.

    For each as-of date ``d`` the portfolio is rebuilt with its future
    changed: payments, statements and collection actions dated after ``d``
    are altered and new ones added, loans open at ``d`` close on ``d + 1``,
    and new loans of existing customers start after ``d``. The features at
    ``d`` must come out identical, row for row and bit for bit.

    Parameters
    ----------
    portfolio : Portfolio
    as_of_dates : date-like or iterable of date-likes
    build : callable, optional
        ``build(portfolio, dates) -> DataFrame`` indexed by (loan_id, as_of):
        the feature pipeline to check, for pipelines that create their own
        :class:`CustomFeature` objects. Default: :func:`build_features` with
        ``families``, ``exclude``, ``custom`` and ``ledger_config``.

    Raises
    ------
    AssertionError
        Naming the as-of date and the features that changed.

    Examples
    --------
    >>> from overdue_risk import load_portfolio
    >>> assert_no_leakage(load_portfolio("data/sample"), "2024-06-30", families=["repayment"])
    """
    from ..features import build_features

    if build is None:

        def build(p: Portfolio, dates: list[pd.Timestamp]) -> pd.DataFrame:
            return build_features(
                p,
                dates,
                families=families,
                exclude=exclude,
                custom=custom,
                ledger_config=ledger_config,
            )

    dates = [pd.Timestamp(int(d), unit="D") for d in parse_as_of(as_of_dates)]
    with warnings.catch_warnings():
        # Future payments after a perturbed closing date are legal, only odd.
        warnings.simplefilter("ignore", DataQualityWarning)
        p = validate(portfolio)
        base = build(p, dates)
        at = base.index.get_level_values("as_of")
        for d in dates:
            before = base[at == d]
            after = build(validate(_perturb_future(p, d)), [d])
            _compare(before, after, d)


def _compare(before: pd.DataFrame, after: pd.DataFrame, d: pd.Timestamp) -> None:
    where = f"at {d:%Y-%m-%d}"
    if not before.index.equals(after.index):
        raise AssertionError(
            f"Feature rows {where} change with records dated after it "
            f"({len(before)} rows before, {len(after)} after)."
        )
    if list(before.columns) != list(after.columns):
        raise AssertionError(f"Feature columns {where} change with records dated after it.")
    changed = [c for c in before.columns if not _same(before[c], after[c])]
    if changed:
        shown = ", ".join(changed[:10]) + (" ..." if len(changed) > 10 else "")
        raise AssertionError(
            f"{len(changed)} feature(s) {where} change with records dated after it "
            f"(leakage): {shown}"
        )


def _same(a: pd.Series, b: pd.Series) -> bool:
    if isinstance(a.dtype, pd.CategoricalDtype) or isinstance(b.dtype, pd.CategoricalDtype):
        x, y = a.astype(object).to_numpy(), b.astype(object).to_numpy()
        na_x, na_y = pd.isna(x), pd.isna(y)
        return bool(np.array_equal(na_x, na_y) and (x[~na_x] == y[~na_y]).all())
    try:
        return bool(np.array_equal(a.to_numpy(), b.to_numpy(), equal_nan=True))
    except TypeError:  # objects that cannot hold NaN
        return bool(a.equals(b))


def _perturb_future(p: Portfolio, d: pd.Timestamp) -> Portfolio:
    """``p`` with everything dated after ``d`` changed, and more records after ``d``."""
    later = d + pd.Timedelta(days=1)
    loans = p.loans.copy()
    started = loans["start_date"] <= d
    open_ = started & ~(loans["closed_date"] <= d) if "closed_date" in loans else started
    loans["closed_date"] = loans["closed_date"] if "closed_date" in loans else pd.NaT
    loans.loc[open_, "closed_date"] = later  # every open loan closes tomorrow
    # New loans of existing customers, starting after d.
    source = loans.loc[started].head(20)
    new_ids = _new_ids(loans["loan_id"], len(source))
    new = source.assign(
        loan_id=new_ids, start_date=later + pd.Timedelta(days=1), closed_date=pd.NaT
    )
    new["closed_date"] = new["closed_date"].astype(loans["closed_date"].dtype)
    tables: dict[str, pd.DataFrame | None] = {"loans": pd.concat([loans, new], ignore_index=True)}
    ids = p.loans.loc[started, "loan_id"]

    pay = p.payments
    if pay is not None:
        pay = pay.copy()
        future = pay["payment_date"] > d
        pay.loc[future, "amount"] = pay.loc[future, "amount"] * 3 + 1
        extra = pd.DataFrame(
            {
                "loan_id": pd.concat([ids, pd.Series(new_ids)], ignore_index=True),
                "payment_date": later + pd.Timedelta(days=2),
                "amount": 123.45,
            }
        ).astype({"loan_id": pay["loan_id"].dtype, "payment_date": pay["payment_date"].dtype})
        tables["payments"] = pd.concat([pay, extra], ignore_index=True)
    st = p.statements
    if st is not None:
        st = st.copy()
        future = st["statement_date"] > d
        st.loc[future, "balance"] = st.loc[future, "balance"] + 1000.0
        for col in ("min_due", "amount_paid"):
            if col in st:
                st.loc[future, col] = st.loc[future, col] * 2 + 7
        if "dpd" in st:
            st.loc[future, "dpd"] = st.loc[future, "dpd"] + 45
        tables["statements"] = st
    col = p.collections
    action = pd.DataFrame({"loan_id": ids, "action_date": later, "action": "visit"})
    if col is not None:
        action = action.astype(
            {"loan_id": col["loan_id"].dtype, "action_date": col["action_date"].dtype}
        )
        tables["collections"] = pd.concat(
            [col, action.astype({"action": col["action"].dtype})], ignore_index=True
        )
    else:
        tables["collections"] = action
    if p.installments is not None:
        inst = p.installments
        copies = inst[inst["loan_id"].isin(source["loan_id"])].copy()
        copies["loan_id"] = copies["loan_id"].map(
            dict(zip(source["loan_id"], new_ids, strict=True))
        )
        copies["loan_id"] = copies["loan_id"].astype(inst["loan_id"].dtype)
        tables["installments"] = pd.concat([inst, copies], ignore_index=True)
    tables["customers"] = p.customers
    return Portfolio(**tables)


def _new_ids(ids: pd.Series, n: int) -> list:
    """``n`` loan ids not in ``ids``, of the same kind."""
    if pd.api.types.is_integer_dtype(ids.dtype):
        top = int(ids.max()) if len(ids) else 0
        return list(range(top + 1, top + 1 + n))
    return [f"~future-{k}" for k in range(n)]
