"""Plain helpers shared by the test modules: paths, the CLI runner, settings, small builders.

Fixtures live in ``conftest.py``; hypothesis strategies and the loan records they
draw live in ``strategies.py``. Everything here is an ordinary function or
constant, imported by name (``from helpers import SAMPLE, run_cli``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, settings

from overdue_risk import Portfolio
from overdue_risk.cli import main

ROOT = Path(__file__).resolve().parents[1]
# The simulated sample users start from, as text: the command line takes it as it is.
SAMPLE = str(ROOT / "data" / "sample")
# The hand-made portfolio of tests/data/handmade (read only: copy it before changing it).
HANDMADE = ROOT / "tests" / "data" / "handmade"

# The property tests' settings, built on the profile conftest.py loaded (``ci`` when
# ``CI`` is set): a module needing fewer examples writes settings(SETTINGS, max_examples=n).
SETTINGS = settings(
    settings.default,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of one command, as the console script sees them."""
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def listing(*folders: Path | str) -> dict[str, bytes]:
    """Every file below ``folders`` (hidden and temporary ones included) and its bytes."""
    files = {}
    for folder in map(Path, folders):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                files[str(path)] = path.read_bytes()
    return files


def assert_refused(argv: list[str], capsys, message: str, *, watch: Iterable = ()) -> str:
    """One command that must refuse its input: exit 2, ``message`` (a regular
    expression) in what it prints, no traceback, and nothing written or changed
    below the ``watch`` folders. Returns stderr."""
    watch = list(watch)
    before = listing(*watch)
    code, out, err = run_cli(argv, capsys)
    assert code == 2, f"exit {code}\nstdout: {out}\nstderr: {err}"
    assert re.search(message, err), f"{message!r} not in: {err}"
    assert "Traceback" not in err and "internal error" not in err, err
    assert listing(*watch) == before, "the refused command wrote or changed files"
    return err


def reseal(folder: Path | str) -> None:
    """Record the sha256 of a model folder's edited ``manifest.json`` in ``manifest.sha256``,
    as a save would: the tests of the checks after the seal edit the manifest this way."""
    folder = Path(folder)
    digest = hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
    (folder / "manifest.sha256").write_text(f"{digest}  manifest.json\n")


# Loan ``A`` of the hand-made ledger and label cases: three monthly instalments of 100.
DUE = ["2024-02-01", "2024-03-01", "2024-04-01"]


def one_loan(
    payments=(),
    *,
    amounts=(100.0, 100.0, 100.0),
    due=DUE,
    principal=270.0,
    closed=None,
    tagged=None,
    principal_due=None,
    start="2024-01-01",
) -> Portfolio:
    """Loan ``A`` of customer ``c`` with its schedule and ``payments`` as (date, amount).

    ``tagged`` gives the payments' ``installment_no`` (the lender's allocation),
    ``principal_due`` the schedule's principal part; both are left out when None.
    """
    loans = pd.DataFrame(
        {
            "loan_id": ["A"],
            "customer_id": ["c"],
            "product_type": ["instalment"],
            "start_date": [start],
            "principal": [principal],
            "closed_date": [closed],
        }
    )
    inst = pd.DataFrame(
        {
            "loan_id": "A",
            "installment_no": range(1, len(due) + 1),
            "due_date": list(due),
            "amount_due": list(amounts),
        }
    )
    if principal_due is not None:
        inst["principal_due"] = principal_due
    pay = pd.DataFrame(
        {
            "loan_id": pd.Series(["A"] * len(payments), dtype=object),
            "payment_date": [d for d, _ in payments],
            "amount": [a for _, a in payments],
        }
    )
    if tagged is not None:
        pay["installment_no"] = tagged
    return Portfolio(loans=loans, installments=inst, payments=pay)


def only_loans(p: Portfolio, ids: Iterable) -> Portfolio:
    """The portfolio cut to the loans ``ids``: every table with a loan_id keeps their rows."""
    ids = set(ids)
    return Portfolio(
        **{
            name: df[df["loan_id"].isin(ids)] if "loan_id" in df else df
            for name, df in p.tables().items()
        }
    )


def flags_table(ids: Iterable, strategy=None, **flagged) -> pd.DataFrame:
    """A flags table for the loans ``ids``, indexed by loan_id: False in every column
    the rules of ``strategy`` (default: ``Strategy()``) read, except ``flagged``
    (flag name -> one value per loan, written to the flag's column)."""
    from overdue_risk.prioritise import Strategy, flag_rules

    strategy = Strategy() if strategy is None else strategy
    ids = pd.Index(list(ids), name="loan_id")
    names = [*flag_rules(strategy), *(f for f in flagged if f not in flag_rules(strategy))]
    return pd.DataFrame(
        {getattr(strategy.flags, f): flagged.get(f, [False] * len(ids)) for f in names},
        index=ids,
    )


def concat_rows(*frames: pd.DataFrame) -> pd.DataFrame:
    """Concatenate, leaving out empty frames (whose dtypes are unknown)."""
    kept = [f for f in frames if len(f)] or [frames[0]]
    return pd.concat(kept, ignore_index=True)


def save_small_model(folder: Path, **params) -> Path:
    """A five-tree model of the hand-made portfolio's ledger and static features (random
    labels), saved to ``folder`` with its build options as ``train_risk_model`` saves them."""
    import numpy as np

    from overdue_risk import RiskModel, build_features, load_portfolio

    portfolio = load_portfolio(HANDMADE)
    dates = pd.date_range("2024-02-29", "2024-09-30", freq="ME")
    X = build_features(portfolio, dates, families=["ledger", "static"])
    y = np.random.default_rng(0).integers(0, 2, len(X))
    model = RiskModel(n_estimators=5, num_leaves=3, min_child_samples=2, n_jobs=1, **params)
    if "calibration" in params:  # the calibrator fits on a validation slice
        model.fit(X, y, X, y)
    else:
        model.fit(X, y)
    model.build_options_ = {"families": ["ledger", "static"], "exclude": [], "tolerance": 0.0}
    return model.save(folder)


def card_paid_up(p: Portfolio, loan, t: pd.Timestamp, owed: float) -> bool:
    """Whether the card ``loan``'s payments after its last statement dated by ``t``, up to
    ``t``, cover ``owed``, the shortfall that statement left (plain pandas)."""
    st, pay = p.statements, p.payments
    last = st.loc[(st["loan_id"] == loan) & (st["statement_date"] <= t), "statement_date"]
    mine = pay[(pay["loan_id"] == loan) & (pay["payment_date"] <= t)]
    return bool(mine.loc[mine["payment_date"] > last.max(), "amount"].sum() >= owed - 1e-9)


def in_arrears(p: Portfolio, as_of) -> pd.Index:
    """The loans in arrears at the end of ``as_of``, by the definitions: open, with DPD
    above 0 in the ledger, and not a card whose payments after its last statement cover
    the shortfall that statement left (one loan at a time, in plain pandas)."""
    from overdue_risk import Ledger

    t = pd.Timestamp(as_of)
    led = Ledger(p).at(as_of).table().droplevel("as_of")
    led = led[(led["dpd"] > 0) & ~led["is_closed"]]
    keep = [
        loan
        for loan, acct in led.iterrows()
        if not (
            acct["source"] == "statements"
            and acct["overdue_amount"] > 0
            and card_paid_up(p, loan, t, acct["overdue_amount"])
        )
    ]
    return pd.Index(keep, name="loan_id")
