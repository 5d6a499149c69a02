"""The :class:`Worklist`: today's actions, one row per overdue account, and why."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from ..contract import WAIT
from ._allocate import Allocation
from ._rules import Eligibility
from ._strategy import Strategy

__all__ = ["UNTREATED", "Worklist"]

# Why an account gets no action: the first that applies.
UNTREATED = ("no_eligible_action", "no_value_estimate", "not_worth_its_cost", "capacity")


@dataclass(frozen=True, eq=False)
class Worklist:
    """Today's actions, one row per overdue account, with the reasons behind them.

    Attributes
    ----------
    as_of : Timestamp
    strategy : Strategy
    causal : bool
        False when the values come from the risk-score fallback rather than
        an uplift model learned from randomised actions.
    allocation : Allocation
        The solver's result (objective, dual bound, gap, shadow prices).
    eligibility : Eligibility
    book : int
        The loans open at ``as_of`` (started on or before it, not closed),
        overdue or not: the base of every ``capacity_per_10k``.
    warnings : tuple of str
        What the run warned about (also logged): every capacity unlimited.
    """

    as_of: pd.Timestamp
    strategy: Strategy
    causal: bool
    allocation: Allocation
    eligibility: Eligibility
    _table: pd.DataFrame = field(repr=False)
    book: int
    warnings: tuple[str, ...]
    _actions: pd.DataFrame = field(repr=False)

    @property
    def capacities(self) -> dict[str, float]:
        """The day's capacity of each enabled action: ``strategy.capacities(book)``."""
        return self.strategy.capacities(self.book)

    def table(self) -> pd.DataFrame:
        """One row per overdue account, the treated ones first by expected value.

        Accounts of equal value, and the untreated, follow in ``loan_id`` order.
        Columns: ``rank`` (1 = most valuable; empty when untreated), ``action``,
        ``contact_start`` and ``contact_end`` (the strategy's contact window,
        ``HH:MM`` in the customer's local time, on the rows whose action
        reaches the customer through a channel; empty elsewhere),
        ``expected_value`` (expected extra recovery within the horizon minus
        the action's expected cost, against waiting: ``expected_recovery -
        cost``), ``expected_recovery``, ``cost`` (the action's cost plus,
        from the strategy's ``value`` section, its expected complaint cost,
        the over-contact harm and legal action's court-record cost),
        ``risk_score``, ``dpd``, ``overdue_amount``, ``reasons`` (the risk
        model's top reasons, when the scores carry them), ``untreated_because``
        and ``blocked`` (the contact or eligibility rule that blocked each
        other action), ``value_source``.
        """
        return self._table.copy()

    def actions(self) -> pd.DataFrame:
        """One row per action of the vocabulary: how far it got, and why it got no account.

        Columns: ``enabled``; ``capacity`` (the day's, :attr:`capacities`);
        ``eligible`` (accounts the rules allow it), ``valued`` (those the value
        model gives it a value), ``positive_value`` (those whose net value is
        above 0) and ``chosen`` (accounts given it); ``unused_because``, empty
        when it was chosen, else the first that applies of: ``disabled``,
        ``rules`` (no account eligible under the contact rules and thresholds),
        ``no_estimate`` (the value model values it for no eligible account),
        ``not_worth_cost`` (its net value is never above 0, or never above the
        account's other options), ``capacity`` (a capacity of 0, with accounts
        worth giving it).
        """
        return self._actions.copy()

    def summary(self) -> pd.DataFrame:
        """Per action: capacity, accounts given it, capacity used, expected recovery,
        cost and net value; then one row per reason accounts were left untreated.

        ``cost`` is the expected cost the objective charged (:meth:`table`'s
        ``cost``: the actions' costs plus the complaint, over-contact and
        court-record costs of the strategy's ``value`` section), and
        ``expected_value`` is ``expected_recovery - cost``.

        ``attrs`` hold the method, objective, upper bound, gap, whether the
        values are causal, the ``book`` and the run's ``warnings``.
        """
        t = self._table
        caps = self.capacities
        rows = []
        for a in self.eligibility.actions:
            if a == WAIT:
                continue
            got = t["action"] == a
            cap = caps[a]
            n = int(got.sum())
            rows.append(
                {
                    "item": a,
                    "capacity": cap,
                    "accounts": n,
                    "capacity_used": n / cap if math.isfinite(cap) and cap > 0 else math.nan,
                    "expected_recovery": float(t.loc[got, "expected_recovery"].sum()),
                    "cost": float(t.loc[got, "cost"].sum()),
                    "expected_value": float(t.loc[got, "expected_value"].sum()),
                }
            )
        for reason in UNTREATED:
            n = int((t["untreated_because"] == reason).sum())
            rows.append({"item": f"untreated: {reason}", "accounts": n})
        out = pd.DataFrame(rows).set_index("item")
        out.attrs.update(
            {
                "method": self.allocation.method,
                "gap": self.allocation.gap,
                "objective": self.allocation.objective,
                "upper_bound": self.allocation.upper_bound,
                "causal": self.causal,
                "book": self.book,
                "warnings": list(self.warnings),
            }
        )
        return out

    def __repr__(self) -> str:
        t = self._table
        treated = int((t["action"] != WAIT).sum())
        return (
            f"Worklist({self.as_of.date()}, {len(t):,} overdue accounts, {treated:,} treated, "
            f"expected value {self.allocation.objective:,.2f}, gap {self.allocation.gap:.2%}"
            f"{'' if self.causal else ', NON-CAUSAL values'})"
        )
