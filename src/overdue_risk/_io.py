"""Reading and writing tables and folders.

Outputs are checked before any work and written atomically.

- :func:`check_output_path`, :func:`check_output_folder` and
  :func:`check_report_path`: the output can be written (its folder exists and
  takes a new file, an existing target is a regular file or folder we may
  replace); :func:`check_outputs_apart`: no output is, lies in or contains an
  input, or another output (paths resolved: symbolic links and ``..`` followed).
- Writers fill a temporary sibling, ``.<target>.overdue-risk-<random>.tmp``
  (files and folders alike), then move it into place: a reader sees the old
  output or the whole new one, never half. A temporary left by a killed run
  stays beside the target until the next run that writes the same target
  removes it; a temporary a running writer still holds (it keeps an advisory
  lock on it) is left alone, and so is every other file.
- An output that is a symbolic link is written through: its target is replaced.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from .exceptions import OverdueRiskError

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: every leftover counts as stale
    fcntl = None

__all__ = [
    "OUTPUT_FORMATS",
    "TEMP_MARK",
    "check_output_file",
    "check_output_folder",
    "check_output_path",
    "check_outputs_apart",
    "check_report_path",
    "path_kind",
    "read_csv_as_written",
    "read_table",
    "replace_folder",
    "temp_prefix",
    "write_files",
    "write_folder",
    "write_table",
    "write_text",
]

OUTPUT_FORMATS = {".parquet": "parquet", ".csv": "csv"}
# Every temporary output is named ``.<target>.overdue-risk-<random>.tmp``.
TEMP_MARK = ".overdue-risk-"
_TEMP_SUFFIX = ".tmp"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _shown(path: str | os.PathLike) -> str:
    return repr(os.fspath(path))


def _real(path: str | os.PathLike) -> Path:
    """The path with every symbolic link and ``..`` resolved (it need not exist)."""
    return Path(os.path.realpath(os.fspath(path)))


def _stat(path: Path, shown: str | os.PathLike) -> os.stat_result | None:
    """``os.stat`` (links followed), None when nothing is there; other failures are refused."""
    try:
        return path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            return None
        raise OverdueRiskError(
            f"Output path {_shown(shown)} cannot be used: {exc.strerror}."
        ) from exc


def temp_prefix(target: str | os.PathLike) -> str:
    """The start of the name of every temporary written for ``target``."""
    return f".{Path(target).name}{TEMP_MARK}"


def _probe(target: Path, shown: str | os.PathLike, folder: bool) -> None:
    """Make and remove a temporary of ``target``, as the writer will: it must work."""
    prefix = temp_prefix(target)
    try:
        if folder:
            os.rmdir(tempfile.mkdtemp(prefix=prefix, suffix=_TEMP_SUFFIX, dir=target.parent))
        else:
            fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=_TEMP_SUFFIX, dir=target.parent)
            os.close(fd)
            os.unlink(tmp)
    except OSError as exc:
        reason = exc.strerror
        if exc.errno == errno.ENAMETOOLONG:
            reason = f"its name is too long for the temporary name {prefix}XXXXXXXX{_TEMP_SUFFIX}"
        raise OverdueRiskError(
            f"Cannot write {_shown(shown)}: {reason} (in folder {_shown(target.parent)})."
        ) from exc


def _parent_folder(target: Path, out: Path) -> None:
    parent = target.parent
    shown = out.parent if _real(out.parent) == parent else parent
    if not parent.exists():
        raise OverdueRiskError(f"Output folder {_shown(shown)} does not exist.")
    if not parent.is_dir():
        raise OverdueRiskError(f"Output folder {_shown(shown)} is not a folder.")


def _output(path: object) -> Path:
    """The output path as a Path; anything but non-empty text or a path-like is refused."""
    if isinstance(path, str | os.PathLike) and str(os.fspath(path)).strip():
        return Path(path)
    got = "an empty path" if isinstance(path, str | os.PathLike) else type(path).__name__
    raise OverdueRiskError(f"The output must be the path of a file or folder; got {got}.")


def check_output_file(path: str | os.PathLike) -> Path:
    """Fail before any work when a file cannot be written at ``path``, whatever its format.

    Its folder must exist and take a new file, and an existing target must be a
    regular file that is not read-only.
    """
    out = _output(path)
    target = _real(out)
    _parent_folder(target, out)
    st = _stat(target, out)
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise OverdueRiskError(f"Output path {_shown(out)} is a folder, not a file.")
        if not stat.S_ISREG(st.st_mode):
            raise OverdueRiskError(
                f"Output path {_shown(out)} is not a regular file (a device, pipe or socket); "
                "give the name of a file to write."
            )
        if not os.access(target, os.W_OK):
            raise OverdueRiskError(f"Output file {_shown(out)} is read-only.")
    _probe(target, out, folder=False)
    return out


def check_output_path(path: str | os.PathLike) -> Path:
    """Fail before any work when the output table cannot be written.

    The extension (``.parquet`` or ``.csv``) chooses the format; the folder must
    exist and take a new file, and an existing target must be a writable regular
    file (see :func:`check_outputs_apart` for outputs that would overwrite inputs).
    """
    out = _output(path)
    if out.suffix.lower() not in OUTPUT_FORMATS:
        raise OverdueRiskError(
            f"Output file {out.name!r} must end in .parquet or .csv; the extension "
            "chooses the format."
        )
    return check_output_file(out)


def check_output_folder(
    path: str | os.PathLike, overwrite: bool = False, flag: str = "--overwrite"
) -> Path:
    """Fail before any work when the output folder cannot be used.

    The folder may be missing (its parent must exist and take a new folder) or
    empty; a non-empty one is replaced only with ``overwrite`` (the option
    ``flag`` of the command), and only when its files may be removed.
    """
    out = _output(path)
    target = _real(out)
    st = _stat(target, out)
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise OverdueRiskError(f"Output path {_shown(out)} is a file, not a folder.")
    if not target.parent.is_dir():
        raise OverdueRiskError(f"Parent folder of {_shown(out)} does not exist.")
    if target.parent == target:
        raise OverdueRiskError(f"Output folder {_shown(out)} is a file system's root.")
    if st is not None:
        try:
            full = any(target.iterdir())
        except OSError as exc:
            raise OverdueRiskError(
                f"Output folder {_shown(out)} cannot be read: {exc.strerror}."
            ) from exc
        if full and not overwrite:
            raise OverdueRiskError(
                f"Output folder {_shown(out)} is not empty; use {flag} to replace it."
            )
        if full and not os.access(target, os.W_OK | os.X_OK):
            raise OverdueRiskError(
                f"Output folder {_shown(out)} cannot be replaced: its files may not be removed."
            )
    _probe(target, out, folder=True)
    return out


def check_report_path(path: str | os.PathLike) -> Path:
    """Fail before any work when an HTML report cannot be written there."""
    out = _output(path)
    if out.suffix.lower() not in (".html", ".htm"):
        raise OverdueRiskError(f"Report file {out.name!r} must end in .html.")
    return check_output_file(out)


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def _relation(out: Path, other: Path) -> str | None:
    """How the resolved ``out`` meets the resolved ``other``: ``is``, ``inside`` or ``contains``."""
    if out == other or _same(out, other):
        return "is"
    if other in out.parents:
        return "inside"
    if out in other.parents:
        return "contains"
    return None


def check_outputs_apart(outputs: Iterable, inputs: Iterable = ()) -> None:
    """Fail before any work when an output would overwrite what the run reads or writes.

    Every path is resolved (symbolic links and ``..`` followed) and, when it
    exists, also compared by identity (hard links, case-insensitive file
    systems). An output may not be an input, lie inside an input folder or
    contain an input; two outputs may not be one path or one inside the other.

    Parameters
    ----------
    outputs : iterable of path or None
        The files and folders the run writes (None: not written).
    inputs : iterable
        The files and folders it reads: a folder read whole (a model folder)
        is given as itself, a portfolio folder as the table files it may hold.
        Anything that is not a path (a DataFrame, a loaded model, a profile's
        object, None) reads no file and is skipped.
    """
    outs = [Path(p) for p in outputs if p is not None]
    ins = [Path(p) for p in inputs if isinstance(p, str | os.PathLike)]
    ins.sort(key=lambda p: not os.path.lexists(p))  # name a present input before a possible one
    real_ins = [(p, _real(p)) for p in ins]
    seen: list[tuple[Path, Path]] = []
    for out in outs:
        real = _real(out)
        for given, other in real_ins:
            how = _relation(real, other)
            if how == "is":
                raise OverdueRiskError(
                    f"The output {_shown(out)} is the input {_shown(given)}: writing it would "
                    "destroy or change what the run reads. Choose another output path."
                )
            if how == "inside":
                raise OverdueRiskError(
                    f"The output {_shown(out)} lies inside the input folder {_shown(given)}; "
                    "write it elsewhere."
                )
            if how == "contains":
                raise OverdueRiskError(
                    f"The output folder {_shown(out)} contains the input {_shown(given)}, "
                    "which writing it would delete. Choose another output folder."
                )
        for given, other in seen:
            if _relation(real, other) is not None:
                raise OverdueRiskError(
                    f"The outputs {_shown(given)} and {_shown(out)} overlap: give each its "
                    "own path."
                )
        seen.append((out, real))


def read_table(path: str | Path, what: str = "Table") -> pd.DataFrame:
    """Read a Parquet or CSV table; CSV ``loan_id`` stays text.

    ``what`` names the file in the error messages (``"Scores file"``). A path
    that is missing, a folder, not a regular file (a pipe, a device), cannot be
    opened, or does not parse in the format its extension names is an
    :class:`OverdueRiskError` naming the file, never a reader's own exception.
    """
    src = Path(path)
    try:
        mode = src.stat().st_mode  # links followed: a link to a file is that file
    except (FileNotFoundError, NotADirectoryError):
        raise OverdueRiskError(f"{what} {_shown(src)} does not exist.") from None
    except OSError as exc:  # a loop of links, no permission on a folder on the way
        raise OverdueRiskError(f"{what} {_shown(src)} cannot be read: {exc.strerror}.") from None
    if stat.S_ISDIR(mode):
        raise OverdueRiskError(f"{what} {_shown(src)} is a folder, not a file.")
    if not stat.S_ISREG(mode):
        raise OverdueRiskError(
            f"{what} {_shown(src)} is not a regular file (a pipe, device or socket)."
        )
    kind = src.suffix.lower()
    if kind not in OUTPUT_FORMATS:
        raise OverdueRiskError(f"{what} {src.name!r} must be a .parquet or .csv file.")
    try:
        if kind == ".parquet":
            return pd.read_parquet(src)
        return read_csv_as_written(src, dtype={"loan_id": str})
    except _unreadable() as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise OverdueRiskError(
            f"{what} {_shown(src)} cannot be read as {'Parquet' if kind == '.parquet' else 'CSV'}: "
            f"{reason}"
        ) from exc


def path_kind(path: str | os.PathLike) -> str:
    """What ``path`` is, as a message says it: ``"a file"``, ``"a directory"``,
    ``"missing"``, ``"a broken symbolic link"``, ``"a symbolic link loop"``, ``"a
    named pipe (FIFO)"``, ``"a socket"``, ``"a device"`` or ``"not accessible
    (<reason>)"``. Symbolic links are followed; nothing is opened.

    Examples
    --------
    >>> path_kind("/"), path_kind("/no/such/path")
    ('a directory', 'missing')
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "a broken symbolic link" if os.path.islink(path) else "missing"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop"
        return f"not accessible ({exc.strerror})"
    kinds = {
        stat.S_ISREG: "a file",
        stat.S_ISDIR: "a directory",
        stat.S_ISFIFO: "a named pipe (FIFO)",
        stat.S_ISSOCK: "a socket",
        stat.S_ISCHR: "a device",
        stat.S_ISBLK: "a device",
    }
    return next((text for test, text in kinds.items() if test(mode)), "not a regular file")


