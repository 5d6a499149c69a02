"""Point-in-time features: one registry of feature families, built at any as-of dates."""

from ._build import build_features
from ._registry import CustomFeature, FeatureSpec, excludable, list_features

__all__ = ["CustomFeature", "FeatureSpec", "build_features", "excludable", "list_features"]
