"""The model folder: LightGBM's text model, calibrator parameters and a JSON manifest.

Nothing in it is pickled. ``manifest.json`` records each other file's sha256,
and ``manifest.sha256`` the manifest's own (in ``sha256sum`` form, so
``sha256sum -c manifest.sha256`` checks it too). Loading refuses a folder
that is not exactly what was saved, parsing everything before the model is
marked fitted:

- the folder holds regular files only (no symbolic link, folder, pipe or
  device), and each file is read only when its size is within its cap
  (:data:`MAX_FILE_BYTES`);
- the manifest matches its digest; the files it lists are plain names this
  release knows, each present and matching its sha256, and they are the ones
  the model needs: ``model.txt`` always, ``calibration.json`` exactly when the
  parameters say the model is calibrated;
- every value parses: the parameters pass the estimator's rules, the features
  agree with the model text.

A folder saved before the digest existed (no ``manifest.sha256``) still loads,
with a :class:`~overdue_risk.DataQualityWarning`: its manifest cannot be
verified. Saving again adds the digest; the other files keep their bytes.

A model of labels 0 and 1 is written as schema version 1, byte for byte as before
other labels were taken; a model of two other labels records them as ``classes``
in a version 2 manifest, which a release that reads version 1 only refuses rather
than scoring with the wrong labels.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import re
import stat
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import lightgbm as lgb
import numpy as np

from .._io import check_output_folder, path_kind, write_files
from ..exceptions import ArtifactError, DataQualityWarning, ModelError, OverdueRiskError
from ._calibration import Calibrator
from ._manifest import check_build_families, check_manifest, warn_if_newer
from ._model_text import check_model_text
from ._params import check_params
from ._schema import FeatureSchema
from ._sensitive import fitted_sensitive

if TYPE_CHECKING:
    from ._risk_model import RiskModel

__all__ = ["MAX_FILE_BYTES", "SCHEMA_VERSION", "load", "save"]

SCHEMA_VERSION = 2  # the newest this release writes; it reads every version up to it
MANIFEST = "manifest.json"
DIGEST = "manifest.sha256"
MODEL = "model.txt"
CALIBRATION = "calibration.json"
# The most each file may hold; a larger one is refused before it is read.
MAX_FILE_BYTES = {
    MODEL: 1 << 30,  # 1 GiB: thousands of deep trees
    MANIFEST: 64 << 20,  # 64 MiB: category lists and score quantiles
    CALIBRATION: 64 << 20,
    DIGEST: 1 << 10,
}
_PACKAGES = ("overdue-risk", "lightgbm", "scikit-learn", "numpy", "pandas", "scipy")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_DIGEST_LINE = re.compile(r"([0-9a-f]{64})  " + re.escape(MANIFEST) + r"\n?")


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _digest(manifest: bytes) -> bytes:
    return f"{_sha256(manifest)}  {MANIFEST}\n".encode()


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
    check_output_folder(out, overwrite=True)
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
        "reference_features": getattr(model, "reference_features_", None),
        "versions": _versions(),
        "files": {name: _sha256(content) for name, content in files.items()},
    }
    classes = model.classes_.tolist()
    if classes != [0, 1]:
        manifest.update(schema_version=2, classes=_classes(classes))
    files[MANIFEST] = _json(manifest)
    files[DIGEST] = _digest(files[MANIFEST])
    return write_files(files, out)


def _classes(classes: list) -> list:
    if not all(isinstance(c, str | int | float) for c in classes):
        raise ArtifactError(
            f"The model's classes {classes!r} cannot be recorded in the manifest: "
            "labels must be text or numbers."
        )
    return classes


# -- loading ---------------------------------------------------------------------------------


def _check_entries(folder: Path) -> set[str]:
    """Refuse a folder holding anything but regular files: links are never followed."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise ArtifactError(
            f"The model folder {str(folder)!r} cannot be read: {exc.strerror}."
        ) from exc
    for entry in entries:
        if entry.is_symlink():
            raise ArtifactError(
                f"{entry.name} in the model folder is a symbolic link; a model folder holds "
                "regular files only, and links are not followed."
            )
        if not entry.is_file(follow_symlinks=False):
            what = "a folder" if entry.is_dir(follow_symlinks=False) else "a pipe, socket or device"
            raise ArtifactError(
                f"{entry.name} in the model folder is {what}; a model folder holds regular "
                "files only."
            )
    return {entry.name for entry in entries}


