"""What each feature means, in words: the texts reason codes and the artifact show."""

from __future__ import annotations

__all__ = ["descriptions"]


def descriptions(names) -> dict[str, str]:
    from ..features import list_features

    catalogue = list_features()
    known = dict(zip(catalogue["name"], catalogue["description"], strict=True))
    return {n: known[n] for n in names if n in known}
