"""A nightly run's folder: its files, its manifest, its report, published atomically.

The data files hold no time of day: the same inputs and models give the same
bytes. Run times live only in ``manifest.json``'s ``timings`` block.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import logging
import math
import os
import platform
import resource
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import replace_folder
from ..adapters import publish
from ..evaluation import psi

__all__ = ["MONEY", "Stages", "publish_run", "worklist_csv"]

logger = logging.getLogger("overdue_risk.workflows.nightly")

# Worklist columns in money: two decimals in the CSV the dialler and field teams read.
MONEY = ("expected_value", "expected_recovery", "cost", "overdue_amount")
PSI_WARN = 0.25
_PACKAGES = ("overdue-risk", "numpy", "pandas", "scikit-learn", "lightgbm", "pyarrow", "scipy")


class Stages:
    """Wall and CPU seconds per stage (this process and its finished workers), and the
    peak resident memory at the stage's end."""

    def __init__(self) -> None:
        self.seconds: dict[str, dict[str, float]] = {}

    def add_workers(self, name: str, cpu_s: float, peak_rss_mb: float) -> None:
        """CPU seconds and peak RSS that a stage's worker processes reported themselves
        (workers kept alive for reuse are not yet counted by the system's clocks)."""
        t = self.seconds[name]
        t["cpu_s"] = round(t["cpu_s"] + cpu_s, 3)
        t["workers_peak_rss_mb"] = round(max(t["workers_peak_rss_mb"], peak_rss_mb), 1)

    def record(self, name: str, seconds: float) -> None:
        """A part of a stage timed apart (wall seconds, summed over its chunks)."""
        logger.info("%s: %.1f s", name, seconds)
        self.seconds[name] = {"wall_s": round(seconds, 3)}

    @contextmanager
    def __call__(self, name: str):
        wall, cpu, kids = time.perf_counter(), time.process_time(), _children()
        try:
            yield
        finally:
            t = {
                "wall_s": round(time.perf_counter() - wall, 3),
                "cpu_s": round(time.process_time() - cpu + _children() - kids, 3),
                # The peak resident memory so far (this process; workers apart).
                "peak_rss_mb": round(_peak_mb(resource.RUSAGE_SELF), 1),
                "workers_peak_rss_mb": round(_peak_mb(resource.RUSAGE_CHILDREN), 1),
            }
            logger.info(
                "%s: %.1f s wall, %.1f s CPU, peak RSS %.0f MB",
                name,
                t["wall_s"],
                t["cpu_s"],
                t["peak_rss_mb"],
            )
            self.seconds[name] = t


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # kilobytes on Linux


def _children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _inputs(source, given, strategy) -> dict:
    """What the run read, with hashes: the portfolio's files or tables, the models'
    manifests, the strategy."""
    portfolio = {
        "kind": source.kind,
        "inputs": source.inputs(),
        "fingerprint": source.fingerprint(),
    }
    models = []
    for m in given:
        if isinstance(m, str | os.PathLike):
            seal = Path(m) / "manifest.sha256"
            models.append(
                {
                    "path": os.fspath(m),
                    "manifest_sha256": seal.read_text().split()[0] if seal.is_file() else None,
                }
            )
        else:
            models.append({"path": None, "manifest_sha256": None})
    text = strategy.to_toml() if hasattr(strategy, "to_toml") else repr(strategy)
    return {
        "portfolio": portfolio,
        "models": models,
        "strategy": {"name": strategy.name, "sha256": hashlib.sha256(text.encode()).hexdigest()},
    }


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _score_drift(scores: pd.DataFrame, pops) -> list[dict]:
    """Per population: score quantiles, and the PSI against the model's training sample."""
    rows = []
    for p in pops:
        s = scores.loc[scores["population"] == p.name, "score"].to_numpy(np.float64)
        reference = getattr(p.model, "reference_scores_", None)
        value = psi(reference, s) if (reference and len(s)) else math.nan
        q = np.quantile(s, [0.1, 0.5, 0.9]) if len(s) else [math.nan] * 3
        rows.append(
            {
                "population": p.name,
                "model": p.label,
                "target": p.target,
                "loans": len(s),
                "mean_score": float(s.mean()) if len(s) else None,
                "p10": float(q[0]),
                "median": float(q[1]),
                "p90": float(q[2]),
                "score_psi": None if math.isnan(value) else round(value, 4),
                "psi_warning": bool(value >= PSI_WARN) if not math.isnan(value) else False,
            }
        )
    return rows