def read_csv_as_written(path: Path, **kwargs) -> pd.DataFrame:
    """``pd.read_csv``, with a repeated header kept as written.

    The CSV reader renames a repeated name (``amount``, ``amount.1``); restoring
    the names lets the table checks report the ``duplicate_column`` instead of
    silently reading one copy.
    """
    df = pd.read_csv(path, low_memory=False, **kwargs)
    header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False)
    names = header.iloc[0].tolist() if len(header) else []
    if len(names) == df.shape[1] and len(set(names)) < len(names):
        df.columns = names
    return df


def _unreadable() -> tuple[type[BaseException], ...]:
    """What the table readers raise for a file they cannot read (pyarrow's own errors too)."""
    import pyarrow  # a dependency: the Parquet reader

    # OSError: no permission, I/O; ValueError: bad text, encodings, CSV and Parquet
    # parse errors; NotImplementedError: Parquet types pandas cannot hold.
    return (OSError, ValueError, NotImplementedError, pyarrow.ArrowException)


def _stale(target: Path) -> Iterator[Path]:
    """Temporaries of ``target`` that no running writer holds: ours, and this target's only."""
    pattern = re.compile(
        re.escape(temp_prefix(target)) + r"[A-Za-z0-9_]+" + re.escape(_TEMP_SUFFIX)
    )
    try:
        names = [e.name for e in os.scandir(target.parent) if pattern.fullmatch(e.name)]
    except OSError:
        return
    for name in sorted(names):
        path = target.parent / name
        if not path.is_symlink() and not _held(path):
            yield path


