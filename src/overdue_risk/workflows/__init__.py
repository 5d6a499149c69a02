"""Workflows: the stages composed into what a user runs.

Each function takes a portfolio (a :class:`~overdue_risk.Portfolio` or its
folder), checks its inputs and outputs before any work, runs the stages and
returns a result object; given ``out``, it also writes its output atomically.
Each ``overdue-risk`` command parses its arguments and calls one of them.

- :func:`train_risk_model`, :func:`evaluate_model`, :func:`score_portfolio`:
  the risk model, trained out of time, evaluated on realised outcomes, and
  applied to every open loan;
- :func:`learn_value_model`, :func:`choose_value_model`,
  :func:`prioritise_portfolio`: the value of each collection action, learned
  from the collections log, and today's worklist;
- :func:`export_ledger`, :func:`export_features`, :func:`export_labels`: the
  tables at as-of dates, written to a file;
- :func:`run_nightly`: tonight's portfolio in, scores (each account by the
  model of its population) and the day's worklist out, published atomically;
- :func:`run_demo`: both models trained on a portfolio folder and the nightly
  run for its last date (``overdue-risk demo``);
- :func:`load_strategy`: a strategy by profile name or TOML file.

The nightly run's engine-neutral parts, for an engine that processes the chunks
elsewhere (:mod:`overdue_risk.engines`): :func:`check_nightly` (the ``check``
stage: a :class:`NightlySetup` with the :class:`ChunkContext`), :func:`process_chunk`
(one chunk, through :func:`run_chunk`, to a :class:`ChunkResult`), :class:`Totals`
(the results combined), :func:`close_chunks` (the checks once every chunk is done),
:class:`BookScores` and :func:`finish_nightly` (prioritise over the collected
account states, render, publish), :func:`cell_reader` (the value model's reader),
:class:`Stages` (the timings) and :data:`DRIFT` (the prefix of the watched
features' columns in a chunk's scores).
"""

from ._demo import DemoResult, run_demo
from ._evaluate import evaluate_model
from ._export import LabelTable, export_features, export_labels, export_ledger
from ._feed import cell_reader, process_chunk
from ._inputs import load_strategy
from ._nightly import (
    BookScores,
    NightlyRun,
    NightlySetup,
    check_nightly,
    close_chunks,
    finish_nightly,
    run_nightly,
)
from ._prioritise import prioritise_portfolio
from ._publish import Stages
from ._score import score_portfolio
from ._stream import DRIFT, ChunkContext, ChunkResult, Totals, run_chunk
from ._train import TrainingResult, train_risk_model
from ._value import VALUE_SOURCES, choose_value_model, learn_value_model

__all__ = [
    "DRIFT",
    "VALUE_SOURCES",
    "BookScores",
    "ChunkContext",
    "ChunkResult",
    "DemoResult",
    "LabelTable",
    "NightlyRun",
    "NightlySetup",
    "Stages",
    "Totals",
    "TrainingResult",
    "cell_reader",
    "check_nightly",
    "choose_value_model",
    "close_chunks",
    "evaluate_model",
    "export_features",
    "export_labels",
    "export_ledger",
    "finish_nightly",
    "learn_value_model",
    "load_strategy",
    "prioritise_portfolio",
    "process_chunk",
    "run_chunk",
    "run_demo",
    "run_nightly",
    "score_portfolio",
    "train_risk_model",
]
