"""Exact per-fold TF-IDF: every fold equals TfidfVectorizer fitted on the fold's training
texts, bit for bit, also when rare n-grams are pruned before counting."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from fnlib.data.prepare import prepare_corpus
from fnlib.data.synthetic import generate
from fnlib.errors import InputError
from fnlib.models import fold_tfidf as tfidf_module
from fnlib.models.folds import build_fold_features, make_folds
from fnlib.models.specs import FeatureSettings
from fnlib.text import TextCleaner


def _assert_equal_to_tfidf_vectorizer(shared, folds, cleaned, vectorizer) -> None:
    """Every fold equals TfidfVectorizer fitted on the fold's training texts, bit for bit, in
    the same entry order (it decides the rounding of the l2 norm)."""
    for fold, (train, val) in zip(shared, folds, strict=True):
        reference = TfidfVectorizer(
            ngram_range=(1, vectorizer["ngram_max"]),
            sublinear_tf=vectorizer["sublinear_tf"],
            min_df=vectorizer["min_df"],
            max_features=vectorizer.get("max_features"),
        )
        x_train = reference.fit_transform([cleaned[i] for i in train])
        x_val = reference.transform([cleaned[i] for i in val])
        for ours, theirs in ((fold.X_train, x_train), (fold.X_val, x_val)):
            assert ours.shape == theirs.shape
            for part in ("data", "indices", "indptr"):
                np.testing.assert_array_equal(getattr(ours, part), getattr(theirs, part))


@pytest.mark.parametrize(
    "vectorizer",
    [
        {"ngram_max": 1, "sublinear_tf": True, "min_df": 2},
        {"ngram_max": 2, "sublinear_tf": False, "min_df": 1},
        {"ngram_max": 2, "sublinear_tf": True, "min_df": 1, "max_features": 3000},
    ],
)
@pytest.mark.parametrize("variant", ["raw", "denoised"])
def test_fold_features_equal_per_fold_tfidf(texts, labels, vectorizer, variant) -> None:
    settings = FeatureSettings(variant, vectorizer)
    folds = make_folds(labels, 3, seed=0)
    shared = build_fold_features(texts, labels, settings, folds)
    cleaned = TextCleaner(variant).transform(texts)
    _assert_equal_to_tfidf_vectorizer(shared, folds, cleaned, vectorizer)
    for fold, (train, val) in zip(shared, folds, strict=True):
        np.testing.assert_array_equal(fold.y_train, labels[train])
        np.testing.assert_array_equal(fold.y_val, labels[val])


@pytest.fixture(scope="module")
def zipf_split():
    """Text whose n-gram vocabulary grows like real news: most bigrams occur once."""
    train = prepare_corpus(generate(400, seed=2, vocab="zipf"), "synthetic").train
    return TextCleaner("raw").transform(train["text"].tolist()), train["label"].to_numpy()


@pytest.mark.parametrize(
    ("vectorizer", "sketch_bits"),
    [
        ({"ngram_max": 2, "sublinear_tf": True, "min_df": 2}, 28),
        ({"ngram_max": 2, "sublinear_tf": False, "min_df": 3, "max_features": 5000}, 16),
    ],
    ids=["roomy", "colliding"],
)
def test_rare_ngram_pruning_keeps_features_exact(zipf_split, vectorizer, sketch_bits, monkeypatch):
    """Pruning n-grams below min_df before counting (a hashed first pass; collisions only keep
    more) leaves every fold equal to TfidfVectorizer's, bit for bit."""
    monkeypatch.setattr(tfidf_module, "_SKETCH_MAX_BITS", sketch_bits)
    cleaned, labels = zipf_split
    settings = FeatureSettings("raw", vectorizer)
    full = tfidf_module.count_matrix(cleaned, settings)
    pruned = tfidf_module.count_matrix(cleaned, settings, min_df=vectorizer["min_df"])
    df = np.bincount(full.indices, minlength=full.shape[1])
    frequent = int((df >= vectorizer["min_df"]).sum())
    assert frequent <= pruned.shape[1] < full.shape[1]
    if sketch_bits == 28:  # most terms are rare; a roomy table keeps few of them
        rare = full.shape[1] - frequent
        assert rare > 3 * frequent and pruned.shape[1] - frequent < 0.2 * rare
    folds = make_folds(labels, 3, seed=1)
    shared = build_fold_features(cleaned, labels, settings, folds, precleaned=True)
    _assert_equal_to_tfidf_vectorizer(shared, folds, cleaned, vectorizer)


def test_pruning_everything_says_what_to_do() -> None:
    settings = FeatureSettings("raw", {"ngram_max": 2, "min_df": 3})
    with pytest.raises(InputError, match="min_df"):
        tfidf_module.count_matrix(["alpha beta", "gamma delta"], settings, min_df=3)
