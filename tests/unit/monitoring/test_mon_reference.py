"""The training reference: JSON-serialisable, deterministic, built from any fitted pipeline."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from fnlib.errors import InputError
from fnlib.monitoring.drift import SCORE_BIN_EDGES
from fnlib.monitoring.reference import (
    build_reference,
    find_vectorizer,
    reference_sha256,
    score_texts,
    validate_reference,
)

TRAIN = [
    "the senate passed the budget",
    "shocking hoax exposed by patriots",
    "budget vote today",
    "secret elites hoax",
    "the senate vote on taxes",
    "patriots exposed the truth",
]
LABELS = [0, 1, 0, 1, 0, 1]


def test_reference_contents(trained: Any) -> None:
    ref = trained.reference
    assert json.loads(json.dumps(ref)) == ref
    assert validate_reference(ref) is ref
    assert (
        ref["version"] == 1
        and ref["n_train"] == len(trained.train)
        and ref["n_test"] == len(trained.test)
    )
    assert ref["length"]["unit"] == "words" and 5 <= len(ref["length"]["edges"]) <= 9
    assert sum(ref["length"]["train_fractions"]) == pytest.approx(1.0)
    assert all(0.05 < f < 0.15 for f in ref["length"]["train_fractions"])  # quantile bins ~10% each
    terms = ref["vocabulary"]["terms"]
    assert terms == sorted(terms) and ref["vocabulary"]["source"] == "vectorizer"
    assert set(terms) == set(trained.pipeline.named_steps["vec"].vocabulary_)
    assert ref["oov"]["train_rate"] < 0.01 and ref["oov"]["baseline"] == "test_rate"
    assert ref["scores"]["bin_edges"] == list(SCORE_BIN_EDGES)
    assert sum(ref["scores"]["test_fractions"]) == pytest.approx(1.0)
    assert 0.4 < ref["predictions"]["test_mix"]["fake"] < 0.6


def test_reference_is_deterministic(trained: Any) -> None:
    _, scores = score_texts(trained.pipeline, trained.test["text"].tolist())
    again = build_reference(
        trained.train["text"].tolist(), trained.test["text"].tolist(), scores, trained.pipeline
    )
    assert reference_sha256(again) == reference_sha256(trained.reference)


def test_vocabulary_cap_keeps_the_most_frequent_words() -> None:
    vec = TfidfVectorizer(ngram_range=(1, 2), lowercase=False)
    pipeline = Pipeline([("vec", vec), ("clf", LogisticRegression())]).fit(TRAIN, LABELS)
    ref = build_reference(TRAIN, TRAIN[:2], [0.2, 0.8], pipeline, max_vocabulary=3)
    vocab = ref["vocabulary"]
    assert (
        vocab["capped"]
        and vocab["size"] == 3
        and vocab["full_size"] == len(set(" ".join(TRAIN).split()))
    )
    # lowest idf first: words in the most documents ("the": 3 docs, then the 2-doc words alphabetically)
    assert vocab["terms"] == ["budget", "exposed", "the"]
    assert all(" " not in t for t in vocab["terms"])  # bigrams split into words
    assert ref["oov"]["train_rate"] > 0  # the cap makes train words unknown


def test_count_vectorizer_and_decision_function_models() -> None:
    pipeline = Pipeline([("counts", CountVectorizer()), ("svm", LinearSVC())]).fit(TRAIN, LABELS)
    assert find_vectorizer(pipeline) is pipeline.named_steps["counts"]
    predictions, scores = score_texts(pipeline, TRAIN)
    assert predictions.tolist() == LABELS
    assert ((scores >= 0.5) == (predictions == 1)).all() and scores.min() >= 0 and scores.max() <= 1
    ref = build_reference(TRAIN, TRAIN, scores, pipeline, max_vocabulary=2)
    assert ref["predictions"]["test_mix"] == {"fake": 0.5, "real": 0.5}
    assert ref["vocabulary"]["size"] == 2


def test_bad_inputs() -> None:
    with pytest.raises(InputError, match="vectorizer"):
        find_vectorizer(Pipeline([("clf", LogisticRegression())]))
    pipeline = Pipeline([("vec", TfidfVectorizer()), ("clf", LogisticRegression())]).fit(
        TRAIN, LABELS
    )
    with pytest.raises(InputError, match="test_scores"):
        build_reference(TRAIN, TRAIN, [0.5], pipeline)
    with pytest.raises(InputError):
        build_reference([], TRAIN, np.full(6, 0.5), pipeline)
    with pytest.raises(InputError, match="lacks"):
        validate_reference({"kind": "x"})
    with pytest.raises(InputError, match="unsupported"):
        ref = build_reference(TRAIN, TRAIN, np.full(6, 0.5), pipeline)
        validate_reference({**ref, "version": 99})
