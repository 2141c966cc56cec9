"""Folds and shared fold features: stratified seeded folds, features built once per feature
key (texts cleaned once per variant), scores equal to cross_validate over the full pipeline."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import cross_validate

from fnlib.catalog import TUNING_METRICS as METRICS
from fnlib.errors import InputError
from fnlib.models.cv import score_config
from fnlib.models.folds import build_all_fold_features, build_fold_features, make_folds
from fnlib.models.specs import FeatureSettings, ModelConfig
from fnlib.models.zoo import build_pipeline
from fnlib.text import TextCleaner


def test_make_folds_stratified_seeded_and_complete(labels) -> None:
    folds = make_folds(labels, n_folds=5, seed=3)
    assert len(folds) == 5
    seen = np.concatenate([val for _, val in folds])
    assert sorted(seen.tolist()) == list(range(labels.size))
    overall = labels.mean()
    for train, val in folds:
        assert np.intersect1d(train, val).size == 0
        assert abs(labels[val].mean() - overall) < 0.02
    again = make_folds(labels, n_folds=5, seed=3)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    other = make_folds(labels, n_folds=5, seed=4)
    assert not np.array_equal(folds[0][1], other[0][1])


@pytest.mark.parametrize(
    ("labels", "n_folds", "message"),
    [
        ([0, 1] * 10, 1, "n_folds"),
        ([0, 1] * 10, True, "n_folds"),
        ([0] * 10 + [1] * 2, 5, "at least 5 documents per class"),
        ([0, 2, 1, 1], 2, "0 \\(real\\) or 1"),
        ([], 2, "non-empty"),
    ],
)
def test_make_folds_rejects(labels, n_folds, message) -> None:
    with pytest.raises(InputError, match=message):
        make_folds(labels, n_folds=n_folds)


@pytest.fixture(scope="module")
def five_folds(labels):
    return make_folds(labels, 5, seed=0)


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig("nb", "denoised", {"ngram_max": 1}, {"alpha": 0.1}),
        ModelConfig("linsvm", "raw", {"ngram_max": 2}, {"C": 0.3}),
        ModelConfig("sgd", "denoised", {"ngram_max": 2}),
        ModelConfig("rf", "denoised", {"ngram_max": 1}, {"n_estimators": 30}),
        ModelConfig("logreg", "raw", {"ngram_max": 1}, {"C": 10.0}),
    ],
    ids=lambda c: c.model,
)
def test_shared_features_give_the_same_scores_as_cross_validate(
    config, texts, labels, five_folds
) -> None:
    shared = build_fold_features(texts, labels, config, five_folds)
    ours = score_config(config, shared, seed=0)
    reference = cross_validate(
        build_pipeline(config, seed=0), texts, labels, cv=five_folds, scoring=list(METRICS)
    )
    for metric in METRICS:
        per_fold = [fold[metric] for fold in ours["folds"]]
        np.testing.assert_array_equal(per_fold, reference[f"test_{metric}"])


def test_build_all_cleans_once_per_variant(texts, labels, monkeypatch) -> None:
    calls: list[str] = []
    original = TextCleaner.transform

    def counting(self, X):
        calls.append(self.variant)
        return original(self, X)

    monkeypatch.setattr(TextCleaner, "transform", counting)
    configs = [
        ModelConfig(model, variant, {"ngram_max": n})
        for model in ("nb", "logreg")
        for variant in ("raw", "denoised")
        for n in (1, 2)
    ]
    folds = make_folds(labels, 3)
    result = build_all_fold_features(texts, labels, configs, folds)
    assert sorted(calls) == ["denoised", "raw"]
    assert set(result) == {c.feature_key for c in configs}
    assert all(len(v) == 3 for v in result.values())


def test_build_rejects_misaligned_and_empty(labels) -> None:
    settings = FeatureSettings("raw")
    with pytest.raises(InputError, match="must align"):
        build_fold_features(["a b", "c d"], labels, settings, [])
    with pytest.raises(InputError, match="cannot build features"):
        build_fold_features(["the", "and"], [0, 1], FeatureSettings("denoised"), [])
    with pytest.raises(InputError, match="no terms are left"):
        build_fold_features(
            ["alpha beta", "gamma delta", "eps zeta", "eta theta"],
            [0, 1, 0, 1],
            FeatureSettings("raw", {"min_df": 3}),
            make_folds([0, 1, 0, 1], 2),
        )
