"""Each command parses its arguments and calls exactly one library function.

Every library function the commands module can reach is replaced: the one a
command should call by a recorder that returns a canned result, every other one
by a stub that fails the test. The command must exit 0, having called its
function once, with the arguments it parsed.
"""

from __future__ import annotations

import argparse
import inspect
from types import SimpleNamespace

import pandas as pd
import pytest

from overdue_risk import DpdTarget, Ledger, Scenario, load_portfolio, make_labels
from overdue_risk.cli import _commands, main
from overdue_risk.cli._main import build_parser
from overdue_risk.simulate import SimulatedPortfolio
from overdue_risk.workflows import LabelTable, TrainingResult

# What the commands module imported from the library (functions only: building a
# RiskModel or reading a Scenario file is parsing the arguments, not running a stage).
LIBRARY = sorted(
    name
    for name, obj in vars(_commands).items()
    if inspect.isfunction(obj)
    and obj.__module__.startswith("overdue_risk.")
    and not obj.__module__.startswith("overdue_risk.cli")
)
TRAIN_FLAGS = (
    "--as-of-dates 2024-01-31,2024-02-29 --out m --seed 4 --calibration none "
    "--exclude a,b --report r.html --overwrite"
)
PRIORITISE_FLAGS = (
    "--as-of 2025-01-01 --strategy uk_eu --out w.csv --value uplift --horizon 20 "
    "--flags f.csv --method lp --max-score-age-days inf"
)


class Comparison:
    """Enough of a policy comparison for the command to print."""

    COLUMNS = (
        "treated recovered cost net net_vs_none share_of_oracle contacts_per_account "
        "harsh_actions rule_violations"
    ).split()

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            {c: [1.0] for c in self.COLUMNS}, index=pd.Index(["none"], name="policy")
        )

    def off_policy(self) -> None:
        return None


class Worklist:
    """Enough of a worklist for the command to print."""

    causal = True

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame({"item": ["call"], "accounts": [3]}).set_index("item")

    def actions(self) -> pd.DataFrame:
        return pd.DataFrame({"action": ["call"], "chosen": [3]}).set_index("action")

    def __repr__(self) -> str:
        return "Worklist(fake)"


