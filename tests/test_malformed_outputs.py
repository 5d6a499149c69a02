"""The malformed-output corpus: outputs over inputs, outputs that cannot be written,
runs killed mid-write, warnings of failed runs, and model folders that are not
what was saved.

Each refused case asserts exit 2 (or the package's own error), a message that
names the problem, and that nothing was written (``assert_refused`` compares
every file below the watched folders before and after). The checks come before
any work: the cases run with the portfolio reader replaced by one that fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import HANDMADE, assert_refused, listing, reseal, run_cli, save_small_model
from overdue_risk import (
    ArtifactError,
    DataQualityWarning,
    OverdueRiskError,
    RiskModel,
    Scenario,
    build_features,
    load_portfolio,
    simulate_portfolio,
)
from overdue_risk.cli import _main as cli_main
from overdue_risk.model import _artifact

AS_OF = "2024-06-30"
TEMP = re.compile(r"\..+\.overdue-risk-[A-Za-z0-9_]+\.tmp")


@pytest.fixture
def work(tmp_path) -> Path:
    """A writable copy of the hand-made portfolio in ``tmp_path / "PF"``; returns tmp_path."""
    shutil.copytree(HANDMADE, tmp_path / "PF")
    return tmp_path


@pytest.fixture
def unread(monkeypatch):
    """Reading a portfolio fails the test: the output checks must come before any work."""

    def boom(*args, **kwargs):
        raise AssertionError("the portfolio was read")

    monkeypatch.setattr("overdue_risk.workflows._inputs.load_portfolio", boom)


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """A small calibrated model of the hand-made portfolio's ledger and static features,
    saved as ``train_risk_model`` would (it records how its features were built)."""
    return save_small_model(tmp_path_factory.mktemp("saved") / "model", calibration="isotonic")


@pytest.fixture
def model_dir(saved, tmp_path) -> Path:
    """A writable copy of the saved model folder."""
    return Path(shutil.copytree(saved, tmp_path / "M"))


def _edit_manifest(folder: Path, change) -> None:
    """Apply ``change`` to the manifest's dict and write it back, sealed or not."""
    manifest = json.loads((folder / "manifest.json").read_text())
    change(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))


def _rehash(folder: Path, name: str) -> None:
    """Record an edited file's sha256 in the manifest, and reseal it."""
    digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    _edit_manifest(folder, lambda m: m["files"].__setitem__(name, digest))
    reseal(folder)


# -- 1. an output over an input ------------------------------------------------------------


def _symlink(work: Path) -> str:
    (work / "link.csv").symlink_to(work / "PF" / "payments.csv")
    return "link.csv"


def _hard_link(work: Path) -> str:
    os.link(work / "PF" / "payments.csv", work / "hard.csv")
    return "hard.csv"


def _folder_link(work: Path) -> str:
    (work / "pf").symlink_to(work / "PF")
    return "pf/loans.csv"


@pytest.mark.parametrize(
    ("command", "out", "message"),
    [
        ("ledger", lambda w: "PF/payments.csv", r"output .*PF/payments.csv' is the input"),
        ("features", lambda w: "PF/../PF/./loans.csv", r"is the input .*loans.csv'"),
        ("labels", _symlink, r"output 'link.csv' is the input .*payments.csv'"),
        ("ledger", _hard_link, r"output 'hard.csv' is the input .*payments.csv'"),
        ("ledger", _folder_link, r"output 'pf/loans.csv' is the input .*loans.csv'"),
        # not there yet, but beside loans.csv it would make the table ambiguous
        ("ledger", lambda w: "PF/loans.parquet", r"is the input .*loans.parquet'"),
    ],
    ids=["same_path", "dot_dot", "symlink", "hard_link", "folder_link", "shadow_table"],
)
def test_a_table_output_over_a_portfolio_table_is_refused(
    command, out, message, work, capsys, monkeypatch
):
    monkeypatch.chdir(work)
    argv = [command, "PF", "--as-of", AS_OF, "--out", out(work)]
    assert_refused(argv, capsys, message, watch=[work])


