"""Off-policy evaluation: what a new policy would have recovered on the logged decisions.

The randomised cell's log (:func:`~overdue_risk.prioritise._decisions.logged_decisions`)
says, for each decision, the state ``x``, the action ``a`` taken with known
probability ``p = mu(a | x)``, and the reward ``r`` (money recovered within the
horizon, less the action's cost). A target policy ``pi`` is evaluated on the
same rows with three standard estimators (Dudik, Langford and Li 2011,
"Doubly Robust Policy Evaluation and Learning", ICML), with
``w = pi(a | x) / p`` (``1[a = pi(x)] / p`` for a deterministic policy):

* IPW (inverse propensity weighting; Horvitz and Thompson 1952):
  ``mean(w * r)``; unbiased when every action ``pi`` takes has ``p > 0``.
* SNIPW (self-normalised IPW; Swaminathan and Joachims 2015):
  ``sum(w * r) / sum(w)``; slightly biased, much less variable.
* DR (doubly robust): ``mean(q(x, pi) + w * (r - q(x, a)))`` with
  ``q(x, pi) = sum_b pi(b | x) q(x, b)``; unbiased when either the
  propensities or the reward model ``q`` are right, and less variable than
  IPW when ``q`` is good.
* DM (direct method): ``mean(q(x, pi))``; as good as ``q`` only.

Standard errors come from each estimator's influence terms, summed within
clusters (by default the loan: one loan's consecutive days are not
independent), with the small-sample factor ``G / (G - 1)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ..exceptions import OverdueRiskError

__all__ = ["OffPolicyEstimate", "off_policy_value"]

_Z95 = 1.959963984540054


@dataclass(frozen=True)
class OffPolicyEstimate:
    """The value of a target policy per decision, by four estimators.

    Values are the mean reward per decision row (money recovered within the
    horizon, less the action's cost) had the target policy chosen that day's
    action, the logged policy acting on the other days.

    Attributes
    ----------
    ipw, snipw, dr, dm : float
        The estimates; ``dr`` and ``dm`` are NaN without ``q_hat``.
    ipw_se, snipw_se, dr_se, dm_se : float
        Their standard errors (cluster-robust). ``dm_se`` counts the
        sampling of the rows only, not the error of the reward model.
    n : int
        Decision rows.
    matched : int
        Rows whose logged action the target policy could have taken
        (``w > 0``): the rows IPW learns from.
    clusters : int
        Independent groups the standard errors assume (loans, by default).
    weight_mean : float
        ``mean(w)``, whose expectation is 1 when the target policy takes only
        actions the logged policy could have taken on each row (overlap).
        Well below 1 means the policy often picks actions the log never
        tried in such states (e.g. a call after legal action): IPW counts
        those rows as 0 and is biased down, SNIPW and DR extrapolate.
    """

    ipw: float
    ipw_se: float
    snipw: float
    snipw_se: float
    dr: float
    dr_se: float
    dm: float
    dm_se: float
    n: int
    matched: int
    clusters: int
    weight_mean: float

    def table(self) -> pd.DataFrame:
        """One row per estimator: ``value``, ``se`` and a normal 95% interval."""
        names = ("ipw", "snipw", "dr", "dm")
        value = np.array([getattr(self, k) for k in names])
        se = np.array([getattr(self, f"{k}_se") for k in names])
        return pd.DataFrame(
            {
                "value": value,
                "se": se,
                "ci_low": value - _Z95 * se,
                "ci_high": value + _Z95 * se,
            },
            index=pd.Index(names, name="estimator"),
        )

    def to_dict(self) -> dict:
        return asdict(self)


def off_policy_value(
    decisions: pd.DataFrame,
    target_action,
    *,
    q_hat: pd.DataFrame | None = None,
    clusters="loan_id",
) -> OffPolicyEstimate:
    """Estimate a target policy's value per decision from the logged decisions.

    Parameters
    ----------
    decisions : DataFrame
        Columns ``action``, ``propensity``, ``reward_amount`` and ``cost``
        (as from ``logged_decisions``); the reward is ``reward_amount - cost``.
    target_action : array-like of str, or DataFrame
        The action the target policy picks on each row (aligned with
        ``decisions`` by position), or its probabilities: a frame with one
        column per action and rows summing to 1 (a stochastic policy).
    q_hat : DataFrame, optional
        Predicted reward (recovery less cost) of every action on every row,
        one column per action, aligned by position: e.g. ``ResponseModel``'s
        ``predict`` minus the action costs. Gives DR and DM. It needs the
        columns of every action the target policy may take. Fit it on other
        rows than those evaluated (cross-fitting) for honest errors.
    clusters : "loan_id", None, or array-like, default="loan_id"
        Groups of dependent rows for the standard errors: the ``loan_id``
        index level (or column) when present, else rows; ``None`` for
        independent rows; or one label per row.

    Returns
    -------
    OffPolicyEstimate

    Examples
    --------
    A two-armed bandit logged uniformly, where action "b" pays 1 more:

    >>> import numpy as np, pandas as pd
    >>> from overdue_risk.prioritise._ope import off_policy_value
    >>> rng = np.random.default_rng(0)
    >>> a = rng.choice(["a", "b"], 4000)
    >>> d = pd.DataFrame({"action": a, "propensity": 0.5, "cost": 0.0,
    ...                   "reward_amount": (a == "b") + rng.random(4000)})
    >>> est = off_policy_value(d, np.full(4000, "b"))
    >>> bool(abs(est.ipw - 1.5) < 3 * est.ipw_se), est.matched == int((a == "b").sum())
    (True, True)
    >>> round(est.weight_mean, 1)  # about 1 when the policy only takes loggable actions
    1.0
    """
    if not isinstance(decisions, pd.DataFrame):
        raise OverdueRiskError(f"decisions must be a DataFrame; got {type(decisions).__name__}.")
    missing = [
        c for c in ("action", "propensity", "reward_amount", "cost") if c not in decisions.columns
    ]
    if missing:
        raise OverdueRiskError(f"decisions lacks the columns {missing}.")
    n = len(decisions)
    if n == 0:
        raise OverdueRiskError("decisions has no rows to evaluate on.")
    logged = decisions["action"].astype(object).to_numpy()
    if pd.isna(logged).any():
        raise OverdueRiskError("decisions.action has missing values; no action is 'none'.")
    logged = logged.astype(str)
    prob = _target_probability(target_action, logged, n)  # pi(a_i | x_i)
    p = decisions["propensity"].to_numpy(dtype=np.float64, na_value=np.nan)
    r = decisions["reward_amount"].to_numpy(dtype=np.float64, na_value=np.nan) - decisions[
        "cost"
    ].to_numpy(dtype=np.float64, na_value=np.nan)
    used = prob > 0
    bad_p = used & ~((p > 0) & (p <= 1))
    if bad_p.any():
        raise OverdueRiskError(
            f"{int(bad_p.sum())} rows the target policy matches have a propensity outside "
            f"(0, 1] or missing (first: {p[bad_p][0]!r}); IPW needs the logged probability."
        )
    bad_r = used & ~np.isfinite(r)
    if bad_r.any():
        raise OverdueRiskError(
            f"{int(bad_r.sum())} rows the target policy matches have no reward "
            "(reward_amount or cost missing)."
        )
    w = np.where(used, prob / np.where(used, p, 1.0), 0.0)
    wr = np.where(used, w * np.where(used, r, 0.0), 0.0)
    groups = _clusters(clusters, decisions, n)

    ipw = float(wr.mean())
    w_mean = float(w.mean())
    if w_mean > 0:
        snipw = float(wr.sum() / w.sum())
        sn_terms = np.where(used, w * (np.where(used, r, 0.0) - snipw), 0.0) / w_mean
        snipw_se = _se(sn_terms, groups)
    else:
        snipw, snipw_se = math.nan, math.nan
    dr = dr_se = dm = dm_se = math.nan
    if q_hat is not None:
        q = _q_matrix(q_hat, n)
        q_pi = _policy_value(target_action, q, logged, n)
        terms = dr_terms(q_pi, _lookup(q, logged, used), w, r)
        dr, dr_se = float(terms.mean()), _se(terms, groups)
        dm, dm_se = float(q_pi.mean()), _se(q_pi, groups)
    return OffPolicyEstimate(
        ipw=ipw,
        ipw_se=_se(wr, groups),
        snipw=snipw,
        snipw_se=snipw_se,
        dr=dr,
        dr_se=dr_se,
        dm=dm,
        dm_se=dm_se,
        n=n,
        matched=int(used.sum()),
        clusters=int(groups.max()) + 1,
        weight_mean=w_mean,
    )


def dr_terms(q_pi: np.ndarray, q_a: np.ndarray, w: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The doubly robust estimator's term per row: ``q(x, pi) + w * (r - q(x, a))``.

    ``w`` is 0 where the target policy could not have taken the logged action;
    there ``r`` and ``q(x, a)`` are not read (they may be NaN).
    """
    used = w > 0
    return q_pi + np.where(used, w * (np.where(used, r, 0.0) - np.where(used, q_a, 0.0)), 0.0)


def cluster_se(terms: np.ndarray, groups: np.ndarray) -> float:
    """Cluster-robust standard error of ``mean(terms)``; ``groups`` one integer per row."""
    return _se(terms, groups)


def _target_probability(target, logged: np.ndarray, n: int) -> np.ndarray:
    """``pi(a_i | x_i)`` of each row's logged action."""
    if isinstance(target, pd.DataFrame):
        probs = _probability_frame(target, n)
        pos = probs.columns.get_indexer(logged)
        values = probs.to_numpy(dtype=np.float64)
        return np.where(pos >= 0, values[np.arange(n), np.maximum(pos, 0)], 0.0)
    names = _target_names(target, n)
    return (names == logged).astype(np.float64)


def _target_names(target, n: int) -> np.ndarray:
    names = np.asarray(target, dtype=object)
    if names.ndim != 1 or names.size != n:
        raise OverdueRiskError(
            f"target_action must hold one action per decision row ({n}); got shape {names.shape}."
        )
    if pd.isna(names).any():
        raise OverdueRiskError("target_action has missing values; no action is 'none'.")
    return names.astype(str)


def _probability_frame(target: pd.DataFrame, n: int) -> pd.DataFrame:
    if len(target) != n:
        raise OverdueRiskError(
            f"target_action has {len(target)} rows of probabilities for {n} decision rows."
        )
    values = target.to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(values).all() or (values < 0).any():
        raise OverdueRiskError("target_action probabilities must be finite and >= 0.")
    if not np.allclose(values.sum(axis=1), 1.0, atol=1e-6):
        raise OverdueRiskError("target_action probabilities must sum to 1 on every row.")
    return target.set_axis(target.columns.astype(str), axis=1)


def _q_matrix(q_hat, n: int) -> pd.DataFrame:
    if not isinstance(q_hat, pd.DataFrame):
        raise OverdueRiskError(f"q_hat must be a DataFrame; got {type(q_hat).__name__}.")
    if len(q_hat) != n:
        raise OverdueRiskError(f"q_hat has {len(q_hat)} rows for {n} decision rows.")
    q = q_hat.set_axis(q_hat.columns.astype(str), axis=1)
    if not np.isfinite(q.to_numpy(dtype=np.float64, na_value=np.nan)).all():
        raise OverdueRiskError("q_hat must hold finite predicted rewards.")
    return q


def _lookup(q: pd.DataFrame, names: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``q[i, names[i]]`` on ``rows`` (0 elsewhere); every name needed must be a column."""
    pos = q.columns.get_indexer(names)
    absent = rows & (pos < 0)
    if absent.any():
        raise OverdueRiskError(
            f"q_hat has no column for the action(s) {sorted(set(names[absent]))}, which the "
            "target policy takes."
        )
    values = q.to_numpy(dtype=np.float64)
    return np.where(rows, values[np.arange(len(names)), np.maximum(pos, 0)], 0.0)


def _policy_value(target, q: pd.DataFrame, logged: np.ndarray, n: int) -> np.ndarray:
    """``q(x_i, pi) = sum_b pi(b | x_i) q(x_i, b)``."""
    if isinstance(target, pd.DataFrame):
        probs = _probability_frame(target, n)
        needed = [c for c in probs.columns if (probs[c].to_numpy() > 0).any()]
        absent = [c for c in needed if c not in q.columns]
        if absent:
            raise OverdueRiskError(
                f"q_hat has no column for the action(s) {absent}, which the target policy takes."
            )
        return (probs[needed].to_numpy() * q[needed].to_numpy(dtype=np.float64)).sum(axis=1)
    names = _target_names(target, n)
    return _lookup(q, names, np.ones(n, bool))


def loan_groups(decisions: pd.DataFrame) -> np.ndarray:
    """One integer per row: its loan (``loan_id`` index level or column), else the row."""
    return _clusters("loan_id", decisions, len(decisions))


def _clusters(clusters, decisions: pd.DataFrame, n: int) -> np.ndarray:
    """One integer group per row."""
    if clusters is None:
        return np.arange(n)
    if isinstance(clusters, str) and clusters == "loan_id":
        if "loan_id" in (decisions.index.names or []):
            labels = decisions.index.get_level_values("loan_id")
        elif "loan_id" in decisions.columns:
            labels = decisions["loan_id"]
        else:
            return np.arange(n)
    else:
        labels = np.asarray(clusters, dtype=object)
        if labels.ndim != 1 or labels.size != n:
            raise OverdueRiskError(
                f"clusters must be 'loan_id', None or one label per row ({n}); "
                f"got shape {labels.shape}."
            )
    # Sorted: the same groups get the same codes whatever the row order.
    codes, _ = pd.factorize(pd.Series(labels), sort=True, use_na_sentinel=False)
    return codes.astype(np.int64)


def _se(terms: np.ndarray, groups: np.ndarray) -> float:
    """Cluster-robust standard error of ``mean(terms)``."""
    n = terms.size
    g = int(groups.max()) + 1 if n else 0
    if g < 2:
        return math.nan
    sums = np.bincount(groups, weights=terms - terms.mean(), minlength=g)
    return float(math.sqrt(g / (g - 1) * float(np.sum(sums**2))) / n)
