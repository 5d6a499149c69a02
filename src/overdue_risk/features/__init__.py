"""Point-in-time features: one registry of feature families, built at any as-of dates."""

from . import _families  # noqa: F401  (registers the built-in families, in catalogue order)
from ._build import build_features
from ._registry import CustomFeature, FeatureSpec, excludable, list_features
from ._static import attribute_descriptions, static_attributes

__all__ = [
    "CustomFeature",
    "FeatureSpec",
    "attribute_descriptions",
    "build_features",
    "excludable",
    "list_features",
    "static_attributes",
]
