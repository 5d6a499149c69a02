"""LightGBM's text model, checked in Python before LightGBM's parser sees it.

LightGBM's C++ parser aborts the whole process (``[Fatal]`` then ``SIGABRT``)
on text it cannot read: a tree whose size differs from ``tree_sizes``, a
number it cannot parse, an array of the wrong length. A model folder's
``model.txt`` is therefore read here first, and refused with an
:class:`~overdue_risk.ArtifactError` unless it is a binary model as LightGBM
writes it:

- UTF-8 text with ``\\n`` line endings (no ``\\r``, no NUL);
- the header keys LightGBM writes, with ``num_class=1``,
  ``num_tree_per_iteration=1`` and ``objective=binary sigmoid:<s>``;
- ``Tree=0`` to ``Tree=n-1`` in order, each exactly as long as ``tree_sizes``
  says, ``n`` being the number of trees the manifest records;
- in every tree, each array parseable, finite (and at most 1e300 in size, so
  that no sum of trees overflows) and of the length ``num_leaves`` implies; the
  children form one tree; split features, decision types and categorical
  boundaries are within range.

The checks are a handful of regular expressions and numpy operations per tree:
a model of a thousand 31-leaf trees is checked in about a third of a second
(LightGBM's own parse of it takes a twentieth).
"""

from __future__ import annotations

import itertools
import json
import re

import numpy as np

from ..exceptions import ArtifactError

__all__ = ["check_model_text"]

MODEL = "model.txt"
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d{1,3})?"
_FLOATS = re.compile(rf"(?:{_NUM}(?: {_NUM})*)?")
_THRESHOLDS = re.compile(rf"(?:(?:-?inf|{_NUM})(?: (?:-?inf|{_NUM}))*)?")
_INTS = re.compile(r"(?:-?\d{1,10}(?: -?\d{1,10})*)?")
_KEY_VALUE = re.compile(r"([a-z_]+)=(.*)")
_TREE = re.compile(r"^Tree=(\d{1,9})\n", re.M)
_PARAMETER = re.compile(r"\[[a-z0-9_]+: [^\n\]]*\]")
_MAX_ABS = 1e300  # a thousand trees of such values still sum to a finite score
_MAX_LEAVES = 131072  # LightGBM's own bound on num_leaves
_VERSIONS = ("v3", "v4")
_HEADER = {
    "version",
    "num_class",
    "num_tree_per_iteration",
    "label_index",
    "max_feature_idx",
    "objective",
    "feature_names",
    "feature_infos",
    "tree_sizes",
}
_NODE_FLOATS = ("split_gain", "threshold", "internal_value", "internal_weight")
_NODE_INTS = ("split_feature", "decision_type", "left_child", "right_child", "internal_count")
_LEAF_FLOATS = ("leaf_value", "leaf_weight")
_TREE_KEYS = {
    "num_leaves",
    "num_cat",
    "leaf_count",
    "is_linear",
    "shrinkage",
    *_NODE_FLOATS,
    *_NODE_INTS,
    *_LEAF_FLOATS,
}
_CATEGORICAL = {"cat_boundaries", "cat_threshold"}


class _Invalid(Exception):
    """What is wrong, said once as the ArtifactError of check_model_text."""


def _floats(value: str, key: str, where: str) -> np.ndarray:
    # LightGBM writes an infinite threshold (every value goes one way), never a NaN.
    infinite = key == "threshold"
    pattern = _THRESHOLDS if infinite else _FLOATS
    if not pattern.fullmatch(value):
        token = r"-?inf|" + _NUM if infinite else _NUM
        bad = next((t for t in value.split(" ") if not re.fullmatch(token, t)), value)
        raise _Invalid(f"{where}{key} holds {bad[:40]!r}, not a finite number")
    numbers = np.array(value.split(" ") if value else [], dtype=np.float64)
    if not np.all((np.abs(numbers) <= _MAX_ABS) | (infinite & np.isinf(numbers))):
        raise _Invalid(f"{where}{key} holds a number beyond ±{_MAX_ABS:g}")
    return numbers


def _ints(value: str, key: str, where: str) -> np.ndarray:
    if not _INTS.fullmatch(value):
        raise _Invalid(f"{where}{key} must be whole numbers, got {value[:60]!r}")
    return np.array(value.split(" ") if value else [], dtype=np.int64)


def _one_int(values: dict, key: str, where: str, low: int, high: int) -> int:
    number = _ints(values[key], key, where)
    if number.shape != (1,) or not low <= number[0] <= high:
        raise _Invalid(
            f"{where}{key}={values[key][:40]!r} is not a whole number in [{low}, {high}]"
        )
    return int(number[0])


