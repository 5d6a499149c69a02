"""The model folder: LightGBM's text model, calibrator parameters and a JSON manifest.

Nothing in it is pickled. ``manifest.json`` records each other file's sha256,
and loading refuses a folder whose files do not match it, parsing everything
before the model is marked fitted.

A model of labels 0 and 1 is written as schema version 1, byte for byte as before
other labels were taken; a model of two other labels records them as ``classes``
in a version 2 manifest, which a release that reads version 1 only refuses rather
than scoring with the wrong labels.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import lightgbm as lgb
import numpy as np

from .._io import write_files
from ..exceptions import ArtifactError, OverdueRiskError
from ._calibration import Calibrator
from ._schema import FeatureSchema

if TYPE_CHECKING:
    from ._risk_model import RiskModel

__all__ = ["SCHEMA_VERSION", "load", "save"]

SCHEMA_VERSION = 2  # the newest this release writes; it reads every version up to it
MANIFEST = "manifest.json"
MODEL = "model.txt"
CALIBRATION = "calibration.json"
_PACKAGES = ("overdue-risk", "lightgbm", "scikit-learn", "numpy", "pandas", "scipy")


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            out[name] = "unknown"
    return out


def _json(obj) -> bytes:
    def clean(v):
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            return None  # JSON has no NaN
        return v

    return (json.dumps(clean(obj), indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def _target(target):
    if target is None or isinstance(target, str):
        return target
    if hasattr(target, "to_dict"):
        return target.to_dict()
    raise ArtifactError(f"The model's target {target!r} cannot be recorded in the manifest.")


def save(model: RiskModel, path, *, overwrite: bool) -> Path:
    out = Path(path)
    if out.exists() and not overwrite:
        raise OverdueRiskError(f"{str(out)!r} exists; pass overwrite=True to replace it.")
    if not out.parent.is_dir():
        raise OverdueRiskError(f"Output folder {str(out.parent)!r} does not exist.")
    files = {MODEL: model.booster_.model_to_string().encode()}
    if model.calibrator_ is not None:
        files[CALIBRATION] = _json(model.calibrator_.to_dict())
    params = model.get_params()
    params["target"] = _target(params["target"])
    features = model.schema_.to_dict()
    for f in features:
        f["description"] = model.descriptions_.get(f["name"], "")
    manifest = {
        "schema_version": 1,
        "kind": "overdue_risk.RiskModel",
        "params": params,
        "target": params["target"],
        "features": features,
        "best_iteration": model.best_iteration_,
        "windows": model.windows_,
        "metrics": model.metrics_,
        "build_options": model.build_options_,
        "reference_scores": model.reference_scores_,
        "versions": _versions(),
        "files": {name: _sha256(content) for name, content in files.items()},
    }
    classes = model.classes_.tolist()
    if classes != [0, 1]:
        manifest.update(schema_version=2, classes=_classes(classes))
    files[MANIFEST] = _json(manifest)
    return write_files(files, out)


def _classes(classes: list) -> list:
    if not all(isinstance(c, str | int | float) for c in classes):
        raise ArtifactError(
            f"The model's classes {classes!r} cannot be recorded in the manifest: "
            "labels must be text or numbers."
        )
    return classes


def _read_manifest(folder: Path) -> dict:
    if not folder.is_dir():
        raise ArtifactError(f"{str(folder)!r} is not a model folder.")
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError as exc:
        raise ArtifactError(f"{str(folder)!r} has no {MANIFEST}.") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{MANIFEST} in {str(folder)!r} is not valid JSON: {exc}.") from exc
    if not isinstance(manifest, dict) or manifest.get("kind") != "overdue_risk.RiskModel":
        raise ArtifactError(f"{MANIFEST} in {str(folder)!r} does not describe a RiskModel.")
    if manifest.get("schema_version") not in range(1, SCHEMA_VERSION + 1):
        raise ArtifactError(
            f"The model folder has schema_version {manifest.get('schema_version')!r}; this "
            f"release reads versions 1 to {SCHEMA_VERSION}."
        )
    return manifest


def _verified(folder: Path, manifest: dict) -> dict[str, bytes]:
    hashes = manifest.get("files")
    if not isinstance(hashes, dict):
        raise ArtifactError(f"{MANIFEST} lists no file hashes.")
    outside = sorted(str(n) for n in hashes if Path(str(n)).name != n)
    if outside:
        raise ArtifactError(f"{MANIFEST} names files outside the folder: {outside}.")
    if MODEL not in hashes:
        raise ArtifactError(f"{MANIFEST} lists no hash for {MODEL}.")
    contents = {}
    for name, expected in sorted(hashes.items()):
        try:
            content = (folder / name).read_bytes()
        except FileNotFoundError as exc:
            raise ArtifactError(f"The model folder lacks {name}.") from exc
        if _sha256(content) != expected:
            raise ArtifactError(
                f"{name} does not match the sha256 recorded in {MANIFEST}: the file was "
                "altered or damaged after the model was saved. Refusing to load it."
            )
        contents[name] = content
    return contents


def load(cls, path) -> RiskModel:
    folder = Path(path)
    manifest = _read_manifest(folder)
    contents = _verified(folder, manifest)
    try:
        params = dict(manifest["params"])
        schema = FeatureSchema.from_dict(manifest["features"])
        descriptions = {f["name"]: f["description"] for f in manifest["features"]}
        best = int(manifest["best_iteration"])
        windows, metrics = manifest["windows"], manifest["metrics"]
        build_options = manifest.get("build_options")
        reference = manifest.get("reference_scores")
        classes = np.array(manifest.get("classes", [0, 1]))
        if classes.shape != (2,):
            raise ValueError(f"classes must be two labels, got {manifest['classes']!r}")
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{MANIFEST} is incomplete: {exc!r}.") from exc
    if params.get("target") is not None and not isinstance(params["target"], str):
        from ..labels import target_from_dict

        params["target"] = target_from_dict(params["target"])
    try:
        model = cls(**params)
    except TypeError as exc:
        raise ArtifactError(
            f"{MANIFEST} has parameters this release does not know: {exc}."
        ) from exc
    try:
        booster = lgb.Booster(model_str=contents[MODEL].decode())
    except (lgb.basic.LightGBMError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{MODEL} is not a LightGBM model: {exc}.") from exc
    if booster.num_feature() != len(schema.names):
        raise ArtifactError(
            f"{MODEL} has {booster.num_feature()} features but {MANIFEST} lists "
            f"{len(schema.names)}."
        )
    calibrator = None
    if CALIBRATION in contents:
        try:
            calibrator = Calibrator.from_dict(json.loads(contents[CALIBRATION]))
        except json.JSONDecodeError as exc:
            raise ArtifactError(f"{CALIBRATION} is not valid JSON: {exc}.") from exc
    elif params.get("calibration") is not None:
        raise ArtifactError(f"The model is calibrated but the folder lists no {CALIBRATION}.")
    # Everything parsed: only now does the model become fitted.
    model.booster_ = booster
    model.schema_ = schema
    model.feature_names_in_ = np.asarray(schema.names, dtype=object)
    model.n_features_in_ = len(schema.names)
    model.classes_ = classes
    model.calibrator_ = calibrator
    model.best_iteration_ = best
    model.windows_ = windows
    model.metrics_ = metrics
    model.descriptions_ = {k: v for k, v in descriptions.items() if v}
    model.build_options_ = build_options
    model.reference_scores_ = reference
    return model
