"""What each feature means, in words: the texts reason codes and the artifact show.

A text comes from, in increasing precedence: the feature catalogue
(:func:`~overdue_risk.features.list_features`), the static family's templates
for the portfolio's own columns (:func:`~overdue_risk.features.attribute_descriptions`),
a :class:`~overdue_risk.features.CustomFeature`'s ``description``, and texts the
user gives. :meth:`RiskModel.fit` alone knows only the catalogue (it sees a
frame, not the portfolio it came from); ``train_risk_model`` uses them all and
refuses to train a model on a feature no text describes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ..exceptions import ModelError

__all__ = ["describe_features", "descriptions", "undescribed"]


def descriptions(names) -> dict[str, str]:
    """The catalogue's texts of ``names`` (those it lists)."""
    from ..features import list_features

    catalogue = list_features()
    known = dict(zip(catalogue["name"], catalogue["description"], strict=True))
    return {n: known[n] for n in names if n in known}


def _given(texts) -> dict[str, str]:
    if texts is None:
        return {}
    if not isinstance(texts, Mapping):
        raise ModelError(
            f"descriptions must be a mapping {{feature: text}}; got {type(texts).__name__}."
        )
    bad = sorted(str(k) for k, v in texts.items() if not isinstance(v, str) or not v.strip())
    if bad:
        raise ModelError(f"descriptions must give each feature a non-empty text; not: {bad}.")
    return {str(k): v.strip() for k, v in texts.items()}


def describe_features(
    names: Iterable[str],
    portfolio=None,
    *,
    custom: Sequence = (),
    descriptions: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A text for each of ``names`` that can be described.

    Parameters
    ----------
    names : iterable of str
        Feature names, e.g. ``model.feature_names_in_``.
    portfolio : Portfolio, optional
        Describes its ``loans`` and ``customers`` columns (the static family's
        features) by template: "Loan attribute region at origination ...",
        "Customer attribute birth_year (as given in the customers table)".
    custom : list of CustomFeature, optional
        Each describes its columns with its ``description``.
    descriptions : mapping, optional
        ``{feature: text}``, which wins over every other source.

    Returns
    -------
    dict
        ``{feature: text}`` for the names some source describes (see
        :func:`undescribed` for the others).

    Examples
    --------
    >>> texts = describe_features(["dpd", "x0"], descriptions={"x0": "My score"})
    >>> texts["x0"], texts["dpd"].startswith("Days past due")
    ('My score', True)
    """
    from ..features import attribute_descriptions, list_features

    names = [str(n) for n in names]
    catalogue = list_features(custom=custom)
    texts = {n: d for n, d in zip(catalogue["name"], catalogue["description"], strict=True) if d}
    if portfolio is not None:
        texts.update(attribute_descriptions(portfolio))
    for feature in custom:
        if feature.description:
            texts.update(dict.fromkeys(feature.columns, feature.description))
    texts.update(_given(descriptions))
    return {n: texts[n] for n in names if n in texts}


def undescribed(names: Iterable[str], texts: Mapping[str, str]) -> list[str]:
    """The names ``texts`` gives no text for, in their order."""
    return [n for n in names if not texts.get(n)]
