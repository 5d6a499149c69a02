"""``overdue-risk``: a thin command line over the library.

Each subcommand parses its options and calls one library function. Exit codes:
0 success, 2 bad input or usage, 1 internal error. Errors print one readable
message; ``--verbose`` adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .. import __version__
from .._io import check_output_path, write_folder, write_table
from ..contract import load_portfolio
from ..exceptions import DataQualityWarning, DataValidationError, OverdueRiskError
from ..ledger import Ledger, LedgerConfig
from ..ledger._engine import parse_as_of
from ..simulate import Scenario, simulate_portfolio

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits itself; we want our own exit path
        raise _UsageError(f"{self.prog}: {message}")


def _print_frame(df: pd.DataFrame, stream) -> None:
    with pd.option_context(
        "display.width", 200, "display.max_columns", 20, "display.max_colwidth", 80
    ):
        print(df.to_string(index=False), file=stream)


def _print_summary(portfolio) -> None:
    """Rows and date range of each table, on stdout."""
    summary = portfolio.summary()
    for col in ("first_date", "last_date"):
        summary[col] = summary[col].dt.strftime("%Y-%m-%d").fillna("")
    _print_frame(summary, sys.stdout)


def _cmd_validate(args: argparse.Namespace) -> int:
    portfolio = load_portfolio(args.portfolio)
    print(f"{args.portfolio}: the portfolio meets the data contract.")
    _print_summary(portfolio)
    return EXIT_OK


def _cmd_ledger(args: argparse.Namespace) -> int:
    out = check_output_path(args.out)
    as_of = [d.strip() for d in args.as_of.split(",") if d.strip()]
    portfolio = load_portfolio(args.portfolio)
    snapshot = Ledger(portfolio, LedgerConfig(tolerance=args.tolerance)).at(as_of)
    write_table(snapshot.table(), out)
    summary = snapshot.summary().reset_index()
    summary["as_of"] = summary["as_of"].dt.strftime("%Y-%m-%d")
    summary["share"] = summary["share"].round(4)
    print(f"Wrote {len(snapshot.table()):,} rows to {out}")
    _print_frame(summary, sys.stdout)
    return EXIT_OK


def _dates(text: str) -> list[str]:
    """Comma-separated ISO dates, checked before any work."""
    dates = _names(text)
    parse_as_of(dates)  # raises one readable error for a bad date
    return dates


def _value_seeds(text: str) -> list[int]:
    """Comma-separated ints >= 0, checked before any work."""
    seeds = _names(text)
    if not seeds or not all(t.isdigit() for t in seeds):
        raise OverdueRiskError(
            f"--value-seeds must be one or more ints >= 0, comma-separated; got {text!r}."
        )
    return [int(t) for t in seeds]


def _names(text: str | None) -> list[str]:
    return [] if text is None else [t.strip() for t in text.split(",") if t.strip()]


def _families(text: str | None) -> list[str] | None:
    """The chosen feature families; an unknown one fails before the portfolio is read."""
    from ..features import list_features

    families = _names(text) or None
    list_features(families)
    return families


def _cmd_features(args: argparse.Namespace) -> int:
    from ..features import build_features

    out = check_output_path(args.out)
    as_of = _dates(args.as_of)
    families = _families(args.families)
    portfolio = load_portfolio(args.portfolio)
    features = build_features(
        portfolio,
        as_of,
        families=families,
        exclude=_names(args.exclude),
        ledger_config=LedgerConfig(tolerance=args.tolerance),
    )
    write_table(features, out)
    print(f"Wrote {len(features):,} rows x {features.shape[1]:,} features to {out}")
    return EXIT_OK


def _cmd_labels(args: argparse.Namespace) -> int:
    from ..labels import make_labels, parse_target

    out = check_output_path(args.out)
    as_of = _dates(args.as_of)
    target = parse_target(args.target)
    observed = _dates(args.observed_until)[0] if args.observed_until else None
    portfolio = load_portfolio(args.portfolio)
    labels = make_labels(
        portfolio,
        as_of,
        target,
        LedgerConfig(tolerance=args.tolerance),
        observed_until=observed,
    )
    write_table(labels.to_frame(), out)
    print(f"Wrote {len(labels):,} {target.name} labels to {out}")
    dates = labels.index.get_level_values("as_of")
    summary = labels.groupby(dates).agg(rows="size", positives="sum", rate="mean")
    summary = summary.reindex(pd.to_datetime(as_of).sort_values().unique(), fill_value=0)
    summary.index.name = "as_of"
    summary = summary.reset_index()
    summary["as_of"] = summary["as_of"].dt.strftime("%Y-%m-%d")
    rate = summary["rate"].astype(float).round(4)
    summary["rate"] = rate.astype(object).where(summary["rows"] > 0, "")
    _print_frame(summary, sys.stdout)
    if (summary["rows"] == 0).any():
        print(
            f"No rows for dates whose {target.horizon_days}-day horizon ends after the "
            "data do (see --observed-until).",
            file=sys.stderr,
        )
    return EXIT_OK


def _html_path(path: str) -> Path:
    out = Path(path)
    if out.suffix.lower() not in (".html", ".htm"):
        raise OverdueRiskError(f"Report file {out.name!r} must end in .html.")
    if not out.parent.is_dir():
        raise OverdueRiskError(f"Output folder {str(out.parent)!r} does not exist.")
    return out


def _print_metrics(metrics: dict) -> None:
    keys = ("n", "bad_rate", "auc", "gini", "ks", "brier", "ece", "score_psi")
    shown = {k: metrics[k] for k in keys if k in metrics}
    print(
        "  ".join(f"{k} {v:,.0f}" if k == "n" else f"{k} {v:.4f}" for k, v in shown.items()),
    )


def _cmd_train(args: argparse.Namespace) -> int:
    from ..labels import parse_target
    from ..model import RiskModel, train_risk_model

    out = _output_folder(args.out, args.overwrite)
    report_path = _html_path(args.report) if args.report else None
    as_of = _dates(args.as_of_dates)
    target = parse_target(args.target)
    families = _families(args.families)
    calibration = None if args.calibration == "none" else args.calibration
    portfolio = load_portfolio(args.portfolio)
    result = train_risk_model(
        portfolio,
        as_of,
        target,
        model=RiskModel(calibration=calibration, random_state=args.seed),
        families=families,
        exclude=_names(args.exclude),
        tolerance=args.tolerance,
    )
    result.model.save(out, overwrite=True)
    if report_path is not None:
        result.report.to_html(report_path)
    d = result.dates
    print(
        f"Trained {target.name} on {len(d['train'])} dates ({d['train'][0]} .. {d['train'][-1]}), "
        f"stopped early on {d['validation'][0]} at {result.model.best_iteration_} trees, "
        f"tested on {d['test'][0]}:"
    )
    _print_metrics(result.report.metrics)
    print(
        f"Wrote the model to {out}" + (f" and the report to {report_path}" if report_path else "")
    )
    return EXIT_OK


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from ..model import RiskModel, evaluate_model

    out = _html_path(args.out)
    as_of = _dates(args.as_of)
    model = RiskModel.load(args.model)
    portfolio = load_portfolio(args.portfolio)
    report = evaluate_model(model, portfolio, as_of)
    report.to_html(out)
    _print_metrics(report.metrics)
    print(f"Wrote the report to {out}")
    return EXIT_OK


def _cmd_score(args: argparse.Namespace) -> int:
    from ..model import RiskModel, score_portfolio

    out = check_output_path(args.out)
    as_of = _dates(args.as_of)
    if args.explain < 0:
        raise OverdueRiskError(f"--explain must be 0 or more; got {args.explain}.")
    model = RiskModel.load(args.model)
    portfolio = load_portfolio(args.portfolio)
    scores = score_portfolio(model, portfolio, as_of, explain=args.explain)
    write_table(scores, out)
    print(f"Wrote {len(scores):,} scores to {out} (mean {scores['score'].mean():.4f})")
    return EXIT_OK


def _strategy(text: str):
    from ..prioritise import Strategy

    return Strategy.profile(text) if text in Strategy.profiles() else Strategy.from_toml(text)


def _read_table(path: str, what: str) -> pd.DataFrame:
    src = Path(path)
    if not src.is_file():
        raise OverdueRiskError(f"{what} {str(src)!r} does not exist.")
    if src.suffix.lower() == ".parquet":
        return pd.read_parquet(src)
    if src.suffix.lower() == ".csv":
        return pd.read_csv(src, dtype={"loan_id": str})
    raise OverdueRiskError(f"{what} {src.name!r} must be a .parquet or .csv file.")


def _cmd_prioritise(args: argparse.Namespace) -> int:
    from ..prioritise import RiskBasedValue, prioritise
    from ..prioritise._worklist import learn_value_model

    out = check_output_path(args.out)
    as_of = _dates(args.as_of)
    if len(as_of) != 1:
        raise OverdueRiskError("--as-of takes one date: the day the worklist is for.")
    strategy = _strategy(args.strategy)
    scores = _read_table(args.scores, "Scores file")
    flags = _read_table(args.flags, "Flags file").set_index("loan_id") if args.flags else None
    portfolio = load_portfolio(args.portfolio)
    if args.value == "fallback":
        model = RiskBasedValue()
    else:
        model = learn_value_model(portfolio, as_of[0], horizon_days=args.horizon)
        if args.value == "uplift" and not model.causal:
            raise OverdueRiskError(
                "The collections log has too few randomised decisions for an uplift model "
                "(a challenger or holdout cell with propensities); use --value fallback."
            )
    worklist = prioritise(
        scores, portfolio, as_of[0], strategy, value_model=model, flags=flags, method=args.method
    )
    write_table(worklist.table(), out)
    summary = worklist.summary().reset_index()
    print(f"Wrote {worklist!r} to {out}")
    shown = summary.round(2).astype(object)
    _print_frame(shown.where(summary.notna(), ""), sys.stdout)
    if not worklist.causal:
        print(
            "warning: values come from the risk score and configured lifts, not from "
            "randomised actions: they are not causal.",
            file=sys.stderr,
        )
    return EXIT_OK


def _cmd_policy_eval(args: argparse.Namespace) -> int:
    from ..prioritise._policy_eval import simulated_comparison

    out = check_output_path(args.out)
    dates = _dates(args.dates)
    ceiling = _dates(args.ceiling_dates) if args.ceiling_dates else None
    ope = _dates(args.ope_dates) if args.ope_dates else None
    seeds = _value_seeds(args.value_seeds)
    strategy = _strategy(args.strategy)
    scenario = Scenario.from_toml(args.scenario) if args.scenario else None
    comparison, _ = simulated_comparison(
        args.loans,
        dates,
        strategy,
        seed=args.seed,
        n_paths=args.paths,
        scenario=scenario,
        ceiling_dates=ceiling,
        ope_dates=ope,
        value_seeds=seeds,
    )
    table = comparison.table()
    write_table(table, out)
    print(f"Compared {len(table)} policies on {len(dates)} dates; wrote {out}")
    shown = [
        "treated",
        "recovered",
        "cost",
        "net",
        "net_vs_none",
        "share_of_oracle",
        "contacts_per_account",
        "harsh_actions",
        "rule_violations",
    ]
    _print_frame(table[shown].round(3).reset_index(), sys.stdout)
    ope = comparison.off_policy()
    if ope is not None:
        print("Off-policy estimates of the prioritiser (per logged randomised decision):")
        cols = ["n", "truth", "ipw", "snipw", "dr", "dr_se", "dr_error"]
        _print_frame(ope.loc[["pooled"], cols].round(3).reset_index(), sys.stdout)
    return EXIT_OK


def _output_folder(path: str, overwrite: bool) -> Path:
    """Fail before any work when the output folder cannot be used."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise OverdueRiskError(f"Output path {str(out)!r} is a file, not a folder.")
    if not out.parent.is_dir():
        raise OverdueRiskError(f"Parent folder of {str(out)!r} does not exist.")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise OverdueRiskError(
            f"Output folder {str(out)!r} is not empty; use --overwrite to replace it."
        )
    return out


