"""The arrears rule: an action is worth a flat share of the overdue amount.

:class:`ArrearsRule` is the rule a collections manager compares any policy
with: "an SMS brings back 1% of the arrears, a call 5%, a visit 15%", the
largest arrears first within each action's capacity. Its lifts are either
stated (judgement: not causal) or estimated from the randomised cell of the
collections log as each action's average uplift in the share of arrears
recovered over no action, overall or per segment (DPD bucket, product type),
with standard errors. An average over a randomised cell is precise where
per-account effects are not; an action whose uplift cannot be told from zero
gets none, so no capacity goes to noise.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._params import Interval, Options, Satisfies, check, check_params
from ..contract import AS_LOGGED, NO_ACTION
from ..exceptions import ModelError
from ..ledger import LedgerConfig
from ._averages import drawn_range

__all__ = ["ARREARS_LIFTS", "ArrearsRule"]

# Judgement lifts in the share of the arrears recovered (the rule practitioners
# state): restructuring and legal action are never chosen by a flat rule.
ARREARS_LIFTS = {"sms": 0.01, "call": 0.05, "visit": 0.15}
_DPD_BUCKET = "dpd_bucket"  # derived from ``dpd`` with the ledger's bucket edges
_PARAMS = {
    "lifts": Satisfies(
        lambda v: v is None or (isinstance(v, Mapping) and len(v) > 0),
        "None or a non-empty dict of action to number",
    ),
    "by": Satisfies(lambda v: v is None or isinstance(v, str), "None or a column name"),
    "estimator": Options(("ipw", "difference")),
    "z": Interval(float, 0),
    "min_rows": Interval(int, 1),
    "amount_column": Satisfies(lambda v: isinstance(v, str), "a column name"),
}
_LIFT = Interval(float, -1, 1)


class ArrearsRule:
    """Value of an action = its lift × the overdue amount.

    Parameters
    ----------
    lifts : dict of str to float, optional
        Stated lifts: the share of the overdue amount each action brings back
        over no action, in [-1, 1]. Default :data:`ARREARS_LIFTS` (SMS 1%,
        call 5%, visit 15%). Not causal; :meth:`fit` replaces them with
        estimates.
    by : str, optional
        Estimate the lifts per segment: ``"dpd_bucket"`` (the ledger's DPD
        buckets) or a column of the decisions and of the state
        (``"product_type"``, say). A segment with fewer than ``min_rows`` rows
        of an action (or of no action) takes that action's overall estimate.
    estimator : {"ipw", "difference"}, default="ipw"
        ``"ipw"``: means weighted by ``1 / propensity`` (Hájek), which is
        unbiased when the propensities differ by account; ``"difference"``:
        plain difference in means, right when the cell draws every action
        with the same probability.
    z : float, default=1.96
        An estimated lift is used only when ``lift - z * se > 0``: an action
        whose uplift cannot be told from zero gets a lift of 0.
    min_rows : int, default=30
        The fewest rows of an action (and of no action) an estimate needs.
    amount_column : str, default="overdue_amount"

    Attributes
    ----------
    lifts_ : DataFrame
        After :meth:`fit`: one row per segment and action with ``estimate``,
        ``se``, ``rows``, ``rows_none``, ``base`` (the share recovered without
        action) and ``lift`` (the one applied: ``estimate`` when it is
        distinguishable from zero, else 0).
    causal : bool
        True once fitted on a randomised cell; False with stated lifts.

    Examples
    --------
    >>> import pandas as pd
    >>> rule = ArrearsRule({"call": 0.05, "visit": 0.15})
    >>> state = pd.DataFrame({"overdue_amount": [100.0, 400.0]})
    >>> rule.uplift(state).to_dict("list")
    {'call': [5.0, 20.0], 'visit': [15.0, 60.0]}
    >>> rule.causal
    False
    """

    def __init__(
        self,
        lifts: Mapping[str, float] | None = None,
        *,
        by: str | None = None,
        estimator: str = "ipw",
        z: float = 1.96,
        min_rows: int = 30,
        amount_column: str = "overdue_amount",
    ):
        self.lifts = lifts
        self.by = by
        self.estimator = estimator
        self.z = z
        self.min_rows = min_rows
        self.amount_column = amount_column

    @property
    def causal(self) -> bool:
        return hasattr(self, "lifts_")

    @property
    def value_source(self) -> str:
        """How a worklist names these values."""
        if self.causal:
            return f"arrears rule, lifts estimated by {self.estimator}"
        return "arrears rule, stated lifts (not causal)"

    def _check(self) -> None:
        params = {name: getattr(self, name) for name in _PARAMS}
        check_params("ArrearsRule", params, _PARAMS, ModelError)

    def _stated(self) -> dict[str, float]:
        out = {}
        for action, lift in (ARREARS_LIFTS if self.lifts is None else self.lifts).items():
            if not isinstance(action, str) or AS_LOGGED.get(action, action) == NO_ACTION:
                raise ModelError(
                    f"lifts keys must be action names other than no action; got {action!r}."
                )
            out[action] = check(_LIFT, lift, key=f"lifts[{action!r}]", error=ModelError)
        return out

    def _amount(self, frame: pd.DataFrame) -> np.ndarray:
        if self.amount_column not in frame.columns:
            raise ModelError(f"ArrearsRule reads the column {self.amount_column!r}; it is missing.")
        amount = frame[self.amount_column].to_numpy(dtype=np.float64, na_value=np.nan)
        return np.maximum(amount, 0.0)

    def _segments(self, frame: pd.DataFrame) -> np.ndarray:
        """Each row's segment, as text ("all" without ``by``)."""
        if self.by is None:
            return np.full(len(frame), "all", dtype=object)
        if self.by == _DPD_BUCKET:
            if "dpd" not in frame.columns:
                raise ModelError("by='dpd_bucket' reads the column 'dpd'; it is missing.")
            config = LedgerConfig()
            dpd = frame["dpd"].to_numpy(dtype=np.float64, na_value=0.0)
            codes = np.searchsorted(np.asarray(config.bucket_edges), dpd, side="right")
            return np.asarray(config.bucket_labels, dtype=object)[codes]
        if self.by not in frame.columns:
            raise ModelError(f"by={self.by!r} is not a column of the data.")
        return frame[self.by].astype(object).fillna("missing").astype(str).to_numpy(dtype=object)

    def fit(self, decisions: pd.DataFrame) -> ArrearsRule:
        """Estimate each action's lift from the randomised cell's decisions.

        Parameters
        ----------
        decisions : DataFrame
            As :func:`~overdue_risk.prioritise.logged_decisions` gives them:
            ``action``, ``reward_amount``, the amount column, ``propensity``
            (for ``estimator="ipw"``) and the ``by`` column.

        Returns
        -------
        self
        """
        self._check()
        if not isinstance(decisions, pd.DataFrame):
            raise ModelError(f"decisions must be a DataFrame; got {type(decisions).__name__}.")
        for column in ("action", "reward_amount"):
            if column not in decisions.columns:
                raise ModelError(f"decisions lacks the column {column!r}.")
        segments = self._segments(decisions)
        action = decisions["action"].astype(object).map(lambda a: AS_LOGGED.get(a, a))
        action = action.to_numpy(dtype=object)
        amount = np.maximum(self._amount(decisions), 1.0)  # a share of at least one unit
        reward = decisions["reward_amount"].to_numpy(dtype=np.float64, na_value=np.nan)
        p = (
            decisions["propensity"].to_numpy(dtype=np.float64, na_value=np.nan)
            if "propensity" in decisions.columns
            else None
        )
        if self.estimator == "ipw":
            if p is None:
                raise ModelError("estimator='ipw' needs the decisions' propensity column.")
            weight = np.where((p > 0) & (p <= 1), 1.0 / p, np.nan)
        else:
            weight = np.ones(len(decisions))
        ok = np.isfinite(amount) & np.isfinite(reward) & np.isfinite(weight) & pd.notna(action)
        if p is not None:
            # No action with propensity 1 (after legal action the cell draws nothing more):
            # those rows were never randomised, and compare with no action.
            ok &= ~((action == NO_ACTION) & (p >= 1))
        if (action[ok] == NO_ACTION).sum() < self.min_rows:
            raise ModelError(
                f"The decisions hold {(action[ok] == NO_ACTION).sum()} rows of no action; "
                f"an uplift needs at least min_rows={self.min_rows}."
            )
        dpd = (
            decisions["dpd"].to_numpy(dtype=np.float64, na_value=np.nan)[ok]
            if "dpd" in decisions.columns
            else None
        )
        args = (action[ok], reward[ok], amount[ok], weight[ok], dpd)
        pooled = self._gated(self._estimates(np.full(ok.sum(), "all", dtype=object), *args))
        table = pooled
        if self.by is not None:
            table = self._estimates(segments[ok], *args)
            # A thin segment takes the action's overall estimate (and says so).
            thin = (table["rows"] < self.min_rows) | (table["rows_none"] < self.min_rows)
            thin = thin.to_numpy()
            overall = pooled.set_index("action").loc[table["action"]]
            for column in ("estimate", "se", "base", "lift"):
                values = overall[column].to_numpy()
                table[column] = np.where(thin, values, table.get(column, values))
            table = self._gated(table, keep=thin)
            table["pooled"] = thin
        self.pooled_lifts_ = pooled
        self.lifts_ = table.reset_index(drop=True)
        return self

    def _gated(self, table: pd.DataFrame, keep: np.ndarray | None = None) -> pd.DataFrame:
        """``lift``: the estimate where it has the rows and is distinguishable from 0,
        else 0 (rows flagged in ``keep`` keep the lift they have)."""
        enough = (table["rows"] >= self.min_rows) & (table["rows_none"] >= self.min_rows)
        distinct = table["estimate"] - self.z * table["se"] > 0
        lift = np.where(enough & distinct, table["estimate"], 0.0)
        if keep is not None:
            lift = np.where(keep, table["lift"], lift)
        return table.assign(lift=lift)

    def _estimates(self, segment, action, reward, amount, weight, dpd) -> pd.DataFrame:
        """Per (segment, action): the recovery per unit of arrears (a ratio of weighted
        sums, robust to small arrears) of the action and of no action on the DPD range the
        action was drawn on in that segment, their difference and its standard error
        (linearised), vectorised within each action."""
        codes, names = pd.factorize(pd.Series(segment, dtype=object), sort=True)
        g = len(names)
        none = action == NO_ACTION

        def ratio(rows: np.ndarray):
            c, w, y, x = codes[rows], weight[rows], reward[rows], amount[rows]
            wx = np.bincount(c, w * x, minlength=g)
            r = np.bincount(c, w * y, minlength=g) / np.where(wx > 0, wx, np.nan)
            z = w * (y - np.nan_to_num(r)[c] * x) / np.where(wx > 0, wx, np.nan)[c]
            return r, np.bincount(c, z**2, minlength=g), np.bincount(c, minlength=g)

        frames = []
        for a in sorted({str(v) for v in action[~none]}):
            mine = action == a
            control = none
            if dpd is not None:
                # The action's DPD range in each segment: no action outside it, where the
                # action was never drawn, would compare other accounts.
                control = none & drawn_range(codes, mine, dpd, g)
            r_a, v_a, n_a = ratio(mine)
            r_0, v_0, n_0 = ratio(control)
            seen = n_a > 0
            frames.append(
                pd.DataFrame(
                    {
                        "segment": np.asarray(names, dtype=object)[seen],
                        "action": a,
                        "estimate": (r_a - r_0)[seen],
                        "se": np.sqrt(v_a + v_0)[seen],
                        "rows": n_a[seen].astype(np.int64),
                        "rows_none": n_0[seen].astype(np.int64),
                        "base": r_0[seen],
                    }
                )
            )
        columns = ["segment", "action", "estimate", "se", "rows", "rows_none", "base"]
        if not frames:
            return pd.DataFrame({c: [] for c in columns})
        return pd.concat(frames, ignore_index=True).sort_values(
            ["segment", "action"], kind="stable", ignore_index=True
        )

    def _lift_matrix(self, state: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The actions, each row's lift per action and its base share."""
        if not self.causal:
            stated = self._stated()
            lifts = np.tile(np.fromiter(stated.values(), float), (len(state), 1))
            return list(stated), lifts, np.zeros(len(state))
        table = self.lifts_
        actions = sorted(table["action"].unique())
        wide = table.pivot(index="segment", columns="action", values="lift")
        base = table.groupby("segment", sort=True)["base"].first()
        segments = self._segments(state)
        unseen = ~np.isin(segments, wide.index)
        if unseen.any():  # a segment the log never showed takes the overall estimate
            pooled = self.pooled_lifts_
            wide.loc["(overall)"] = pooled.set_index("action")["lift"].reindex(wide.columns)
            base.loc["(overall)"] = pooled["base"].iloc[0] if len(pooled) else 0.0
            segments = np.where(unseen, "(overall)", segments)
        wide = wide.reindex(columns=actions).fillna(0.0)
        return actions, wide.loc[segments].to_numpy(), base.loc[segments].to_numpy()

    def uplift(self, state: pd.DataFrame) -> pd.DataFrame:
        """Expected recovery over no action: lift × overdue amount, per action."""
        if not isinstance(state, pd.DataFrame):
            raise ModelError(f"state must be a DataFrame; got {type(state).__name__}.")
        self._check()
        actions, lifts, _ = self._lift_matrix(state)
        out = pd.DataFrame(lifts * self._amount(state)[:, None], index=state.index, columns=actions)
        out.attrs["causal"] = self.causal
        return out

    def predict(self, state: pd.DataFrame) -> pd.DataFrame:
        """Recovery levels: the base share × amount for ``"none"``, plus each action's uplift."""
        up = self.uplift(state)
        _, _, base = self._lift_matrix(state)
        level = np.nan_to_num(base) * self._amount(state)
        out = up.add(level, axis=0)
        out.insert(0, NO_ACTION, level)
        out.attrs["causal"] = self.causal
        return out

    def table(self) -> pd.DataFrame:
        """The lifts: estimated (with standard errors) after :meth:`fit`, else stated."""
        if self.causal:
            return self.lifts_.copy()
        self._check()
        stated = self._stated()
        return pd.DataFrame({"action": list(stated), "lift": list(stated.values())})

    def summary(self) -> str:
        """One line per action: the lift applied and, when estimated, its evidence."""
        if not self.causal:
            lifts = ", ".join(f"{a} {v:.1%}" for a, v in self._stated().items())
            return f"ArrearsRule with stated lifts (not causal): {lifts}."
        lines = [
            f"ArrearsRule estimated by {self.estimator} (lift applied when estimate - "
            f"{self.z:g} se > 0):"
        ]
        for row in self.lifts_.itertuples(index=False):
            lines.append(
                f"  {row.segment} {row.action}: {row.estimate:+.2%} ± {row.se:.2%} "
                f"({row.rows} rows, {row.rows_none} without action) -> {row.lift:.2%}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "ArrearsRule()" if self.lifts is None else f"ArrearsRule({self.lifts!r})"
