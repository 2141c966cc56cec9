"""Folds and fold features: the work every configuration of a grid repeats, done once and shared.

Cross-validating a grid of ``Pipeline(text -> vec -> clf)`` the naive way cleans and vectorises
the training split again for every configuration and fold. Here the texts are cleaned once per
text variant, and the TF-IDF features of each fold are built once per
:attr:`~fnlib.models.specs.ModelConfig.feature_key` (variant + vectorizer settings), exactly
like ``TfidfVectorizer`` (:mod:`fnlib.models.fold_tfidf`); every configuration with that key
then only fits its classifier (:func:`fnlib.models.cv.score_config`). :func:`iter_fold_features`
yields the folds one at a time, so a consumer that scores every configuration on a fold before
taking the next (:func:`fnlib.models.cv.score_configs`) holds one fold, not all of them.

:mod:`fnlib.models.feature_store` shares fold features between processes and machines (mapped
Airflow tasks): a local cache in front of a content-addressed store in the bucket.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

from fnlib.errors import InputError
from fnlib.models.fold_tfidf import Fold, FoldFeatures, count_matrix, fold_tfidf
from fnlib.models.specs import FeatureSettings, ModelConfig
from fnlib.text.clean import TextCleaner

__all__ = ["build_all_fold_features", "build_fold_features", "iter_fold_features", "make_folds"]

log = logging.getLogger(__name__)


def _labels(labels: Any) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1 or y.size == 0:
        raise InputError(f"labels must be a non-empty 1-D sequence, got shape {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise InputError("labels must be 0 (real) or 1 (fake)")
    return y.astype(np.int64)


def make_folds(labels: Any, n_folds: int = 5, seed: int = 0) -> list[Fold]:
    """Stratified, shuffled, seeded k-fold (train_index, val_index) pairs."""
    y = _labels(labels)
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or n_folds < 2:
        raise InputError(f"n_folds must be an integer >= 2, got {n_folds!r}")
    smallest = int(np.bincount(y, minlength=2).min())
    if smallest < n_folds:
        raise InputError(
            f"{n_folds}-fold CV needs at least {n_folds} documents per class; the smallest "
            f"class has {smallest}. Use fewer folds or more data"
        )
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [
        (train.astype(np.int64), val.astype(np.int64))
        for train, val in splitter.split(np.zeros((y.size, 1)), y)
    ]


def _settings(config: ModelConfig | FeatureSettings) -> FeatureSettings:
    if isinstance(config, ModelConfig):
        return config.features
    if isinstance(config, FeatureSettings):
        return config
    raise InputError(f"expected a ModelConfig or FeatureSettings, got {type(config)!r}")


def iter_fold_features(
    texts: Sequence[str],
    labels: Any,
    config: ModelConfig | FeatureSettings,
    folds: Sequence[Fold],
    *,
    precleaned: bool = False,
) -> Iterator[FoldFeatures]:
    """Clean ``texts`` once for the variant, count their terms once, then yield every fold's
    features one at a time (see the module doc).

    Only the count matrix and the fold being built are held: a consumer that lets go of each
    fold before taking the next (writing it to the feature store, or scoring every
    configuration on it, :func:`fnlib.models.cv.score_configs`) needs the memory of one fold,
    not of all of them. ``precleaned=True`` says ``texts`` already went through
    ``TextCleaner(variant)``, so texts cleaned once can serve several vectorizer settings.
    Misaligned input raises here; texts without terms raise when the first fold is asked for.
    """
    settings = _settings(config)
    y = _labels(labels)
    cleaned = list(texts) if precleaned else TextCleaner(settings.variant).transform(texts)
    if len(cleaned) != y.size:
        raise InputError(f"{len(cleaned)} texts but {y.size} labels; they must align")
    return _folds_from_counts(cleaned, y, settings, list(folds))


def _folds_from_counts(cleaned: list[str], y: np.ndarray, settings: FeatureSettings,
                       folds: list[Fold]) -> Iterator[FoldFeatures]:
    start = time.perf_counter()
    values = settings.settings
    # the n-gram dictionary is what grows with the corpus: leave out the terms no fold can keep
    prune = int(values["min_df"]) if int(values["ngram_max"]) > 1 else 1
    counts = count_matrix(cleaned, settings, min_df=prune)
    del cleaned
    for i, fold in enumerate(folds):
        yield fold_tfidf(counts, y, fold, settings)
        log.info("fold features %s (%s): fold %d/%d built", settings.feature_key,
                 settings.label, i + 1, len(folds))
    log.info(
        "fold features %s (%s): %d folds, %d docs, %d terms in %.2fs",
        settings.feature_key,
        settings.label,
        len(folds),
        y.size,
        counts.shape[1],
        time.perf_counter() - start,
    )


def build_fold_features(
    texts: Sequence[str],
    labels: Any,
    config: ModelConfig | FeatureSettings,
    folds: Sequence[Fold],
    *,
    precleaned: bool = False,
) -> list[FoldFeatures]:
    """Every fold's features at once (:func:`iter_fold_features`, all folds held in memory)."""
    return list(iter_fold_features(texts, labels, config, folds, precleaned=precleaned))


def build_all_fold_features(
    texts: Sequence[str],
    labels: Any,
    configs: Sequence[ModelConfig | FeatureSettings],
    folds: Sequence[Fold],
) -> dict[str, list[FoldFeatures]]:
    """Fold features for every distinct feature key of ``configs``, cleaning once per variant."""
    by_key = {s.feature_key: s for s in map(_settings, configs)}
    result: dict[str, list[FoldFeatures]] = {}
    for variant in dict.fromkeys(s.variant for s in by_key.values()):
        cleaned = TextCleaner(variant).transform(texts)
        for key, settings in by_key.items():
            if settings.variant == variant:
                result[key] = build_fold_features(cleaned, labels, settings, folds, precleaned=True)
    return result
