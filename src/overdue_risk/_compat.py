"""Optional dependencies, imported lazily in one place."""

from __future__ import annotations

from types import ModuleType

from .exceptions import OverdueRiskError


def pyplot() -> ModuleType:
    """matplotlib.pyplot, with an install hint when it is missing."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
        raise OverdueRiskError("Plotting needs matplotlib: pip install matplotlib") from exc
    return plt


def optuna() -> ModuleType:
    """optuna (optional: ``tune_risk_model(search="optuna")``), with an install hint."""
    try:
        import optuna
    except ImportError as exc:
        raise OverdueRiskError(
            "search='optuna' needs optuna, an optional dependency: pip install optuna"
        ) from exc
    return optuna
