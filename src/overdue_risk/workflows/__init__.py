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
"""

from ._demo import DemoResult, run_demo
from ._evaluate import evaluate_model
from ._export import LabelTable, export_features, export_labels, export_ledger
from ._inputs import load_strategy
from ._nightly import NightlyRun, run_nightly
from ._prioritise import prioritise_portfolio
from ._score import score_portfolio
from ._train import TrainingResult, train_risk_model
from ._value import VALUE_SOURCES, choose_value_model, learn_value_model

__all__ = [
    "VALUE_SOURCES",
    "DemoResult",
    "LabelTable",
    "NightlyRun",
    "TrainingResult",
    "choose_value_model",
    "evaluate_model",
    "export_features",
    "export_labels",
    "export_ledger",
    "learn_value_model",
    "load_strategy",
    "prioritise_portfolio",
    "run_demo",
    "run_nightly",
    "score_portfolio",
    "train_risk_model",
]
