"""The main job, end to end, on a portfolio folder: what ``overdue-risk demo`` runs."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import check_output_folder, check_outputs_apart
from ..contract import load_portfolio, observation_window
from ..exceptions import OverdueRiskError
from ..labels import as_target
from ._nightly import NightlyRun, run_nightly
from ._train import train_risk_model

__all__ = ["DemoResult", "run_demo"]

TARGETS = {"early_warning": "dpd30_90d", "collection": "cure_30d"}


@dataclass(frozen=True)
class DemoResult:
    """The demo's models, its nightly run, and the seconds each step took."""

    models: dict[str, Path]
    run: NightlyRun
    seconds: dict[str, float]

    def top(self, n: int = 10) -> pd.DataFrame:
        """The first ``n`` accounts of the worklist, by rank."""
        t = self.run.worklist.table()
        t = t[t["rank"].notna()].sort_values("rank").head(n)
        cols = ["rank", "action", "expected_value", "dpd", "overdue_amount", "reasons"]
        return t[cols].round({"expected_value": 2, "overdue_amount": 2})


def _training_dates(first: int, last: int, horizon: int) -> pd.DatetimeIndex:
    """Month ends from six months into the data to the last whose horizon is observed."""
    start = pd.Timestamp(np.datetime64(first + 180, "D"))
    end = pd.Timestamp(np.datetime64(last - horizon, "D"))
    return pd.date_range(start, end, freq="ME")


def run_demo(
    portfolio: str | os.PathLike = "data/sample",
    out: str | os.PathLike = "runs/demo",
    *,
    strategy="default",
) -> DemoResult:
    """Train both models on a portfolio folder and run the nightly job for its last date.

    The early-warning model (``dpd30_90d``) and the collection model
    (``cure_30d``) are trained out of time on month ends from six months into
    the data, written to ``<out>-models/early_warning`` and
    ``<out>-models/collection``; then :func:`run_nightly` writes the run folder
    ``out`` (replacing an earlier demo run) for the last day the data record.

    Parameters
    ----------
    portfolio : path, default "data/sample"
        A portfolio folder; the bundled sample from the repository's root.
    out : path, default "runs/demo"
    strategy : Strategy, profile name or TOML path, default "default"

    Returns
    -------
    DemoResult
    """
    folder = Path(portfolio)
    if not (folder / "loans.csv").exists() and not (folder / "loans.parquet").exists():
        raise OverdueRiskError(
            f"No portfolio at {os.fspath(folder)!r}: run the demo from the repository's "
            "root (the bundled sample is data/sample), or pass --portfolio."
        )
    out = Path(out)
    models = out.parent / f"{out.name}-models"
    out.parent.mkdir(parents=True, exist_ok=True)
    check_output_folder(out, overwrite=True)
    check_outputs_apart([out, models], [folder])
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    p = load_portfolio(folder)
    first, last = observation_window(p)
    seconds["read and validate"] = time.perf_counter() - t0
    paths = {}
    models.mkdir(exist_ok=True)
    for name, target in TARGETS.items():
        t0 = time.perf_counter()
        dates = _training_dates(first, last, as_target(target).horizon_days)
        paths[name] = models / name
        train_risk_model(p, dates, target, out=paths[name], overwrite=True)
        seconds[f"train {name} ({target})"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    day = pd.Timestamp(np.datetime64(last, "D"))
    run = run_nightly(
        [paths["early_warning"], paths["collection"]], folder, day, strategy, out=out, force=True
    )
    seconds["nightly run"] = time.perf_counter() - t0
    return DemoResult(paths, run, seconds)
