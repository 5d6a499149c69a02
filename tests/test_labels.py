"""Labels: hand-computed cases, and the labels against the ledger evaluated day by day.

Unless a case says otherwise, the loan ``A`` starts on 2024-01-01 with three
monthly instalments of 100 due 2024-02-01, 2024-03-01 and 2024-04-01 (2024 is
a leap year). An unpaid instalment due on D has DPD ``u - D`` on day u, so the
first instalment reaches DPD 30 on 2024-03-02. Payments dated e count from day
e on: a payment clears DPD on the day it arrives.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import strategies
from helpers import SAMPLE, SETTINGS, concat_rows, one_loan
from overdue_risk import (
    CureTarget,
    DpdTarget,
    Ledger,
    LedgerConfig,
    OverdueRiskError,
    Portfolio,
    load_portfolio,
    make_labels,
    validate,
)
from overdue_risk._dates import parse_as_of
from overdue_risk.contract import observation_window
from overdue_risk.labels import observation_end, parse_target, target_from_dict
from strategies import day, moved_after, shuffled

# Loans whose schedule starts before them, payments after closing: legal, only odd.
pytestmark = pytest.mark.filterwarnings("ignore::overdue_risk.DataQualityWarning")

END = "2024-12-31"  # observed until, unless a case tests the default


def T(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


def observed(p: Portfolio, until) -> Portfolio:
    """``p`` with a record dated ``until``: a collection action on its first loan.

    ``observed_until`` may not pass the data's last record, so a case whose
    loans say nothing until ``until`` (nothing paid) states that its data run
    to that day. A collection action changes no ledger state and no label.
    """
    loans = p.loans
    starts = pd.to_datetime(loans["start_date"])
    if pd.Timestamp(until) <= starts.min():
        return p  # the loans' own start dates reach it
    action = pd.DataFrame(
        {"loan_id": [loans["loan_id"].iloc[int(np.argmin(starts))]],
         "action_date": [pd.Timestamp(until)], "action": ["other"]}
    )  # fmt: skip
    col = p.collections
    return Portfolio(
        **{**p.tables(), "collections": concat_rows(col, action) if col is not None else action}
    )


def label(portfolio, as_of, target=None, **kw):
    """The one label of loan A at ``as_of``, or None when the row is not labelled."""
    kw.setdefault("observed_until", END)
    portfolio = observed(portfolio, kw["observed_until"])
    y = make_labels(portfolio, as_of, target or DpdTarget(), **kw)
    assert len(y) <= 1
    return int(y.iloc[0]) if len(y) else None


# -- DpdTarget ----------------------------------------------------------------------


def test_missed_instalment_reaches_30():
    # Nothing paid. as_of 2024-01-01, horizon ends 2024-03-31: instalment 1 reaches
    # DPD 30 on 03-02 -> 1.
    assert label(one_loan(), "2024-01-01") == 1


@pytest.mark.parametrize(
    "horizon, expected",
    [
        # as_of 2024-01-31 (DPD 0: nothing due yet). Horizon end = as_of + h.
        (29, 0),  # ends 2024-02-29: DPD 28 at most
        (30, 0),  # ends 2024-03-01: DPD 29 on the last day -> not yet 30
        (31, 1),  # ends 2024-03-02: DPD 30 on the last day, exactly the threshold
        (32, 1),  # ends 2024-03-03: DPD 31
    ],
)
def test_threshold_reached_on_the_horizons_last_days(horizon, expected):
    assert label(one_loan(), "2024-01-31", DpdTarget(horizon_days=horizon)) == expected


@pytest.mark.parametrize(
    "pay_day, expected",
    [
        # One instalment of 100 due 2024-02-01, paid in full on pay_day; as_of
        # 2024-01-31, horizon 90 days. DPD is 28 on 02-29, 29 on 03-01, 30 on 03-02.
        ("2024-03-01", 0),  # the ledger shows DPD 28 on 02-29, then 0 from 03-01
        ("2024-03-02", 0),  # DPD 29 on 03-01; on 03-02 the payment counts: never 30
        ("2024-03-03", 1),  # DPD 30 on 03-02, paid the next day: reached 30 -> 1
        ("2024-04-15", 1),  # paid 74 days late
        (None, 1),  # never paid
    ],
)
def test_paid_around_the_threshold(pay_day, expected):
    pays = [(pay_day, 100.0)] if pay_day else []
    p = one_loan(pays, due=["2024-02-01"], amounts=[100.0])
    assert label(p, "2024-01-31") == expected


def test_the_day_before_a_payment_counts_not_the_day_it_arrives():
    # DPD on day u is u - 02-01 while unpaid; 03-02 is DPD 30. A payment of
    # everything due on 03-02 clears it that very day, so the ledger never
    # shows 30: the label is 0. (A rule "DPD(e-1) + 1" would wrongly say 1.)
    p = one_loan([("2024-03-02", 200.0)])
    led = Ledger(p).at(pd.date_range("2024-02-25", "2024-03-05")).table()["dpd"]
    assert led.max() == 29
    assert label(p, "2024-01-31") == 0
    # One day later: DPD 30 on 03-02, paid on 03-03 -> 1.
    assert label(one_loan([("2024-03-03", 200.0)]), "2024-01-31") == 1


def test_hits_30_then_pays_within_the_horizon_is_still_1():
    # Reaches DPD 30 on 03-02, pays everything on 03-10 (current again by 03-31).
    p = one_loan([("2024-03-10", 300.0)])
    assert Ledger(p).at("2024-04-30").table()["dpd"].iloc[0] == 0
    assert label(p, "2024-01-31") == 1


def test_partial_payment_keeps_the_oldest_instalment_open():
    # 99.99 of 100 paid on time: instalment 1 stays open, DPD 30 on 03-02 -> 1.
    p = one_loan([("2024-02-01", 99.99)])
    assert label(p, "2024-01-31") == 1
    # A 31-day horizon ends 03-02: without tolerance the cent left keeps
    # instalment 1 open (DPD 30 on 03-02) -> 1. With a tolerance of 0.01 it is
    # settled; instalment 2 is open from 03-01: DPD 1 on 03-02 -> 0.
    assert label(p, "2024-01-31", DpdTarget(horizon_days=31)) == 1
    tolerant = LedgerConfig(tolerance=0.01)
    assert label(p, "2024-01-31", DpdTarget(horizon_days=31), ledger_config=tolerant) == 0
    # Over 90 days instalment 2 reaches DPD 30 on 03-31 either way -> 1.
    assert label(p, "2024-01-31", ledger_config=tolerant) == 1


def test_loan_already_at_threshold_is_excluded_unless_asked():
    # On 2024-03-15 instalment 1 is 43 days late: at the threshold already.
    assert label(one_loan(), "2024-03-15") is None
    assert label(one_loan(), "2024-03-15", DpdTarget(exclude_at_threshold=False)) == 1
    # Included, and paid in full the next day: DPD 0 from 03-16 -> 0.
    p = one_loan([("2024-03-16", 300.0)])
    assert label(p, "2024-03-15", DpdTarget(exclude_at_threshold=False)) == 0
    # Just below the threshold (DPD 29 on 03-01) it is eligible by default.
    assert label(one_loan(), "2024-03-01") == 1


def test_closed_loan_is_excluded_unless_asked():
    # Closed on 2024-02-10 with instalment 1 unpaid (DPD 9 on closing, frozen).
    p = one_loan(closed="2024-02-10")
    assert label(p, "2024-02-10") is None  # closed on the as-of date: excluded
    assert label(p, "2024-02-09") == 0  # closes in the horizon at DPD 9: frozen, never 30
    # Included when asked: the frozen DPD 9 never reaches 30.
    assert label(p, "2024-03-31", DpdTarget(exclude_closed=False)) == 0
    # Closed in arrears at DPD 40 (2024-03-12): included, its frozen DPD is >= 30.
    late = one_loan(closed="2024-03-12")
    assert label(late, "2024-04-30", DpdTarget(exclude_closed=False)) is None  # at threshold
    assert (
        label(late, "2024-04-30", DpdTarget(exclude_closed=False, exclude_at_threshold=False)) == 1
    )


def test_loan_closing_in_the_horizon_counts_until_closing():
    # Closed on 2024-03-05, unpaid: DPD 30 on 03-02, before closing -> 1.
    assert label(one_loan(closed="2024-03-05"), "2024-01-31") == 1
    # Closed on 2024-03-02 at DPD 30 (the closing day's state is frozen) -> 1.
    assert label(one_loan(closed="2024-03-02"), "2024-01-31") == 1
    # Closed on 2024-03-01 at DPD 29 -> 0: instalments after closing are cancelled.
    assert label(one_loan(closed="2024-03-01"), "2024-01-31") == 0


def test_unobserved_horizon_is_dropped_not_labelled_0():
    p = one_loan([("2024-02-01", 100.0)])
    # as_of 2024-01-31 + 90 days = 2024-04-30.
    assert label(p, "2024-01-31", observed_until="2024-04-30") == 1
    assert label(p, "2024-01-31", observed_until="2024-04-29") is None
    # Default: the last record is the payment on 2024-02-01 (the schedule's due
    # dates are not observations), so no 90-day horizon after 2023-11-03 is seen.
    assert observation_end(p) == T("2024-02-01")
    assert len(make_labels(p, "2024-01-31", DpdTarget())) == 0
    assert len(make_labels(p, "2024-01-31", DpdTarget(horizon_days=1))) == 1
    # The closed date counts as an observation.
    assert observation_end(one_loan(closed="2024-05-01")) == T("2024-05-01")


def test_many_dates_and_loans_in_ledger_order():
    two = one_loan([("2024-02-01", 100.0)])
    b = one_loan()
    loans = pd.concat([two.loans, b.loans.assign(loan_id="B", start_date="2024-02-15")])
    inst = pd.concat([two.installments, b.installments.assign(loan_id="B")])
    p = Portfolio(loans=loans, installments=inst, payments=two.payments)
    p = observed(p, END)
    y = make_labels(p, ["2024-03-31", "2024-01-31", "2024-02-29"], DpdTarget(), observed_until=END)
    # A: 01-31 -> 1 (instalment 2 unpaid from 03-01, DPD 30 on 03-31).
    #    02-29 -> 1 (same), 03-31 -> at DPD 30: excluded.
    # B: starts 02-15, so no row on 01-31; 02-29 -> DPD 28 -> eligible, 1.
    #    03-31 -> DPD 59 (instalment due 02-01 before its start): excluded.
    assert y.index.tolist() == [
        ("A", T("2024-01-31")),
        ("A", T("2024-02-29")),
        ("B", T("2024-02-29")),
    ]
    assert y.tolist() == [1, 1, 1]
    assert y.name == "label" and y.dtype == np.int8
    assert y.index.names == ["loan_id", "as_of"]


# -- CureTarget ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "pays, expected",
    [
        # as_of 2024-02-20: instalment 1 is 19 days late. Horizon (02-20, 03-21].
        ([("2024-02-25", 100.0)], 1),  # paid in full on 02-25: DPD 0 -> cured
        ([("2024-02-25", 60.0)], 0),  # partly paid: still 24 days late on 02-25
        ([("2024-03-21", 100.0)], 0),  # paid the last day, but instalment 2 (due 03-01) is open
        ([("2024-03-21", 200.0)], 1),  # everything due paid on the horizon's last day
        ([("2024-03-22", 200.0)], 0),  # one day too late
        ([("2024-02-21", 100.0), ("2024-03-15", 100.0)], 1),  # cured, late again: still 1
    ],
)
def test_cure(pays, expected):
    assert label(one_loan(pays), "2024-02-20", CureTarget()) == expected


def test_cure_eligibility():
    # Current on the as-of date (nothing due yet): not eligible.
    assert label(one_loan(), "2024-01-20", CureTarget()) is None
    # Due today but not yet late (DPD 0): not eligible.
    assert label(one_loan(), "2024-02-01", CureTarget()) is None
    # Closed on the as-of date: excluded, unless asked (frozen DPD > 0: never cures).
    p = one_loan(closed="2024-02-15")
    assert label(p, "2024-02-20", CureTarget()) is None
    assert label(p, "2024-02-20", CureTarget(exclude_closed=False)) == 0


def test_cure_by_paying_off_and_closing():
    # 19 days late on 02-20; pays off everything on 03-05 and the loan closes
    # that day with DPD 0 -> cured.
    assert (
        label(one_loan([("2024-03-05", 300.0)], closed="2024-03-05"), "2024-02-20", CureTarget())
        == 1
    )
    # Closed (written off) on 03-05 without paying: frozen at DPD 33 -> not cured.
    assert label(one_loan(closed="2024-03-05"), "2024-02-20", CureTarget()) == 0


def test_statement_loans_use_the_reported_dpd():
    loans = pd.DataFrame(
        {
            "loan_id": ["S"],
            "customer_id": ["c"],
            "product_type": ["revolving"],
            "start_date": ["2024-01-01"],
            "principal": [1000.0],
        }
    )
    st_ = pd.DataFrame(
        {
            "loan_id": "S",
            "statement_date": ["2024-02-01", "2024-03-01", "2024-04-01"],
            "balance": [500.0, 500.0, 400.0],
            "dpd": [0, 20, 0],
        }
    )
    p = Portfolio(loans=loans, statements=st_)
    # 02-15: DPD 0. The 03-01 statement reports 20, aged a day a day: 29 on 03-10,
    # 30 on 03-11; the 04-01 statement reports 0.
    assert label(p, "2024-02-15", DpdTarget(horizon_days=30)) == 1  # ends 03-16
    assert label(p, "2024-02-15", DpdTarget(horizon_days=25)) == 1  # ends 03-11: DPD 30
    assert label(p, "2024-02-15", DpdTarget(horizon_days=24)) == 0  # ends 03-10: DPD 29
    # Cure: on 03-05 DPD 24; DPD 0 from the 04-01 statement.
    assert label(p, "2024-03-05", CureTarget()) == 1  # ends 04-04
    assert label(p, "2024-03-05", CureTarget(horizon_days=27)) == 1  # ends 04-01
    assert label(p, "2024-03-05", CureTarget(horizon_days=26)) == 0  # ends 03-31: DPD 50


# -- arguments ----------------------------------------------------------------------


def test_targets_validate_and_round_trip():
    bounds = r"must be an integer in \[1, 3650\]"
    with pytest.raises(OverdueRiskError, match=rf"threshold {bounds}; got 0\."):
        DpdTarget(threshold=0)
    with pytest.raises(OverdueRiskError, match=rf"horizon_days {bounds}; got 2\.5"):
        DpdTarget(horizon_days=2.5)
    with pytest.raises(OverdueRiskError, match="horizon_days"):
        CureTarget(horizon_days=True)
    with pytest.raises(OverdueRiskError, match=r"exclude_closed must be true or false; got 1\."):
        CureTarget(exclude_closed=1)
    t = DpdTarget(threshold=np.int64(60), horizon_days=180, exclude_at_threshold=False)
    assert type(t.threshold) is int
    assert t.name == "dpd60_180d" and CureTarget(45).name == "cure_45d"
    for target in (t, CureTarget(45, exclude_closed=False)):
        assert target_from_dict(target.to_dict()) == target
        assert type(target).from_dict(target.to_dict()) == target
    with pytest.raises(OverdueRiskError, match="kind 'dpd'"):
        DpdTarget.from_dict(CureTarget().to_dict())
    with pytest.raises(OverdueRiskError, match="Unknown DpdTarget field"):
        DpdTarget.from_dict({"kind": "dpd", "treshold": 30})
    assert parse_target(" DPD60_180d") == DpdTarget(60, 180)
    assert parse_target("cure_7d") == CureTarget(7)
    for bad in ("dpd30", "cure", "dpd0_90d", 30):
        with pytest.raises(OverdueRiskError):
            parse_target(bad)


def test_bad_arguments():
    p = one_loan()
    with pytest.raises(OverdueRiskError, match="target must be"):
        make_labels(p, "2024-01-31", 30)
    with pytest.raises(OverdueRiskError, match="ISO 8601"):
        make_labels(p, "2024-02-30", DpdTarget())
    with pytest.raises(OverdueRiskError, match="one date"):
        make_labels(p, "2024-01-31", DpdTarget(), observed_until=["2024-05-01", "2024-06-01"])
    with pytest.raises(OverdueRiskError, match="Portfolio"):
        make_labels(p.loans, "2024-01-31", DpdTarget())
    # A target by name.
    assert make_labels(
        observed(p, END), "2024-01-31", "dpd30_90d", observed_until=END
    ).tolist() == [1]


def test_sample_portfolio():
    p = load_portfolio(SAMPLE)
    dates = ["2024-03-31", "2024-06-30", "2024-09-30", "2024-12-31"]
    y = make_labels(p, dates, DpdTarget())
    # Observed until 2024-12-31: 09-30 + 90 days = 12-29 is observed, 12-31 is not.
    seen = y.index.get_level_values("as_of").unique()
    assert list(seen) == [T("2024-03-31"), T("2024-06-30"), T("2024-09-30")]
    led = Ledger(p).at(dates[:3]).table()
    # Every row is an eligible ledger row, and in the ledger's order.
    eligible = led.index[(led["dpd"] < 30) & ~led["is_closed"]]
    assert y.index.equals(eligible)
    assert 0.03 < y.mean() < 0.2


# -- the labels against the ledger, day by day --------------------------------------


@st.composite
def loan_records(draw, loan_id: int):
    """A schedule loan with random partial, late, missing and allocated payments, or a
    statement loan with reported or derived DPD."""
    start = draw(st.integers(0, 40))
    closed = draw(st.one_of(st.none(), st.none(), st.integers(start, start + 200)))
    if draw(st.booleans()):  # schedule
        n_inst = draw(st.integers(1, 5))
        gaps = draw(st.lists(st.integers(0, 40), min_size=n_inst, max_size=n_inst))
        dues = list(np.cumsum([start + draw(st.integers(1, 40)), *gaps[1:]]))
        cents = draw(st.lists(st.integers(1, 20_000), min_size=n_inst, max_size=n_inst))
        pays = []
        for d, c in zip(dues, cents, strict=True):
            kind = draw(st.sampled_from(["on time", "late", "partial", "missed", "double"]))
            if kind == "missed":
                continue
            delay = draw(st.integers(-5, 0) if kind == "on time" else st.integers(1, 70))
            amount = draw(st.integers(1, c)) if kind == "partial" else c * (1 + (kind == "double"))
            tag = draw(st.one_of(st.none(), st.none(), st.integers(1, n_inst)))
            pays.append((max(int(d) + delay, start), amount, tag))
        for _ in range(draw(st.integers(0, 2))):  # and a few at random
            pays.append((start + draw(st.integers(0, 200)), draw(st.integers(1, 30_000)), None))
        return {"id": loan_id, "start": start, "closed": closed, "dues": dues,
                "cents": cents, "pays": pays, "stmts": []}  # fmt: skip
    n_st = draw(st.integers(0, 6))
    st_days = sorted(set(draw(st.lists(st.integers(start, start + 200), max_size=n_st))))
    stmts = [
        (
            d,
            draw(st.one_of(st.none(), st.integers(0, 60))),  # reported dpd
            draw(st.integers(0, 5_000)),  # min due, cents
            draw(st.integers(0, 5_000)),  # paid, cents
        )
        for d in st_days
    ]
    return {"id": loan_id, "start": start, "closed": closed, "dues": [], "cents": [],
            "pays": [], "stmts": stmts}  # fmt: skip


@st.composite
def portfolios(draw):
    return [draw(loan_records(i)) for i in range(draw(st.integers(1, 5)))]


@st.composite
def cases(draw):
    """Records and as-of days, many of them shortly after a due date or a statement."""
    records = draw(portfolios())
    anchors = [int(d) for r in records for d in r["dues"]]
    anchors += [d for r in records for d, *_ in r["stmts"]]
    near = st.sampled_from(anchors or [0]).flatmap(lambda a: st.integers(a, a + 45))
    dates = draw(st.lists(st.one_of(near, near, st.integers(0, 200)), min_size=1, max_size=6))
    return records, dates


def to_portfolio(records) -> Portfolio:
    """The records' loans (statement loans are revolving), schedules, payments, statements."""
    p = strategies.to_portfolio(records)
    kind = ["instalment" if r["dues"] else "revolving" for r in records]
    stm = pd.DataFrame(
        [
            {"loan_id": r["id"], "statement_date": day(d), "balance": 100.0,
             "min_due": m / 100, "amount_paid": a / 100,
             "dpd": np.nan if rep is None else float(rep)}
            for r in records
            for d, rep, m, a in r["stmts"]
        ],
        columns=["loan_id", "statement_date", "balance", "min_due", "amount_paid", "dpd"],
    )  # fmt: skip
    return Portfolio(
        loans=p.loans.assign(product_type=kind),
        installments=p.installments,
        payments=p.payments,
        statements=stm,
    )