def cases(sample_dir) -> dict[str, tuple[list[str], str, tuple, dict, object]]:
    """command -> (argv, library function, expected args, expected kwargs, its result)."""
    portfolio = load_portfolio(sample_dir)
    dates = ["2024-06-30", "2024-12-31"]
    labels = make_labels(portfolio, dates, DpdTarget())
    trained = TrainingResult(
        SimpleNamespace(target=DpdTarget(), best_iteration_=7),
        SimpleNamespace(metrics={"n": 10, "auc": 0.75}),
        {"train": ["2024-01-31"], "validation": ["2024-02-29"], "test": ["2024-03-31"]},
    )
    p = str(sample_dir)
    return {
        "validate": ([p], "load_portfolio", (p,), {}, portfolio),
        "ledger": (
            [
                p,
                "--as-of",
                "2024-06-30, 2024-12-31",
                "--out=l.csv",
                "--tolerance=2",
                "--allow-future",
            ],
            "export_ledger",
            (p, dates),
            {"out": "l.csv", "tolerance": 2.0, "allow_future": True},
            Ledger(portfolio).at(dates),
        ),
        "features": (
            [p, "--as-of", "2024-06-30", "--out", "f.csv", "--families", "ledger,recency"],
            "export_features",
            (p, ["2024-06-30"]),
            {
                "out": "f.csv",
                "families": ["ledger", "recency"],
                "exclude": [],
                "tolerance": 0.0,
                "allow_future": False,
            },
            pd.DataFrame({"dpd": [0, 3]}),
        ),
        "labels": (
            [p, "--as-of", "2024-06-30,2024-12-31", "--out", "y.csv", "--target", "cure_30d"],
            "export_labels",
            (p, dates, "cure_30d"),
            {"out": "y.csv", "observed_until": None, "tolerance": 0.0, "allow_future": False},
            LabelTable(labels, DpdTarget(), pd.DatetimeIndex(dates)),
        ),
        "train": (
            [p, *TRAIN_FLAGS.split()],
            "train_risk_model",
            (p, ["2024-01-31", "2024-02-29"], "dpd30_90d"),
            {
                "families": None,
                "exclude": ["a", "b"],
                "tolerance": 0.0,
                "out": "m",
                "report_path": "r.html",
                "overwrite": True,
                "allow_future": False,
                "sensitive": None,
                "include_sensitive": False,
            },
            trained,
        ),
        "evaluate": (
            ["m", p, "--as-of", "2024-09-30", "--out", "e.html"],
            "evaluate_model",
            ("m", p, ["2024-09-30"]),
            {"out": "e.html", "allow_future": False},
            SimpleNamespace(metrics={"n": 10, "auc": 0.75}),
        ),
        "score": (
            ["m", p, "--as-of", "2024-12-31", "--out", "s.csv", "--explain", "2"],
            "score_portfolio",
            ("m", p, ["2024-12-31"]),
            {"explain": 2, "out": "s.csv", "allow_future": False},
            pd.DataFrame({"score": [0.25, 0.75]}),
        ),
        "prioritise": (
            ["s.csv", p, *PRIORITISE_FLAGS.split()],
            "prioritise_portfolio",
            ("s.csv", p, "2025-01-01", "uk_eu"),
            {
                "value_model": "uplift",
                "horizon_days": 20,
                "flags": "f.csv",
                "method": "lp",
                "max_score_age_days": float("inf"),
                "out": "w.csv",
                "allow_future": False,
            },
            Worklist(),
        ),
        "policy-eval": (
            "--loans 80 --seed 3 --dates 2024-06-03,2024-06-10 --strategy uk_eu --out c.csv "
            "--ope-dates 2024-06-04 --value-seeds 0,2".split(),
            "simulated_comparison",
            (80, ["2024-06-03", "2024-06-10"], "uk_eu"),
            {
                "seed": 3,
                "n_paths": 100,
                "scenario": None,
                "ceiling_dates": None,
                "ope_dates": ["2024-06-04"],
                "value_seeds": [0, 2],
                "out": "c.csv",
            },
            (Comparison(), {}),
        ),
        "nightly": (
            f"--models ew,cure --portfolio {p} --as-of 2024-12-31 --strategy uk_eu --out run "
            "--force --explain-all --flags f.csv --value arrears --jobs 2 --chunk-customers 500 "
            "--tables t.toml --publish-to duckdb:///tmp/o.db --quarantine --allow-future".split(),
            "run_nightly",
            (["ew", "cure"], p, "2024-12-31", "uk_eu"),
            {
                "out": "run",
                "force": True,
                "explain_all": True,
                "value": "arrears",
                "chunk_customers": 500,
                "jobs": 2,
                "flags": "f.csv",
                "tables": "t.toml",
                "publish_to": "duckdb:///tmp/o.db",
                "quarantine": True,
                "allow_future": True,
            },
            NIGHTLY,
        ),
        "demo": (
            ["--portfolio", p, "--out", "runs/x"],
            "run_demo",
            (p, "runs/x"),
            {},
            SimpleNamespace(
                run=NIGHTLY,
                top=lambda n: pd.DataFrame({"rank": [1], "action": ["call"], "reasons": ["dpd"]}),
                models={"early_warning": "runs/x-models/early_warning"},
                seconds={"nightly run": 1.0},
            ),
        ),
        "convert": (
            "home-credit hc --out out --reference-date 2018-01-01 --format csv --overwrite "
            "--rows-per-bucket 1000".split(),
            "convert_home_credit",
            ("hc", "out"),
            {
                "reference_date": "2018-01-01",
                "format": "csv",
                "overwrite": True,
                "rows_per_bucket": 1000,
            },
            SimpleNamespace(summary=lambda: pd.DataFrame({"rows": [1]}, index=["loans"])),
        ),
        "simulate": (
            "--loans 50 --start 2024-01-01 --end 2024-06-30 --out d --format csv --seed 9".split(),
            "simulate_portfolio",
            (50, "2024-01-01", "2024-06-30"),
            {"seed": 9, "scenario": None, "out": "d", "format": "csv", "overwrite": False},
            SimulatedPortfolio(portfolio, None),
        ),
    }


NIGHTLY = SimpleNamespace(  # what cmd_nightly and cmd_demo read of a NightlyRun
    summary=lambda: {
        "worklist": [
            {
                "action": "call",
                "capacity": 5,
                "accounts": 5,
                "expected_value": 9.0,
                "shadow_price": 1.0,
            }
        ]
    },
    timings=lambda: pd.DataFrame({"wall_s": [0.1]}, index=["check"]),
)


