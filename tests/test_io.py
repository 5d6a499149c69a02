"""Atomic outputs: a folder or file is replaced whole, or left as it was."""

from __future__ import annotations

import pandas as pd
import pytest

from overdue_risk import _io

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
    import os

    mask = os.umask(0o022)
    try:
        _io.write_table(FRAME, tmp_path / "t.csv")
        _io.write_folder({"a.csv": FRAME}, tmp_path / "run")
    finally:
        os.umask(mask)
    assert (tmp_path / "t.csv").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "run" / "a.csv").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o755
