"""Atomic outputs: a folder or file is replaced whole, or left as it was."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest

from overdue_risk import OverdueRiskError, _io

FRAME = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})


def test_write_folder_replaces_the_whole_folder(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "stale.parquet").write_text("old")
    _io.write_folder({"t.parquet": FRAME, "sub/u.csv": FRAME}, out)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.*")) == [
        "sub/u.csv",
        "t.parquet",
    ]
    pd.testing.assert_frame_equal(pd.read_parquet(out / "t.parquet"), FRAME)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary left


def test_write_folder_failing_half_way_keeps_the_old_folder(tmp_path, monkeypatch):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    calls = []
    real = _io.write_table

    def flaky(df, path):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(df, path)

    monkeypatch.setattr(_io, "write_table", flaky)
    with pytest.raises(OSError, match="disk full"):
        _io.write_folder({"a.parquet": FRAME, "b.parquet": FRAME}, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_outputs_get_the_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        _io.write_table(FRAME, tmp_path / "t.csv")
        _io.write_folder({"a.csv": FRAME}, tmp_path / "run")
    finally:
        os.umask(mask)
    assert (tmp_path / "t.csv").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "run" / "a.csv").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o755


# -- temporaries ------------------------------------------------------------------------------

TEMP = re.compile(r"\.(?P<target>.+)\.overdue-risk-[A-Za-z0-9_]+\.tmp")


def test_temporaries_are_named_after_their_target(tmp_path, monkeypatch):
    seen = []
    real = pd.DataFrame.to_parquet

    def record(self, path, *args, **kwargs):
        seen.append(Path(path).name)
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", record)
    _io.write_table(FRAME, tmp_path / "t.parquet")
    _io.replace_folder(tmp_path / "run", lambda tmp: seen.append(tmp.name))
    assert [TEMP.fullmatch(name)["target"] for name in seen] == ["t.parquet", "run"]
    assert _io.temp_prefix(tmp_path / "t.parquet") == ".t.parquet.overdue-risk-"


def test_only_stale_temporaries_of_the_same_target_are_removed(tmp_path):
    keep = tmp_path / "precious.txt"
    keep.write_text("the user's")
    stale_file = tmp_path / ".t.csv.overdue-risk-a1b2c3d4.tmp"
    stale_file.write_text("half a tab")
    stale_dir = tmp_path / ".t.csv.overdue-risk-zz_9.tmp"
    (stale_dir / "inner").mkdir(parents=True)
    decoys = [
        ".u.csv.overdue-risk-a1b2c3d4.tmp",  # another target's
        ".t.csv.a1b2c3d4.tmp",  # not our mark
        "t.csv.overdue-risk-a1b2c3d4.tmp",  # not hidden
        ".t.csv.overdue-risk-a1b2c3d4.tmp.bak",  # not a temporary's name
        ".t.csv.overdue-risk-.tmp",  # no random part
    ]
    for name in decoys:
        (tmp_path / name).write_text("keep")
    link = tmp_path / ".t.csv.overdue-risk-link0000.tmp"  # a link is never ours
    link.symlink_to(keep)
    _io.write_table(FRAME, tmp_path / "t.csv")
    assert not stale_file.exists() and not stale_dir.exists()
    assert all((tmp_path / name).read_text() == "keep" for name in decoys)
    assert link.is_symlink() and keep.read_text() == "the user's"


def test_a_failed_write_leaves_its_temporary_for_no_one(tmp_path, monkeypatch):
    def broken(self, path, *args, **kwargs):
        Path(path).write_text("half")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        _io.write_table(FRAME, tmp_path / "t.csv")
    assert list(tmp_path.iterdir()) == []


# -- outputs over inputs ------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path):
    """in/ with a table, a model folder m/, a link to in/ and a hard link to the table."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("x")
    (tmp_path / "m").mkdir()
    (tmp_path / "in_link").symlink_to(tmp_path / "in")
    os.link(tmp_path / "in" / "a.csv", tmp_path / "hard.csv")
    return tmp_path


@pytest.mark.parametrize(
    ("outputs", "inputs", "match"),
    [
        (["in/a.csv"], ["in/a.csv"], r"'.*in/a.csv' is the input"),
        (["in/../in/./a.csv"], ["in/a.csv"], r"is the input"),
        (["in_link/a.csv"], ["in/a.csv"], r"is the input"),
        (["in/a.csv"], ["in_link/a.csv"], r"is the input"),
        (["hard.csv"], ["in/a.csv"], r"'.*hard.csv' is the input"),
        (["in/b.csv"], ["in/b.csv"], r"is the input"),  # not there yet: still an input
        (["m/s.csv"], ["m"], r"lies inside the input folder"),
        (["m"], ["m"], r"is the input"),
        (["."], ["in/a.csv"], r"output folder '.*' contains the input '.*a.csv'"),
        (["r/x.html", "r"], [], r"outputs .* overlap"),
        (["x.csv", "x.csv"], [], r"outputs .* overlap"),
        (["in/b.csv"], ["in/a.csv", None, pd.DataFrame()], None),
        (["m2"], ["m"], None),
        (["in.csv"], ["in"], None),  # a name's prefix is not its folder
        ([None], ["in/a.csv"], None),
    ],
)
def test_outputs_apart_from_inputs(tree, monkeypatch, outputs, inputs, match):
    monkeypatch.chdir(tree)
    if match is None:
        _io.check_outputs_apart(outputs, inputs)
    else:
        with pytest.raises(OverdueRiskError, match=match):
            _io.check_outputs_apart(outputs, inputs)


def test_a_present_input_is_named_before_a_possible_one(tree, monkeypatch):
    monkeypatch.chdir(tree)
    with pytest.raises(OverdueRiskError, match=r"contains the input 'in/a.csv'"):
        _io.check_outputs_apart(["in"], ["in/a.parquet", "in/a.csv"])
