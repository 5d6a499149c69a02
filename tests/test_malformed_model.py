"""Model folders whose files were edited and correctly re-sealed, and model folders
that are not folders: each is refused with an ArtifactError (exit 2 in the CLI),
never a LightGBM abort, never a silent load.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

from helpers import HANDMADE, assert_refused, run_cli, save_small_model
from overdue_risk import (
    ArtifactError,
    DataQualityWarning,
    OverdueRiskError,
    RiskModel,
)
from overdue_risk.model._model_text import check_model_text

AS_OF = "2024-06-30"


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """A small calibrated model of the hand-made portfolio, saved as train_risk_model would."""
    return save_small_model(
        tmp_path_factory.mktemp("saved") / "model", calibration="isotonic", target="dpd30_90d"
    )


@pytest.fixture
def model_dir(saved, tmp_path) -> Path:
    return Path(shutil.copytree(saved, tmp_path / "M"))


def reseal_all(folder: Path, change=None) -> None:
    """Re-seal a model folder as a save would: every file's sha256 in manifest.json
    (after ``change`` edits its dict), then the manifest's own in manifest.sha256."""
    manifest = json.loads((folder / "manifest.json").read_text())
    if change is not None:
        change(manifest)
    for name in manifest["files"]:
        manifest["files"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    digest = hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
    (folder / "manifest.sha256").write_text(f"{digest}  manifest.json\n")


def _fix_tree_sizes(text: str) -> str:
    """tree_sizes recomputed, so that the edit itself (not a stale size) is checked."""
    end = text.find("\nend of trees\n")
    starts = [m.start() for m in re.finditer(r"^Tree=\d+\n", text[: end + 1], re.M)] + [end + 1]
    sizes = " ".join(str(b - a) for a, b in itertools.pairwise(starts))
    return re.sub(r"^tree_sizes=.*$", f"tree_sizes={sizes}", text, count=1, flags=re.M)


def _model_text(edit, *, fix_sizes: bool = True):
    def change(folder: Path) -> None:
        path = folder / "model.txt"
        text = edit(path.read_bytes().decode())
        path.write_bytes((_fix_tree_sizes(text) if fix_sizes else text).encode())
        reseal_all(folder)

    return change


def _first_leaf(value: str):
    return lambda t: re.sub(r"^leaf_value=\S+", f"leaf_value={value}", t, count=1, flags=re.M)


def _no_trees(t: str) -> str:
    return re.sub(r"Tree=0.*?(end of trees)", r"\1", t, flags=re.S)


def _last_tree_dropped(t: str) -> str:
    return re.sub(r"Tree=4\n.*?(end of trees)", r"\1", t, flags=re.S)


TEXT_CASES = {
    "crlf": (_model_text(lambda t: t.replace("\n", "\r\n"), fix_sizes=False), r"CR LF"),
    "nan_stale_sizes": (_model_text(_first_leaf("nan"), fix_sizes=False), r"tree_sizes"),
    "nan": (_model_text(_first_leaf("nan")), r"Tree=0: leaf_value holds 'nan'"),
    "inf": (_model_text(_first_leaf("inf")), r"leaf_value holds 'inf'"),
    "huge": (_model_text(_first_leaf("1e308")), r"leaf_value holds a number beyond"),
    "overflow": (_model_text(_first_leaf("1e999")), r"leaf_value holds a number beyond"),
    "nan_threshold": (_model_text(lambda t: re.sub(r"^threshold=\S+", "threshold=nan", t,
                                                   count=1, flags=re.M)),
                      r"threshold holds 'nan'"),
    "no_trees": (_model_text(_no_trees), r"holds no trees"),
    "tree_dropped": (_model_text(_last_tree_dropped), r"holds 4 trees, but manifest.json "
                     r"records 5"),
    "num_class_3": (_model_text(lambda t: t.replace("num_class=1", "num_class=3")),
                    r"num_class='3', but a binary model has num_class=1"),
    "regression": (_model_text(lambda t: re.sub(r"objective=.*", "objective=regression", t)),
                   r"objective='regression'"),
    "renumbered": (_model_text(lambda t: t.replace("Tree=1\n", "Tree=7\n")), r"not numbered"),
    "short_array": (_model_text(lambda t: re.sub(r"^(split_gain=\S+) \S+", r"\1", t, count=1,
                                                 flags=re.M)),
                    r"Tree=0: split_gain holds 1 values, but num_leaves=3 means 2"),
    "cycle": (_model_text(lambda t: re.sub(r"^left_child=.*", "left_child=1 1", t, count=1,
                                           flags=re.M)), r"do not form one tree"),
    "child_out_of_range": (_model_text(lambda t: re.sub(r"^right_child=.*", "right_child=9 -3",
                                                        t, count=1, flags=re.M)),
                           r"child beyond"),
    "feature_out_of_range": (_model_text(lambda t: re.sub(r"^split_feature=\S+",
                                                          "split_feature=99", t, count=1,
                                                          flags=re.M)),
                             r"feature beyond max_feature_idx"),
    "missing_key": (_model_text(lambda t: re.sub(r"^leaf_count=.*\n", "", t, count=1,
                                                 flags=re.M)), r"lacks \['leaf_count'\]"),
    "pandas_categorical": (_model_text(lambda t: t.replace("pandas_categorical:null",
                                                           "pandas_categorical:[[}")),
                           r"pandas_categorical"),
    "not_utf8": (lambda f: ((f / "model.txt").write_bytes(b"\xff\xfe"), reseal_all(f)),
                 r"not UTF-8"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(TEXT_CASES))
def test_an_edited_model_text_is_refused(case, model_dir):
    change, message = TEXT_CASES[case]
    change(model_dir)
    with pytest.raises(
        ArtifactError, match=r"model.txt is not a valid LightGBM binary model: .*" + message
    ):
        RiskModel.load(model_dir)


def test_no_edited_model_text_aborts_the_process(saved, tmp_path):
    """LightGBM aborts (SIGABRT, exit 134) on text it cannot parse: none reaches it."""
    folders = []
    for case, (change, _) in TEXT_CASES.items():
        folder = Path(shutil.copytree(saved, tmp_path / case))
        change(folder)
        folders.append(str(folder))
    script = (
        "import sys\nfrom overdue_risk import ArtifactError, RiskModel\n"
        "for f in sys.argv[1:]:\n"
        "    try:\n        RiskModel.load(f)\n    except ArtifactError:\n        pass\n"
        "    else:\n        sys.exit(f'loaded {f}')\n"
    )
    done = subprocess.run([sys.executable, "-c", script, *folders], capture_output=True)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]


def test_score_refuses_an_edited_model_text(model_dir, tmp_path, capsys):
    TEXT_CASES["num_class_3"][0](model_dir)
    argv = ["score", str(model_dir), str(HANDMADE), "--as-of", AS_OF]
    argv += ["--out", str(tmp_path / "o.csv")]
    assert_refused(argv, capsys, r"model.txt is not a valid LightGBM binary model: num_class")
    assert not (tmp_path / "o.csv").exists()


def test_the_saved_model_text_passes(saved):
    content = (saved / "model.txt").read_bytes()
    assert check_model_text(content, 5) == content.decode()
    RiskModel.load(saved)


def test_an_infinite_threshold_as_lightgbm_writes_it_passes(model_dir):
    """LightGBM itself writes threshold=inf (every value goes one way)."""
    edit = _model_text(lambda t: re.sub(r"^threshold=\S+", "threshold=inf", t, count=1, flags=re.M))
    edit(model_dir)
    assert RiskModel.load(model_dir).best_iteration_ == 5


# -- the manifest -----------------------------------------------------------------------------


def _set_threshold(m: dict) -> None:
    m["target"] = {**m["target"], "threshold": 0} if isinstance(m["target"], dict) else "dpd1_30d"


MANIFEST_CASES = {
    "targets_disagree": (_set_threshold, r"records two different targets"),
    "unknown_key": (lambda m: m.__setitem__("notes", "hi"),
                    r"holds keys this release does not know: \['notes'\]"),
    "unknown_family": (lambda m: m["build_options"].__setitem__("families", ["statc"]),
                       r"manifest.json records build_options.families=\['statc'\] this release "
                       r"cannot build"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(MANIFEST_CASES))
def test_an_edited_manifest_is_refused(case, model_dir):
    change, message = MANIFEST_CASES[case]
    reseal_all(model_dir, change)
    with pytest.raises(ArtifactError, match=message):
        RiskModel.load(model_dir)


def test_score_names_the_manifest_for_a_stored_family(model_dir, tmp_path, capsys):
    reseal_all(model_dir, MANIFEST_CASES["unknown_family"][0])
    argv = ["score", str(model_dir), str(HANDMADE), "--as-of", AS_OF]
    argv += ["--out", str(tmp_path / "o.csv")]
    assert_refused(argv, capsys, r"manifest.json records build_options.families")


def test_a_file_the_manifest_does_not_list_is_refused(model_dir):
    (model_dir / "extra.pkl").write_bytes(b"\x80\x04N.")
    with pytest.raises(ArtifactError, match=r"holds files its manifest.json does not list: "
                       r"\['extra.pkl'\]"):  # fmt: skip
        RiskModel.load(model_dir)


@pytest.mark.parametrize("package", ["overdue-risk", "lightgbm"])
def test_a_manifest_of_a_newer_release_loads_with_a_warning(package, model_dir):
    reseal_all(model_dir, lambda m: m["versions"].__setitem__(package, "99.0.0"))
    with pytest.warns(DataQualityWarning, match=rf"saved with {package} 99.0.0, newer than"):
        RiskModel.load(model_dir)


def test_a_manifest_of_an_older_release_loads_quietly(model_dir):
    reseal_all(model_dir, lambda m: m["versions"].update({"overdue-risk": "0.0.1"}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RiskModel.load(model_dir)


# -- a model folder that is no folder ---------------------------------------------------------


def test_a_model_folder_that_is_a_link_loop_or_a_pipe_is_named(tmp_path, capsys):
    os.symlink("loopB", tmp_path / "loopA")
    os.symlink("loopA", tmp_path / "loopB")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "file").write_text("x")
    for name, what in [
        ("loopA", "a symbolic link loop"),
        ("fifo", r"a named pipe \(FIFO\)"),
        ("file", "a file"),
    ]:
        with pytest.raises(ArtifactError, match=rf"is {what}, not a folder"):
            RiskModel.load(tmp_path / name)
        argv = ["score", str(tmp_path / name), str(HANDMADE), "--as-of", AS_OF]
        assert_refused([*argv, "--out", str(tmp_path / "o.csv")], capsys, what)
    with pytest.raises(ArtifactError, match=r"does not exist"):
        RiskModel.load(tmp_path / "nothing")


# -- train: a report inside the model folder ---------------------------------------------------


def test_a_report_inside_the_model_folder_is_refused_up_front(tmp_path, capsys, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("the portfolio was read")

    monkeypatch.setattr("overdue_risk.workflows._inputs.load_portfolio", boom)
    out = tmp_path / "m3"
    argv = ["train", str(HANDMADE), "--as-of-dates", "2024-03-31,2024-04-30,2024-05-31"]
    argv += ["--out", str(out), "--report", str(out / "report.html")]
    assert_refused(argv, capsys, r"--report.*lies inside the model folder.*--out", watch=[tmp_path])
    from overdue_risk.workflows import train_risk_model

    with pytest.raises(OverdueRiskError, match=r"lies inside the model folder"):
        train_risk_model(HANDMADE, [AS_OF], out=out, report_path=out / "sub" / "r.html")


# -- evaluate: unseen categories in the report ------------------------------------------------


def test_evaluate_records_unseen_categories_in_the_report(saved, tmp_path, capsys):
    shutil.copytree(HANDMADE, tmp_path / "PF")
    loans = pd.read_csv(tmp_path / "PF" / "loans.csv", dtype=str)
    loans["region"] = "mars"
    loans.to_csv(tmp_path / "PF" / "loans.csv", index=False)
    out = tmp_path / "report.html"
    argv = ["evaluate", str(saved), str(tmp_path / "PF"), "--as-of", "2024-03-31"]
    code, _, err = run_cli([*argv, "--out", str(out)], capsys)
    assert code == 0, err
    html = out.read_text()
    assert re.search(r"never saw at fit were scored as missing: .*region: \d+ rows", html), html
