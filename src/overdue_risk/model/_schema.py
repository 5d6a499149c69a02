"""The features a model was trained on, and how a frame becomes LightGBM's matrix.

Categories are coded here, not by LightGBM's pandas path: the code of each
category is its position in the list recorded at fit, so a frame scored later,
in other chunks or under another pandas version, gets the same codes, and an
unseen category becomes missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..exceptions import ModelError

__all__ = ["FeatureSchema"]

# LightGBM refuses feature names with JSON special characters.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


def _kind(name: str, dtype) -> str:
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        return "category"
    raise ModelError(
        f"Feature {name!r} has dtype {dtype}, which a model cannot take: give numbers, "
        "booleans or text (dates: derive a number of days first)."
    )


def _plain(values) -> list:
    """Categories as JSON-ready Python scalars."""
    return [v.item() if isinstance(v, np.generic) else v for v in values]


@dataclass(frozen=True)
class FeatureSchema:
    """Names, kinds (``number`` or ``category``) and category lists of a model's inputs."""

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    categories: dict[str, list]

    @classmethod
    def from_frame(cls, X: pd.DataFrame) -> FeatureSchema:
        names = [str(c) for c in X.columns]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ModelError(f"Feature names must be unique; repeated: {dup}.")
        kinds = tuple(_kind(n, X[c].dtype) for n, c in zip(names, X.columns, strict=True))
        categories = {}
        for name, col, kind in zip(names, X.columns, kinds, strict=True):
            if kind != "category":
                continue
            s = X[col]
            if isinstance(s.dtype, pd.CategoricalDtype):
                cats = s.cat.categories
            else:  # text: sorted, so the codes never depend on row order
                cats = pd.Index(pd.unique(s.dropna().astype("object"))).sort_values()
            categories[name] = _plain(cats)
        return cls(tuple(names), kinds, categories)

    @property
    def categorical_indices(self) -> list[int]:
        return [i for i, k in enumerate(self.kinds) if k == "category"]

    def booster_names(self) -> list[str]:
        """Names LightGBM accepts: the real ones when all are safe, else ``f0, f1, ...``."""
        if all(_SAFE_NAME.match(n) for n in self.names):
            return list(self.names)
        return [f"f{i}" for i in range(len(self.names))]

    def check(self, X: pd.DataFrame, what: str = "X") -> None:
        """Refuse a frame whose features do not match, naming what differs."""
        if not isinstance(X, pd.DataFrame):
            raise ModelError(f"{what} must be a pandas DataFrame with the model's feature names.")
        have = {str(c) for c in X.columns}
        missing = [n for n in self.names if n not in have]
        if missing:
            raise ModelError(
                f"{what} lacks {len(missing)} of the model's {len(self.names)} features: "
                f"{missing[:10]}{' ...' if len(missing) > 10 else ''}. Build them with the "
                "same families, exclusions and custom features as at training."
            )
        columns = {str(c): c for c in X.columns}
        wrong = []
        for name, kind in zip(self.names, self.kinds, strict=True):
            got = _kind(name, X[columns[name]].dtype)
            if got != kind:
                wrong.append(f"{name} ({kind} at training, {got} now)")
        if wrong:
            raise ModelError(f"{what} has features of another type than at training: {wrong}.")

    def encode(self, X: pd.DataFrame, what: str = "X") -> np.ndarray:
        """The float32 matrix LightGBM sees, in the schema's column order.

        Extra columns of ``X`` are ignored; categories are coded by their
        position at fit, unseen ones and missing values becoming NaN.
        """
        self.check(X, what)
        columns = {str(c): c for c in X.columns}
        out = np.empty((len(X), len(self.names)), dtype=np.float32, order="F")
        for j, (name, kind) in enumerate(zip(self.names, self.kinds, strict=True)):
            s = X[columns[name]]
            if kind == "number":
                out[:, j] = s.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                codes = pd.Index(self.categories[name], dtype="object").get_indexer(
                    s.astype("object").to_numpy()
                )
                out[:, j] = np.where(codes < 0, np.nan, codes)
        return out

    def to_dict(self) -> list[dict]:
        return [
            {
                "name": n,
                "kind": k,
                **({"categories": self.categories[n]} if k == "category" else {}),
            }
            for n, k in zip(self.names, self.kinds, strict=True)
        ]

    @classmethod
    def from_dict(cls, features: list[dict]) -> FeatureSchema:
        """The schema :meth:`to_dict` wrote; ModelError for anything else."""
        names = tuple(f["name"] for f in features)
        kinds = tuple(f["kind"] for f in features)
        if not names or not all(isinstance(n, str) and n for n in names):
            raise ModelError(f"Feature names must be non-empty text; got {list(names)[:10]}.")
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ModelError(f"Feature names must be unique; repeated: {dup}.")
        if not set(kinds) <= {"number", "category"}:
            raise ModelError(
                f"Unknown feature kinds in the manifest: {sorted(map(str, set(kinds)))}."
            )
        categories = {}
        for f in features:
            if f["kind"] != "category":
                continue
            cats = f["categories"]
            if not isinstance(cats, list) or len({repr(c) for c in cats}) != len(cats):
                raise ModelError(f"The categories of {f['name']!r} must be a list without repeats.")
            categories[f["name"]] = list(cats)
        return cls(names, kinds, categories)