def reference(p: Portfolio, dates, target, end, config=None) -> pd.Series:
    """The labels by their definition: the ledger evaluated on every day of the horizon."""
    h = target.horizon_days
    dates = sorted({d for d in dates if d + pd.Timedelta(days=h) <= end})
    if not dates:
        return pd.Series([], dtype=np.int8, name="label")
    table = Ledger(p, config).at(pd.date_range(dates[0], dates[-1] + pd.Timedelta(days=h))).table()
    dpd = table["dpd"].unstack("as_of")
    parts = []
    for d in dates:
        if d not in table.index.get_level_values("as_of"):
            continue  # no loan started yet
        now = table.xs(d, level="as_of")
        window = dpd.loc[now.index, (dpd.columns > d) & (dpd.columns <= d + pd.Timedelta(days=h))]
        ok = ~now["is_closed"] if target.exclude_closed else pd.Series(True, index=now.index)
        if isinstance(target, DpdTarget):
            if target.exclude_at_threshold:
                ok &= now["dpd"] < target.threshold
            hit = window.max(axis=1) >= target.threshold
        else:
            ok &= now["dpd"] > 0
            hit = window.min(axis=1) == 0
        ids = now.index[ok.to_numpy()]
        index = pd.MultiIndex.from_arrays([ids, [d] * len(ids)], names=["loan_id", "as_of"])
        parts.append(pd.Series(hit[ok].to_numpy().astype(np.int8), index=index, name="label"))
    return pd.concat(parts) if parts else pd.Series([], dtype=np.int8, name="label")


