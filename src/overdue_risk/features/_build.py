"""``build_features``: the feature matrix at one or many as-of dates."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._dates import AsOf, parse_as_of
from ..contract import Portfolio, validate
from ..exceptions import OverdueRiskError
from ..ledger import Ledger, LedgerConfig
from ._context import FeatureContext
from ._custom import compute_custom
from ._registry import REGISTRY, CustomFeature, check_exclude, excludable

__all__ = ["INDEX_NAMES", "build_features"]

#: The names of the feature frame's index: no feature may take one.
INDEX_NAMES = ("loan_id", "as_of")


def build_features(
    portfolio: Portfolio,
    as_of: AsOf,
    *,
    families: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    custom: Sequence[CustomFeature] = (),
    ledger_config: LedgerConfig | None = None,
) -> pd.DataFrame:
    """Point-in-time features of every loan at one or many as-of dates.

    Every feature uses only records dated on or before the row's as-of date:
    schedule rows by ``due_date``, payments by ``payment_date``, statements by
    ``statement_date`` and collection actions by ``action_date``. What was not
    observed is NaN, never 0, and no feature is ever infinite.

    Parameters
    ----------
    portfolio : Portfolio
        Validated on entry if it is not yet.
    as_of : date-like or iterable of date-likes
        One date or many; many dates cost far less than one call each.
    families : list of str, optional
        Feature families to compute (default: all); see :func:`list_features`.
    exclude : list of str, optional
        What to leave out: columns of ``loans`` or ``customers`` not to use as
        static features (e.g. protected attributes a lender may not use),
        features (built-in or custom) and whole families. A name that is none
        of these is an error, with the nearest valid name suggested.
    custom : list of CustomFeature, optional
        Your own features, computed on the portfolio cut at each as-of date.
    ledger_config : LedgerConfig, optional
        Tolerance and buckets used for DPD (default: ``LedgerConfig()``).

    Returns
    -------
    DataFrame
        Indexed by ``(loan_id, as_of)``, one row per loan started by that
        date; float32 columns, and ``category`` for text attributes.

    Examples
    --------
    >>> from overdue_risk import build_features, load_portfolio
    >>> portfolio = load_portfolio("data/sample")
    >>> X = build_features(portfolio, ["2024-06-30", "2024-12-31"])
    >>> X.index.names
    FrozenList(['loan_id', 'as_of'])
    >>> bool(X["dpd"].ge(0).all())
    True
    """
    from . import _families  # noqa: F401  (registers the built-in families)

    if not isinstance(portfolio, Portfolio):
        raise OverdueRiskError(f"portfolio must be a Portfolio; got {type(portfolio).__name__}.")
    for feature in custom:
        if not isinstance(feature, CustomFeature):
            raise OverdueRiskError(
                f"custom must hold CustomFeature objects; got {type(feature).__name__}."
            )
    selected = REGISTRY.select(families)
    days = parse_as_of(as_of)
    portfolio = validate(portfolio)
    excluded = check_exclude(exclude, excludable(portfolio, custom))
    selected = [f for f in selected if f.name not in excluded]
    ctx = FeatureContext(portfolio, Ledger(portfolio, ledger_config), days)
    ctx.exclude = excluded
    ctx.families = frozenset(f.name for f in selected)
    numeric = [
        s.name
        for fam in selected
        if not fam.dynamic
        for s in fam.specs
        if s.dtype == "float32" and s.name not in excluded
    ]
    ctx.allocate(numeric)
    others: dict[str, object] = {}
    seen: set[str] = set()
    for fam in selected:
        values = fam.compute(ctx)
        if not fam.dynamic:
            declared = [s.name for s in fam.specs]
            if list(values) != declared:  # the registry's contract, checked on every build
                missing = sorted(set(declared) - set(values))
                extra = sorted(set(values) - set(declared))
                raise AssertionError(
                    f"Family {fam.name!r} returned undeclared {extra} / missed {missing}."
                )
        for name, column in values.items():
            if name in INDEX_NAMES:
                raise OverdueRiskError(
                    f"Feature {name!r} from family {fam.name!r} has the name of the feature "
                    f"frame's index ({', '.join(INDEX_NAMES)}); rename the column or pass it "
                    "in `exclude`."
                )
            if name in seen:
                raise OverdueRiskError(
                    f"Feature {name!r} from family {fam.name!r} clashes with an earlier "
                    "feature; rename the column or pass it in `exclude`."
                )
            seen.add(name)
            _keep(ctx, others, name, column, excluded)
    for name, column in compute_custom(ctx, custom).items():
        if name in INDEX_NAMES:
            raise OverdueRiskError(
                f"Custom feature {name!r} has the name of the feature frame's index "
                f"({', '.join(INDEX_NAMES)}); rename it."
            )
        if name in seen:
            raise OverdueRiskError(f"Custom feature {name!r} clashes with a built-in feature.")
        seen.add(name)
        _keep(ctx, others, name, column, excluded)
    # A zero-copy view of the buffer; the few other columns are added one by one.
    frame = pd.DataFrame(ctx.buffer.T, index=ctx.index, columns=numeric, copy=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
        for name, column in others.items():
            frame[name] = column
    return frame


def _keep(ctx: FeatureContext, others: dict, name: str, column, excluded: set[str]) -> None:
    """Put a family's column in the buffer, or among the other columns."""
    if name in excluded:
        return
    if ctx.has_slot(name):
        target = ctx.out(name)
        if not np.shares_memory(target, column):
            target[:] = column
    else:
        others[name] = column
