"""The objective's long-horizon and cost terms: the strategy's ``value`` section.

:class:`Value` is the section of a :class:`~overdue_risk.prioritise.Strategy`
that says over what window a decision is judged (``horizon_days``, up to
resolution with ``"resolution"``), how later money is discounted and when a
loan is written off (what :func:`~overdue_risk.prioritise.logged_decisions`
reads), and which costs beyond an action's own cost the objective charges:
an expected complaint cost, the harm of repeated contact, and the cost of a
court record for legal action. :func:`action_costs` turns these into each
account's expected cost per action, which
:func:`~overdue_risk.prioritise.action_values` subtracts from the uplift, so
every value model and the worklist use them.

The rules of the window keys (:data:`HORIZON`, :data:`MAX_HORIZON`,
:data:`DISCOUNT`, :data:`WRITE_OFF`) serve both the strategy file and the
keyword arguments of ``logged_decisions``: one rule, one message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._config import setting
from .._params import Interval, Invalid, Rule, suggest
from ..contract import CONTACT_ACTIONS, WAIT
from ..exceptions import OverdueRiskError

if TYPE_CHECKING:
    from ._strategy import Strategy

__all__ = [
    "DISCOUNT",
    "HORIZON",
    "MAX_HORIZON",
    "MAX_HORIZON_DAYS",
    "RESOLUTION",
    "WRITE_OFF",
    "Value",
    "action_costs",
]

# The longest window a decision is judged over, in days: two years.
MAX_HORIZON_DAYS = 730
# The horizon that ends when the loan is resolved (cured, closed or written off).
RESOLUTION = "resolution"


@dataclass(frozen=True)
class _Horizon(Rule):
    """A number of days from 1 to :data:`MAX_HORIZON_DAYS`, or ``"resolution"``."""

    def describe(self) -> str:
        return "an int >= 1"

    def clean(self, value: Any) -> Any:
        hint = f": a number of days up to {MAX_HORIZON_DAYS}, or '{RESOLUTION}'."
        if isinstance(value, str):
            if value.strip() == RESOLUTION:
                return RESOLUTION
            raise Invalid(suggest(value, [RESOLUTION]) or hint)
        whole = isinstance(value, int | np.integer) or (
            isinstance(value, float) and value.is_integer()  # 90.0 in a file is 90
        )
        if isinstance(value, bool) or not whole or not 1 <= value <= MAX_HORIZON_DAYS:
            raise Invalid(hint)
        return int(value)


@dataclass(frozen=True)
class _Threshold(Rule):
    """A whole number >= 1, or ``inf`` for never."""

    def describe(self) -> str:
        return "an integer >= 1, or inf for never"

    def clean(self, value: Any) -> Any:
        real = isinstance(value, int | float | np.integer | np.floating)
        if isinstance(value, bool) or not real:
            raise Invalid
        if value == math.inf:
            return math.inf
        if not (math.isfinite(value) and float(value).is_integer() and value >= 1):
            raise Invalid
        return int(value)


HORIZON = _Horizon()
MAX_HORIZON = Interval(int, 1, MAX_HORIZON_DAYS, whole_floats=True)
DISCOUNT = Interval(float, 0, 1)
WRITE_OFF = _Threshold()
_AMOUNT = Interval(float, 0)


@dataclass(frozen=True)
class Value:
    """How a decision is valued: its window, discounting, write-off, and the costs beyond
    the action's own.

    ``horizon_days`` (30 by default; up to 730, or ``"resolution"``), ``max_horizon_days``
    (the cap of a resolution window), ``discount_rate`` (annual) and ``write_off_dpd``
    (``inf``: never) are what :func:`learn_value_model` passes to
    :func:`logged_decisions` with this strategy. ``complaint_cost`` (money per complaint,
    times each action's ``complaint_probability``), ``contact_harm`` (per contact attempt,
    growing with the week's attempts beyond ``free_contacts_7d``) and
    ``credit_record_cost`` (legal action's court record) are costs the objective charges
    on top of each action's ``cost`` (:func:`action_costs`). Every default leaves the
    objective as it is without them.
    """

    horizon_days: int | str = setting(30, HORIZON)
    max_horizon_days: int = setting(365, MAX_HORIZON)
    discount_rate: float = setting(0.0, DISCOUNT)
    write_off_dpd: float = setting(math.inf, WRITE_OFF)
    complaint_cost: float = setting(0.0, _AMOUNT)
    contact_harm: float = setting(0.0, _AMOUNT)
    free_contacts_7d: int = setting(0, Interval(int, 0, whole_floats=True))
    credit_record_cost: float = setting(0.0, _AMOUNT)


def action_costs(strategy: Strategy, state: pd.DataFrame, actions: tuple[str, ...]) -> np.ndarray:
    """Each account's expected cost of each action: what the objective charges for it.

    For a treatment ``a`` on an account with ``contacts_7d`` contact attempts
    (SMS, calls, visits and letters: every channel, whatever the caps count) in
    the 7 days ending today::

        cost(a) = actions.a.cost
                + actions.a.complaint_probability * value.complaint_cost
                + value.contact_harm * max(0, contacts_7d + 1 - value.free_contacts_7d)
                                                      (contact actions: sms, call, visit, letter)
                + value.credit_record_cost            (legal action)

    Waiting costs 0 here: its value is 0 by definition.

    Parameters
    ----------
    strategy : Strategy
    state : DataFrame
        One row per account (:func:`account_state`, or rows of
        :func:`logged_decisions`); ``contacts_7d`` is read only when
        ``value.contact_harm`` is above 0.
    actions : tuple of str
        The columns of the result, in order.

    Returns
    -------
    ndarray of shape (accounts, actions)

    Examples
    --------
    >>> import pandas as pd
    >>> from overdue_risk import Strategy
    >>> from overdue_risk.prioritise._objective import action_costs
    >>> s = Strategy().replace(value={"contact_harm": 2.0, "free_contacts_7d": 1})
    >>> action_costs(s, pd.DataFrame({"contacts_7d": [0, 3]}), ("call", "legal", "wait"))
    array([[  1.5, 150. ,   0. ],
           [  7.5, 150. ,   0. ]])
    """
    value = strategy.value
    n = len(state)
    out = np.zeros((n, len(actions)))
    harm = None
    if value.contact_harm > 0 and any(a in CONTACT_ACTIONS for a in actions):
        if "contacts_7d" not in state.columns:
            raise OverdueRiskError(
                "state has no contacts_7d column, which value.contact_harm > 0 needs "
                "(account_state and logged_decisions give it)."
            )
        attempts = state["contacts_7d"].to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isnan(attempts).any():
            raise OverdueRiskError("state.contacts_7d has missing values.")
        harm = value.contact_harm * np.maximum(attempts + 1 - value.free_contacts_7d, 0.0)
    for j, a in enumerate(actions):
        if a == WAIT:
            continue
        spec = getattr(strategy.actions, a)
        # Terms that are 0 are left out, so that the defaults give the action's cost exactly.
        fixed = spec.cost
        if spec.complaint_probability and value.complaint_cost:
            fixed += spec.complaint_probability * value.complaint_cost
        if a == "legal" and value.credit_record_cost:
            fixed += value.credit_record_cost
        out[:, j] = fixed
        if harm is not None and a in CONTACT_ACTIONS:
            out[:, j] += harm
    return out