targets = st.one_of(
    st.builds(
        DpdTarget,
        threshold=st.integers(1, 40),
        horizon_days=st.integers(1, 60),
        exclude_closed=st.booleans(),
        exclude_at_threshold=st.booleans(),
    ),
    st.builds(CureTarget, horizon_days=st.integers(1, 60), exclude_closed=st.booleans()),
)


def _refused(p: Portfolio, as_of, until) -> bool:
    """Whether ``observed_until`` lies before the data's first record or before every
    as-of date: refused, for nothing can be labelled by then."""
    first = observation_window(validate(p))[0]
    u = parse_as_of(until)[0]
    if u >= first and u >= parse_as_of(as_of)[0]:
        return False
    with pytest.raises(OverdueRiskError, match=r"first record|before every as-of date"):
        make_labels(p, as_of, DpdTarget(), observed_until=until)
    return True


def _assert_labels_equal(got: pd.Series, want: pd.Series) -> None:
    got, want = got.sort_index(), want.sort_index()
    assert got.index.tolist() == want.index.tolist()
    assert got.tolist() == want.tolist()


@pytest.mark.slow
@settings(SETTINGS, max_examples=150)
@given(
    case=cases(),
    target=targets,
    end=st.one_of(st.just(400), st.integers(0, 300)),  # mostly: every horizon observed
    tol=st.sampled_from([0, 3, 500]),
)
def test_matches_the_ledger_day_by_day(case, target, end, tol):
    records, dates = case
    p = observed(to_portfolio(records), day(end))
    config = LedgerConfig(tolerance=tol / 100)
    as_of = [day(d) for d in dates]
    if _refused(p, as_of, day(end)):
        return
    got = make_labels(p, as_of, target, config, observed_until=day(end))
    _assert_labels_equal(got, reference(p, as_of, target, day(end), config))


