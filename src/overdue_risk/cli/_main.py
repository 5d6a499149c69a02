"""``overdue-risk``: a thin command line over the library.

Each subcommand parses its options and calls one library function
(``_commands.py``). Exit codes: 0 success, 2 bad input or usage, 1 internal
error. Errors print one readable message; ``--verbose`` adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
import warnings
from collections.abc import Sequence

from .._version import __version__
from ..adapters.home_credit import REFERENCE_DATE, ROWS_PER_BUCKET
from ..exceptions import DataQualityWarning, DataValidationError, OverdueRiskError
from ..model import SENSITIVE_ATTRIBUTES
from ..policy_eval import MAX_LOANS, MAX_PATHS
from ._commands import (
    cmd_convert,
    cmd_demo,
    cmd_evaluate,
    cmd_features,
    cmd_labels,
    cmd_ledger,
    cmd_nightly,
    cmd_policy_eval,
    cmd_prioritise,
    cmd_score,
    cmd_simulate,
    cmd_train,
    cmd_validate,
)
from ._common import EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, print_frame


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits itself; we want our own exit path
        raise _UsageError(f"{self.prog}: {message}")


def _portfolio_dates_out(p: argparse.ArgumentParser) -> None:
    """The arguments every per-date table command takes: folder, dates, output file."""
    p.add_argument("portfolio", metavar="PORTFOLIO_DIR")
    p.add_argument(
        "--as-of",
        required=True,
        metavar="DATE[,DATE...]",
        help="one or more ISO dates, comma separated",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="output file; .parquet or .csv chooses the format",
    )
    _allow_future(p)


def _allow_future(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--allow-future",
        action="store_true",
        help="take as-of dates after the morning after the data's last record, with a "
        "warning (refused by default: the data do not say what happened then)",
    )


def _feature_choice(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--families",
        metavar="NAME[,NAME...]",
        help="feature families to compute, comma separated (default: all)",
    )
    p.add_argument(
        "--exclude",
        metavar="COLUMN[,COLUMN...]",
        help="loan or customer columns (or features) to leave out, comma separated",
    )


def _target(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--target",
        default="dpd30_90d",
        help="dpd<threshold>_<days>d or cure_<days>d (default dpd30_90d)",
    )


def _tolerance(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tolerance",
        type=float,
        default=0.0,
        help="shortfall ignored when counting DPD (default 0)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="overdue-risk",
        description="Overdue-risk features, scores and collection worklists for lenders.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--verbose", action="store_true", help="log progress and show tracebacks on errors"
    )
    # --verbose is accepted before or after the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser(
        "validate",
        parents=[common],
        help="check a portfolio folder against the data contract",
        description="Check a portfolio folder against the data contract. "
        "Exits 0 when it is clean and 2 with the table of problems otherwise.",
    )
    p.add_argument("portfolio", metavar="PORTFOLIO_DIR")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "ledger",
        parents=[common],
        help="write overdue amount, DPD and bucket per loan",
        description="Write the repayment ledger (overdue amount, DPD, bucket, "
        "outstanding principal, ...) for every loan at the as-of dates.",
    )
    _portfolio_dates_out(p)
    _tolerance(p)
    p.set_defaults(func=cmd_ledger)

    p = sub.add_parser(
        "features",
        parents=[common],
        help="write point-in-time features per loan and as-of date",
        description="Write the feature matrix: one row per loan started by each as-of date, "
        "using only records dated on or before it.",
    )
    _portfolio_dates_out(p)
    _feature_choice(p)
    _tolerance(p)
    p.set_defaults(func=cmd_features)

    p = sub.add_parser(
        "labels",
        parents=[common],
        help="write realised labels (e.g. DPD 30+ within 90 days) per loan",
        description="Write the label of every eligible loan at the as-of dates, from the "
        "ledger; dates whose horizon ends after the data give no rows.",
    )
    _portfolio_dates_out(p)
    _target(p)
    p.add_argument(
        "--observed-until",
        metavar="DATE",
        help="last day the data describe (default: the latest record's date)",
    )
    _tolerance(p)
    p.set_defaults(func=cmd_labels)

    p = sub.add_parser(
        "train",
        parents=[common],
        help="train a risk model with an out-of-time split",
        description="Train a LightGBM risk model on monthly snapshots: the last as-of date "
        "whose horizon is observed is the test set, the one before it stops training early "
        "and calibrates, the earlier ones train. Writes the model folder (no pickle).",
    )
    p.add_argument("portfolio", metavar="PORTFOLIO_DIR")
    p.add_argument(
        "--as-of-dates",
        required=True,
        metavar="DATE[,DATE...]",
        help="snapshot dates, e.g. month ends, comma separated (at least 3 observed)",
    )
    _target(p)
    p.add_argument("--out", required=True, metavar="MODEL_DIR", help="model folder to write")
    p.add_argument(
        "--calibration",
        choices=("isotonic", "sigmoid", "none"),
        default="isotonic",
        help="calibration on the early-stopping date (default isotonic)",
    )
    _feature_choice(p)
    p.add_argument("--report", metavar="REPORT.html", help="also write the test-set report")
    p.add_argument("--seed", type=int, default=0, help="LightGBM's seed (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model folder")
    p.add_argument(
        "--sensitive",
        metavar="COLUMN[,COLUMN...]",
        help="sensitive attributes, columns or features, comma separated (default: "
        f"{', '.join(SENSITIVE_ATTRIBUTES)}; an empty value names none): left out of "
        "training, never reason codes, reported by group",
    )
    p.add_argument(
        "--include-sensitive",
        action="store_true",
        help="train on the sensitive attributes, with a warning (they stay out of the "
        "reason codes)",
    )
    _tolerance(p)
    _allow_future(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "evaluate",
        parents=[common],
        help="report a model's accuracy on realised outcomes (HTML)",
        description="Score the portfolio at the as-of dates with the model's features, "
        "label the outcomes with its target, and write an HTML report with the figures.",
    )
    p.add_argument("model", metavar="MODEL_DIR")
    p.add_argument("portfolio", metavar="PORTFOLIO_DIR")
    p.add_argument("--as-of", required=True, metavar="DATE[,DATE...]", help="as-of date(s)")
    p.add_argument("--out", required=True, metavar="REPORT.html", help="the report to write")
    _allow_future(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "score",
        parents=[common],
        help="score every open loan at the as-of date",
        description="Write the risk score (calibrated probability), scorecard points and "
        "DPD of every open loan at the as-of date, with reason codes on request.",
    )
    p.add_argument("model", metavar="MODEL_DIR")
    _portfolio_dates_out(p)
    p.add_argument(
        "--explain", type=int, default=0, metavar="K", help="add the top K reason codes per loan"
    )
    p.set_defaults(func=cmd_score)

    p = sub.add_parser(
        "prioritise",
        parents=[common],
        help="write today's collection worklist",
        description="Decide which overdue account gets which action on the as-of date: "
        "expected net value per action (an uplift model learned from the randomised cell "
        "of the collections log, or the arrears rule's stated lifts, not causal), within "
        "each action's capacity and every contact rule of the strategy.",
    )
    p.add_argument("scores", metavar="SCORES_FILE", help="output of `overdue-risk score`")
    p.add_argument("portfolio", metavar="PORTFOLIO_DIR")
    p.add_argument("--as-of", required=True, metavar="DATE", help="the day the worklist is for")
    p.add_argument(
        "--strategy",
        required=True,
        metavar="FILE",
        help="strategy TOML file, or a profile: default, us_reg_f, china, uk_eu",
    )
    p.add_argument("--out", required=True, metavar="WORKLIST_FILE", help=".parquet or .csv")
    p.add_argument(
        "--flags",
        metavar="FILE",
        help="account flags by loan_id (.csv or .parquet): one column per flag the "
        "strategy's rules read (opt-outs, cease_contact, hardship, vulnerable, "
        "restructure_ineligible)",
    )
    p.add_argument(
        "--max-score-age-days",
        type=float,
        default=7,
        metavar="DAYS",
        help="oldest score to use, in days before --as-of; older is an error (default 7; "
        "inf: any age)",
    )
    p.add_argument(
        "--value",
        choices=("auto", "uplift", "fallback", "arrears", "ladder"),
        default="auto",
        help="value source: uplift model from the log, the risk-score fallback, the arrears "
        "rule (SMS 1%%, call 5%%, visit 15%% of the arrears), the treatment ladder (legal, "
        "restructure, visit, call, SMS by DPD, highest DPD first), or auto (the uplift model "
        "shrunk toward each action's average when the log allows, else the arrears rule; "
        "default)",
    )
    p.add_argument(
        "--horizon",
        type=int,
        default=None,
        help="value horizon in days (default: the strategy's value.horizon_days, 30)",
    )
    p.add_argument(
        "--method",
        choices=("auto", "lp", "lagrangian", "greedy"),
        default="auto",
        help="allocation method (default auto: exact LP up to moderate sizes)",
    )
    _allow_future(p)
    p.set_defaults(func=cmd_prioritise)

    p = sub.add_parser(
        "demo",
        parents=[common],
        help="the main job on the bundled sample: train both models, run the nightly job",
        description="Train the early-warning (dpd30_90d) and collection (cure_30d) models on "
        "a portfolio folder (the bundled sample by default, from the repository's root), "
        "run the nightly job for its last date, and print the top of the worklist, where "
        "to look, and how long each step took.",
    )
    p.add_argument("--portfolio", default="data/sample", metavar="PORTFOLIO_DIR")
    p.add_argument("--out", default="runs/demo", metavar="RUN_DIR", help="(runs/demo)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "nightly",
        parents=[common],
        help="score tonight's portfolio and write the day's worklist, in one run folder",
        description="The nightly run: validate the portfolio, score every open loan with the "
        "model of its population (early warning for accounts not in arrears, collection for "
        "accounts in arrears), allocate the day's worklist, explain the worklist's accounts, "
        "and publish scores, worklist, summary, manifest and report to RUN_DIR atomically.",
    )
    p.add_argument(
        "--models",
        required=True,
        metavar="MODEL_DIR[,MODEL_DIR]",
        help="an early-warning model (a DPD target) and/or a collection model (a cure target)",
    )
    p.add_argument(
        "--portfolio",
        required=True,
        metavar="SOURCE",
        help="a folder (CSV or Parquet files, or Parquet datasets), or a database URL "
        "(duckdb:///path.db, postgresql://user@host/db) with --tables",
    )
    p.add_argument(
        "--tables", metavar="TOML", help="for a database: which table holds each contract table"
    )
    p.add_argument(
        "--publish-to",
        metavar="URL",
        help="also write scores, worklist and run_summary to this database, in one transaction",
    )
    p.add_argument("--as-of", required=True, metavar="DATE", help="tonight's date")
    p.add_argument(
        "--strategy",
        required=True,
        metavar="FILE|PROFILE",
        help="strategy TOML file, or a profile: default, us_reg_f, china, uk_eu",
    )
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="the run folder")
    p.add_argument("--force", action="store_true", help="replace an existing RUN_DIR")
    p.add_argument(
        "--quarantine",
        action="store_true",
        help="set aside the loans that break the data contract (rejected.parquet) and score "
        "the rest; by default a contract violation fails the run",
    )
    p.add_argument(
        "--explain-all",
        action="store_true",
        help="reason codes for every scored loan, not only the worklist's accounts",
    )
    p.add_argument("--flags", metavar="FILE", help="account flags by loan_id (.csv or .parquet)")
    p.add_argument(
        "--value",
        choices=("auto", "uplift", "fallback", "arrears", "ladder"),
        default="auto",
        help="value source, as for `overdue-risk prioritise` (default auto)",
    )
    p.add_argument("--jobs", type=int, default=1, help="processes scoring chunks (1)")
    p.add_argument(
        "--chunk-customers",
        type=int,
        default=100_000,
        metavar="N",
        help="customers per scoring chunk, every loan of a customer in one (100000)",
    )
    _allow_future(p)
    p.add_argument(
        "--engine",
        choices=("pandas", "spark"),
        default="pandas",
        help="where the chunks are processed: here, in --jobs processes (pandas, the "
        "default), or on Apache Spark (spark: Parquet folders only; pip install "
        "'overdue-risk[spark]'; docs/spark.md)",
    )
    p.add_argument(
        "--spark-master",
        metavar="URL",
        help="with --engine spark: the master of a new Spark session (local[4], "
        "spark://host:7077, yarn); by default spark-submit's, or Spark's own default",
    )
    p.set_defaults(func=cmd_nightly)

    p = sub.add_parser(
        "policy-eval",
        parents=[common],
        help="compare the prioritiser with heuristics and an oracle on a simulation",
        description="Simulate a lender, learn its risk and response models from data "
        "before the dates, then compare the prioritiser at equal capacity with highest-DPD, "
        "highest-balance and expected-loss ranking, the logged policy, no action and an "
        "oracle that knows the true responses, on the simulator's truth; plus IPW and "
        "doubly robust estimates of the prioritiser's value from the log.",
    )
    p.add_argument(
        "--loans",
        type=int,
        default=20000,
        help=f"loans to simulate, at most {MAX_LOANS:,} (20000)",
    )
    p.add_argument("--seed", type=int, default=0, help="simulation seed (0)")
    p.add_argument(
        "--dates", required=True, metavar="DATE[,DATE...]", help="decision dates (2024 or later)"
    )
    p.add_argument(
        "--strategy", required=True, metavar="FILE", help="strategy TOML file or profile"
    )
    p.add_argument(
        "--out", required=True, metavar="FILE", help="comparison table, .parquet or .csv"
    )
    p.add_argument(
        "--paths",
        type=int,
        default=100,
        help=f"Monte Carlo paths of the truth, at most {MAX_PATHS:,} (100)",
    )
    p.add_argument(
        "--scenario",
        metavar="FILE",
        help="scenario TOML file, or a preset: cause_driven (default scenario)",
    )
    p.add_argument(
        "--ceiling-dates",
        metavar="DATE[,DATE...]",
        help="dates before the first decision date whose truth trains the 'ceiling' policy: "
        "the best a value model reading the same state could do",
    )
    p.add_argument(
        "--ope-dates",
        metavar="DATE[,DATE...]",
        help="more days for the off-policy estimates alone (one day has a few hundred "
        "randomised decisions); dates after the last decision date simulate another book",
    )
    p.add_argument(
        "--value-seeds",
        default="0",
        metavar="K[,K...]",
        help="random seeds of the response model, one prioritiser row each (0)",
    )
    p.set_defaults(func=cmd_policy_eval)

    p = sub.add_parser(
        "simulate",
        parents=[common],
        help="generate a synthetic portfolio with its ground truth",
        description="Simulate a consumer-finance lender (POS loans, cash loans, cards) and "
        "write every contract table (Parquet or CSV) into DIR, with the hidden truth "
        "(customer traits, economy, final hidden state) in DIR/truth.",
    )
    p.add_argument(
        "--loans",
        type=int,
        required=True,
        metavar="N",
        help="loans to originate, at most 50,000,000",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--start", required=True, metavar="DATE", help="first simulated day")
    p.add_argument("--end", required=True, metavar="DATE", help="last simulated day")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder, written as a whole")
    p.add_argument(
        "--scenario",
        metavar="FILE",
        help="scenario TOML file, or a preset: cause_driven (default scenario)",
    )
    p.add_argument(
        "--format",
        choices=("parquet", "csv"),
        default="parquet",
        help="file format of the tables (default parquet)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty folder")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser(
        "convert",
        parents=[common],
        help="convert a public data set's files into a portfolio folder",
        description="Convert the files of a public data set into a portfolio folder of the "
        "data contract, written as a whole. home-credit: the Kaggle Home Credit Default Risk "
        "files (any subset); TARGET goes to PORTFOLIO_DIR/home_credit/target, the rows that "
        "could not enter, with their reasons, to PORTFOLIO_DIR/home_credit/dropped "
        "(docs/home-credit.md).",
    )
    p.add_argument("source", choices=("home-credit",), help="the data set: home-credit")
    p.add_argument("folder", metavar="FOLDER", help="the folder holding the data set's files")
    p.add_argument("--out", required=True, metavar="PORTFOLIO_DIR", help="the folder to write")
    p.add_argument(
        "--reference-date",
        default=REFERENCE_DATE,
        metavar="DATE",
        help=f"the application date, day 0 of every relative day (default {REFERENCE_DATE})",
    )
    p.add_argument(
        "--format",
        choices=("parquet", "csv"),
        default="parquet",
        help="file format of the tables (default parquet)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty folder")
    p.add_argument(
        "--rows-per-bucket",
        type=int,
        default=ROWS_PER_BUCKET,
        metavar="N",
        help="rows of the loan files converted at a time: fewer take less memory "
        f"(default {ROWS_PER_BUCKET:,})",
    )
    p.set_defaults(func=cmd_convert)
    return parser


def _show_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Print each data-quality warning once ("warning: ..."); pass the others on."""
    shown = set()
    for w in caught:
        if issubclass(w.category, DataQualityWarning):
            text = f"warning: {w.message}"
            if text not in shown:
                shown.add(text)
                print(text, file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    verbose = "--verbose" in (sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_INPUT
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        caught: list[warnings.WarningMessage] = []
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", DataQualityWarning)
                return args.func(args)
        finally:  # before the error message, if the command fails
            _show_warnings(caught)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_INPUT
    except DataValidationError as exc:
        print(f"error: {len(exc.problems)} problem(s) with {exc.subject}:", file=sys.stderr)
        print_frame(exc.table(), sys.stderr)
        return EXIT_INPUT
    except OverdueRiskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except Exception as exc:
        if verbose:
            traceback.print_exc()
        print(
            f"internal error: {type(exc).__name__}: {exc}"
            + ("" if verbose else " (run with --verbose for the traceback)"),
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