def _held(path: Path) -> bool:
    """Whether a running writer still holds the temporary ``path`` (its lock is taken)."""
    if fcntl is None:  # pragma: no cover - no advisory locks
        return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return True  # cannot tell: leave it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases the lock just taken
    return False


def _remove_stale(target: Path) -> None:
    """Remove what killed runs left while writing ``target`` (see the module docstring)."""
    for path in _stale(target):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _hold(fd: int) -> None:
    """Mark a temporary as being written: a lock the kernel drops when the process dies."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


@contextmanager
def _temp_file(target: Path) -> Iterator[Path]:
    """A temporary sibling of ``target`` to fill; moved into its place on success."""
    _remove_stale(target)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(target), suffix=_TEMP_SUFFIX, dir=target.parent)
    try:
        _hold(fd)
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files private; outputs are not
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``df`` (index as columns) to Parquet or CSV, atomically."""
    out = check_output_path(path)
    flat = df.reset_index() if any(n is not None for n in df.index.names) else df
    with _temp_file(_real(out)) as tmp:
        if OUTPUT_FORMATS[out.suffix.lower()] == "parquet":
            flat.to_parquet(tmp, index=False)
        else:
            flat.to_csv(tmp, index=False)
    return out


def write_text(text: str, path: str | os.PathLike) -> Path:
    """Write ``text`` (UTF-8) to ``path``, atomically; the path's checks are the caller's."""
    out = Path(path)
    with _temp_file(_real(out)) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return out