@SETTINGS
@given(
    records=portfolios(),
    seed=st.integers(0, 2**32 - 1),
    dates=st.lists(st.integers(0, 200), min_size=1, max_size=4),
    target=targets,
)
def test_row_order_changes_nothing(records, seed, dates, target):
    p = observed(to_portfolio(records), day(300))
    as_of = [day(d) for d in dates]
    a = make_labels(p, as_of, target, observed_until=day(300))
    b = make_labels(shuffled(p, seed), as_of, target, observed_until=day(300))
    _assert_labels_equal(a, b)


@pytest.mark.slow
@SETTINGS
@given(records=portfolios(), extra=portfolios(), t=st.integers(0, 200), target=targets)
def test_records_after_the_horizon_change_nothing(records, extra, t, target):
    as_of = day(t)
    last = t + target.horizon_days  # the horizon's last day
    p = observed(to_portfolio(records), day(last))
    if _refused(p, as_of, day(last)):
        return
    before = make_labels(p, as_of, target, observed_until=day(last))
    # Payments and statements dated after the horizon, and loans starting after it.
    late = to_portfolio(moved_after(extra, last))
    more_pay = pd.DataFrame(
        {
            "loan_id": [r["id"] for r in records if r["dues"]],
            "payment_date": [day(max(last + 1, r["start"])) for r in records if r["dues"]],
            "amount": 1234.5,
            "installment_no": np.nan,
        }
    )
    more_st = pd.DataFrame(
        {
            "loan_id": [r["id"] for r in records if not r["dues"]],
            "statement_date": day(last + 250),
            "balance": 1.0,
            "min_due": 0.0,
            "amount_paid": 0.0,
            "dpd": 0.0,
        }
    )
    grown = Portfolio(
        loans=concat_rows(p.loans, late.loans),
        installments=concat_rows(p.installments, late.installments),
        payments=concat_rows(p.payments, more_pay, late.payments),
        statements=concat_rows(p.statements, more_st, late.statements),
        collections=p.collections,
    )
    after = make_labels(grown, as_of, target, observed_until=day(last))
    _assert_labels_equal(before, after)
    # Observed for longer, the same rows get the same labels.
    longer = observed(grown, day(last + 400))
    _assert_labels_equal(before, make_labels(longer, as_of, target, observed_until=day(last + 400)))