def _pairs(lines: list[str], where: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in lines:
        match = _KEY_VALUE.fullmatch(line)
        if match is None:
            raise _Invalid(f"{where}line {line[:60]!r} is not key=value")
        key, value = match.groups()
        if key in values:
            raise _Invalid(f"{where}{key} is given twice")
        values[key] = value
    return values


def _header(text: str) -> tuple[int, np.ndarray]:
    """The number of features and the recorded tree sizes."""
    lines = text.rstrip("\n").split("\n")
    if lines[0] != "tree":
        raise _Invalid(f"its first line is {lines[0][:40]!r}, not 'tree'")
    values = _pairs(lines[1:], "the header's ")
    missing = sorted(_HEADER - set(values))
    unknown = sorted(set(values) - _HEADER - {"monotone_constraints"})
    if missing or unknown:
        raise _Invalid(f"the header lacks {missing} or has unknown keys {unknown}")
    if values["version"] not in _VERSIONS:
        raise _Invalid(f"version={values['version'][:20]!r} is not one of {list(_VERSIONS)}")
    for key, expected in (
        ("num_class", "1"),
        ("num_tree_per_iteration", "1"),
        ("label_index", "0"),
    ):
        if values[key] != expected:
            raise _Invalid(f"{key}={values[key][:20]!r}, but a binary model has {key}={expected}")
    objective = re.fullmatch(rf"binary sigmoid:({_NUM})", values["objective"])
    if objective is None or not 0 < float(objective.group(1)) <= _MAX_ABS:
        raise _Invalid(
            f"objective={values['objective'][:40]!r}, not 'binary sigmoid:<a positive number>'"
        )
    n_features = _one_int(values, "max_feature_idx", "the header's ", 0, 10**7) + 1
    for key in ("feature_names", "feature_infos"):
        if len(values[key].split(" ")) != n_features:
            raise _Invalid(f"{key} does not list max_feature_idx + 1 = {n_features} features")
    if "monotone_constraints" in values:
        signs = _ints(values["monotone_constraints"], "monotone_constraints", "the header's ")
        if len(signs) != n_features or not np.isin(signs, (-1, 0, 1)).all():
            raise _Invalid(f"monotone_constraints must be {n_features} values of -1, 0 or 1")
    sizes = _ints(values["tree_sizes"], "tree_sizes", "the header's ")
    return n_features, sizes


def _tree(lines: list[str], where: str, n_features: int) -> None:
    values = _pairs(lines, where)
    n = _one_int(values, "num_leaves", where, 1, _MAX_LEAVES)
    num_cat = _one_int(values, "num_cat", where, 0, n - 1)
    expected = _TREE_KEYS | (_CATEGORICAL if num_cat else set())
    if set(values) != expected:
        missing, unknown = sorted(expected - set(values)), sorted(set(values) - expected)
        raise _Invalid(f"{where}lacks {missing} or has unknown keys {unknown}")
    if values["is_linear"] != "0":
        raise _Invalid(f"{where}is a linear tree (is_linear={values['is_linear'][:10]!r})")
    arrays = {k: _floats(values[k], k, where) for k in (*_NODE_FLOATS, *_LEAF_FLOATS, "shrinkage")}
    arrays |= {k: _ints(values[k], k, where) for k in (*_NODE_INTS, "leaf_count")}
    lengths = dict.fromkeys((*_NODE_FLOATS, *_NODE_INTS), n - 1)
    lengths |= dict.fromkeys((*_LEAF_FLOATS, "leaf_count"), n) | {"shrinkage": 1}
    for key, length in lengths.items():
        if len(arrays[key]) != length:
            raise _Invalid(
                f"{where}{key} holds {len(arrays[key])} values, but num_leaves={n} means {length}"
            )
    if (arrays["leaf_count"] < 0).any() or (arrays["internal_count"] < 0).any():
        raise _Invalid(f"{where}has a negative count")
    if n == 1:
        return
    feature, kind = arrays["split_feature"], arrays["decision_type"]
    if ((feature < 0) | (feature >= n_features)).any():
        raise _Invalid(f"{where}splits on a feature beyond max_feature_idx={n_features - 1}")
    if ((kind < 0) | (kind > 15) | ((kind >> 2) & 3 == 3)).any():
        raise _Invalid(f"{where}decision_type holds a value LightGBM does not define")
    children = np.concatenate([arrays["left_child"], arrays["right_child"]])
    if ((children < -n) | (children > n - 2)).any():
        raise _Invalid(f"{where}has a child beyond its {n - 1} nodes and {n} leaves")
    nodes = np.bincount(children[children >= 0], minlength=n - 1)
    leaves = np.bincount(~children[children < 0], minlength=n)
    if nodes[0] != 0 or (nodes[1:] != 1).any() or (leaves != 1).any():
        raise _Invalid(f"{where}left_child and right_child do not form one tree")
    categorical = (kind & 1).astype(bool)
    if categorical.sum() != num_cat:
        raise _Invalid(f"{where}has {categorical.sum()} categorical splits but num_cat={num_cat}")
    if num_cat:
        bounds = _ints(values["cat_boundaries"], "cat_boundaries", where)
        words = _ints(values["cat_threshold"], "cat_threshold", where)
        if (
            len(bounds) != num_cat + 1
            or bounds[0] != 0
            or (np.diff(bounds) <= 0).any()
            or bounds[-1] != len(words)
            or ((words < 0) | (words >= 1 << 32)).any()
        ):
            raise _Invalid(f"{where}cat_boundaries and cat_threshold do not agree with num_cat")
        index = arrays["threshold"][categorical]
        if ((index != np.floor(index)) | (index < 0) | (index >= num_cat)).any():
            raise _Invalid(f"{where}a categorical threshold is not one of its {num_cat} categories")


def _tail(text: str) -> None:
    """What follows ``end of trees``: importances, parameters, pandas_categorical."""
    lines = text.rstrip("\n").split("\n")
    if "parameters:" in lines:
        start = lines.index("parameters:")
        if "end of parameters" not in lines[start:]:
            raise _Invalid("its parameters have no 'end of parameters' line")
        end = lines.index("end of parameters", start)
        bad = [x for x in lines[start + 1 : end] if x and not _PARAMETER.fullmatch(x)]
        if bad:
            raise _Invalid(f"the parameter line {bad[0][:60]!r} is not [name: value]")
    last = lines[-1]
    if last.startswith("pandas_categorical:"):
        try:
            categories = json.loads(last[len("pandas_categorical:") :])
        except (json.JSONDecodeError, RecursionError):
            categories = ()
        if categories is not None and not isinstance(categories, list):
            raise _Invalid("its pandas_categorical line is not JSON null or a list")


def _check(text: str, n_trees: int) -> None:
    if "\r" in text:
        raise _Invalid("its lines end in CR LF (or CR), not LF")
    if "\0" in text:
        raise _Invalid("it holds NUL characters")
    end = text.find("\nend of trees\n")
    if end < 0:
        raise _Invalid("it has no 'end of trees' line")
    starts = list(_TREE.finditer(text, 0, end + 1))
    if not starts:
        raise _Invalid("it holds no trees")
    n_features, sizes = _header(text[: starts[0].start()])
    numbers = [int(m.group(1)) for m in starts]
    if numbers != list(range(len(numbers))):
        raise _Invalid("its trees are not numbered Tree=0, Tree=1, … in order")
    if len(numbers) != n_trees:
        raise _Invalid(f"it holds {len(numbers)} trees, but manifest.json records {n_trees}")
    if len(sizes) != len(numbers):
        raise _Invalid(f"tree_sizes lists {len(sizes)} sizes for {len(numbers)} trees")
    bounds = [m.start() for m in starts] + [end + 1]
    trees = text[bounds[0] : bounds[-1]]
    if not trees.isascii():
        raise _Invalid("its trees hold characters that are not ASCII")
    if (np.diff(bounds) != sizes).any():
        raise _Invalid("a tree's length differs from the one tree_sizes records")
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        block = text[a:b].rstrip("\n").split("\n")[1:]
        _tree(block, f"Tree={i}: ", n_features)
    _tail(text[end + len("\nend of trees\n") :])


def check_model_text(content: bytes, n_trees: int) -> str:
    """``model.txt``'s text, once it is a binary model LightGBM reads safely.

    ``n_trees`` is the number of trees the manifest records (its
    ``best_iteration``). Raises :class:`~overdue_risk.ArtifactError` otherwise.
    """
    try:
        text = content.decode("utf-8")
        _check(text, n_trees)
    except UnicodeDecodeError:
        problem = "it is not UTF-8 text"
    except _Invalid as exc:
        problem = str(exc)
    else:
        return text
    raise ArtifactError(f"{MODEL} is not a valid LightGBM binary model: {problem}.")
