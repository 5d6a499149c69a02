"""The fallback value model: a heuristic uplift from the risk score alone.

:class:`RiskBasedValue` stands in when no usable log exists to learn a
:class:`~overdue_risk.prioritise.ResponseModel` from; its uplift is not
causal, and it says so (``causal = False``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._params import Interval, Satisfies, check, check_params
from ..contract import AS_LOGGED, NO_ACTION
from ..exceptions import ModelError

__all__ = ["DEFAULT_LIFTS", "RiskBasedValue"]

# RiskBasedValue's default largest uplifts in the chance of payment: about twice the
# simulator's calibrated average one-day uplifts (SMS +0.13, call +1.09, visit +4.36
# points; docs/simulator.md), since the bell averages about one half over accounts.
# Restructuring and legal action get none: a heuristic should never choose them.
DEFAULT_LIFTS = {
    "sms": 0.005,
    "call": 0.02,
    "visit": 0.08,
    "letter": 0.005,
    "restructure": 0.0,
    "legal": 0.0,
}
_LIFTS = Satisfies(
    lambda v: isinstance(v, Mapping) and len(v) > 0, "a non-empty dict of action to number"
)
_LIFT = Interval(float, -1, 1)


class RiskBasedValue:
    """A heuristic uplift from the risk score, for when no randomised log exists.

    With ``p = 1 - risk_score`` the chance the account pays, the uplift of
    action ``a`` in that chance is taken as

        ``lifts[a] * 4 * p * (1 - p)``

    largest (``lifts[a]``) for accounts with ``p = 0.5`` and vanishing for
    those sure to pay or sure not to: the persuadable are in the middle.
    The uplift in expected recovery is that times ``overdue_amount``.
    :meth:`predict` gives levels for the worklist, ``p * overdue_amount``
    for no action and that plus the uplift for each action; only their
    differences mean anything.

    It is **not causal**: nothing here was learned from a comparison of
    treated and untreated accounts. ``lifts`` are judgement (or borrowed from
    a test elsewhere) and the bell shape is an assumption; the ranking it
    gives is risk-based targeting in disguise. The outputs carry
    ``attrs["causal"] = False`` and the class ``causal = False``, so a
    worklist can say so. Replace it with
    :class:`~overdue_risk.prioritise.ResponseModel` as soon as a randomised
    cell has run long enough.

    Parameters
    ----------
    lifts : dict of str to float, optional
        The largest uplift in the chance of payment of each action, in
        [-1, 1]; the baseline (``"none"`` or ``"wait"``) is not an entry.
        Default :data:`DEFAULT_LIFTS` (a few points for contacts, none for
        restructuring and legal action).
    score_column : str, default="risk_score"
        The state column with the risk score (a probability of going bad).
    amount_column : str, default="overdue_amount"

    Examples
    --------
    >>> import pandas as pd
    >>> from overdue_risk.prioritise import RiskBasedValue
    >>> value = RiskBasedValue({"call": 0.10, "sms": 0.02})
    >>> state = pd.DataFrame({"risk_score": [0.5, 0.9], "overdue_amount": [200.0, 200.0]})
    >>> value.uplift(state).round(2).to_dict("list")
    {'call': [20.0, 7.2], 'sms': [4.0, 1.44]}
    >>> value.predict(state).round(2).to_dict("list")
    {'none': [100.0, 20.0], 'call': [120.0, 27.2], 'sms': [104.0, 21.44]}
    >>> value.causal
    False
    """

    causal = False
    value_source = "risk-score fallback (not causal)"

    def __init__(
        self,
        lifts: Mapping[str, float] | None = None,
        *,
        score_column: str = "risk_score",
        amount_column: str = "overdue_amount",
    ):
        self.lifts = lifts
        self.score_column = score_column
        self.amount_column = amount_column

    def _check(self) -> dict[str, float]:
        if self.lifts is None:
            return dict(DEFAULT_LIFTS)
        check_params("RiskBasedValue", {"lifts": self.lifts}, {"lifts": _LIFTS}, ModelError)
        out = {}
        for action, lift in self.lifts.items():
            if not isinstance(action, str):
                raise ModelError(f"lifts keys must be action names; got {action!r}.")
            if AS_LOGGED.get(action, action) == NO_ACTION:  # "none" or "wait"
                raise ModelError(
                    f"lifts must not hold {action!r}: the uplift is over no action, whose "
                    "uplift is 0 by definition."
                )
            out[action] = check(_LIFT, lift, key=f"lifts[{action!r}]", error=ModelError)
        return out

    def _column(self, state: pd.DataFrame, name: str) -> np.ndarray:
        if name not in state.columns:
            raise ModelError(f"state lacks the column {name!r} that RiskBasedValue reads.")
        return state[name].to_numpy(dtype=np.float64, na_value=np.nan)

    def _pay(self, state) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
        """The lifts, the chance of payment ``p`` and the bell ``4 p (1 - p)``."""
        lifts = self._check()
        if not isinstance(state, pd.DataFrame):
            raise ModelError(f"state must be a DataFrame; got {type(state).__name__}.")
        risk = self._column(state, self.score_column)
        if ((risk < 0) | (risk > 1)).any():
            raise ModelError(f"state.{self.score_column} must be probabilities in [0, 1].")
        p = 1.0 - risk
        return lifts, p, 4.0 * p * (1.0 - p)

    def pay_uplift(self, state: pd.DataFrame) -> pd.DataFrame:
        """Uplift in the chance of payment, ``lifts[a] * 4 p (1 - p)``, per action."""
        lifts, _, bell = self._pay(state)
        out = pd.DataFrame({a: lift * bell for a, lift in lifts.items()}, index=state.index)
        out.attrs["causal"] = False
        return out

    def uplift(self, state: pd.DataFrame) -> pd.DataFrame:
        """Uplift in expected recovery: :meth:`pay_uplift` times ``overdue_amount``.

        NaN where the score or the overdue amount is missing.
        """
        pay = self.pay_uplift(state)
        out = pay.mul(self._column(state, self.amount_column), axis=0)
        out.attrs["causal"] = False
        return out

    def predict(self, state: pd.DataFrame) -> pd.DataFrame:
        """Heuristic recovery levels: ``p * overdue_amount`` for ``"none"``, plus the uplift.

        The same interface as :meth:`~overdue_risk.prioritise.ResponseModel.predict`; only the
        differences from ``"none"`` (:meth:`uplift`) carry the heuristic.
        """
        up = self.uplift(state)
        _, p, _ = self._pay(state)
        base = p * self._column(state, self.amount_column)
        out = up.add(base, axis=0)
        out.insert(0, NO_ACTION, base)
        out.attrs["causal"] = False
        return out

    def __repr__(self) -> str:
        return "RiskBasedValue()" if self.lifts is None else f"RiskBasedValue({self.lifts!r})"