def test_the_other_commands_refuse_outputs_over_their_inputs(work, model_dir, capsys, unread):
    pf, m = work / "PF", model_dir
    scores = work / "scores.csv"
    scores.write_text("loan_id,score\nL001,0.5\n")
    flags = work / "flags.csv"
    flags.write_text("loan_id,cease_contact\nL001,1\n")
    (work / "M2").mkdir()
    cases = [
        (["train", str(pf), "--as-of-dates", AS_OF, "--out", str(pf), "--overwrite"],
         r"output folder .*PF' contains the input .*PF/"),
        (["train", str(pf), "--as-of-dates", AS_OF, "--out", str(work / "M2"), "--report",
          str(work / "M2" / "r.html")], r"--report.*lies inside the model folder .*M2' \(--out\)"),
        (["score", str(m), str(pf), "--as-of", AS_OF, "--out", str(m / "s.csv")],
         r"output .*M/s.csv' lies inside the input folder .*M'"),
        (["evaluate", str(m), str(pf), "--as-of", AS_OF, "--out", str(m / "r.html")],
         r"output .*M/r.html' lies inside the input folder"),
        (["prioritise", str(scores), str(pf), "--as-of", AS_OF, "--strategy", "default",
          "--out", str(scores)], r"output .*scores.csv' is the input .*scores.csv'"),
        (["prioritise", str(scores), str(pf), "--as-of", AS_OF, "--strategy", "default",
          "--flags", str(flags), "--out", str(flags)], r"output .*flags.csv' is the input"),
    ]  # fmt: skip
    for argv, message in cases:
        assert_refused(argv, capsys, message, watch=[work])


def test_simulate_and_policy_eval_refuse_outputs_over_their_scenario(tmp_path, capsys):
    out = tmp_path / "book"
    out.mkdir()
    scenario = out / "scenario.toml"
    scenario.write_text(Scenario().to_toml())
    argv = ["simulate", "--loans", "50", "--start", "2024-01-01", "--end", "2024-04-30"]
    assert_refused(
        [*argv, "--out", str(out), "--overwrite", "--scenario", str(scenario)],
        capsys,
        r"output folder .*book' contains the input .*scenario.toml'",
        watch=[tmp_path],
    )
    odd = tmp_path / "scenario.csv"  # any name: the scenario is read as TOML
    odd.write_text(Scenario().to_toml())
    argv = ["policy-eval", "--loans", "50", "--dates", "2024-06-03", "--strategy", "default"]
    assert_refused(
        [*argv, "--scenario", str(odd), "--out", str(odd)],
        capsys,
        r"output .*scenario.csv' is the input",
        watch=[tmp_path],
    )


def test_an_output_beside_the_tables_and_a_linked_output_are_written(work, capsys):
    """The good path: a file that is no table may sit in the portfolio folder, and an
    output that is a symbolic link is written through (its target replaced)."""
    code, _, err = run_cli(
        ["ledger", str(work / "PF"), "--as-of", AS_OF, "--out", str(work / "PF" / "dpd.csv")],
        capsys,
    )
    assert code == 0, err
    (work / "runs").mkdir()
    (work / "runs" / "ledger.csv").write_text("previous run\n")
    (work / "latest.csv").symlink_to(work / "runs" / "ledger.csv")
    code, _, err = run_cli(
        ["ledger", str(HANDMADE), "--as-of", AS_OF, "--out", str(work / "latest.csv")], capsys
    )
    assert code == 0, err
    assert (work / "latest.csv").is_symlink()
    assert (work / "runs" / "ledger.csv").read_bytes() == (work / "PF" / "dpd.csv").read_bytes()


# -- 2. an output that cannot be written ---------------------------------------------------


def _fifo(work: Path) -> str:
    os.mkfifo(work / "fifo.csv")
    return str(work / "fifo.csv")


