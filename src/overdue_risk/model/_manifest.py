"""The checks of a model folder's manifest beyond its seal and its file hashes.

- Its keys are the ones a save writes, and nothing else.
- Its two records of the target (``target`` and ``params.target``) agree.
- The feature families of its ``build_options`` are families this release has.
- A manifest written by a newer ``overdue-risk``, or a newer LightGBM major
  version, than the running one loads with a
  :class:`~overdue_risk.DataQualityWarning`: everything in it has been checked,
  but a newer release may have meant something this one cannot tell.
"""

from __future__ import annotations

import re
import warnings
from importlib.metadata import PackageNotFoundError, version

from ..exceptions import ArtifactError, DataQualityWarning, OverdueRiskError

__all__ = ["check_build_families", "check_manifest", "warn_if_newer"]

MANIFEST = "manifest.json"
KEYS = {
    "schema_version",
    "kind",
    "params",
    "target",
    "features",
    "best_iteration",
    "windows",
    "metrics",
    "build_options",
    "reference_scores",
    "reference_features",
    "versions",
    "files",
    "classes",
}
_RELEASE = re.compile(r"(\d+(?:\.\d+)*)")


def check_manifest(manifest: dict, params: dict) -> None:
    """Refuse keys a save never writes, and two targets that disagree."""
    unknown = sorted(set(manifest) - KEYS)
    if unknown:
        raise ArtifactError(f"{MANIFEST} holds keys this release does not know: {unknown}.")
    if "target" in manifest and manifest["target"] != params.get("target"):
        raise ArtifactError(
            f"{MANIFEST} records two different targets: target={manifest['target']!r} and "
            f"params.target={params.get('target')!r}; they must be the same."
        )


def check_build_families(families: list[str] | None) -> None:
    """Refuse recorded feature families this release does not build."""
    if families is None:
        return
    from ..features import list_features

    try:
        list_features(families)
    except OverdueRiskError as exc:
        raise ArtifactError(
            f"{MANIFEST} records build_options.families={families!r} this release cannot "
            f"build: {exc}"
        ) from exc


def _release(text) -> tuple[int, ...] | None:
    match = _RELEASE.match(text) if isinstance(text, str) else None
    return None if match is None else tuple(int(p) for p in match.group(1).split("."))


def _running(name: str) -> tuple[int, ...] | None:
    try:
        return _release(version(name))
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return None


def warn_if_newer(versions, folder: str) -> None:
    """Warn when the manifest was written by a newer overdue-risk or LightGBM major."""
    if versions is None:
        return
    if not isinstance(versions, dict):
        raise ArtifactError(f"{MANIFEST} is incomplete or malformed: versions must be an object.")
    for name, major_only in (("overdue-risk", False), ("lightgbm", True)):
        saved, running = _release(versions.get(name)), _running(name)
        if saved is None or running is None:
            continue
        newer = saved[:1] > running[:1] if major_only else saved > running
        if newer:
            warnings.warn(
                DataQualityWarning(
                    f"The model folder {folder!r} was saved with {name} {versions[name]}, "
                    f"newer than the running {version(name)}: it passed every check, but "
                    f"upgrade {name} to read it as it was meant."
                ),
                stacklevel=4,
            )
