"""The nightly run: populations, chunks, the run folder, repeatability, and safe kills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import SAMPLE, flags_table, listing, run_cli
from overdue_risk import ModelError, OverdueRiskError, RiskModel, load_portfolio
from overdue_risk.workflows import run_nightly, score_portfolio, train_risk_model

AS_OF = "2024-12-31"
MONTHS = pd.date_range("2023-06-30", "2024-09-30", freq="ME")
FILES = {
    "scores.parquet",
    "worklist.parquet",
    "worklist.csv",
    "summary.json",
    "manifest.json",
    "report.html",
}


@pytest.fixture(scope="module")
def flags() -> pd.DataFrame:
    """Nobody flagged: every contact rule enforced, none blocking."""
    return flags_table(load_portfolio(SAMPLE).loans["loan_id"])


def load_features_for(model, loan_ids):
    """The model's features of these loans, built on the whole sample (one shot)."""
    from overdue_risk.workflows._features import model_features

    X = model_features(model, load_portfolio(SAMPLE), AS_OF)
    return X[X.index.get_level_values("loan_id").isin(list(loan_ids))]


def nightly(models, flags, **kw):
    """A run; with the stated arrears rule's values unless ``value`` says otherwise (learning
    the value model is the slowest stage, and only the published run needs it)."""
    kw.setdefault("value", "arrears")
    return run_nightly(list(models), SAMPLE, AS_OF, "default", flags=flags, **kw)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> tuple[Path, Path]:
    """An early-warning model (DPD 30 in 90 days) and a collection model (cure in 30 days)."""
    root = tmp_path_factory.mktemp("nightly")
    small = RiskModel(n_estimators=30, random_state=0, n_jobs=1)
    kw = {"model": small, "families": ["ledger", "recency", "static"]}
    train_risk_model(SAMPLE, MONTHS, "dpd30_90d", out=root / "ew", **kw)
    train_risk_model(SAMPLE, MONTHS, "cure_30d", out=root / "cure", **kw)
    return root / "ew", root / "cure"


