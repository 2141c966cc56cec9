"""Model zoo, shared-feature cross-validation, final training and evaluation.

- :mod:`fnlib.models.config`    configurations (ids, feature keys, grids) and their Pipelines
- :mod:`fnlib.models.features`  folds, fold features shared per feature key
- :mod:`fnlib.models.feature_store`  fold features shared by processes and machines (local
  cache in front of a content-addressed store in the bucket)
- :mod:`fnlib.models.cv`        scoring a configuration on fold features, the leaderboard
- :mod:`fnlib.models.scoring`   the score of a classifier (one rule for every caller)
- :mod:`fnlib.models.evaluate`  final fit and held-out evaluation
- :mod:`fnlib.models.plots`     confusion-matrix and curve PNGs (needs matplotlib)
"""

from fnlib.models.config import (
    MODELS,
    VARIANTS,
    FeatureSettings,
    ModelConfig,
    build_classifier,
    build_featurizer,
    build_pipeline,
    default_grid,
    small_grid,
)
from fnlib.models.cv import METRICS, leaderboard, score_config, select_best
from fnlib.models.evaluate import evaluate, fit_final
from fnlib.models.feature_store import FeatureBucket, FeatureCache, fold_features_for
from fnlib.models.features import (
    FoldFeatures,
    build_all_fold_features,
    build_fold_features,
    make_folds,
)

__all__ = [
    "METRICS",
    "MODELS",
    "VARIANTS",
    "FeatureBucket",
    "FeatureCache",
    "FeatureSettings",
    "FoldFeatures",
    "ModelConfig",
    "build_all_fold_features",
    "build_classifier",
    "build_featurizer",
    "build_fold_features",
    "build_pipeline",
    "default_grid",
    "evaluate",
    "fit_final",
    "fold_features_for",
    "leaderboard",
    "make_folds",
    "score_config",
    "select_best",
    "small_grid",
]