def _by_action(worklist) -> list[dict]:
    summary = worklist.summary()
    prices = dict(
        zip(
            [a for a in worklist.eligibility.actions if a != "wait"],
            worklist.allocation.prices.tolist(),
            strict=False,
        )
    )
    rows = []
    for item, r in summary.iterrows():
        if str(item).startswith("untreated: "):
            continue
        rows.append(
            {
                "action": item,
                "capacity": None if not math.isfinite(r["capacity"]) else int(r["capacity"]),
                "accounts": int(r["accounts"]),
                "capacity_used": None if math.isnan(r["capacity_used"]) else r["capacity_used"],
                "expected_value": round(float(r["expected_value"]), 2),
                "shadow_price": round(float(prices.get(item, math.nan)), 4)
                if item in prices
                else None,
            }
        )
    return rows


def worklist_csv(table: pd.DataFrame) -> bytes:
    """The worklist for the dialler and the field teams: money to the cent."""
    flat = table.reset_index()
    for c in MONEY:
        if c in flat.columns:
            flat[c] = flat[c].round(2)
    if "risk_score" in flat.columns:
        flat["risk_score"] = flat["risk_score"].round(6)
    return flat.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=True)
    return buf.getvalue()


def _json(data: dict) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=False, default=_plain) + "\n").encode("utf-8")


def _plain(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, pd.Timestamp):
        return str(value.date())
    raise TypeError(f"not JSON: {type(value).__name__}")


def _to_database(url: str, scores: pd.DataFrame, table: pd.DataFrame, summary: dict) -> None:
    """The run's tables in a database, in one transaction."""
    flat = {
        k: json.dumps(v, default=_plain) if isinstance(v, dict | list) else v
        for k, v in summary.items()
    }
    publish(url, {"scores": scores, "worklist": table, "run_summary": pd.DataFrame([flat])})


def _pseudo_sample(ref: dict, n: int = 2000) -> pd.Series:
    """A sample with a reference's distribution: its quantiles (or its categories'
    shares), and its share of missing values."""
    missing = round(n * float(ref["missing"]))
    if "quantiles" in ref:
        q = np.asarray(ref["quantiles"], dtype=np.float64)
        values = np.interp(np.linspace(0, 1, n - missing), np.linspace(0, 1, q.size), q)
        return pd.Series(np.r_[values, np.full(missing, np.nan)])
    shares = ref["shares"]
    counts = {k: round((n - missing) * float(v)) for k, v in shares.items()}
    values = [k for k, c in counts.items() for _ in range(c)]
    return pd.Series([*values, *([None] * missing)], dtype=object)


def _feature_drift(watched: pd.DataFrame, pops) -> list[dict]:
    """PSI of each watched feature against the model's test slice, largest first."""
    rows = []
    for p in pops:
        refs = (getattr(p.model, "reference_features_", None) or {}).get(p.name, {})
        mine = watched[watched["population"] == p.name]
        if not len(mine):
            continue
        for name, ref in refs.items():
            if name not in mine.columns:
                continue
            current = mine[name]
            if "shares" in ref:
                current = (
                    current.astype(object)
                    .where(current.notna(), None)
                    .map(lambda v: v if v is None else str(v))
                )
            else:
                current = pd.to_numeric(current, errors="coerce").astype(np.float64)
            value = psi(_pseudo_sample(ref), current)
            rows.append(
                {
                    "population": p.name,
                    "feature": name,
                    "psi": round(value, 4),
                    "psi_warning": bool(value >= PSI_WARN),
                }
            )
    return sorted(rows, key=lambda r: (-r["psi"], r["population"], r["feature"]))


