"""AsOfSplit: cross-validation forward in time over stacked as-of snapshots, with a label gap."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from .._dates import day_text, to_days
from .._params import Interval, Satisfies, check_params
from ..exceptions import ModelError, OverdueRiskError

__all__ = ["AsOfSplit"]

# A horizon in days, a target (anything with ``horizon_days``) or a target's name.
_RULES = {
    "n_splits": Interval(int, 1, 1_000),
    "horizon": [
        Interval(int, 0, 3650),
        Satisfies(lambda v: hasattr(v, "horizon_days"), "a target such as DpdTarget()"),
        Satisfies(lambda v: isinstance(v, str) and bool(v.strip()), "a target's name"),
    ],
    "test_dates": [None, Interval(int, 1)],
    "max_train_dates": [None, Interval(int, 1)],
}


class AsOfSplit(BaseCrossValidator):
    """Out-of-time folds over as-of dates, each training set's labels observed by its test.

    The rows of a training set from :func:`~overdue_risk.build_training_set` are
    (loan, as-of date) snapshots whose label looks ``horizon`` days ahead: the
    label of a row at ``a`` is what happens in ``(a, a + horizon]``. Splitting
    such rows at random, or forward in time without a gap, trains on labels
    that overlap the test rows' own label windows: the same loans going bad in
    the same days, which a model can recognise. ``AsOfSplit`` splits the
    distinct as-of dates forward in time, as scikit-learn's
    ``TimeSeriesSplit`` splits rows, and trains each fold only on the as-of
    dates ``a`` with ``a + horizon <= t``, ``t`` the fold's first test date:
    every training label is then observed by ``t``, exactly what a model built
    on day ``t`` could know, and no training label window shares a day with a
    test row's.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds. The test folds are the last ``n_splits * test_dates``
        as-of dates, in consecutive blocks, earliest fold first.
    horizon : int, target or str
        The label horizon: days (``90``), a target (``DpdTarget()``, whose
        ``horizon_days`` is read) or a target's name (``"dpd30_90d"``). ``0``
        splits forward in time without a gap.
    test_dates : int, optional
        As-of dates in each test fold (default: the number of as-of dates
        divided by ``n_splits + 1``, rounded down, as ``TimeSeriesSplit``
        divides rows).
    max_train_dates : int, optional
        Train on the latest this many eligible as-of dates only (a rolling
        window); default: every eligible date (an expanding window).

    Notes
    -----
    The same loan (and customer) appears in training and test folds: its
    earlier snapshots train, its later ones test. That is how the model is
    used (it scores the customers it has learned from), and the gap keeps it
    honest: what the training rows say about a customer was known by the test
    date. The folds therefore measure how well the book the model has seen is
    ranked later on; for customers never seen, group the rows by customer as
    well.

    The as-of date of each row is read from the index level ``as_of`` of
    ``X`` (a DataFrame or Series), or from ``groups`` given to :meth:`split`
    as dates. Rows need not be sorted; :meth:`split` yields row positions.

    Examples
    --------
    >>> import pandas as pd
    >>> from overdue_risk import AsOfSplit
    >>> dates = pd.date_range("2024-01-31", periods=8, freq="ME")
    >>> X = pd.DataFrame({"x": range(16)}, index=pd.MultiIndex.from_product(
    ...     [[1, 2], dates], names=["loan_id", "as_of"]))
    >>> cv = AsOfSplit(n_splits=2, horizon=60, test_dates=2)
    >>> a = X.index.get_level_values("as_of")
    >>> for train, test in cv.split(X):  # last training date, first test date
    ...     print(f"{a[train].max():%Y-%m-%d} {a[test].min():%Y-%m-%d}")
    2024-03-31 2024-05-31
    2024-05-31 2024-07-31

    2024-03-31 + 60 days is 2024-05-30, on or before the test's first date;
    2024-04-30 + 60 days is 2024-06-29, after it.
    """

    # Metadata routing (scikit-learn): split reads ``groups``, as dates.
    __metadata_request__split = {"groups": True}  # noqa: RUF012

    def __init__(
        self,
        n_splits: int = 5,
        *,
        horizon,
        test_dates: int | None = None,
        max_train_dates: int | None = None,
    ):
        self.n_splits = n_splits
        self.horizon = horizon
        self.test_dates = test_dates
        self.max_train_dates = max_train_dates
        # A splitter is not an estimator: its parameters are checked at once.
        check_params("AsOfSplit", self._params(), _RULES, ModelError)
        self._horizon_days()

    def _params(self) -> dict:
        return {k: getattr(self, k) for k in _RULES}

    def _horizon_days(self) -> int:
        h = self.horizon
        if isinstance(h, str):
            from ..labels import parse_target

            try:
                return parse_target(h).horizon_days
            except OverdueRiskError as exc:
                raise ModelError(f"The 'horizon' parameter of AsOfSplit: {exc}") from None
        return int(h.horizon_days if hasattr(h, "horizon_days") else h)

    @property
    def horizon_days(self) -> int:
        """The gap in days: a training date ``a`` needs ``a + horizon_days <= t``."""
        return self._horizon_days()

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """The number of folds, ``n_splits``."""
        return self.n_splits

    def split(self, X, y=None, groups=None):
        """Yield ``(train, test)`` row positions, one pair per fold, earliest first.

        Parameters
        ----------
        X : DataFrame, Series or array-like of shape (n_samples, ...)
            Rows indexed by an ``as_of`` level (as :func:`~overdue_risk.build_training_set`
            gives), unless ``groups`` gives the dates.
        y : ignored
        groups : array-like of dates, optional
            The as-of date of each row, instead of ``X``'s index.

        Raises
        ------
        ModelError
            When no as-of date is found, one is missing, or there are too few
            as-of dates for ``n_splits`` folds with the gap.
        """
        days = _row_days(X, groups)
        distinct, codes = np.unique(days, return_inverse=True)
        for (lo, hi), (start, stop) in self._folds(distinct):
            train = np.flatnonzero((codes >= lo) & (codes < hi))
            test = np.flatnonzero((codes >= start) & (codes < stop))
            yield train, test

    def _folds(self, days: np.ndarray) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        """Per fold, the ranges of positions in ``days`` (sorted distinct) that train and test."""
        n, k, h = len(days), self.n_splits, self.horizon_days
        size = self.test_dates if self.test_dates is not None else n // (k + 1)
        shown = f"{n} as-of date{'s' if n != 1 else ''}" + (
            f" ({day_text(days[0])} .. {day_text(days[-1])})" if n else ""
        )
        if size < 1 or k * size >= n:
            need = k + 1 if self.test_dates is None else k * size + 1
            raise ModelError(
                f"AsOfSplit(n_splits={k}, test_dates={self.test_dates}) needs at least "
                f"{need} as-of dates (n_splits test folds of "
                f"{'n / (n_splits + 1)' if self.test_dates is None else size} dates each, "
                f"and one to train on); the rows have {shown}."
            )
        folds = []
        for i in range(k):
            start = n - (k - i) * size
            # The dates before the test's first whose label window (a, a + h] ends by it.
            hi = min(int(np.searchsorted(days, days[start] - h, side="right")), start)
            lo = 0 if self.max_train_dates is None else max(0, hi - self.max_train_dates)
            if hi == 0:  # only the first fold can be empty: hi grows with start
                raise ModelError(
                    f"AsOfSplit(n_splits={k}, horizon={h} days, test_dates={size}) has no "
                    f"as-of date to train its first fold on: the fold tests from "
                    f"{day_text(days[start])}, and training needs an as-of date on or before "
                    f"{day_text(days[start] - h)} (as_of + {h} days <= the first test date); "
                    f"the rows have {shown}. Use fewer splits, fewer test dates or more "
                    "as-of dates."
                )
            folds.append(((lo, hi), (start, start + size)))
        return folds


def _row_days(X, groups) -> np.ndarray:
    """The as-of date of each row, as int64 days since 1970."""
    if groups is not None:
        values, where = groups, "groups"
    else:
        index = getattr(X, "index", None)
        names = list(getattr(index, "names", ()) or ())
        if "as_of" not in names:
            raise ModelError(
                "AsOfSplit reads each row's as-of date from the index level 'as_of' of X "
                f"(as build_training_set gives) or from groups; X has "
                f"{'index levels ' + str(names) if index is not None else 'no index'} "
                "and no groups were given."
            )
        values, where = index.get_level_values("as_of"), "X's index level 'as_of'"
    try:
        dates = pd.DatetimeIndex(pd.to_datetime(np.asarray(values).ravel()))
    except (TypeError, ValueError) as exc:
        raise ModelError(f"AsOfSplit: {where} must hold dates; {exc}.") from None
    if X is not None and hasattr(X, "__len__") and len(dates) != len(X):
        raise ModelError(f"AsOfSplit: {where} has {len(dates)} dates for {len(X)} rows of X.")
    if dates.hasnans:
        raise ModelError(f"AsOfSplit: {where} has {int(dates.isna().sum())} missing dates.")
    if dates.tz is not None:
        dates = dates.tz_localize(None)  # the local calendar date
    return to_days(dates.to_numpy())