def write_folder(tables: Mapping[str, pd.DataFrame], folder: str | os.PathLike) -> Path:
    """Write ``{relative path: frame}`` into ``folder`` as a whole, atomically."""

    def fill(tmp: Path) -> None:
        for rel, df in tables.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            write_table(df, tmp / rel)

    return replace_folder(folder, fill)


def write_files(files: Mapping[str, bytes], folder: str | os.PathLike) -> Path:
    """Write ``{file name: content}`` into ``folder`` as a whole, atomically."""

    def fill(tmp: Path) -> None:
        for name, content in files.items():
            (tmp / name).write_bytes(content)
            os.chmod(tmp / name, 0o666 & ~_umask())

    return replace_folder(folder, fill)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2`` with ``RENAME_EXCHANGE``).

    False where the system or the file system cannot: the caller then renames twice.
    """
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):  # pragma: no cover - an old C library
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes += [ctypes.c_uint]
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):  # pragma: no cover
        return False
    raise OSError(err, os.strerror(err), os.fspath(b))


def replace_folder(folder: str | os.PathLike, fill: Callable[[Path], None]) -> Path:
    """Fill a temporary sibling folder, then put it in the place of ``folder``.

    A reader sees the old folder or the complete new one, never a mix; when
    ``fill`` fails the old folder stays as it was. On Linux the two folders
    swap in one atomic step, so that a process killed at any moment leaves
    one of them in place; elsewhere the old folder moves aside first.
    """
    out = Path(folder)
    target = _real(out)
    _remove_stale(target)
    prefix = temp_prefix(target)
    tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=_TEMP_SUFFIX, dir=target.parent))
    fd = os.open(tmp, os.O_RDONLY)
    old = None
    try:
        _hold(fd)
        os.chmod(tmp, 0o777 & ~_umask())
        fill(tmp)
        if target.exists() and _exchange(tmp, target):
            # One atomic swap: the new folder in place, the old one under the temporary's
            # name, removed below (or by the next run, were this one killed now).
            old = tmp
        else:
            if target.exists():
                # No atomic swap here: the old folder moves aside under a temporary's
                # name first.
                old = Path(tempfile.mkdtemp(prefix=prefix, suffix=_TEMP_SUFFIX, dir=target.parent))
                os.replace(target, old)
            os.replace(tmp, target)
    except BaseException:
        if old is not None and not target.exists():
            os.replace(old, target)  # put the previous folder back
            old = None
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        os.close(fd)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return out