def publish_run(
    out,
    source,
    given,
    pops,
    strategy,
    scores,
    worklist,
    manifest,
    stages,
    url,
    watched=None,
    rejected=None,
    *,
    write_scores=None,
):
    """Write the run folder (when ``out``), and return the manifest with its summary.

    ``write_scores(folder)``, when given, writes ``scores.parquet`` itself into the
    run's temporary folder (``scores`` then holds what the summary and the report read)
    and returns the sha256 of each file it wrote, by path relative to the folder.
    """
    table = worklist.table()
    summary = {
        "as_of": manifest["as_of"],
        "rows": manifest["rows"],
        "populations": _score_drift(scores, pops),
        "feature_drift": [] if watched is None else _feature_drift(watched, pops),
        "worklist": _by_action(worklist),
        "value_source": str(table["value_source"].iloc[0]) if len(table) else None,
        "causal": bool(worklist.causal),
    }
    manifest = {
        **manifest,
        "inputs": _inputs(source, given, strategy),
        "outputs": [
            "scores.parquet",
            "worklist.parquet",
            "worklist.csv",
            "summary.json",
            "report.html",
            *(["rejected.parquet"] if rejected is not None else []),
        ],
        "versions": _versions(),
        "summary": summary,
    }
    if out is None:
        if url is not None:
            with stages("publish"):
                _to_database(url, scores, table, summary)
        manifest["timings"] = stages.seconds
        return manifest
    with stages("render"):
        files = {
            **({} if write_scores is not None else {"scores.parquet": _parquet(scores)}),
            "worklist.parquet": _parquet(table),
            "worklist.csv": worklist_csv(table),
            "summary.json": _json(summary),
            "report.html": _report(summary, scores, pops, worklist).encode("utf-8"),
        }
        if rejected is not None:
            files["rejected.parquet"] = _parquet(rejected)

        def fill(tmp: Path) -> None:
            written = {} if write_scores is None else write_scores(tmp)
            for name, data in files.items():
                (tmp / name).write_bytes(data)
            if url is not None:  # committed before the folder moves into place
                _to_database(url, scores, table, summary)
            # Last, with the hashes of the files beside it: a manifest means a whole run.
            manifest["files"] = {
                **written,
                **{name: hashlib.sha256(d).hexdigest() for name, d in files.items()},
            }
            manifest["timings"] = stages.seconds
            (tmp / "manifest.json").write_bytes(_json(manifest))

    # The move into place is not in the manifest's timings: they are written before it.
    with stages("publish"):
        replace_folder(out, fill)
    manifest["timings"] = stages.seconds
    return manifest


def _histogram(scores: pd.DataFrame, pops) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.2))
    try:
        ax = fig.add_subplot()
        bins = np.linspace(0, 1, 41)
        for p in pops:
            s = scores.loc[scores["population"] == p.name, "score"]
            ax.hist(s, bins=bins, alpha=0.6, label=f"{p.name} ({p.target}, {len(s):,})")
        ax.set_xlabel("score (calibrated probability of the model's target)")
        ax.set_ylabel("loans")
        ax.legend()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=80, bbox_inches="tight", metadata={"Software": None})
        return base64.b64encode(buf.getvalue()).decode("ascii")
    finally:
        fig.clear()


def _table(rows: list[dict]) -> str:
    if not rows:
        return "<p>none</p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in r.values()) + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return str(v)


def _report(summary: dict, scores: pd.DataFrame, pops, worklist) -> str:
    """A self-contained page: scores by population, drift, the worklist by action."""
    warn = [p for p in summary["populations"] if p["psi_warning"]]
    alerts = "".join(
        f'<p class="warn">Score PSI {p["score_psi"]} for {html.escape(p["population"])} is '
        f"above {PSI_WARN}: the book has moved away from the model's training sample.</p>"
        for p in warn
    )
    alerts += "".join(
        f'<p class="warn">Feature {html.escape(f["feature"])} ({html.escape(f["population"])})'
        f" has PSI {f['psi']}, above {PSI_WARN}.</p>"
        for f in summary["feature_drift"]
        if f["psi_warning"]
    )
    rows = summary["rows"]
    counts = [{"stage": k, "rows": v} for k, v in rows.items() if not isinstance(v, dict)]
    causal = "" if summary["causal"] else " (not causal)"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>Nightly run {summary['as_of']}</title>",
            "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;"
            "text-align:right}.warn{color:#a00;font-weight:bold}</style></head><body>",
            f"<h1>Nightly run, {summary['as_of']}</h1>",
            alerts,
            "<h2>Rows</h2>",
            _table(counts),
            "<h2>Scores by population</h2>",
            f'<img alt="score distributions" src="data:image/png;base64,'
            f'{_histogram(scores, pops)}">',
            _table(summary["populations"]),
            "<p>Score PSI: against the score quantiles of the model's held-out training "
            f"slice; above {PSI_WARN} is a major shift.</p>",
            "<h2>Feature drift</h2>",
            "<p>PSI of each model's ten most important features (by gain) against their "
            "distribution on its test slice, largest first.</p>",
            _table(summary["feature_drift"][:20]),
            "<h2>Worklist by action</h2>",
            f"<p>Values: {html.escape(str(summary['value_source']))}{causal}.</p>",
            _table(summary["worklist"]),
            "<p>Shadow price: the value one more unit of the action's capacity would add "
            "today (0 when the capacity does not bind).</p>",
            "</body></html>",
        ]
    )
