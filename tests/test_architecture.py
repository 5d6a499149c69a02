"""The shape of the source tree: what import-linter does not check.

``lint-imports`` (scripts/test.sh) checks the layering and that no private
module is imported across a package wall. These tests check the rest of the
house rules: modules stay under 600 lines, no private *name* is imported from
another package, and no private *attribute* of another package's objects is
read (``ledger._sched`` from features, say).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "overdue_risk"
MODULES = sorted(SRC.rglob("*.py"))
MAX_LINES = 600


def _package(path: Path) -> str:
    """The subpackage a module belongs to ("" for the root package's own modules)."""
    parts = path.relative_to(SRC).parts
    return parts[0] if len(parts) > 1 else ""


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _defined_privates(paths: list[Path]) -> set[str]:
    """Private names a group of modules defines: functions, classes, attributes."""
    names: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
    return {n for n in names if _private(n)}


PACKAGES: dict[str, list[Path]] = {}
for _path in MODULES:
    PACKAGES.setdefault(_package(_path), []).append(_path)
DEFINED = {package: _defined_privates(paths) for package, paths in PACKAGES.items()}


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(SRC)) for p in paths]


@pytest.mark.parametrize("path", MODULES, ids=_ids(MODULES))
def test_modules_stay_under_600_lines(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(SRC)} has {n} lines; split it along a seam"


ROOT_MODULES = {p.stem for p in SRC.glob("*.py")}


def _target(package: str, node: ast.ImportFrom) -> str:
    """The package a relative ``from ... import`` reads from ("" for the root's modules)."""
    if node.level == 1 and package:
        return package
    first = (node.module or "").split(".")[0]
    return "" if first in ROOT_MODULES else first


def crossings(package: str, source: str) -> list[str]:
    """Private names that ``source``, a module of ``package``, takes from elsewhere.

    ``from ..other import _x`` is one; so is ``obj._x`` on anything but
    ``self``/``cls`` when no module of ``package`` defines ``_x``.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            if _target(package, node) != package:
                found += [f"{a.name} from {node.module}" for a in node.names if _private(a.name)]
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            owner = ast.unparse(node.value)
            if owner not in ("self", "cls", "type(self)") and node.attr not in DEFINED[package]:
                found.append(f"line {node.lineno}: {owner}.{node.attr}")
    return found


@pytest.mark.parametrize("path", MODULES, ids=_ids(MODULES))
def test_no_private_name_crosses_a_package_wall(path):
    """Private names stay inside their package; root-level private modules
    (``_dates``, ``_config``, ...) are the shared kernel every package may use,
    but their private names are theirs."""
    assert not crossings(_package(path), path.read_text())


@pytest.mark.parametrize(
    ("package", "source", "caught"),
    [
        ("features", "from ..ledger._engine import _NAT", True),
        ("features", "from ..ledger import EventTable, cum0", False),
        ("features", "from .._dates import NAT", False),
        ("features", "from ._context import _helper", False),
        ("features", "def f(led):\n    return led._sched", True),
        ("ledger", "def f(led):\n    return led._sched", False),
        ("", "from .ledger import _x", True),
        ("", "from ._dates import _x", False),
    ],
)
def test_the_wall_check_sees_a_crossing(package, source, caught):
    assert bool(crossings(package, source)) is caught
