"""What runs on Spark's executors: one chunk in, its scores and its result out.

:class:`ChunkTask` is the function ``applyInPandas`` calls once per chunk. It
decodes the chunk's union rows into a Portfolio (:func:`~._union.decode`), runs
:func:`~overdue_risk.workflows.process_chunk` (the pandas engine's own chunk
function) and returns one frame of the :func:`output_schema`: a row per scored
loan (``__kind`` 0), and one row (``__kind`` 1) carrying the chunk's result,
pickled: its counts, problems, warnings, window, cell, timings, the account
state of its loans in arrears and their scores, which the driver collects.

The models travel as the bytes of their folders' files, broadcast once per
executor; each Python worker writes them to a temporary folder and loads them
with :meth:`RiskModel.load <overdue_risk.RiskModel.load>`, which checks every
file's hash against the manifest, as a local run does. The loaded models are
kept per worker process, by the digest of their bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ...model import RiskModel
from ...workflows import DRIFT, ChunkContext, process_chunk
from ._union import Layout, decode

__all__ = ["ChunkTask", "Output", "model_files", "output_schema"]

REASON_FIELDS = (("", pa.string()), ("_text", pa.string()), ("_value", pa.string()))
REASON_NUMBERS = (("_logodds", pa.float64()), ("_points", pa.float64()))
MAX_REASONS = 3

# Models loaded in this worker process, by the digest of their files.
_LOADED: dict[str, list[RiskModel]] = {}


def model_files(given) -> list[dict[str, bytes]]:
    """Each model's folder as ``{file name: bytes}``; a model in memory is saved first."""
    out = []
    for model in given:
        if isinstance(model, RiskModel):
            with tempfile.TemporaryDirectory(prefix="overdue-risk-model-") as tmp:
                folder = model.save(Path(tmp) / "model")
                out.append({p.name: p.read_bytes() for p in sorted(folder.iterdir())})
        else:
            out.append({p.name: p.read_bytes() for p in sorted(Path(model).iterdir())})
    return out


def _digest(files: list[dict[str, bytes]]) -> str:
    h = hashlib.sha256()
    for folder in files:
        for name, data in folder.items():
            h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        h.update(b"\1")
    return h.hexdigest()


@dataclasses.dataclass(frozen=True)
class Output:
    """The chunk function's output: its Arrow schema, the scores' columns in it, and
    the watched features (name, whether categorical) with their columns."""

    schema: pa.Schema
    scores: tuple[str, ...]
    watched: tuple[tuple[str, bool, str], ...]


def output_schema(pops) -> Output:
    """The declared output of the chunk function, from the models: the scores' columns
    (as :func:`~overdue_risk.workflows.run_chunk` names them), the watched features'
    (numbers as float64, categories as text), and the chunk's own."""
    reasons = max(min(MAX_REASONS, p.model.n_features_in_) for p in pops)
    fields = [
        ("loan_id", pa.string()),
        ("as_of", pa.timestamp("us")),
        ("population", pa.string()),
        ("model", pa.string()),
        ("score", pa.float64()),
        ("points", pa.float64()),
        ("dpd", pa.int64()),
    ]
    for k in range(1, reasons + 1):
        fields += [(f"reason_{k}{s}", t) for s, t in (*REASON_FIELDS, *REASON_NUMBERS)]
    kinds: dict[str, bool] = {}
    for p in pops:
        for name, ref in (p.model.reference_features_ or {}).get(p.name, {}).items():
            kinds[name] = kinds.get(name, False) or "shares" in ref
    watched = tuple((name, cat, f"__drift_{i}") for i, (name, cat) in enumerate(kinds.items()))
    scores = tuple(name for name, _ in fields)
    fields += [(col, pa.string() if cat else pa.float64()) for _, cat, col in watched]
    fields += [("__chunk", pa.int64()), ("__kind", pa.int8()), ("__blob", pa.binary())]
    return Output(pa.schema(fields), scores, watched)


def _drift_values(values: pd.Series, categorical: bool) -> pd.Series:
    """A watched feature's values as the report's drift reads them."""
    if categorical:
        return (
            values.astype(object)
            .where(values.notna(), None)
            .map(lambda v: v if v is None else str(v))
        )
    return pd.to_numeric(values, errors="coerce").astype(np.float64)


