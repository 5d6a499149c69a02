"""Which model scores which account: the early-warning and the collection populations.

Collections practice scores two populations with two models. Accounts not in
arrears get the early-warning score (a :class:`~overdue_risk.labels.DpdTarget`
model: will the loan reach DPD 30 within 90 days?); accounts in arrears get the
collection score (a :class:`~overdue_risk.labels.CureTarget` model, trained on
delinquent accounts only: will it cure?). A model is never applied outside the
DPD range its training rows covered: that is an error, not a silent score.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..exceptions import ModelError
from ..labels import CureTarget, DpdTarget, as_target
from ..model import RiskModel

__all__ = ["EARLY_WARNING", "IN_ARREARS", "Population", "populations", "route"]

EARLY_WARNING = "not_in_arrears"
IN_ARREARS = "in_arrears"


@dataclass(frozen=True)
class Population:
    """A model and the accounts it scores: those at ``dpd_min <= DPD <= dpd_max`` that no
    earlier population took.

    ``trained`` is the DPD range the model's training rows covered (its target's
    eligibility); the range scored lies within it.
    """

    name: str
    model: RiskModel
    label: str  # how the model is named in outputs: its source path or its target's name
    target: str
    dpd_min: int
    dpd_max: float
    trained: tuple[int, float]


def _trained_range(model: RiskModel, label: str) -> tuple[str, tuple[int, float]]:
    """The target's kind and the DPD range of the rows it trains on."""
    if model.target is None:
        raise ModelError(
            f"Model {label} records no target, so the accounts it may score are unknown; "
            "train it with train_risk_model (overdue-risk train --target ...)."
        )
    target = as_target(model.target)
    if isinstance(target, CureTarget):
        return "cure", (1, math.inf)
    if isinstance(target, DpdTarget):
        top = target.threshold - 1 if target.exclude_at_threshold else math.inf
        return "dpd", (0, top)
    raise ModelError(f"Model {label} has a target of an unknown kind: {target!r}.")


def populations(models: Sequence[RiskModel], labels: Sequence[str]) -> list[Population]:
    """The populations of a nightly run's models, checked before any data is read.

    One early-warning model (a DPD target) scores the accounts not in arrears
    (DPD 0), and with no collection model also those in arrears its training
    covered (DPD below its threshold). One collection model (a cure target)
    scores every account in arrears (DPD >= 1).

    Raises
    ------
    ModelError
        Two models of the same kind, a model without a target, or more than two.
    """
    if not 1 <= len(models) <= 2:
        raise ModelError(
            f"A nightly run takes one or two models (early warning, collection); got {len(models)}."
        )
    kinds: dict[str, tuple[RiskModel, str, str, tuple[int, float]]] = {}
    for model, label in zip(models, labels, strict=True):
        kind, trained = _trained_range(model, label)
        if kind in kinds:
            what = "a cure target" if kind == "cure" else "a DPD target"
            raise ModelError(
                f"Models {kinds[kind][1]} and {label} both have {what}: a nightly run takes "
                "one early-warning model (a DPD target, for the accounts not in arrears) and "
                "one collection model (a cure target, for the accounts in arrears)."
            )
        kinds[kind] = (model, label, as_target(model.target).name, trained)
    out = []
    if "dpd" in kinds:
        model, label, name, trained = kinds["dpd"]
        top = 0 if "cure" in kinds else trained[1]
        out.append(Population(EARLY_WARNING, model, label, name, 0, top, trained))
    if "cure" in kinds:
        model, label, name, trained = kinds["cure"]
        out.append(Population(IN_ARREARS, model, label, name, 1, math.inf, trained))
    return out


def route(dpd: np.ndarray, pops: Sequence[Population]) -> np.ndarray:
    """Each account's population (its index in ``pops``), or -1 when no model covers it."""
    which = np.full(len(dpd), -1, dtype=np.int64)
    for i, p in enumerate(pops):
        mine = (which < 0) & (dpd >= p.dpd_min) & (dpd <= p.dpd_max)
        which[mine] = i
    return which