@pytest.fixture(scope="module")
def published(models, flags, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    return nightly(models, flags, out=out, value="auto"), out


def test_the_run_folder_holds_every_file_and_the_counts_reconcile(published):
    run, out = published
    assert {p.name for p in out.iterdir()} == FILES
    manifest = json.loads((out / "manifest.json").read_text())
    rows = manifest["rows"]
    assert rows["open"] == rows["scored"] + rows["rejected"] == len(run.scores)
    assert run.scores["loan_id"].is_unique
    # Each file is the one the manifest hashed.
    import hashlib

    for name, digest in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    assert set(manifest["timings"]) == {"check", "plan", "chunks", "prioritise", "render"} | {
        f"{part} (within chunks)"
        for part in ("read", "validate", "route", "score", "explain", "account state")
    }
    assert "publish" in run.manifest["timings"]
    assert manifest["versions"]["lightgbm"]
    files = {i["path"]: i["sha256"] for i in manifest["inputs"]["portfolio"]["inputs"]}
    assert (
        files["loans.csv"] == hashlib.sha256((Path(SAMPLE) / "loans.csv").read_bytes()).hexdigest()
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary == run.summary() | {"rows": rows}


def test_each_account_is_scored_by_the_model_of_its_population(published, models, flags):
    run, _ = published
    s = run.scores.set_index("loan_id")
    arrears = s["dpd"] >= 1
    assert (s.loc[arrears, "population"] == "in_arrears").all()
    assert (s.loc[~arrears, "population"] == "not_in_arrears").all()
    assert set(s.loc[arrears, "model"]) == {os.fspath(models[1])}
    # The same scores as each model applied alone to the whole portfolio (one shot).
    for model, rows in ((models[0], ~arrears), (models[1], arrears)):
        alone = score_portfolio(model, SAMPLE, AS_OF).reset_index(level="as_of")
        np.testing.assert_allclose(
            s.loc[rows, "score"], alone["score"].reindex(s.index[rows]), rtol=0, atol=0
        )
    # The worklist's accounts are those in arrears; its risk is the chance of not curing.
    work = run.worklist.table()
    assert set(work.index) <= set(s.index[arrears])
    np.testing.assert_allclose(work["risk_score"], 1 - s.loc[work.index, "score"])


@pytest.mark.parametrize("per_chunk", [300, 1000])
def test_chunks_of_whole_customers_give_the_one_shot_scores(published, models, flags, per_chunk):
    run, _ = published
    chunked = nightly(models, flags, chunk_customers=per_chunk)
    pd.testing.assert_frame_equal(chunked.scores, run.scores)


def test_two_processes_give_the_same_scores(published, models, flags):
    run, _ = published
    parallel = nightly(models, flags, chunk_customers=400, jobs=2)
    pd.testing.assert_frame_equal(parallel.scores, run.scores)
    # The workers' own clocks: their CPU seconds and peak memory are in the manifest.
    chunks = parallel.manifest["timings"]["chunks"]
    assert chunks["workers_peak_rss_mb"] > 50 and chunks["cpu_s"] > 0.5


def test_workers_reading_their_own_parquet_chunks_give_the_same_scores(
    published, models, flags, tmp_path
):
    run, _ = published
    for name, df in load_portfolio(SAMPLE, validate=False).tables().items():
        df.to_parquet(tmp_path / f"{name}.parquet", index=False)
    parallel = run_nightly(
        list(models), tmp_path, AS_OF, "default", flags=flags, value="arrears",
        chunk_customers=1000, jobs=2,
    )  # fmt: skip
    pd.testing.assert_frame_equal(parallel.scores, run.scores)


def test_reasons_only_where_someone_reads_them(published, models, flags):
    run, _ = published
    s = run.scores
    explained = s["reason_1"].notna()
    assert not explained[s["dpd"] == 0].any()  # no one reads an early-warning reason tonight
    assert explained[s["dpd"] >= 1].all()  # the worklist's accounts: all of them
    # Each by the model that scored it: the collection model's reasons lower the cure chance.
    cure = RiskModel.load(models[1])
    X = load_features_for(cure, s.loc[s["dpd"] >= 1, "loan_id"].head(50))
    direct = cure.explain(X, top_k=3, against=True)
    got = s.set_index("loan_id").loc[X.index.get_level_values("loan_id"), "reason_1"]
    assert got.tolist() == direct["reason_1"].tolist()
    treated = run.worklist.table().query("action != 'wait'")
    assert explained[s["loan_id"].isin(treated.index)].all()
    # A text wherever a reason: an account may have none, when no feature lowers its cure
    # chance.
    reason_1 = s.set_index("loan_id").loc[treated.index, "reason_1"]
    assert treated["reasons"].str.len().gt(0).eq(reason_1.ne("")).all()
    assert reason_1.ne("").mean() > 0.9
    every = nightly(models, flags, explain_all=True).scores
    assert every["reason_1"].notna().sum() > explained.sum()


def test_the_same_inputs_give_the_same_bytes(published, models, flags, tmp_path):
    _, first = published
    again = tmp_path / "again"
    nightly(models, flags, out=again, value="auto")
    for name in FILES - {"manifest.json"}:
        assert (again / name).read_bytes() == (first / name).read_bytes(), name
    a, b = (json.loads((d / "manifest.json").read_text()) for d in (first, again))
    a.pop("timings"), b.pop("timings")
    assert a == b  # run times are the only difference, and only in the manifest


def test_the_worklist_csv_has_money_to_the_cent(published):
    _, out = published
    csv = pd.read_csv(out / "worklist.csv")
    for column in ("expected_value", "expected_recovery", "cost", "overdue_amount"):
        cents = csv[column].dropna() * 100
        np.testing.assert_allclose(cents, cents.round(), atol=1e-6)


def test_an_existing_run_is_replaced_only_with_force(models, flags, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(OverdueRiskError, match="is not empty"):
        nightly(models, flags, out=out)
    assert listing(out) == {str(out / "mine.txt"): b"keep"}
    nightly(models, flags, out=out, force=True)
    assert {p.name for p in out.iterdir()} == FILES


def test_two_models_for_one_population_fail_before_any_work(models, flags, monkeypatch, tmp_path):
    import overdue_risk.workflows._nightly as module

    def unread(*args, **kwargs):
        raise AssertionError("the portfolio was read")

    monkeypatch.setattr(module, "plan_feed", unread)
    with pytest.raises(ModelError, match="both have a DPD target"):
        run_nightly([models[0], models[0]], SAMPLE, AS_OF, "default", out=tmp_path / "r")
    with pytest.raises(ModelError, match="both have a cure target"):
        run_nightly([models[1], models[1]], SAMPLE, AS_OF, "default")
    with pytest.raises(ModelError, match="one or two models"):
        run_nightly([models[0], models[1], models[0]], SAMPLE, AS_OF, "default")
    assert not (tmp_path / "r").exists()


def test_an_account_no_model_was_trained_on_is_an_error(models, flags, tmp_path):
    with pytest.raises(ModelError, match=r"outside every model's training population \(DPD 30 to"):
        run_nightly([models[0]], SAMPLE, AS_OF, "default", out=tmp_path / "r")
    assert not (tmp_path / "r").exists()
    # A collection model alone leaves the accounts not in arrears without a score.
    with pytest.raises(ModelError, match="Add an early-warning model"):
        run_nightly([models[1]], SAMPLE, AS_OF, "default")


def test_the_command_line_runs_and_refuses_with_exit_2(models, flags, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["nightly", "--models", f"{models[0]},{models[1]}", "--portfolio", SAMPLE]
    flags.to_csv(tmp_path / "flags.csv")
    argv += ["--as-of", AS_OF, "--strategy", "default", "--out", str(out)]
    argv += ["--flags", str(tmp_path / "flags.csv")]
    code, stdout, _ = run_cli(argv, capsys)
    assert code == 0 and stdout.startswith("NightlyRun(2024-12-31, ")
    assert "prioritise" in stdout and {p.name for p in out.iterdir()} == FILES
    code, _, err = run_cli(argv, capsys)  # exists, no --force
    assert code == 2 and "is not empty; use --force" in err


KILL = """
import os, signal, sys
import overdue_risk._io as io
import overdue_risk.workflows._feed as feed
from overdue_risk.workflows import run_nightly

where = sys.argv[1]

def die(*a, **k):
    os.kill(os.getpid(), signal.SIGKILL)

if where == "score":
    feed.run_chunk = die
elif where == "fill":  # half the files written
    real = io.Path.write_bytes
    def half(self, data):
        if self.name == "worklist.csv":
            die()
        return real(self, data)
    io.Path.write_bytes = half
elif where in ("swap", "after-swap"):
    exchange = io._exchange
    def swap(a, b):
        if where == "swap":
            die()
        done = exchange(a, b)
        die()
    io._exchange = swap
run_nightly(sys.argv[2].split(","), sys.argv[3], sys.argv[4], "default", out=sys.argv[5],
            force=True, flags=sys.argv[6], value="arrears")
"""


@pytest.mark.slow
@pytest.mark.parametrize("where", ["score", "fill", "swap", "after-swap"])
def test_a_killed_run_leaves_the_last_one_whole(models, flags, tmp_path, where):
    out = tmp_path / "run"
    nightly(models, flags, out=out)
    before = listing(out)
    script = tmp_path / "kill.py"
    script.write_text(KILL)
    argv = [sys.executable, str(script), where, f"{models[0]},{models[1]}", SAMPLE, AS_OF]
    flags.to_csv(tmp_path / "flags.csv")
    argv += [str(out), str(tmp_path / "flags.csv")]
    done = subprocess.run(argv, capture_output=True, env=os.environ | {"CI": "1"})
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    if where == "after-swap":  # killed once the new run was in place: it is whole
        assert {p.name for p in out.iterdir()} == FILES
    else:
        assert listing(out) == before  # the previous run, untouched
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".run")]
    # The next run cleans its stale temporaries and publishes the same bytes.
    nightly(models, flags, out=out, force=True)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]
    after = listing(out)
    for name in FILES - {"manifest.json"}:
        assert after[str(out / name)] == before[str(out / name)], name
    assert where == "score" or leftovers  # a kill after the fill began left one behind


@pytest.mark.slow
def test_the_demo_trains_both_models_and_publishes_a_run(tmp_path, capsys):
    out = tmp_path / "runs" / "demo"
    code, stdout, _ = run_cli(["demo", "--portfolio", SAMPLE, "--out", str(out)], capsys)
    assert code == 0
    assert {p.name for p in out.iterdir()} == FILES
    models = tmp_path / "runs" / "demo-models"
    targets = {
        name: json.loads((models / name / "manifest.json").read_text())["target"]
        for name in ("early_warning", "collection")
    }
    assert targets["early_warning"]["kind"] == "dpd" and targets["collection"]["kind"] == "cure"
    for text in ("Top of the worklist:", "report.html", "Seconds:", "nightly run: "):
        assert text in stdout
    # The last date the sample records: the morning after is 2025-01-01.
    assert json.loads((out / "manifest.json").read_text())["as_of"] == "2024-12-31"


def test_the_demo_needs_a_portfolio(tmp_path, capsys):
    code, _, err = run_cli(
        ["demo", "--portfolio", str(tmp_path), "--out", str(tmp_path / "r")], capsys
    )
    assert code == 2 and "run the demo from the repository's root" in err


# -- sources beyond folders, and publication to a database ----------------------------------


@pytest.fixture(scope="module")
def lender_db(tmp_path_factory):
    """The sample in a PostgreSQL server of the test's own, where a lender's schema keeps
    it (tables mapped by a TOML file), and the same tables as a Parquet folder."""
    dbapi = pytest.importorskip("adbc_driver_postgresql.dbapi", reason="no sql extra")
    from _pg import LAYOUT, MAPPING_TOML, database_tables, postgres_server, server_binaries

    if server_binaries() is None:
        pytest.skip("PostgreSQL's initdb and pg_ctl are not installed")
    tables = database_tables(load_portfolio(SAMPLE))
    folder = tmp_path_factory.mktemp("parquet_route")
    import pyarrow.parquet as pq

    for name, table in tables.items():
        pq.write_table(table, folder / f"{name}.parquet")
    mapping = tmp_path_factory.mktemp("pg") / "tables.toml"
    mapping.write_text(MAPPING_TOML)
    with postgres_server("nightly") as url:
        with dbapi.connect(url) as con, con.cursor() as cur:
            for name, table in tables.items():
                schema, relation = LAYOUT[name]
                cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                cur.adbc_ingest(relation, table, mode="replace", db_schema_name=schema)
            con.commit()
        yield url, mapping, folder


@pytest.mark.slow
def test_a_postgresql_portfolio_gives_the_runs_of_its_files(models, flags, lender_db, tmp_path):
    url, mapping, folder = lender_db
    kw = {"flags": flags, "value": "arrears"}
    from_db = run_nightly(list(models), url, AS_OF, "default", tables=mapping, **kw)
    from_files = run_nightly(list(models), folder, AS_OF, "default", **kw)
    pd.testing.assert_frame_equal(from_db.scores, from_files.scores)
    pd.testing.assert_frame_equal(from_db.worklist.table(), from_files.worklist.table())
    inputs = from_db.manifest["inputs"]["portfolio"]
    assert inputs["kind"] == "database" or inputs["kind"].startswith("postgres")
    assert {i["table"] for i in inputs["inputs"]} >= {"loans", "payments"}
    # And the outputs into the same database, in one transaction.
    published = run_nightly(
        list(models), url, AS_OF, "default", tables=mapping, publish_to=url, **kw
    )
    import adbc_driver_postgresql.dbapi as dbapi

    with dbapi.connect(url) as con, con.cursor() as cur:
        cur.execute("SELECT loan_id, score FROM scores ORDER BY loan_id")
        back = cur.fetch_arrow_table().to_pandas()
        cur.execute("SELECT count(*) FROM worklist")
        (n,) = cur.fetchone()
    np.testing.assert_array_equal(back["loan_id"].astype(str), published.scores["loan_id"])
    np.testing.assert_allclose(back["score"], published.scores["score"], rtol=0, atol=0)
    assert n == len(published.worklist.table())


def test_publish_to_duckdb_with_the_run_folder(published, models, flags, tmp_path):
    duckdb = pytest.importorskip("duckdb", reason="no sql extra")
    db = tmp_path / "out.db"
    out = tmp_path / "run"
    run = nightly(models, flags, out=out, publish_to=f"duckdb://{db}")  # duckdb:///tmp/...
    with duckdb.connect(str(db), read_only=True) as con:
        scores = con.execute("SELECT loan_id, score FROM scores ORDER BY loan_id").df()
        summary = con.execute("SELECT * FROM run_summary").df()
    np.testing.assert_allclose(scores["score"], run.scores["score"], rtol=0, atol=0)
    assert summary["as_of"].item() == AS_OF and {p.name for p in out.iterdir()} == FILES


def test_a_bad_publication_url_or_mapping_fails_before_any_work(models, flags, tmp_path):
    with pytest.raises(OverdueRiskError, match="publish_to must be a database URL"):
        nightly(models, flags, publish_to=str(tmp_path / "x.db"))
    with pytest.raises(OverdueRiskError, match="tables maps a database's tables"):
        nightly(models, flags, tables={"loans": "x"})
    with pytest.raises(OverdueRiskError, match="names engine 'mysql'"):
        nightly(models, flags, out=tmp_path / "r", publish_to="mysql://h/db")
    assert not (tmp_path / "r").exists()


def test_a_progress_bar_on_a_terminal_and_stage_lines_in_the_log(models, flags, capsys, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="overdue_risk.workflows.nightly"):
        nightly(models, flags, chunk_customers=1000, progress=True)
    err = capsys.readouterr().err
    customers = load_portfolio(SAMPLE).loans["customer_id"].nunique()
    chunks = -(-customers // 1000)
    assert "scoring [" in err and f"{chunks}/{chunks} chunks" in err
    lines = [r.getMessage() for r in caplog.records]
    stages = [line.split(":")[0] for line in lines]
    assert stages == ["check", "plan", "chunks"] + [
        f"{part} (within chunks)"
        for part in ("read", "validate", "route", "score", "explain", "account state")
    ] + ["prioritise"]
    assert all("s wall" in line and "peak RSS" in line for line in lines if "within" not in line)


def test_feature_drift_against_the_training_sample(published, models, flags):
    run, out = published
    drift = run.summary()["feature_drift"]
    ew = RiskModel.load(models[0])
    top = set(ew.feature_importance().nlargest(10).index)
    assert {d["feature"] for d in drift if d["population"] == "not_in_arrears"} == top
    assert [d["psi"] for d in drift] == sorted((d["psi"] for d in drift), reverse=True)
    # A reference far from tonight's book: the drift is flagged, in the summary and the report.
    refs = ew.reference_features_["not_in_arrears"]
    name = next(n for n, r in refs.items() if "quantiles" in r and n != "dpd")
    shifted_ref = {**refs[name], "quantiles": [v + 1e6 for v in refs[name]["quantiles"]]}
    ew.reference_features_ = {
        **ew.reference_features_,
        "not_in_arrears": {**refs, name: shifted_ref},
    }
    shifted = run_nightly([ew, models[1]], SAMPLE, AS_OF, "default", flags=flags, value="arrears")
    before = {(d["population"], d["feature"]) for d in drift if d["psi_warning"]}
    flagged = {(d["population"], d["feature"]) for d in shifted.summary()["feature_drift"]
               if d["psi_warning"]}  # fmt: skip
    assert flagged - before == {("not_in_arrears", name)}
    assert "Feature drift" in (out / "report.html").read_text()


def test_a_portfolio_in_memory_gives_the_run_of_its_files(published, models, flags):
    """Chunked or whole, from files or memory: the same scores, value model and worklist."""
    run, _ = published
    # In memory on two processes: its chunks cut here and sent to the workers.
    for portfolio, per_chunk, jobs in ((SAMPLE, 300, 1), (load_portfolio(SAMPLE), 1000, 2)):
        other = run_nightly(
            list(models), portfolio, AS_OF, "default", flags=flags, chunk_customers=per_chunk,
            jobs=jobs,
        )  # fmt: skip
        pd.testing.assert_frame_equal(other.scores, run.scores)
        pd.testing.assert_frame_equal(other.worklist.table(), run.worklist.table())
    assert run.manifest["chunks"] == 1 and other.manifest["chunks"] > 1


def test_every_chunks_contract_violations_fail_the_run_together(models, flags, tmp_path):
    import shutil

    from overdue_risk import DataValidationError

    broken = tmp_path / "broken"
    shutil.copytree(SAMPLE, broken)
    loans = pd.read_csv(broken / "loans.csv", dtype=str, keep_default_na=False)
    pay = pd.read_csv(broken / "payments.csv", dtype=str, keep_default_na=False)
    customers = sorted(loans["customer_id"].unique())
    # A payment of the first customer's and one of the last's: the first chunk and the last.
    ends = loans.loc[loans["customer_id"].isin([customers[0], customers[-1]]), "loan_id"]
    rows = [pay.index[pay["loan_id"] == loan][0] for loan in ends.drop_duplicates().head(1)]
    last = loans.loc[loans["customer_id"] == customers[-1], "loan_id"]
    rows.append(pay.index[pay["loan_id"].isin(last)][0])
    pay.loc[rows, "amount"] = "-5.00"
    pay.to_csv(broken / "payments.csv", index=False)
    with pytest.raises(DataValidationError) as caught:
        run_nightly(
            list(models), broken, AS_OF, "default", flags=flags, value="arrears",
            chunk_customers=100, out=tmp_path / "run",
        )  # fmt: skip
    (problem,) = caught.value.problems  # one rule, its rows of every chunk counted
    assert (problem.table, problem.column, problem.count) == ("payments", "amount", 2)
    n_chunks = -(-len(customers) // 100)
    shown = " ".join(problem.examples)
    assert "(chunk 1, row" in shown and f"(chunk {n_chunks}, row" in shown
    assert not (tmp_path / "run").exists()


def test_a_warning_of_every_chunk_is_given_once():
    from overdue_risk import DataQualityWarning
    from overdue_risk.workflows._stream import Totals

    totals = Totals(3)
    totals.caught = [
        (DataQualityWarning, "payments: 3 rows dated 2024-01-06"),
        (DataQualityWarning, "loans: no region column"),
        (DataQualityWarning, "payments: 12 rows dated 2024-02-03"),
        (DataQualityWarning, "loans: no region column"),
    ]
    with pytest.warns(DataQualityWarning) as record:
        totals.warn()
    assert [str(w.message) for w in record] == [
        "payments: 3 rows dated 2024-01-06 (in 2 of 3 chunks; figures of the first)",
        "loans: no region column",
    ]


def test_a_portfolio_in_memory_is_cut_as_its_files_are():
    """Chunks of whole customers, by the sources' one plan: a successor loan under another
    customer brings its original's customer into its chunk."""
    from overdue_risk.adapters import MemorySource

    p = load_portfolio(SAMPLE)
    loans = p.loans.copy()
    moved = loans.index[loans["restructured_from"].notna()][0]
    original = loans.loc[moved, "restructured_from"]
    loans.loc[moved, "customer_id"] = "C-elsewhere"  # the successor under another customer
    p = type(p)(**{**p.tables(), "loans": loans})
    plan = MemorySource(p).plan(1)
    chunks = [plan.chunk(i)[0].to_pylist() for i in range(len(plan))]
    where = {loan: k for k, c in enumerate(chunks) for loan in c}
    assert sorted(where) == sorted(loans["loan_id"].astype(str))  # every loan once
    assert where[str(loans.loc[moved, "loan_id"])] == where[str(original)]
    by_customer = loans.assign(chunk=loans["loan_id"].astype(str).map(where))
    assert (by_customer.groupby("customer_id")["chunk"].nunique() == 1).all()
    # One customer a chunk, but for the tied pair.
    assert len(chunks) == loans["customer_id"].nunique() - 1


# -- quarantine -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def broken_sample(tmp_path_factory):
    """The sample with two loans that break the contract and one payment of no loan;
    and the same sample with those loans (and the stray payment) removed by hand."""
    import shutil

    root = tmp_path_factory.mktemp("broken")
    broken, cut = root / "broken", root / "cut"
    shutil.copytree(SAMPLE, broken)
    pay = pd.read_csv(broken / "payments.csv", dtype=str, keep_default_na=False)
    inst = pd.read_csv(broken / "installments.csv", dtype=str, keep_default_na=False)
    bad_pay, bad_inst = pay["loan_id"].iloc[10], inst["loan_id"].iloc[500]
    assert bad_pay != bad_inst
    pay.loc[10, "amount"] = "-25.00"  # a negative payment
    inst = pd.concat([inst, inst.iloc[[500]]], ignore_index=True)  # a repeated instalment
    stray = pay.iloc[[0]].assign(loan_id="L-unknown")
    pay = pd.concat([pay, stray], ignore_index=True)
    pay.to_csv(broken / "payments.csv", index=False)
    inst.to_csv(broken / "installments.csv", index=False)
    shutil.copytree(broken, cut)
    for name in ("loans", "installments", "payments", "statements", "collections"):
        t = pd.read_csv(cut / f"{name}.csv", dtype=str, keep_default_na=False)
        t = t[~t["loan_id"].isin([bad_pay, bad_inst, "L-unknown"])]
        t.to_csv(cut / f"{name}.csv", index=False)
    return broken, cut, {bad_pay, bad_inst}


@pytest.mark.slow
def test_quarantine_sets_bad_loans_aside_and_scores_the_rest(
    models, flags, broken_sample, tmp_path
):
    from overdue_risk import DataValidationError

    broken, cut, bad = broken_sample
    kw = {"flags": flags[~flags.index.isin(bad)], "value": "arrears"}
    with pytest.raises(DataValidationError):
        run_nightly(list(models), broken, AS_OF, "default", out=tmp_path / "no", **kw)
    assert not (tmp_path / "no").exists()  # nothing published
    out = tmp_path / "run"
    run = run_nightly(list(models), broken, AS_OF, "default", out=out, quarantine=True, **kw)
    assert {p.name for p in out.iterdir()} == FILES | {"rejected.parquet"}
    rejected = pd.read_parquet(out / "rejected.parquet")
    assert set(rejected["loan_id"].dropna()) >= bad
    rows = run.manifest["rows"]
    assert rows["rejected"] == 2 and rows["rows_dropped_alone"] == 1
    assert rows["loans_in"] == rows["rejected"] + rows["not_open"] + rows["scored"]
    assert rows["rejected_by_reason"] == {"positive": 1, "unique": 1}
    # The rest is scored exactly as the portfolio without them.
    alone = run_nightly(list(models), cut, AS_OF, "default", **kw)
    pd.testing.assert_frame_equal(run.scores, alone.scores)
    pd.testing.assert_frame_equal(run.worklist.table(), alone.worklist.table())