class ChunkTask:
    """The function ``applyInPandas`` runs on each chunk's rows (see the module)."""

    def __init__(self, layout: Layout, output: Output, ctx, models, dropped: tuple):
        self.layout = layout
        self.output = output
        self.ctx = ctx  # a broadcast ChunkContext, its populations' models left out
        self.models = models  # a broadcast list of model folders' files
        self.dropped = dropped

    def context(self) -> ChunkContext:
        """The run's context with its models, loaded (and verified) once per process."""
        files = self.models.value
        key = _digest(files)
        if key not in _LOADED:
            loaded = []
            for folder in files:
                with tempfile.TemporaryDirectory(prefix="overdue-risk-model-") as tmp:
                    for name, data in folder.items():
                        (Path(tmp) / name).write_bytes(data)
                    loaded.append(RiskModel.load(tmp))
            _LOADED[key] = loaded
        ctx = self.ctx.value
        pops = [
            dataclasses.replace(p, model=m) for p, m in zip(ctx.pops, _LOADED[key], strict=True)
        ]
        return dataclasses.replace(ctx, pops=pops)

    def function(self):
        """The function to give ``applyInPandas`` (pyspark counts a callable object's
        ``self`` among the arguments it takes)."""

        def run(key: tuple, rows: pd.DataFrame) -> pd.DataFrame:
            return self.run(key, rows)

        return run

    def run(self, key: tuple, rows: pd.DataFrame) -> pd.DataFrame:
        """Chunk ``key = (partition key, chunk)``: its union rows in, its output out."""
        from pyspark import TaskContext
        from threadpoolctl import threadpool_limits

        t0 = time.perf_counter()
        k = int(key[1])
        part = decode(rows, self.layout)
        del rows
        read_s = time.perf_counter() - t0
        ctx = self.context()
        task = TaskContext.get()
        threads = max(1, task.cpus()) if task is not None else 1
        # One OpenMP pool per task, as wide as its cores: tasks sharing an executor's
        # cores would slow each other.
        with threadpool_limits(limits=threads, user_api="openmp"):
            result = process_chunk(k, (part, read_s), self.dropped, ctx)
        return self.encode(k, result)

    def encode(self, k: int, result) -> pd.DataFrame:
        """The chunk's output frame: its scores' rows, then its result's row."""
        scores = result.scores
        columns: tuple[str, ...] = ()
        explained = 0
        rows = None
        if scores is not None:
            columns = tuple(c for c in scores.columns if not c.startswith(DRIFT))
            explained = int(scores["reason_1"].notna().sum()) if "reason_1" in scores else 0
            rows = self._score_rows(k, scores)
            # The driver prioritises the accounts in arrears: their scores travel with it.
            state = result.state.index if result.state is not None else pd.Index([])
            mine = scores["loan_id"].isin(state).to_numpy()
            result.scores = scores.loc[mine, list(columns)].reset_index(drop=True)
        if result.flags_seen is not None:  # positions, not a mask the length of every flag
            result.flags_seen = np.flatnonzero(result.flags_seen)
        blob = pickle.dumps((result, columns, explained), protocol=pickle.HIGHEST_PROTOCOL)
        tail = {}
        for field in self.output.schema:
            t = field.type
            tail[field.name] = (
                np.array([np.nan])
                if pa.types.is_floating(t)
                else np.array(["NaT"], dtype="datetime64[us]")
                if pa.types.is_timestamp(t)
                else np.array([0], dtype=np.int64)
                if pa.types.is_integer(t)
                else np.array([None], dtype=object)
            )
        tail.update(__chunk=np.array([k]), __kind=np.array([1], np.int8))
        tail["__blob"] = np.array([blob], dtype=object)
        last = pd.DataFrame(tail)
        return last if rows is None else pd.concat([rows, last], ignore_index=True)

    def _score_rows(self, k: int, scores: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for name in self.output.scores:
            if name in scores.columns:
                out[name] = scores[name].to_numpy()
            else:  # a reason rank no loan of this chunk has
                out[name] = np.full(len(scores), None, dtype=object)
        for name, categorical, column in self.output.watched:
            values = scores.get(f"{DRIFT}{name}")
            if values is not None:
                out[column] = _drift_values(values, categorical).to_numpy()
            else:
                out[column] = np.full(len(scores), None if categorical else np.nan)
        frame = pd.DataFrame(out)
        for name in ("loan_id", "population", "model"):
            frame[name] = frame[name].astype(object)
        for name in [c for c in self.output.scores if c.startswith("reason_")]:
            if name.endswith(("_logodds", "_points")):
                frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(np.float64)
            else:
                frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
                frame[name] = frame[name].map(lambda v: v if v is None else str(v))
        frame["dpd"] = frame["dpd"].astype(np.int64)
        frame["__chunk"] = np.int64(k)
        frame["__kind"] = np.int8(0)
        frame["__blob"] = None
        return frame