def _device(work: Path) -> str:
    (work / "null.csv").symlink_to(os.devnull)
    return str(work / "null.csv")


def _loop(work: Path) -> str:
    (work / "a.csv").symlink_to(work / "b.csv")
    (work / "b.csv").symlink_to(work / "a.csv")
    return str(work / "a.csv")


def _folder(work: Path) -> str:
    (work / "PF.csv").mkdir()
    return str(work / "PF.csv")


def _parent_is_a_file(work: Path) -> str:
    return str(work / "PF" / "loans.csv" / "out.csv")


def _read_only_file(work: Path) -> str:
    (work / "old.csv").write_text("previous run\n")
    (work / "old.csv").chmod(0o444)
    return str(work / "old.csv")


def _read_only_folder(work: Path) -> str:
    (work / "locked").mkdir()
    (work / "locked").chmod(0o555)
    return str(work / "locked" / "out.csv")


ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
AS_ROOT = pytest.mark.skipif(ROOT, reason="root may write anywhere")


@pytest.mark.parametrize(
    ("out", "message"),
    [
        (lambda w: str(w / "missing" / "out.csv"), r"Output folder .*missing' does not exist"),
        (_parent_is_a_file, r"Output folder .*loans.csv' is not a folder"),
        (_folder, r"PF.csv' is a folder, not a file"),
        (_fifo, r"fifo.csv' is not a regular file"),
        (_device, r"null.csv' is not a regular file"),
        (_loop, r"a.csv' cannot be used: Too many levels of symbolic links"),
        (lambda w: str(w / ("x" * 250 + ".csv")), r"its name is too long for the temporary"),
        pytest.param(
            lambda w: "/proc/out.csv",
            r"Cannot write '/proc/out.csv': .* \(in folder '/proc'\)",
            marks=pytest.mark.skipif(not Path("/proc/self").exists(), reason="no /proc"),
        ),
        pytest.param(_read_only_file, r"old.csv' is read-only", marks=AS_ROOT),
        pytest.param(_read_only_folder, r"Cannot write .*: Permission denied", marks=AS_ROOT),
    ],
    ids=[
        "missing_folder",
        "parent_is_a_file",
        "folder",
        "fifo",
        "device",
        "symlink_loop",
        "name_too_long",
        "unwritable_folder",
        "read_only_file",
        "read_only_folder",
    ],
)
def test_an_output_file_that_cannot_be_written_is_refused_first(out, message, work, capsys, unread):
    argv = ["ledger", str(work / "PF"), "--as-of", AS_OF, "--out", out(work)]
    try:
        assert_refused(argv, capsys, message, watch=[work])
    finally:
        for path in (work / "locked", work / "old.csv"):
            if path.exists():
                path.chmod(0o755)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["evaluate", "{m}", "{pf}", "--as-of", AS_OF, "--out", "{w}/fifo.html"],
            r"fifo.html' is not a regular file",
        ),
        (
            ["train", "{pf}", "--as-of-dates", AS_OF, "--out", "{w}/m", "--report", "/proc/r.html"],
            r"Cannot write '/proc/r.html'",
        ),
        (["train", "{pf}", "--as-of-dates", AS_OF, "--out", "/proc/m"], r"Cannot write '/proc/m'"),
        (["train", "{pf}", "--as-of-dates", AS_OF, "--out", "/"], r"is a file system's root"),
        (
            [
                "simulate",
                "--loans",
                "5",
                "--start",
                "2024-01-01",
                "--end",
                "2024-04-30",
                "--out",
                "{w}/fifo.html",
            ],
            r"fifo.html' is a file, not a folder",
        ),
    ],
    ids=["report_fifo", "report_unwritable", "model_folder_unwritable", "root", "folder_is_a_fifo"],
)
@pytest.mark.skipif(not Path("/proc/self").exists(), reason="no /proc")
def test_reports_and_folders_that_cannot_be_written_are_refused_first(
    argv, message, work, model_dir, capsys, unread
):
    os.mkfifo(work / "fifo.html")
    argv = [a.format(w=work, pf=work / "PF", m=model_dir) for a in argv]
    assert_refused(argv, capsys, message, watch=[work])