def _read(folder: Path, name: str) -> bytes | None:
    """The bytes of a regular file of the folder, its size capped; None when it is absent."""
    path, cap = folder / name, MAX_FILE_BYTES[name]
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:  # a link swapped in since the folder was listed, say
        raise ArtifactError(f"{name} in the model folder cannot be read: {exc.strerror}.") from exc
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ArtifactError(f"{name} in the model folder is not a regular file.")
        if st.st_size > cap:
            raise ArtifactError(
                f"{name} in the model folder holds {st.st_size:,} bytes, more than the "
                f"{cap:,} a model's {name} may hold; refusing to read it."
            )
        content = fh.read(cap + 1)
    if len(content) > cap:
        raise ArtifactError(f"{name} in the model folder grew beyond {cap:,} bytes while read.")
    return content


def _read_manifest(folder: Path) -> tuple[dict, set[str]]:
    if not folder.is_dir():
        what = path_kind(folder)
        if what == "missing":
            raise ArtifactError(f"The model folder {str(folder)!r} does not exist.")
        raise ArtifactError(f"The model folder {str(folder)!r} is {what}, not a folder.")
    if not os.path.lexists(folder / MANIFEST):
        raise ArtifactError(f"{str(folder)!r} has no {MANIFEST}.")
    names = _check_entries(folder)
    content = _read(folder, MANIFEST)
    if content is None:  # removed since
        raise ArtifactError(f"{str(folder)!r} has no {MANIFEST}.")
    _check_digest(folder, content)
    try:
        manifest = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ArtifactError(f"{MANIFEST} in {str(folder)!r} is not valid JSON: {exc}.") from exc
    if not isinstance(manifest, dict) or manifest.get("kind") != "overdue_risk.RiskModel":
        raise ArtifactError(f"{MANIFEST} in {str(folder)!r} does not describe a RiskModel.")
    if manifest.get("schema_version") not in range(1, SCHEMA_VERSION + 1):
        raise ArtifactError(
            f"The model folder has schema_version {manifest.get('schema_version')!r}; this "
            f"release reads versions 1 to {SCHEMA_VERSION}."
        )
    return manifest, names


def _check_digest(folder: Path, manifest: bytes) -> None:
    recorded = _read(folder, DIGEST)
    if recorded is None:
        warnings.warn(
            DataQualityWarning(
                f"The model folder {str(folder)!r} has no {DIGEST} (it was saved before "
                f"manifests were sealed), so its {MANIFEST} cannot be verified; save the "
                "model again to seal it."
            ),
            stacklevel=5,
        )
        return
    try:
        match = _DIGEST_LINE.fullmatch(recorded.decode("ascii"))
    except UnicodeDecodeError:
        match = None
    if match is None:
        raise ArtifactError(f"{DIGEST} is not a sha256 line for {MANIFEST}.")
    if match.group(1) != _sha256(manifest):
        raise ArtifactError(
            f"{MANIFEST} does not match the sha256 recorded in {DIGEST}: the manifest was "
            "edited or damaged after the model was saved. Refusing to load it."
        )


def _needed(params: dict) -> set[str]:
    """The files the model cannot do without, by its parameters."""
    return {MODEL} | ({CALIBRATION} if params.get("calibration") is not None else set())


def _verified(folder: Path, manifest: dict, params: dict) -> dict[str, bytes]:
    hashes = manifest.get("files")
    if not isinstance(hashes, dict) or not all(isinstance(n, str) for n in hashes):
        raise ArtifactError(f"{MANIFEST} lists no file hashes.")
    outside = sorted(n for n in hashes if n in ("", ".", "..") or Path(n).name != n)
    if outside:
        raise ArtifactError(f"{MANIFEST} names files outside the folder: {outside}.")
    unknown = sorted(set(hashes) - {MODEL, CALIBRATION})
    if unknown:
        raise ArtifactError(
            f"{MANIFEST} lists files a model folder does not hold: {unknown}; it holds "
            f"{MODEL} and, when calibrated, {CALIBRATION}."
        )
    needed = _needed(params)
    missing = sorted(needed - set(hashes))
    if missing:
        raise ArtifactError(
            f"{MANIFEST} lists no hash for {', '.join(missing)}, which the model needs "
            f"(calibration={params.get('calibration')!r})."
        )
    extra = sorted(set(hashes) - needed)
    if extra:
        raise ArtifactError(
            f"{MANIFEST} lists {', '.join(extra)}, but its parameters say the model is not "
            "calibrated (calibration=None)."
        )
    contents = {}
    for name, expected in sorted(hashes.items()):
        if not isinstance(expected, str) or not _SHA256.fullmatch(expected):
            raise ArtifactError(f"{MANIFEST} records no sha256 for {name}: {expected!r}.")
        content = _read(folder, name)
        if content is None:
            raise ArtifactError(f"The model folder lacks {name}.")
        if _sha256(content) != expected:
            raise ArtifactError(
                f"{name} does not match the sha256 recorded in {MANIFEST}: the file was "
                "altered or damaged after the model was saved. Refusing to load it."
            )
        contents[name] = content
    return contents