def _cmd_simulate(args: argparse.Namespace) -> int:
    out = _output_folder(args.out, args.overwrite)
    scenario = Scenario.from_toml(args.scenario) if args.scenario else None
    portfolio, truth = simulate_portfolio(
        args.loans, args.start, args.end, seed=args.seed, scenario=scenario
    )
    ext = f".{args.format}"
    tables = {f"{name}{ext}": df for name, df in portfolio.tables().items()}
    tables.update({f"truth/{name}{ext}": df for name, df in truth.tables().items()})
    write_folder(tables, out)  # the whole folder appears at once, or not at all
    print(f"Wrote a simulated portfolio to {out} (truth in {out / 'truth'})")
    _print_summary(portfolio)
    return EXIT_OK


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
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser(
        "ledger",
        parents=[common],
        help="write overdue amount, DPD and bucket per loan",
        description="Write the repayment ledger (overdue amount, DPD, bucket, "
        "outstanding principal, ...) for every loan at the as-of dates.",
    )
    _portfolio_dates_out(p)
    _tolerance(p)
    p.set_defaults(func=_cmd_ledger)

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
    p.set_defaults(func=_cmd_features)

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
    p.set_defaults(func=_cmd_labels)

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
    _tolerance(p)
    p.set_defaults(func=_cmd_train)

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
    p.set_defaults(func=_cmd_evaluate)

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
    p.set_defaults(func=_cmd_score)

    p = sub.add_parser(
        "prioritise",
        parents=[common],
        help="write today's collection worklist",
        description="Decide which overdue account gets which action on the as-of date: "
        "expected net value per action (an uplift model learned from the randomised cell "
        "of the collections log, or a non-causal fallback from the risk score), within "
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
    p.add_argument("--flags", metavar="FILE", help="opt-out/hardship flags by loan_id (.csv)")
    p.add_argument(
        "--value",
        choices=("auto", "uplift", "fallback"),
        default="auto",
        help="value source: uplift model from the log, the risk-score fallback, or "
        "auto (uplift when the log allows; default)",
    )
    p.add_argument("--horizon", type=int, default=30, help="value horizon in days (30)")
    p.add_argument(
        "--method",
        choices=("auto", "lp", "lagrangian", "greedy"),
        default="auto",
        help="allocation method (default auto: exact LP up to moderate sizes)",
    )
    p.set_defaults(func=_cmd_prioritise)

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
    p.add_argument("--loans", type=int, default=20000, help="loans to simulate (20000)")
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
    p.add_argument("--paths", type=int, default=100, help="Monte Carlo paths of the truth (100)")
    p.add_argument("--scenario", metavar="FILE", help="scenario TOML file (default scenario)")
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
    p.set_defaults(func=_cmd_policy_eval)

    p = sub.add_parser(
        "simulate",
        parents=[common],
        help="generate a synthetic portfolio with its ground truth",
        description="Simulate a consumer-finance lender (POS loans, cash loans, cards) and "
        "write every contract table (Parquet or CSV) into DIR, with the hidden truth "
        "(customer traits, economy, final hidden state) in DIR/truth.",
    )
    p.add_argument("--loans", type=int, required=True, metavar="N", help="loans to originate")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--start", required=True, metavar="DATE", help="first simulated day")
    p.add_argument("--end", required=True, metavar="DATE", help="last simulated day")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder, written as a whole")
    p.add_argument("--scenario", metavar="FILE", help="scenario TOML file (default scenario)")
    p.add_argument(
        "--format",
        choices=("parquet", "csv"),
        default="parquet",
        help="file format of the tables (default parquet)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty folder")
    p.set_defaults(func=_cmd_simulate)
    return parser


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
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataQualityWarning)
            code = args.func(args)
        for w in caught:
            if issubclass(w.category, DataQualityWarning):
                print(f"warning: {w.message}", file=sys.stderr)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return code
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_INPUT
    except DataValidationError as exc:
        print(f"error: {len(exc.problems)} problem(s) with the portfolio:", file=sys.stderr)
        _print_frame(exc.table(), sys.stderr)
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