# -- 3. a run killed mid-write -------------------------------------------------------------

# The child runs the command with the writer replaced by one that writes half the
# table into the temporary, says so, and hangs: the parent kills it there, every time.
_HANGING_WRITER = textwrap.dedent(
    """
    import sys, time
    import pandas as pd
    from overdue_risk.cli import main

    real = pd.DataFrame.to_csv
    calls = []

    def half_then_hang(self, path=None, *args, **kwargs):
        calls.append(path)
        if len(calls) < int(sys.argv[1]):
            return real(self, path, *args, **kwargs)
        text = real(self, None, *args, **kwargs)
        with open(path, "w") as fh:
            fh.write(text[: len(text) // 2])
        print("half written", flush=True)
        time.sleep(600)

    pd.DataFrame.to_csv = half_then_hang
    sys.exit(main(sys.argv[2:]))
    """
)


def _start_hanging(argv: list[str], nth_write: int = 1) -> subprocess.Popen:
    """The command in a child process, stopped half way through its ``nth_write`` table."""
    child = subprocess.Popen(
        [sys.executable, "-c", _HANGING_WRITER, str(nth_write), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = child.stdout.readline()  # blocks until the temporary is half written
    assert line == "half written\n", child.stderr.read()
    return child


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if TEMP.fullmatch(p.name))


def _kill(child: subprocess.Popen) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    child.stdout.close()
    child.stderr.close()
    assert child.returncode == -signal.SIGKILL


def test_a_table_killed_mid_write_leaves_the_old_output_and_the_next_run_cleans_up(
    tmp_path, capsys
):
    out = tmp_path / "ledger.csv"
    out.write_text("previous run\n")
    decoys = {
        ".other.csv.overdue-risk-abcd1234.tmp": "another target's temporary",
        ".ledger.csv.abcd1234.tmp": "not our name",
        "ledger.csv.overdue-risk-abcd1234.tmp": "not hidden: not ours",
        ".ledger.csv.bak": "the user's",
    }
    for name, text in decoys.items():
        (tmp_path / name).write_text(text)
    argv = ["ledger", str(HANDMADE), "--as-of", AS_OF, "--out", str(out)]
    _kill(_start_hanging(argv))
    assert out.read_text() == "previous run\n"
    stale = _temporaries(tmp_path)
    assert [n for n in stale if n.startswith(".ledger.csv.overdue-risk-")], stale
    stale_file = tmp_path / next(n for n in stale if n.startswith(".ledger.csv."))
    assert stale_file.stat().st_size > 0  # half a table

    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    assert not stale_file.exists()
    assert out.read_text().startswith("loan_id,")
    for name, text in decoys.items():
        assert (tmp_path / name).read_text() == text


def test_a_folder_killed_mid_write_leaves_the_old_folder_and_the_next_run_cleans_up(
    tmp_path, capsys
):
    out = tmp_path / "book"
    argv = ["simulate", "--loans", "40", "--start", "2024-01-01", "--end", "2024-04-30"]
    argv += ["--format", "csv", "--out", str(out), "--overwrite"]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    before = listing(out)
    _kill(_start_hanging([*argv, "--seed", "1"], nth_write=3))
    assert listing(out) == before
    stale = _temporaries(tmp_path)
    assert len(stale) == 1 and stale[0].startswith(".book.overdue-risk-"), stale
    assert (tmp_path / stale[0]).is_dir()

    code, _, err = run_cli([*argv, "--seed", "1"], capsys)
    assert code == 0, err
    assert _temporaries(tmp_path) == []
    assert listing(out) != before


def test_a_temporary_a_running_writer_holds_is_left_alone(tmp_path, capsys):
    out = tmp_path / "ledger.csv"
    argv = ["ledger", str(HANDMADE), "--as-of", AS_OF, "--out", str(out)]
    child = _start_hanging(argv)
    try:
        live = _temporaries(tmp_path)
        assert len(live) == 1
        code, _, err = run_cli(argv, capsys)  # another run writes the same target meanwhile
        assert code == 0, err
        assert _temporaries(tmp_path) == live
    finally:
        _kill(child)
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    assert _temporaries(tmp_path) == []


# -- 4. warnings of a run that fails -------------------------------------------------------


def test_warnings_are_printed_before_the_error_of_a_failed_command(work, capsys):
    (work / "PF" / "notes.csv").write_text("a\n1\n")  # warns: not a contract table
    err = assert_refused(
        ["train", str(work / "PF"), "--as-of-dates", AS_OF, "--out", str(work / "m")],
        capsys,
        r"needs at least 3 as-of dates",
        watch=[work],
    )
    lines = err.splitlines()
    warned = [i for i, line in enumerate(lines) if "not contract tables: notes.csv" in line]
    assert len(warned) == 1 and lines[warned[0]].startswith("warning: ")
    assert warned[0] < next(i for i, line in enumerate(lines) if line.startswith("error: "))


@pytest.mark.parametrize(
    ("failure", "code", "last"),
    [
        (OverdueRiskError("bad input"), 2, "error: bad input"),
        (RuntimeError("boom"), 1, "internal error: RuntimeError: boom"),
    ],
    ids=["bad_input", "internal_error"],
)
def test_each_warning_is_printed_once_whatever_the_outcome(
    failure, code, last, monkeypatch, capsys
):
    def command(args):
        for text in ("first", "second", "first"):
            warnings.warn(DataQualityWarning(text), stacklevel=1)
        raise failure

    monkeypatch.setattr(cli_main, "cmd_validate", command)
    got, _, err = run_cli(["validate", "x"], capsys)
    assert got == code
    lines = err.splitlines()
    assert lines[:2] == ["warning: first", "warning: second"]
    assert lines[2].startswith(last)


# -- 5. the model folder -------------------------------------------------------------------


def _drop_calibration(m: dict) -> None:
    del m["files"]["calibration.json"]
    m["params"]["calibration"] = None


def _sealed(change):
    def edit(folder: Path) -> None:
        _edit_manifest(folder, change)
        reseal(folder)

    return edit


def _unsealed(change):
    return lambda folder: _edit_manifest(folder, change)


def _replace_with_link(name: str, target: str):
    def edit(folder: Path) -> None:
        (folder / name).unlink()
        (folder / name).symlink_to(target)

    return edit


def _swap_features(m: dict) -> None:
    m["features"][0], m["features"][1] = m["features"][1], m["features"][0]


def _calibration(change):
    def edit(folder: Path) -> None:
        path = folder / "calibration.json"
        path.write_text(json.dumps(change(json.loads(path.read_text()))))
        _rehash(folder, "calibration.json")

    return edit


def _oversize(folder: Path) -> None:
    with open(folder / "calibration.json", "ab") as fh:
        fh.truncate(_artifact.MAX_FILE_BYTES["calibration.json"] + 1)  # sparse: nothing read


def _files(entries: dict):
    return _sealed(lambda m: m["files"].update(entries))


MODEL_CASES = [
    # the manifest is sealed by manifest.sha256
    (_unsealed(_drop_calibration), r"manifest.json does not match the sha256 recorded in "
     r"manifest.sha256"),
    (lambda f: (f / "manifest.sha256").write_text("not a digest\n"),
     r"manifest.sha256 is not a sha256 line"),
    # every file the model needs, and only those, listed and present
    (_sealed(lambda m: m["files"].pop("calibration.json")),
     r"lists no hash for calibration.json, which the model needs \(calibration='isotonic'\)"),
    (_sealed(lambda m: m["params"].__setitem__("calibration", None)),
     r"lists calibration.json, but its parameters say the model is not calibrated"),
    (_sealed(lambda m: m["files"].pop("model.txt")), r"lists no hash for model.txt"),
    (lambda f: (f / "calibration.json").unlink(), r"The model folder lacks calibration.json"),
    (_files({"..": "0" * 64}), r"names files outside the folder: \['..'\]"),
    (_files({"../model.txt": "0" * 64}), r"names files outside the folder: \['../model.txt'\]"),
    (_files({"": "0" * 64}), r"names files outside the folder: \[''\]"),
    (_files({"notes.txt": "0" * 64}), r"lists files a model folder does not hold: \['notes.txt'\]"),
    (_files({"model.txt": "not a hash"}), r"records no sha256 for model.txt"),
    (_sealed(lambda m: m.__setitem__("files", ["model.txt"])), r"lists no file hashes"),
    # regular files only, each within its cap
    (_replace_with_link("model.txt", "/dev/zero"), r"model.txt in the model folder is a symbolic "
     r"link"),
    (_replace_with_link("manifest.json", "/etc/hostname"), r"manifest.json in the model folder is "
     r"a symbolic link"),
    (lambda f: (f / "extra").mkdir(), r"extra in the model folder is a folder"),
    (lambda f: os.mkfifo(f / "pipe"), r"pipe in the model folder is a pipe, socket or device"),
    (_oversize, r"calibration.json in the model folder holds 67,108,865 bytes, more than the "
     r"67,108,864"),
    # every value parses
    (_sealed(_swap_features), r"model.txt names its features otherwise than manifest.json"),
    (_sealed(lambda m: m["params"].__setitem__("learning_rate", -1)),
     r"records a parameter this release refuses: The 'learning_rate' parameter of RiskModel"),
    (_sealed(lambda m: m["params"].__setitem__("target", {"kind": "nope"})),
     r"records a target this release refuses"),
    (_sealed(lambda m: m.__setitem__("best_iteration", "7")), r"best_iteration must be an integer"),
    (_sealed(lambda m: m.__setitem__("build_options", {"families": "ledger"})),
     r"build_options must hold families"),
    (_sealed(lambda m: m["features"][0].__setitem__("name", m["features"][1]["name"])),
     r"Feature names must be unique"),
    (lambda f: ((f / "manifest.json").write_text("[" * 100_000), reseal(f)),
     r"manifest.json in .* is not valid JSON"),
    (_calibration(lambda c: {**c, "method": "sigmoid"}), r"calibration.json is not a valid "
     r"calibrator"),
    (_calibration(lambda c: {**c, "y": [2.0] * len(c["y"])}),
     r"isotonic values must be probabilities"),
]  # fmt: skip
MODEL_IDS = [
    "manifest_edited",
    "digest_garbage",
    "calibrated_without_calibration",
    "uncalibrated_with_calibration",
    "no_model_text",
    "calibration_file_missing",
    "dot_dot",
    "outside",
    "empty_name",
    "unknown_file",
    "bad_hash",
    "files_not_a_mapping",
    "symlink_to_dev_zero",
    "manifest_symlink",
    "subfolder",
    "fifo",
    "oversize",
    "features_swapped",
    "bad_parameter",
    "bad_target",
    "bad_best_iteration",
    "bad_build_options",
    "repeated_feature",
    "deep_json",
    "calibration_method_mismatch",
    "calibration_not_probabilities",
]


@pytest.mark.parametrize(("change", "message"), MODEL_CASES, ids=MODEL_IDS)
def test_a_model_folder_that_is_not_what_was_saved_is_refused(change, message, model_dir):
    change(model_dir)
    with pytest.raises(ArtifactError, match=message):
        RiskModel.load(model_dir)


@pytest.mark.parametrize(
    ("change", "message"),
    [MODEL_CASES[i] for i in (0, 2, 6, 12, 16)],
    ids=[MODEL_IDS[i] for i in (0, 2, 6, 12, 16)],
)
def test_score_refuses_such_a_model_folder(change, message, model_dir, work, capsys):
    change(model_dir)
    argv = ["score", str(model_dir), str(work / "PF"), "--as-of", AS_OF]
    argv += ["--out", str(work / "scores.csv")]
    assert_refused(argv, capsys, message, watch=[work / "PF"])  # not M: the oversized file
    assert not (work / "scores.csv").exists()


def test_the_file_size_cap_is_checked_before_reading(model_dir, monkeypatch):
    monkeypatch.setitem(_artifact.MAX_FILE_BYTES, "model.txt", 1000)
    with pytest.raises(ArtifactError, match=r"model.txt in the model folder holds [\d,]+ bytes"):
        RiskModel.load(model_dir)


def test_a_folder_saved_before_the_seal_loads_with_a_warning(saved, model_dir, work, capsys):
    (model_dir / "manifest.sha256").unlink()
    with pytest.warns(DataQualityWarning, match=r"has no manifest.sha256 .* cannot be verified"):
        old = RiskModel.load(model_dir)
    X = build_features(load_portfolio(HANDMADE), AS_OF, families=["ledger", "static"])
    np.testing.assert_array_equal(old.predict_proba(X), RiskModel.load(saved).predict_proba(X))
    argv = ["score", str(model_dir), str(HANDMADE), "--as-of", AS_OF, "--out"]
    code, _, err = run_cli([*argv, str(work / "s.csv")], capsys)
    assert code == 0 and err.count("warning: The model folder") == 1, err
    old.save(model_dir, overwrite=True)  # saving again seals it, the other bytes unchanged
    assert listing(model_dir) == {
        str(model_dir / p.name): p.read_bytes() for p in sorted(saved.iterdir())
    }


def test_the_seal_is_the_manifests_sha256_in_sha256sum_form(saved):
    manifest = (saved / "manifest.json").read_bytes()
    digest = hashlib.sha256(manifest).hexdigest()
    assert (saved / "manifest.sha256").read_text() == f"{digest}  manifest.json\n"
    if shutil.which("sha256sum"):
        check = subprocess.run(
            ["sha256sum", "-c", "manifest.sha256"], cwd=saved, capture_output=True, text=True
        )
        assert check.returncode == 0 and "manifest.json: OK" in check.stdout


def test_a_model_folder_that_is_a_link_loads(saved, tmp_path):
    (tmp_path / "current").symlink_to(saved)
    assert RiskModel.load(tmp_path / "current").best_iteration_ >= 1


# -- the Python API checks the same -----------------------------------------------------


def test_the_workflows_refuse_outputs_over_inputs_before_reading(work, unread):
    from overdue_risk.workflows import export_ledger, score_portfolio, train_risk_model

    with pytest.raises(OverdueRiskError, match=r"is the input .*payments.csv"):
        export_ledger(work / "PF", AS_OF, out=work / "PF" / "payments.csv")
    with pytest.raises(OverdueRiskError, match=r"lies inside the input folder"):
        score_portfolio(work / "PF", work / "PF", AS_OF, out=work / "PF" / "scores.csv")
    with pytest.raises(OverdueRiskError, match=r"contains the input"):
        train_risk_model(work / "PF", [AS_OF], out=work, overwrite=True)


def test_simulate_portfolio_reads_a_scenario_file(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(Scenario().to_toml())
    a = simulate_portfolio(40, "2024-01-01", "2024-04-30", seed=3, scenario=path)
    b = simulate_portfolio(40, "2024-01-01", "2024-04-30", seed=3)
    pd.testing.assert_frame_equal(a.portfolio.payments, b.portfolio.payments)


def test_the_output_checks_leave_nothing_behind(work):
    """The probe that proves a folder writable leaves nothing behind."""
    from overdue_risk._io import check_output_folder, check_output_path

    before = listing(work)
    started = time.perf_counter()
    check_output_path(work / "x.csv")
    check_output_folder(work / "new")
    assert time.perf_counter() - started < 1
    assert listing(work) == before and sorted(os.listdir(work)) == ["PF"]