def subcommands() -> set[str]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(sub.choices)


def test_every_command_has_a_case(sample_dir):
    assert set(cases(sample_dir)) == subcommands()


@pytest.mark.parametrize("command", sorted(subcommands()))
def test_command_calls_one_library_function(command, sample_dir, monkeypatch, capsys):
    argv, function, args, kwargs, result = cases(sample_dir)[command]
    assert function in LIBRARY
    calls = []

    def record(*a, **k):
        calls.append((a, k))
        return result

    def forbidden(name):
        def stub(*a, **k):
            raise AssertionError(f"{command} also called {name}")

        return stub

    for name in LIBRARY:
        monkeypatch.setattr(_commands, name, record if name == function else forbidden(name))
    code = main([command, *argv])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert len(calls) == 1
    called_args, called_kwargs = calls[0]
    assert called_args == args
    model = called_kwargs.pop("model", None)
    assert called_kwargs == kwargs
    if command == "train":  # the estimator's parameters come from the flags
        assert model.get_params()["calibration"] is None
        assert model.get_params()["random_state"] == 4


def test_simulate_passes_the_scenario_file_on(sample_dir, tmp_path, monkeypatch, capsys):
    """The library reads it: it must know every input, to refuse an output over it."""
    scenario = tmp_path / "s.toml"
    scenario.write_text(Scenario().to_toml())
    calls = []

    def record(*a, **k):
        calls.append(k)
        return SimulatedPortfolio(load_portfolio(sample_dir), None)

    monkeypatch.setattr(_commands, "simulate_portfolio", record)
    argv = ["simulate", "--loans", "5", "--start", "2024-01-01", "--end", "2024-06-30"]
    code = main([*argv, "--out", "d", "--scenario", str(scenario)])
    assert code == 0, capsys.readouterr().err
    assert calls[0]["scenario"] == str(scenario)


def _only(function: str, monkeypatch) -> list:
    """Every library function of the commands module stubbed: ``function`` records its
    calls, any other fails the test."""
    calls = []

    def record(*a, **k):
        calls.append((a, k))
        return NIGHTLY

    def forbidden(name):
        def stub(*a, **k):
            raise AssertionError(f"nightly also called {name}")

        return stub

    for name in LIBRARY:
        monkeypatch.setattr(_commands, name, record if name == function else forbidden(name))
    return calls


def test_nightly_on_spark_calls_the_spark_engine_alone(sample_dir, monkeypatch, capsys):
    calls = _only("run_nightly_on_spark", monkeypatch)
    argv = (
        f"nightly --models ew,cure --portfolio {sample_dir} --as-of 2024-12-31 --strategy uk_eu "
        "--out run --force --engine spark --spark-master local[2] --chunk-customers 500 "
        "--quarantine --explain-all --flags f.csv --value arrears --allow-future"
    ).split()
    code = main(argv)
    assert code == 0, capsys.readouterr().err
    assert calls == [
        (
            (["ew", "cure"], str(sample_dir), "2024-12-31", "uk_eu"),
            {
                "out": "run",
                "force": True,
                "explain_all": True,
                "value": "arrears",
                "chunk_customers": 500,
                "flags": "f.csv",
                "quarantine": True,
                "allow_future": True,
                "master": "local[2]",
            },
        )
    ]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ("--spark-master local[2]", "--spark-master applies to --engine spark only"),
        ("--engine pandas --spark-master yarn", "--spark-master applies to --engine spark only"),
        ("--engine spark --jobs 2", "--jobs is not for --engine spark"),
        (
            "--engine spark --tables t.toml --publish-to duckdb:///o.db",
            "--tables, --publish-to are not for --engine spark",
        ),
    ],
)
def test_flags_of_the_other_engine_are_usage_errors(
    sample_dir, flags, message, monkeypatch, capsys
):
    calls = _only("no library function", monkeypatch)
    argv = (
        f"nightly --models ew --portfolio {sample_dir} --as-of 2024-12-31 --strategy uk_eu "
        f"--out run {flags}"
    ).split()
    code = main(argv)
    assert code == 2
    assert message in capsys.readouterr().err
    assert calls == []