def _entry(manifest: dict, key: str, kind: type, *, required: bool = False):
    """``manifest[key]``, of type ``kind`` (or None unless ``required``)."""
    value = manifest[key] if required else manifest.get(key)
    if (value is not None or required) and not isinstance(value, kind):
        raise ValueError(f"{key} must be a JSON {_JSON_NAMES[kind]}, got {value!r}")
    return value


_JSON_NAMES = {dict: "object", list: "array"}


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_reference_feature(name: str, ref) -> None:
    """One feature's reference distribution: quantiles or shares, and a missing share."""
    if not isinstance(ref, dict) or not _number(ref.get("missing")):
        raise ValueError(f"reference_features[{name!r}] must hold a number 'missing'")
    if "quantiles" in ref:
        q = ref["quantiles"]
        if not isinstance(q, list) or not q or not all(_number(v) for v in q):
            raise ValueError(f"reference_features[{name!r}].quantiles must be numbers")
    elif "shares" in ref:
        shares = ref["shares"]
        if not isinstance(shares, dict) or not all(_number(v) for v in shares.values()):
            raise ValueError(f"reference_features[{name!r}].shares must map text to numbers")
    else:
        raise ValueError(f"reference_features[{name!r}] needs 'quantiles' or 'shares'")


def _build_options(options: dict | None) -> dict | None:
    """How the features were built (see workflows): families, exclude, tolerance and the
    sensitive attributes (since they were recorded)."""
    if options is None:
        return None
    families, exclude = options.get("families"), options.get("exclude")
    tolerance = options.get("tolerance")
    texts = lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)  # noqa: E731
    if (
        not (families is None or texts(families))
        or not texts(exclude)
        or isinstance(tolerance, bool)
        or not isinstance(tolerance, int | float)
        or not tolerance >= 0
    ):
        raise ValueError(
            "build_options must hold families (null or names), exclude (names) and "
            f"tolerance (a number >= 0), got {options!r}"
        )
    check_build_families(families)
    sensitive = options.get("sensitive", [])
    if not texts(sensitive):  # absent in a model trained before it was recorded
        raise ValueError(f"build_options.sensitive must be names, got {sensitive!r}")
    return options


def _fields(manifest: dict) -> dict:
    """Everything the model keeps from the manifest, parsed; ArtifactError if malformed."""
    try:
        features = _entry(manifest, "features", list, required=True)
        classes = np.array(manifest.get("classes", [0, 1]))
        if classes.shape != (2,) or classes[0] == classes[1]:
            raise ValueError(f"classes must be two labels, got {manifest['classes']!r}")
        best = manifest["best_iteration"]
        if isinstance(best, bool) or not isinstance(best, int) or best < 0:
            raise ValueError(f"best_iteration must be an integer >= 0, got {best!r}")
        reference = _entry(manifest, "reference_scores", list)
        if reference is not None and not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in reference
        ):
            raise ValueError("reference_scores must be numbers")
        features_ref = _entry(manifest, "reference_features", dict)
        for population, refs in (features_ref or {}).items():
            if not isinstance(refs, dict):
                raise ValueError(f"reference_features[{population!r}] must be a JSON object")
            for name, ref in refs.items():
                _check_reference_feature(name, ref)
        return {
            "schema": FeatureSchema.from_dict(features),
            "descriptions": {f["name"]: f.get("description") or "" for f in features},
            "best": best,
            "windows": _entry(manifest, "windows", dict, required=True),
            "metrics": _entry(manifest, "metrics", dict, required=True),
            "build_options": _build_options(_entry(manifest, "build_options", dict)),
            "reference": reference,
            "reference_features": features_ref,
            "classes": classes,
        }
    except ArtifactError:  # already says what is wrong (build_options.families, say)
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{MANIFEST} is incomplete or malformed: {exc}.") from exc


