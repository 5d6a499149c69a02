"""Hand-computed cases for the ``collections`` feature family (action log, promises).

Loan ``A`` received payments of 50 on 2024-03-05, 30 on 03-12 and 100 on 04-20;
its action log, with what becomes of each promise (resolved the day after its
promise date)::

    #  action_date  action  outcome     promise      amount  paid in window          resolved
    1  2024-03-01   sms     no_contact
    2  2024-03-02   call    promise     2024-03-10       50  50 (03-05): kept         03-11
    3  2024-03-11   call    promise     2024-03-15       40  30 (03-12): broken       03-16
    4  2024-03-20   visit   contacted
    5  2024-03-25   letter  (missing)
    6  2024-04-01   call    promise     2024-04-10      100  0: broken                04-11
    7  2024-04-05   sms     promise     (none)            -  never resolved
    8  2024-04-15   call    promise     2024-04-30      100  100 (04-20): kept        05-01
    9  2024-06-01   legal   refused
   10  2024-07-01   restructure contacted                     (after every as-of date)

Loan ``B`` has no actions. Loan ``C`` has no payments and overlapping promises:
one made 03-01 for 03-31, then two short ones made 03-05 and 03-06 for 03-07 and 03-08.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers import only_loans
from overdue_risk import LedgerConfig, Portfolio
from overdue_risk.contract._schema import ACTIONS, OUTCOMES
from overdue_risk.features import build_features, list_features

NAN = np.nan
SPECS = list_features(["collections"])
NAMES = list(SPECS["name"])
NUMERIC = list(SPECS.loc[SPECS["dtype"] == "float32", "name"])

LOG = [
    # loan, action_date, action, outcome, promise_date, promise_amount
    ("A", "2024-03-01", "sms", "no_contact", None, NAN),
    ("A", "2024-03-02", "call", "promise", "2024-03-10", 50.0),
    ("A", "2024-03-11", "call", "promise", "2024-03-15", 40.0),
    ("A", "2024-03-20", "visit", "contacted", None, NAN),
    ("A", "2024-03-25", "letter", None, None, NAN),
    ("A", "2024-04-01", "call", "promise", "2024-04-10", 100.0),
    ("A", "2024-04-05", "sms", "promise", None, NAN),
    ("A", "2024-04-15", "call", "promise", "2024-04-30", 100.0),
    ("A", "2024-06-01", "legal", "refused", None, NAN),
    ("A", "2024-07-01", "restructure", "contacted", None, NAN),
    ("C", "2024-03-01", "call", "promise", "2024-03-31", 10.0),
    ("C", "2024-03-05", "sms", "promise", "2024-03-07", 10.0),
    ("C", "2024-03-06", "sms", "promise", "2024-03-08", 10.0),
]
COLUMNS = ["loan_id", "action_date", "action", "outcome", "promise_date", "promise_amount"]


def portfolio(log=LOG, *, columns=COLUMNS, payments=True, with_log=True) -> Portfolio:
    loans = pd.DataFrame(
        {
            "loan_id": ["A", "B", "C"],
            "customer_id": ["c1", "c2", "c3"],
            "product_type": "instalment",
            "start_date": "2024-01-01",
            "principal": 300.0,
        }
    )
    inst = pd.DataFrame(
        {
            "loan_id": np.repeat(["A", "B", "C"], 2),
            "installment_no": [1, 2] * 3,
            "due_date": ["2024-02-01", "2024-03-01"] * 3,
            "amount_due": 150.0,
        }
    )
    pay = pd.DataFrame(
        {
            "loan_id": "A",
            "payment_date": ["2024-03-05", "2024-03-12", "2024-04-20"],
            "amount": [50.0, 30.0, 100.0],
        }
    )
    tables = {"loans": loans}
    if payments:
        tables.update(installments=inst, payments=pay)
    else:  # a statements-only portfolio: promises cannot be judged
        tables["statements"] = pd.DataFrame(
            {"loan_id": ["A", "B", "C"], "statement_date": "2024-02-01", "balance": 10.0}
        )
    if with_log:
        tables["collections"] = pd.DataFrame(list(log), columns=COLUMNS)[columns]
    return Portfolio(**tables)


def features(p: Portfolio, as_of, **kw) -> pd.DataFrame:
    return build_features(p, as_of, families=["collections"], **kw)


def expected(w7=(), w30=(), **values) -> dict[str, float]:
    """All numeric features: the per-action counts named in ``w7``/``w30``, else 0."""
    out = {}
    for w, named in ((7, dict(w7)), (30, dict(w30))):
        out[f"n_contacts_{w}d"] = sum(named.values())
        out.update({f"n_contacts_{w}d_{a}": named.get(a, 0) for a in ACTIONS})
    out.update(values)
    assert set(out) == set(NUMERIC), set(NUMERIC) ^ set(out)
    return out


def assert_row(row: pd.Series, numbers: dict[str, float], outcome, action) -> None:
    got = row[list(numbers)].to_numpy(np.float64)
    np.testing.assert_allclose(got, list(numbers.values()), rtol=1e-6, equal_nan=True)
    for name, value in (("last_outcome", outcome), ("last_action", action)):
        assert (pd.isna(row[name]) and value is None) or row[name] == value, (name, row[name])


def test_catalogue_and_dtypes():
    X = features(portfolio(), ["2024-03-15", "2024-05-01"])
    assert list(X.columns) == NAMES
    assert len(NUMERIC) == 25 and (X[NUMERIC].dtypes == np.float32).all()
    assert list(X["last_outcome"].cat.categories) == list(OUTCOMES)
    assert list(X["last_action"].cat.categories) == list(ACTIONS)
    assert set(SPECS.loc[~SPECS["name"].isin(NUMERIC), "dtype"]) == {"category"}
    assert SPECS["description"].str.endswith(".").all()


def test_first_promise_kept_second_pending():
    # As of 03-15: actions 1-3; promise 2 resolved 03-11 and kept; promise 3 is due
    # exactly today (0 days) and resolves tomorrow.
    row = features(portfolio(), "2024-03-15").loc[("A", "2024-03-15")]
    numbers = expected(
        w7={"call": 1},  # (03-08, 03-15]: action 3
        w30={"sms": 1, "call": 2},
        n_contacts_total=3,
        days_since_contact=4,  # 03-15 - 03-11
        days_since_reached=4,  # action 3 ended in a promise
        n_promises=2,
        n_promises_kept=1,
        n_promises_broken=0,
        share_promises_kept=1.0,
        days_to_promise=0,
        days_since_broken_promise=NAN,
    )
    assert_row(row, numbers, "promise", "call")


def test_promise_broken_the_day_after_its_date():
    # As of 03-16 promise 3 is resolved: 30 paid of 40 promised.
    row = features(portfolio(), "2024-03-16").loc[("A", "2024-03-16")]
    numbers = expected(
        w7={"call": 1},
        w30={"sms": 1, "call": 2},
        n_contacts_total=3,
        days_since_contact=5,
        days_since_reached=5,
        n_promises=2,
        n_promises_kept=1,
        n_promises_broken=1,
        share_promises_kept=0.5,
        days_to_promise=NAN,
        days_since_broken_promise=0,  # resolved (broken) today
    )
    assert_row(row, numbers, "promise", "call")


def test_promise_without_date_is_never_resolved():
    # As of 04-12: actions 1-7. (04-05, 04-12] excludes action 7 dated 04-05.
    row = features(portfolio(), "2024-04-12").loc[("A", "2024-04-12")]
    numbers = expected(
        w7={},
        w30={"visit": 1, "letter": 1, "call": 1, "sms": 1},  # (03-13, 04-12]: actions 4-7
        n_contacts_total=7,
        days_since_contact=7,
        days_since_reached=7,
        n_promises=4,  # 2, 3, 6 and 7 (no date: made, never resolved)
        n_promises_kept=1,
        n_promises_broken=2,  # 3 and 6
        share_promises_kept=1 / 3,
        days_to_promise=NAN,  # promise 6 was due 04-10; promise 7 has no date
        days_since_broken_promise=1,  # promise 6, resolved 04-11
    )
    assert_row(row, numbers, "promise", "sms")


def test_pending_then_kept():
    X = features(portfolio(), ["2024-04-20", "2024-05-01"])
    numbers = expected(
        w7={"call": 1},  # action 8 on 04-15
        w30={"letter": 1, "call": 2, "sms": 1},  # (03-21, 04-20]: actions 5-8
        n_contacts_total=8,
        days_since_contact=5,
        days_since_reached=5,
        n_promises=5,
        n_promises_kept=1,
        n_promises_broken=2,
        share_promises_kept=1 / 3,
        days_to_promise=10,  # promise 8 is due 04-30
        days_since_broken_promise=9,  # 04-20 - 04-11
    )
    assert_row(X.loc[("A", "2024-04-20")], numbers, "promise", "call")
    numbers = expected(
        w7={},
        w30={"sms": 1, "call": 1},  # (04-01, 05-01]: actions 7 and 8, not 6 (04-01)
        n_contacts_total=8,
        days_since_contact=16,
        days_since_reached=16,
        n_promises=5,
        n_promises_kept=2,  # promise 8: 100 paid on 04-20, resolved 05-01
        n_promises_broken=2,
        share_promises_kept=0.5,
        days_to_promise=NAN,
        days_since_broken_promise=20,
    )
    assert_row(X.loc[("A", "2024-05-01")], numbers, "promise", "call")


def test_action_on_as_of_counts_and_later_ones_do_not():
    row = features(portfolio(), "2024-06-01").loc[("A", "2024-06-01")]
    numbers = expected(
        w7={"legal": 1},
        w30={"legal": 1},
        n_contacts_total=9,  # action 10 (07-01) is in the future
        days_since_contact=0,
        days_since_reached=0,  # refused still reached the customer
        n_promises=5,
        n_promises_kept=2,
        n_promises_broken=2,
        share_promises_kept=0.5,
        days_to_promise=NAN,
        days_since_broken_promise=51,  # 06-01 - 04-11: 19 + 31 + 1
    )
    assert_row(row, numbers, "refused", "legal")


def test_window_edges():
    # (as_of - 7, as_of] and (as_of - 30, as_of]: action 6 (04-01) counts from 04-01
    # through 04-07 in the 7-day window and through 04-30 in the 30-day window.
    X = features(portfolio(), ["2024-04-07", "2024-04-08", "2024-04-30", "2024-05-01"])
    a = X.xs("A", level="loan_id")
    assert a["n_contacts_7d"].tolist() == [2, 1, 0, 0]  # 04-07: actions 6 and 7
    assert a["n_contacts_7d_call"].tolist() == [1, 0, 0, 0]
    # 04-07 and 04-08: actions 3-7 (from 03-11); 04-30: 6-8; 05-01: 7 and 8
    assert a["n_contacts_30d"].tolist() == [5, 5, 3, 2]
    assert a["n_contacts_30d_call"].tolist() == [2, 2, 2, 1]  # 3, 6; 3, 6; 6, 8; 8


def test_loan_without_actions_counts_zero():
    X = features(portfolio(), ["2024-03-15", "2024-06-01"])
    none = expected(
        n_contacts_total=0,
        days_since_contact=NAN,
        days_since_reached=NAN,
        n_promises=0,
        n_promises_kept=0,
        n_promises_broken=0,
        share_promises_kept=NAN,
        days_to_promise=NAN,
        days_since_broken_promise=NAN,
    )
    for day in ("2024-03-15", "2024-06-01"):
        assert_row(X.loc[("B", day)], none, None, None)
    # Before its first action loan A reads the same.
    assert_row(features(portfolio(), "2024-02-15").loc[("A", "2024-02-15")], none, None, None)


def test_latest_open_promise_is_found_behind_broken_ones():
    X = features(portfolio(), ["2024-03-07", "2024-03-10"])
    row = X.loc[("C", "2024-03-07")]
    assert row["days_to_promise"] == 1  # the promise made 03-06 is due 03-08
    assert row["n_promises"] == 3 and row["n_promises_kept"] + row["n_promises_broken"] == 0
    row = X.loc[("C", "2024-03-10")]
    # The short promises were broken (no payments), resolved 03-08 and 03-09; the
    # promise made 03-01 for 03-31 is still open: 21 days to go.
    assert row["days_to_promise"] == 21
    assert row["n_promises_broken"] == 2 and row["n_promises_kept"] == 0
    assert row["share_promises_kept"] == 0 and row["days_since_broken_promise"] == 1
    assert row["n_contacts_7d_sms"] == 2 and row["n_contacts_30d_call"] == 1


def test_tolerance_of_the_ledger():
    # 30 paid of 40 promised is kept when shortfalls of up to 10 count as paid.
    row = features(portfolio(), "2024-03-16", ledger_config=LedgerConfig(tolerance=10.0))
    row = row.loc[("A", "2024-03-16")]
    assert (row["n_promises_kept"], row["n_promises_broken"]) == (2, 0)
    assert np.isnan(row["days_since_broken_promise"])


def test_future_records_and_row_order_change_nothing():
    days = ["2024-03-07", "2024-03-15", "2024-03-16", "2024-04-12", "2024-05-01", "2024-06-01"]
    X = features(portfolio(), days)
    pd.testing.assert_frame_equal(
        X, features(portfolio([r for r in LOG if r[1] <= days[-1]]), days)
    )
    # Promise 8 is resolved 05-01: without it, earlier rows are unchanged.
    early = [r for r in LOG if r[1] < "2024-04-15"]
    Y = features(portfolio(early), days[:4])
    pd.testing.assert_frame_equal(Y, X.loc[Y.index])
    shuffled = [LOG[i] for i in np.random.default_rng(3).permutation(len(LOG))]
    # Rows of one day keep their order; there is one action a day per loan here.
    pd.testing.assert_frame_equal(X, features(portfolio(shuffled), days))


def test_same_day_actions_do_not_depend_on_row_order():
    # Actions of one day are ordered by action, then outcome, in contract order;
    # promises of one day by promise date.
    same_day = [
        ("A", "2024-03-01", "call", "contacted", None, NAN),
        ("A", "2024-03-01", "sms", "no_contact", None, NAN),
        ("A", "2024-03-04", "call", "promise", "2024-03-09", 10.0),
        ("A", "2024-03-04", "call", "promise", "2024-03-06", 10.0),
    ]
    for log in (same_day, same_day[::-1]):
        X = features(portfolio(log), ["2024-03-01", "2024-03-04"])
        assert X.loc[("A", "2024-03-01"), "last_action"] == "call"
        assert X.loc[("A", "2024-03-01"), "last_outcome"] == "contacted"
        assert X.loc[("A", "2024-03-04"), "days_to_promise"] == 5  # 03-09, not 03-06


def test_text_or_category_columns():
    p = portfolio()
    log = p.collections.copy()
    log["action"] = log["action"].astype(pd.CategoricalDtype(list(reversed(ACTIONS))))
    log["outcome"] = log["outcome"].astype("category")  # only the categories present
    q = Portfolio(loans=p.loans, installments=p.installments, payments=p.payments, collections=log)
    days = ["2024-03-15", "2024-06-01"]
    pd.testing.assert_frame_equal(features(p, days), features(q, days))


def test_no_collections_table_gives_nan():
    X = features(portfolio(with_log=False), ["2024-03-15", "2024-06-01"])
    assert X[NUMERIC].isna().all().all()
    assert X["last_outcome"].isna().all() and X["last_action"].isna().all()


def test_without_payments_promises_cannot_be_judged():
    X = features(portfolio(payments=False), "2024-06-01")
    row = X.loc[("A", "2024-06-01")]
    assert row["n_promises"] == 5 and row["n_contacts_total"] == 9
    judged = ["n_promises_kept", "n_promises_broken", "share_promises_kept"]
    assert row[[*judged, "days_since_broken_promise"]].isna().all()


def test_only_required_columns():
    X = features(portfolio(columns=COLUMNS[:3]), "2024-04-12")
    row = X.loc[("A", "2024-04-12")]
    assert row["n_contacts_total"] == 7 and row["n_promises"] == 0
    assert np.isnan(row["days_since_reached"]) and pd.isna(row["last_outcome"])
    assert row["last_action"] == "sms"


def test_sample_sanity(sample):
    X = features(sample, ["2023-06-30", "2024-06-30", "2024-12-31"])
    values = X[NUMERIC].to_numpy(np.float64)
    assert not np.isinf(values).any()
    counts = [n for n in NUMERIC if n.startswith("n_")]
    assert X[counts].notna().all().all() and (X[counts] >= 0).all().all()
    for w in (7, 30):
        per_action = X[[f"n_contacts_{w}d_{a}" for a in ACTIONS]].sum(axis=1)
        np.testing.assert_array_equal(per_action, X[f"n_contacts_{w}d"])
    assert (X["n_contacts_7d"] <= X["n_contacts_30d"]).all()
    assert (X["n_contacts_30d"] <= X["n_contacts_total"]).all()
    assert (X["n_promises_kept"] + X["n_promises_broken"] <= X["n_promises"]).all()
    assert X["share_promises_kept"].dropna().between(0, 1).all()
    for name in ("days_since_contact", "days_to_promise", "days_since_broken_promise"):
        assert (X[name].dropna() >= 0).all(), name
    assert (X["days_since_reached"].dropna() >= 0).all()
    contacted = X["n_contacts_total"] > 0
    assert X.loc[contacted, "days_since_contact"].notna().all()
    assert X.loc[~contacted, "last_action"].isna().all()
    assert X.loc[contacted, "last_action"].notna().all()


def test_sample_does_not_depend_on_other_loans(sample):
    days = ["2024-06-30", "2024-12-31"]
    promised = sample.collections.loc[sample.collections["outcome"] == "promise", "loan_id"]
    ids = promised.drop_duplicates().iloc[:40]
    X = features(sample, days)
    Y = features(only_loans(sample, ids), days)
    pd.testing.assert_frame_equal(Y, X.loc[Y.index])


def test_codes_from_text_or_category():
    from overdue_risk.features._collections import _codes

    values = ["call", None, "sms", "letter"]
    want = [1, -1, 0, 3]
    for series in (
        pd.Series(values, dtype=object),
        pd.Series(values, dtype="string"),
        pd.Series(values, dtype="category"),
        pd.Series(values, dtype=pd.CategoricalDtype(list(reversed(ACTIONS)))),
    ):
        assert _codes(series, ACTIONS).tolist() == want, series.dtype
