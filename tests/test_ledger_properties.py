"""Property tests: the vectorised ledger against a plain reference, and its invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import SETTINGS, concat_rows
from overdue_risk import Ledger, LedgerConfig, Portfolio
from strategies import day, moved_after, portfolios, shuffled, to_portfolio

pytestmark = pytest.mark.filterwarnings("ignore::overdue_risk.DataQualityWarning")


def reference(records, t: int, tol_cents: int) -> dict[int, dict]:
    """The ledger by its definition, one loan and one instalment at a time."""
    out = {}
    for r in records:
        if t < r["start"]:
            continue
        closed = r["closed"]
        as_of, t = t, t if closed is None else min(t, closed)  # frozen once closed
        sched = [
            (d, k + 1, c)
            for k, (d, c) in enumerate(zip(r["dues"], r["cents"], strict=True))
            if closed is None or d <= closed or as_of < closed  # cancelled once closed
        ]
        sched.sort()
        live = {no for _, no, _ in sched}
        paid = sum(c for d, c, _ in r["pays"] if d <= t)
        tagged = {}
        for d, c, tag in r["pays"]:
            if d <= t and tag in live:
                tagged[tag] = tagged.get(tag, 0) + c
        applied = {no: min(tagged.get(no, 0), c) for _, no, c in sched}
        pool = paid - sum(applied.values())
        due = sum(c for d, _, c in sched if d <= t)
        dpd, cum_remaining, overdue = None, 0, 0
        for d, no, c in sched:
            cum_remaining += c - applied[no]
            unpaid = max(cum_remaining - pool, 0)  # unpaid on instalments up to this one
            if d <= t:
                overdue = unpaid
            if dpd is None and unpaid > tol_cents:  # the oldest beyond tolerance
                dpd = max(t - d, 0)
        dpd = dpd or 0
        pay_days = [d for d, _, _ in r["pays"] if d <= t]
        later = [d for d, _, _ in sched if d > t]
        out[r["id"]] = {
            "amount_due_to_date": due / 100,
            "amount_paid_to_date": paid / 100,
            "overdue_amount": overdue / 100,
            "paid_ahead": (paid - (due - overdue)) / 100,
            "dpd": dpd,
            "n_installments_due": sum(d <= t for d, _, _ in sched),
            "next_due_date": day(min(later)) if later else pd.NaT,
            "last_payment_date": day(max(pay_days)) if pay_days else pd.NaT,
            "is_closed": closed is not None and as_of >= closed,
        }
        t = as_of
    return out


@SETTINGS
@given(records=portfolios(), t=st.integers(0, 420), tol=st.sampled_from([0, 3, 500]))
def test_matches_reference(records, t, tol):
    got = Ledger(to_portfolio(records), LedgerConfig(tolerance=tol / 100)).at(day(t)).table()
    want = reference(records, t, tol)
    assert sorted(got.index.get_level_values("loan_id")) == sorted(want)
    for loan_id, expected in want.items():
        actual = got.loc[(loan_id, day(t))]
        for column, value in expected.items():
            if isinstance(value, float):
                assert actual[column] == pytest.approx(value, abs=1e-9), column
            elif value is pd.NaT:
                assert pd.isna(actual[column]), column
            else:
                assert actual[column] == value, column


@SETTINGS
@given(
    records=portfolios(),
    seed=st.integers(0, 2**32 - 1),
    dates=st.lists(st.integers(0, 420), min_size=1, max_size=4),
)
def test_row_order_changes_nothing(records, seed, dates):
    p = to_portfolio(records)
    as_of = [day(d) for d in dates]
    a = Ledger(p).at(as_of).table()
    b = Ledger(shuffled(p, seed)).at(as_of).table().sort_index()
    pd.testing.assert_frame_equal(a.sort_index(), b)


@SETTINGS
@given(records=portfolios(), extra=portfolios(), t=st.integers(0, 420))
def test_records_after_as_of_change_nothing(records, extra, t):
    base = to_portfolio(records)
    before = Ledger(base).at(day(t)).table()
    # Payments dated after t on existing loans, and whole loans starting after t.
    late = to_portfolio(moved_after(extra, t))
    more_pay = pd.DataFrame(
        {
            "loan_id": [r["id"] for r in records],
            "payment_date": [day(max(t + 1, r["start"])) for r in records],
            "amount": 12.34,
            "installment_no": np.nan,
        }
    )
    # A closing after t on every open loan: not known at t.
    closes_later = base.loans.assign(
        closed_date=base.loans["closed_date"].where(
            base.loans["closed_date"] <= day(t),
            base.loans["start_date"].clip(lower=day(t + 3)),
        )
    )
    grown = Portfolio(
        loans=concat_rows(closes_later, late.loans),
        installments=concat_rows(base.installments, late.installments),
        payments=concat_rows(base.payments, more_pay, late.payments),
    )
    after = Ledger(grown).at(day(t)).table()
    pd.testing.assert_frame_equal(before, after)


@SETTINGS
@given(
    records=portfolios(), dates=st.lists(st.integers(0, 420), min_size=2, max_size=5, unique=True)
)
def test_many_dates_equal_one_at_a_time(records, dates):
    ledger = Ledger(to_portfolio(records))
    together = ledger.at([day(d) for d in dates]).table()
    apart = pd.concat([ledger.at(day(d)).table() for d in dates]).sort_index()
    pd.testing.assert_frame_equal(together.sort_index(), apart)


@SETTINGS
@given(records=portfolios(), t=st.integers(0, 420))
def test_invariants(records, t):
    table = Ledger(to_portfolio(records)).at(day(t)).table()
    assert (table["dpd"] >= 0).all()
    assert (table["overdue_amount"] >= 0).all() and (table["paid_ahead"] >= 0).all()
    # Overdue and paid-ahead are the two sides of one balance.
    net = table["amount_due_to_date"] - table["amount_paid_to_date"]
    np.testing.assert_allclose(table["overdue_amount"] - table["paid_ahead"], net, atol=1e-9)
    assert ((table["dpd"] > 0) <= (table["overdue_amount"] > 0)).all()
    assert (table["n_installments_paid"] <= table["n_installments"]).all()
    assert table["outstanding_principal"].between(0, 1000).all()


@SETTINGS
@given(
    records=portfolios(),
    dates=st.lists(st.integers(0, 420), min_size=1, max_size=3),
    chunk=st.integers(1, 9),
)
def test_query_block_size_changes_nothing(records, dates, chunk):
    from unittest import mock

    from overdue_risk.ledger import _ledger, _state

    ledger = Ledger(to_portfolio(records))
    as_of = [day(d) for d in dates]
    whole = ledger.at(as_of).table()
    with mock.patch.object(_ledger, "CHUNK", chunk), mock.patch.object(_state, "CHUNK", chunk):
        blocked = ledger.at(as_of).table()
    pd.testing.assert_frame_equal(whole, blocked)


@SETTINGS
@given(records=portfolios(), t=st.integers(0, 420), cut=st.integers(0, 4))
def test_loans_in_chunks_equal_all_loans_at_once(records, t, cut):
    """A nightly job may stream a portfolio in chunks of loans: the result is the same."""
    whole = Ledger(to_portfolio(records)).at(day(t)).table()
    parts = [records[:cut], records[cut:]]
    chunks = [Ledger(to_portfolio(p)).at(day(t)).table() for p in parts if p]
    pd.testing.assert_frame_equal(pd.concat(chunks).sort_index(), whole.sort_index())