def _model(cls, params: dict) -> RiskModel:
    if params.get("target") is not None and not isinstance(params["target"], str):
        from ..labels import target_from_dict

        try:
            params["target"] = target_from_dict(params["target"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{MANIFEST} records a target this release refuses: {exc}") from exc
    try:
        model = cls(**params)
    except TypeError as exc:
        raise ArtifactError(
            f"{MANIFEST} has parameters this release does not know: {exc}."
        ) from exc
    try:
        check_params(model.get_params())
    except OverdueRiskError as exc:
        raise ArtifactError(f"{MANIFEST} records a parameter this release refuses: {exc}") from exc
    return model


def _booster(content: bytes, schema: FeatureSchema, n_trees: int) -> lgb.Booster:
    text = check_model_text(content, n_trees)  # LightGBM aborts on text it cannot parse
    try:
        booster = lgb.Booster(model_str=text)
    except lgb.basic.LightGBMError as exc:
        raise ArtifactError(f"{MODEL} is not a LightGBM model: {exc}.") from exc
    if booster.num_feature() != len(schema.names):
        raise ArtifactError(
            f"{MODEL} has {booster.num_feature()} features but {MANIFEST} lists "
            f"{len(schema.names)}."
        )
    if booster.feature_name() != schema.booster_names():
        raise ArtifactError(
            f"{MODEL} names its features otherwise than {MANIFEST} (in another order, or "
            "others): the scores would go to the wrong features."
        )
    return booster


def load(cls, path) -> RiskModel:
    folder = Path(path)
    manifest, names = _read_manifest(folder)
    params = manifest.get("params")
    if not isinstance(params, dict):
        raise ArtifactError(f"{MANIFEST} is incomplete or malformed: params must be an object.")
    params = dict(params)
    if isinstance(params.get("sensitive_features"), list):  # JSON has no tuples
        params["sensitive_features"] = tuple(params["sensitive_features"])
    contents = _verified(folder, manifest, params)
    unlisted = sorted(names - {MANIFEST, DIGEST} - set(contents))
    if unlisted:
        raise ArtifactError(
            f"The model folder holds files its {MANIFEST} does not list: {unlisted}. A saved "
            "model folder is sealed: it holds the files of its manifest and nothing else; "
            "remove them, or save the model again."
        )
    fields = _fields(manifest)
    model = _model(cls, params)
    check_manifest(manifest, manifest["params"])  # after the target parsed
    schema = fields["schema"]
    try:
        sensitive = fitted_sensitive(model.sensitive_features, schema)
    except ModelError as exc:
        raise ArtifactError(f"{MANIFEST} is incomplete or malformed: {exc}") from exc
    booster = _booster(contents[MODEL], schema, fields["best"])
    warn_if_newer(manifest.get("versions"), str(folder))
    calibrator = None
    if CALIBRATION in contents:
        try:
            calibrator = Calibrator.from_dict(json.loads(contents[CALIBRATION]))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise ArtifactError(f"{CALIBRATION} is not valid JSON: {exc}.") from exc
        if calibrator.method != params["calibration"]:
            raise ArtifactError(
                f"{CALIBRATION} holds a {calibrator.method} calibrator but the parameters say "
                f"calibration={params['calibration']!r}."
            )
    # Everything parsed: only now does the model become fitted.
    model.booster_ = booster
    model.schema_ = schema
    model.feature_names_in_ = np.asarray(schema.names, dtype=object)
    model.n_features_in_ = len(schema.names)
    model.classes_ = fields["classes"]
    model.calibrator_ = calibrator
    model.best_iteration_ = fields["best"]
    model.windows_ = fields["windows"]
    model.metrics_ = fields["metrics"]
    model.descriptions_ = {k: v for k, v in fields["descriptions"].items() if v}
    model.sensitive_features_ = sensitive
    model.build_options_ = fields["build_options"]
    model.reference_scores_ = fields["reference"]
    model.reference_features_ = fields["reference_features"]
    return model
