"""The lender's treatment ladder: the harshest rung an account's arrears call for, in a
priority order.

:class:`LadderRule` is the champion strategy of most collections departments, written
as a value model: by days past due (and balance, for field visits) each overdue account
sits on a rung of the ladder legal > restructure > visit > call > SMS; each action's
capacity is filled harshest rung first, by the accounts of highest priority (DPD,
balance, overdue amount or expected loss) that may still take it. An account whose rung
is full or barred to it falls to the next rung down.

Its values are scores, not money: they order the pairs (account, rung) exactly as the
ladder takes them, and the greedy allocation (``method="greedy"`` of
:func:`~overdue_risk.prioritise.allocate`), which takes pairs by decreasing value while
there is room, is then the ladder's fill. An exact optimiser of the same scores
(``method="lp"``) can differ: it gives a rung to a lower-priority account when that
frees a higher-priority one for another rung (see :class:`LadderRule`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._params import Interval, Options, Satisfies, check, check_params
from ..contract import NO_ACTION
from ..exceptions import ModelError

__all__ = ["LADDER", "LADDER_MIN_BALANCE", "LADDER_THRESHOLDS", "LadderRule"]

# Harshest first: the lender's treatment ladder.
LADDER = ("legal", "restructure", "visit", "call", "sms")
# The least DPD from which each rung is an account's harshest, and the least balance
# a field visit needs: the simulator's champion rules (``Scenario().collections``:
# call_from, visit_from, restructure_at, legal_from, visit_min_balance; a test pins
# them). Every overdue account is at least on the SMS rung.
LADDER_THRESHOLDS = {"legal": 90, "restructure": 60, "visit": 30, "call": 5, "sms": 0}
LADDER_MIN_BALANCE = {"visit": 1500.0}
PRIORITIES = ("dpd", "balance", "overdue_amount", "expected_loss")
# A rung's scores are weight x (_SPAN + rank), the weight 5 (legal) to 1 (SMS), the rank
# 1 to the number of accounts. _SPAN exceeds 4 x accounts + the largest action cost (for
# up to 10**10 accounts and costs below 10**11), so no cost moves a pair across rungs,
# and every score is a whole number below 2**53: exact in float64, in steps of at least
# 1 that subtracting a cost cannot merge.
_SPAN = 1e12
_THRESHOLD = [Interval(float, 0), Satisfies(lambda v: v == math.inf, "inf")]
_PARAMS = {
    "priority": Options(PRIORITIES),
    "thresholds": Satisfies(
        lambda v: v is None or isinstance(v, Mapping), "None or a dict of rung to least DPD"
    ),
    "min_balance": Satisfies(
        lambda v: v is None or isinstance(v, Mapping), "None or a dict of rung to least balance"
    ),
}


class LadderRule:
    """The treatment ladder: harshest rung first, then highest priority first.

    Each account's *rung* is the harshest of :data:`LADDER` (legal, restructure,
    visit, call, SMS) whose least DPD it has reached (and, for a rung in
    ``min_balance``, whose least balance it holds). It may take that rung or any
    milder one. Allocated greedily (``method="greedy"``), capacity goes rung by
    rung, harshest first, each rung to the accounts of highest ``priority`` not
    yet given an action and eligible for it, up to its capacity: exactly
    :func:`overdue_risk.policy_eval.heuristic_actions`. Actions off the ladder
    (letters) get no value and are never chosen.

    Parameters
    ----------
    priority : {"dpd", "balance", "overdue_amount", "expected_loss"}, default="dpd"
        The order within a rung, highest first; ties go to the earlier account,
        and a missing value ranks last. ``"expected_loss"`` is risk score ×
        balance (the state's ``risk_score`` column, which :func:`prioritise`
        adds). A missing balance counts as 0.
    thresholds : dict of str to float, optional
        Per rung, the least DPD from which it is an account's harshest; rungs
        not named keep :data:`LADDER_THRESHOLDS` (legal 90, restructure 60,
        visit 30, call 5, SMS 0), ``inf`` takes a rung off the ladder.
    min_balance : dict of str to float, optional
        Per rung, the least balance it also needs; rungs not named keep
        :data:`LADDER_MIN_BALANCE` (visit 1,500).

    Attributes
    ----------
    causal : bool
        Always False: the ladder is a rule, not an estimate of uplift.
    allocation_method : str
        ``"greedy"``: the allocation that makes these scores the ladder; pass
        it to :func:`prioritise` (``method=rule.allocation_method``) or
        :func:`allocate`.

    Notes
    -----
    The value of rung ``r`` (weight 5 for legal down to 1 for SMS) for an
    account of priority rank ``k`` (``n`` for the first of ``n`` accounts in
    priority order, 1 for the last) is ``weight(r) × (10**12 + k)``; rungs
    harsher than the account's are not valued. Every pair of a harsher rung
    is worth more than every pair of a milder one, whatever the actions' costs
    (below 10**11), and within a rung the first in priority order is worth
    most. The greedy allocation takes pairs in that order, as the ladder does.

    An exact optimiser (``method="lp"``) maximises the sum of the scores
    instead, and that can differ from the ladder when the rules bar some
    account from a milder rung than one it may take: with one visit and one
    call, account A (higher priority) eligible for both and B for visits
    only, the ladder visits A and leaves the call unused, while the sum is
    larger with B visited and A called. No scores make the two agree in
    general short of spreading them over about ``accounts ** 4``, beyond the
    precision of any solver.

    Examples
    --------
    >>> import pandas as pd
    >>> state = pd.DataFrame({"dpd": [3, 40, 40, 95], "balance": [800.0, 900.0, 2e3, 1e3]})
    >>> rule = LadderRule(priority="balance")
    >>> [LADDER[i] for i in rule.levels(state)]
    ['sms', 'call', 'visit', 'legal']
    >>> rule.uplift(state).notna().sum().to_dict()
    {'legal': 1, 'restructure': 1, 'visit': 2, 'call': 3, 'sms': 4}
    >>> rule.value_source
    'ladder rule by balance (not causal)'
    """

    allocation_method = "greedy"

    def __init__(
        self,
        priority: str = "dpd",
        *,
        thresholds: Mapping[str, float] | None = None,
        min_balance: Mapping[str, float] | None = None,
    ):
        self.priority = priority
        self.thresholds = thresholds
        self.min_balance = min_balance

    @classmethod
    def from_collections(cls, collections, *, priority: str = "dpd") -> LadderRule:
        """The ladder of a simulator scenario's champion rules.

        Parameters
        ----------
        collections : object
            With the attributes ``call_from``, ``visit_from``,
            ``visit_min_balance``, ``restructure_at`` and ``legal_from``, as
            ``Scenario().collections`` has them.
        priority : str, default="dpd"

        Returns
        -------
        LadderRule
        """
        names = {
            "legal": "legal_from",
            "restructure": "restructure_at",
            "visit": "visit_from",
            "call": "call_from",
        }
        missing = [a for a in (*names.values(), "visit_min_balance") if not hasattr(collections, a)]
        if missing:
            raise ModelError(
                f"LadderRule.from_collections reads the champion rules' thresholds; "
                f"{type(collections).__name__} lacks {', '.join(missing)}."
            )
        return cls(
            priority,
            thresholds={rung: getattr(collections, a) for rung, a in names.items()},
            min_balance={"visit": collections.visit_min_balance},
        )

    @property
    def causal(self) -> bool:
        return False

    @property
    def value_source(self) -> str:
        """How a worklist names these values."""
        return f"ladder rule by {self.priority} (not causal)"

    def _rungs(self) -> tuple[dict[str, float], dict[str, float]]:
        """The checked least DPD and least balance of every rung (defaults filled in)."""
        check_params("LadderRule", vars(self), _PARAMS, ModelError)
        out = []
        for name, given, default in (
            ("thresholds", self.thresholds, LADDER_THRESHOLDS),
            ("min_balance", self.min_balance, LADDER_MIN_BALANCE),
        ):
            merged = {rung: float(default.get(rung, 0.0)) for rung in LADDER}
            for rung, value in (given or {}).items():
                if rung not in LADDER:
                    raise ModelError(
                        f"{name} keys must be rungs of the ladder ({', '.join(LADDER)}); "
                        f"got {rung!r}."
                    )
                merged[rung] = float(
                    check(_THRESHOLD, value, key=f"{name}[{rung!r}]", error=ModelError)
                )
            out.append(merged)
        return out[0], out[1]

    def _column(self, state: pd.DataFrame, column: str, why: str) -> np.ndarray:
        if column not in state.columns:
            raise ModelError(
                f"LadderRule reads the state's column {column!r} ({why}); it is missing."
            )
        return state[column].to_numpy(dtype=np.float64, na_value=np.nan)

    def levels(self, state: pd.DataFrame) -> np.ndarray:
        """Each account's harshest rung, an index into :data:`LADDER`.

        ``len(LADDER)`` for an account below every rung. A missing DPD or
        balance counts as 0.
        """
        if not isinstance(state, pd.DataFrame):
            raise ModelError(f"state must be a DataFrame; got {type(state).__name__}.")
        least_dpd, least_balance = self._rungs()
        dpd = np.nan_to_num(self._column(state, "dpd", "the ladder's thresholds"), nan=0.0)
        balance = np.zeros(len(state))
        if any(v > 0 for v in least_balance.values()):
            balance = self._column(state, "balance", "the rungs' least balance")
            balance = np.nan_to_num(balance, nan=0.0)
        level = np.full(len(state), len(LADDER))
        for r in reversed(range(len(LADDER))):  # mildest first: harsher rungs overwrite
            reached = dpd >= least_dpd[LADDER[r]]
            if least_balance[LADDER[r]] > 0:
                reached &= balance >= least_balance[LADDER[r]]
            level = np.where(reached, r, level)
        return level

    def _priority(self, state: pd.DataFrame) -> np.ndarray:
        if self.priority == "dpd":
            return self._column(state, "dpd", "priority='dpd'")
        if self.priority == "overdue_amount":
            return self._column(state, "overdue_amount", "priority='overdue_amount'")
        balance = self._column(state, "balance", f"priority={self.priority!r}")
        balance = np.nan_to_num(balance, nan=0.0)
        if self.priority == "balance":
            return balance
        why = "priority='expected_loss' is risk score x balance"
        return self._column(state, "risk_score", why) * balance

    def uplift(self, state: pd.DataFrame) -> pd.DataFrame:
        """Each rung's score per account; NaN on the rungs harsher than the account's."""
        level = self.levels(state)
        n = len(state)
        priority = self._priority(state)
        missing = np.isnan(priority)
        # Rank n for the first account in priority order (highest; ties: the earlier
        # row; missing values last), 1 for the last.
        order = np.lexsort((np.arange(n), -np.where(missing, 0.0, priority), missing))
        rank = np.empty(n)
        rank[order] = np.arange(n, 0, -1, dtype=np.float64)
        rungs = np.arange(len(LADDER))
        weight = (len(LADDER) - rungs).astype(np.float64)
        score = weight[None, :] * (_SPAN + rank[:, None])
        score = np.where(rungs[None, :] >= level[:, None], score, np.nan)
        out = pd.DataFrame(score, index=state.index, columns=list(LADDER))
        out.attrs["causal"] = False
        return out

    def predict(self, state: pd.DataFrame) -> pd.DataFrame:
        """The scores as levels: 0 for ``"none"``, each rung's score for its action."""
        out = self.uplift(state)
        out.insert(0, NO_ACTION, 0.0)
        out.attrs["causal"] = False
        return out

    def table(self) -> pd.DataFrame:
        """One row per rung, harshest first: its least DPD and least balance, and the
        weight of its scores."""
        least_dpd, least_balance = self._rungs()
        return pd.DataFrame(
            {
                "rung": list(LADDER),
                "min_dpd": [least_dpd[r] for r in LADDER],
                "min_balance": [least_balance[r] for r in LADDER],
                "weight": [len(LADDER) - r for r in range(len(LADDER))],
            }
        )

    def summary(self) -> str:
        """The ladder in words: each rung's thresholds, and the order within a rung."""
        least_dpd, least_balance = self._rungs()
        parts = []
        for rung in LADDER:
            if least_dpd[rung] == math.inf or least_balance[rung] == math.inf:
                parts.append(f"{rung} never")
                continue
            text = f"{rung} from {least_dpd[rung]:g} DPD"
            if least_balance[rung] > 0:
                text += f" with a balance of at least {least_balance[rung]:,.0f}"
            parts.append(text)
        return (
            f"LadderRule by {self.priority} (not causal): {'; '.join(parts)}. Capacity goes "
            f"harshest rung first, highest {self.priority} first within a rung; an account "
            "takes its harshest rung or, when that is full or barred, a milder one."
        )

    def __repr__(self) -> str:
        args = [repr(self.priority)]
        for name in ("thresholds", "min_balance"):
            if getattr(self, name) is not None:
                args.append(f"{name}={getattr(self, name)!r}")
        return f"LadderRule({', '.join(args)})"
