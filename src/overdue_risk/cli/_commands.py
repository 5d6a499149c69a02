"""The commands: each parses its arguments, calls one library function and prints
what it returns.

All behaviour lives in the library (mostly :mod:`overdue_risk.workflows`): the
checks of inputs and outputs before any work, the stages and the writing.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import pandas as pd

from ..adapters.home_credit import TARGET_FOLDER
from ..adapters.home_credit import convert as convert_home_credit
from ..contract import load_portfolio
from ..engines.spark import run_nightly as run_nightly_on_spark
from ..exceptions import OverdueRiskError
from ..model import RiskModel
from ..policy_eval import simulated_comparison
from ..simulate import SimulatedPortfolio, simulate_portfolio
from ..workflows import (
    evaluate_model,
    export_features,
    export_labels,
    export_ledger,
    prioritise_portfolio,
    run_demo,
    run_nightly,
    score_portfolio,
    train_risk_model,
)
from ._common import EXIT_OK, dates, names, print_frame


def _print_summary(portfolio) -> None:
    """Rows and date range of each table, on stdout."""
    summary = portfolio.summary()
    for col in ("first_date", "last_date"):
        summary[col] = summary[col].dt.strftime("%Y-%m-%d").fillna("")
    print_frame(summary, sys.stdout)


def _print_metrics(metrics: dict) -> None:
    keys = ("n", "bad_rate", "auc", "gini", "ks", "brier", "ece", "score_psi")
    shown = {k: metrics[k] for k in keys if k in metrics}
    print(
        "  ".join(f"{k} {v:,.0f}" if k == "n" else f"{k} {v:.4f}" for k, v in shown.items()),
    )


def cmd_validate(args: argparse.Namespace) -> int:
    portfolio = load_portfolio(args.portfolio)
    print(f"{args.portfolio}: the portfolio meets the data contract.")
    _print_summary(portfolio)
    return EXIT_OK


def cmd_ledger(args: argparse.Namespace) -> int:
    snapshot = export_ledger(
        args.portfolio,
        names(args.as_of),
        out=args.out,
        tolerance=args.tolerance,
        allow_future=args.allow_future,
    )
    summary = snapshot.summary().reset_index()
    summary["as_of"] = summary["as_of"].dt.strftime("%Y-%m-%d")
    summary["share"] = summary["share"].round(4)
    print(f"Wrote {len(snapshot.table()):,} rows to {Path(args.out)}")
    print_frame(summary, sys.stdout)
    return EXIT_OK


def cmd_features(args: argparse.Namespace) -> int:
    features = export_features(
        args.portfolio,
        names(args.as_of),
        out=args.out,
        families=names(args.families) or None,
        exclude=names(args.exclude),
        tolerance=args.tolerance,
        allow_future=args.allow_future,
    )
    print(f"Wrote {len(features):,} rows x {features.shape[1]:,} features to {Path(args.out)}")
    return EXIT_OK


def cmd_labels(args: argparse.Namespace) -> int:
    labels = export_labels(
        args.portfolio,
        names(args.as_of),
        args.target,
        out=args.out,
        observed_until=args.observed_until,  # checked, and named, by the library
        tolerance=args.tolerance,
        allow_future=args.allow_future,
    )
    target = labels.target
    print(f"Wrote {len(labels):,} {target.name} labels to {Path(args.out)}")
    summary = labels.summary().reset_index()
    summary["as_of"] = summary["as_of"].dt.strftime("%Y-%m-%d")
    rate = summary["rate"].astype(float).round(4)
    summary["rate"] = rate.astype(object).where(summary["rows"] > 0, "")
    print_frame(summary, sys.stdout)
    if (summary["rows"] == 0).any():
        print(
            f"No rows for dates whose {target.horizon_days}-day horizon ends after the "
            "data do (see --observed-until).",
            file=sys.stderr,
        )
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    result = train_risk_model(
        args.portfolio,
        names(args.as_of_dates),
        args.target,
        model=RiskModel(
            calibration=None if args.calibration == "none" else args.calibration,
            random_state=args.seed,
        ),
        families=names(args.families) or None,
        exclude=names(args.exclude),
        tolerance=args.tolerance,
        out=args.out,
        report_path=args.report or None,
        overwrite=args.overwrite,
        allow_future=args.allow_future,
        sensitive=None if args.sensitive is None else names(args.sensitive),
        include_sensitive=args.include_sensitive,
    )
    d = result.dates
    print(
        f"Trained {result.model.target.name} on {len(d['train'])} dates "
        f"({d['train'][0]} .. {d['train'][-1]}), stopped early on {d['validation'][0]} "
        f"at {result.model.best_iteration_} trees, tested on {d['test'][0]}:"
    )
    _print_metrics(result.report.metrics)
    report = f" and the report to {Path(args.report)}" if args.report else ""
    print(f"Wrote the model to {Path(args.out)}{report}")
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    report = evaluate_model(
        args.model,
        args.portfolio,
        names(args.as_of),
        out=args.out,
        allow_future=args.allow_future,
    )
    _print_metrics(report.metrics)
    print(f"Wrote the report to {Path(args.out)}")
    return EXIT_OK


def cmd_score(args: argparse.Namespace) -> int:
    scores = score_portfolio(
        args.model,
        args.portfolio,
        names(args.as_of),
        explain=args.explain,
        out=args.out,
        allow_future=args.allow_future,
    )
    print(f"Wrote {len(scores):,} scores to {Path(args.out)} (mean {scores['score'].mean():.4f})")
    return EXIT_OK


def cmd_prioritise(args: argparse.Namespace) -> int:
    as_of = dates(args.as_of)
    if len(as_of) != 1:
        raise OverdueRiskError("--as-of takes one date: the day the worklist is for.")
    worklist = prioritise_portfolio(
        args.scores,
        args.portfolio,
        as_of[0],
        args.strategy,
        value_model=args.value,
        horizon_days=args.horizon,
        flags=args.flags,
        method=args.method,
        max_score_age_days=args.max_score_age_days,
        out=args.out,
        allow_future=args.allow_future,
    )
    summary = worklist.summary().reset_index()
    print(f"Wrote {worklist!r} to {Path(args.out)}")
    shown = summary.round(2).astype(object)
    print_frame(shown.where(summary.notna(), ""), sys.stdout)
    # Per action: how many accounts reached each stage, and why an action got none.
    print_frame(worklist.actions().reset_index(), sys.stdout)
    # worklist.warnings (every capacity unlimited) are logged by the library, and main()
    # sends logged warnings to stderr: printing them here too would show them twice.
    if not worklist.causal:
        source = worklist.table()["value_source"]
        named = f" ({source.iloc[0]})" if len(source) else ""
        print(
            f"warning: values come from configured lifts{named}, not from randomised "
            "actions: they are not causal.",
            file=sys.stderr,
        )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    demo = run_demo(args.portfolio, args.out)
    run = demo.run
    print(repr(run))
    print("\nTop of the worklist:")
    top = demo.top(10)
    top = top.assign(reasons=top["reasons"].astype(str).str.slice(0, 60))
    print_frame(top.reset_index(), sys.stdout)
    out = Path(args.out)
    print("\nWhere to look:")
    for name, what in (
        ("report.html", "score distributions, drift, the worklist by action"),
        ("worklist.csv", "the day's actions, for the dialler and the field teams"),
        ("scores.parquet", "every open loan's score, reasons for the worklist's accounts"),
        ("manifest.json", "inputs, models, row counts, timings, versions"),
    ):
        print(f"  {out / name}: {what}")
    for name, path in demo.models.items():
        print(f"  {path}: the {name.replace('_', '-')} model")
    print("\nSeconds:")
    for step, s in demo.seconds.items():
        print(f"  {step}: {s:.1f}")
    stages = run.timings()["wall_s"]
    within = " (within chunks)"
    print(
        "  nightly stages: "
        + ", ".join(f"{k} {v:.1f}" for k, v in stages.items() if within not in k)
    )
    print(
        "  within chunks: "
        + ", ".join(f"{k.removesuffix(within)} {v:.1f}" for k, v in stages.items() if within in k)
    )
    return EXIT_OK


def _check_engine(args: argparse.Namespace) -> None:
    """The flags of one engine refused with the other, before any work."""
    if args.engine != "spark":
        if args.spark_master is not None:
            raise OverdueRiskError("--spark-master applies to --engine spark only.")
        return
    refused = {
        "--jobs": args.jobs != 1,
        "--tables": args.tables is not None,
        "--publish-to": args.publish_to is not None,
    }
    given = [flag for flag, on in refused.items() if on]
    if given:
        raise OverdueRiskError(
            f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} not for --engine spark: "
            "Spark's executors process the chunks (their number and cores are Spark's "
            "settings), the portfolio is a folder of Parquet files, and the run folder is "
            "the only output (docs/spark.md)."
        )


def cmd_nightly(args: argparse.Namespace) -> int:
    # A batch job's log gets one line per stage, with its timing, on standard error.
    logging.getLogger("overdue_risk.workflows.nightly").setLevel(logging.INFO)
    _check_engine(args)
    as_of = dates(args.as_of)
    if len(as_of) != 1:
        raise OverdueRiskError("--as-of takes one date: tonight's.")
    common = {
        "out": args.out,
        "force": args.force,
        "explain_all": args.explain_all,
        "value": args.value,
        "chunk_customers": args.chunk_customers,
        "flags": args.flags,
        "quarantine": args.quarantine,
        "allow_future": args.allow_future,
    }
    if args.engine == "spark":
        run = run_nightly_on_spark(
            names(args.models),
            args.portfolio,
            as_of[0],
            args.strategy,
            **common,
            master=args.spark_master,
        )
    else:
        run = run_nightly(
            names(args.models),
            args.portfolio,
            as_of[0],
            args.strategy,
            **common,
            jobs=args.jobs,
            tables=args.tables,
            publish_to=args.publish_to,
        )
    print(repr(run))
    rows = run.summary()["worklist"]
    keys = ("action", "capacity", "accounts", "expected_value", "shadow_price")
    shown = pd.DataFrame([{k: r[k] for k in keys} for r in rows], columns=list(keys))
    print_frame(shown.astype(object).where(shown.notna(), ""), sys.stdout)
    print_frame(run.timings().reset_index(names="stage"), sys.stdout)
    return EXIT_OK


def _value_seeds(text: str) -> list[int]:
    """Comma-separated ints >= 0, checked before any work."""
    seeds = names(text)
    if not seeds or not all(t.isdigit() for t in seeds):
        raise OverdueRiskError(
            f"--value-seeds must be one or more ints >= 0, comma-separated; got {text!r}."
        )
    return [int(t) for t in seeds]


def cmd_policy_eval(args: argparse.Namespace) -> int:
    decision_dates = names(args.dates)
    comparison, _ = simulated_comparison(
        args.loans,
        decision_dates,
        args.strategy,
        seed=args.seed,
        n_paths=args.paths,
        scenario=args.scenario,
        ceiling_dates=names(args.ceiling_dates) or None,
        ope_dates=names(args.ope_dates) or None,
        value_seeds=_value_seeds(args.value_seeds),
        out=args.out,
    )
    table = comparison.table()
    print(f"Compared {len(table)} policies on {len(decision_dates)} dates; wrote {Path(args.out)}")
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
    print_frame(table[shown].round(3).reset_index(), sys.stdout)
    ope = comparison.off_policy()
    if ope is not None:
        print("Off-policy estimates of the prioritiser (per logged randomised decision):")
        cols = ["n", "truth", "ipw", "snipw", "dr", "dr_se", "dr_error"]
        print_frame(ope.loc[["pooled"], cols].round(3).reset_index(), sys.stdout)
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    simulated = simulate_portfolio(
        args.loans,
        args.start,
        args.end,
        seed=args.seed,
        scenario=args.scenario,
        out=args.out,
        format=args.format,
        overwrite=args.overwrite,
    )
    out = Path(args.out)
    print(
        f"Wrote a simulated portfolio to {out} (truth in {out / SimulatedPortfolio.truth_folder})"
    )
    _print_summary(simulated.portfolio)
    return EXIT_OK


def cmd_convert(args: argparse.Namespace) -> int:
    result = convert_home_credit(
        args.folder,
        args.out,
        reference_date=args.reference_date,
        format=args.format,
        overwrite=args.overwrite,
        rows_per_bucket=args.rows_per_bucket,
    )
    out = Path(args.out) / TARGET_FOLDER
    print(
        f"Wrote {result!r} to {Path(args.out)} (TARGET in {out / f'target.{args.format}'}, "
        f"what did not enter in {out / f'dropped.{args.format}'})"
    )
    summary = result.summary()
    print_frame(summary.astype(object).where(summary.notna(), ""), sys.stdout)
    return EXIT_OK
