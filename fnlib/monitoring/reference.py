"""The training reference that production traffic is compared against.

:func:`build_reference` runs once per trained model (in ``fn_train``, next to the model) and
returns a JSON-serialisable dict:

- ``length``: text-length bin edges (quantiles of the train texts' length in words, ~10 bins)
  and the train and test shares per bin;
- ``vocabulary``: the model's vectorizer vocabulary as a sorted list of (lowercased) words,
  capped to the ``max_vocabulary`` most frequent ones (lowest idf first);
- ``oov``: the out-of-vocabulary rate of the train texts and of the test texts. Monitoring
  compares against the **test** rate: train texts contain only words the vectorizer has seen,
  so any unseen text, drifted or not, has a higher rate than the train texts;
- ``predictions``: the prediction mix on the test split;
- ``scores``: the score histogram (10 fixed bins on [0, 1]) on the test split;
- ``n_train``, ``n_test``, ``version`` (:data:`REFERENCE_VERSION`).

:func:`score_texts` turns any fitted classifier pipeline into ``(predictions, scores)``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from fnlib.errors import InputError
from fnlib.models.scoring import positive_scores
from fnlib.monitoring.drift import (
    SCORE_BIN_EDGES,
    length_bin_edges,
    length_distribution,
    oov_rate,
    prediction_mix,
    score_histogram,
    tokenize,
    word_count,
)

log = logging.getLogger(__name__)

REFERENCE_KIND = "fnlib.monitoring.reference"
REFERENCE_VERSION = 1
MAX_VOCABULARY = 50_000
REQUIRED_KEYS = (
    "kind",
    "version",
    "n_train",
    "n_test",
    "length",
    "vocabulary",
    "oov",
    "predictions",
    "scores",
)


def find_vectorizer(pipeline: Any) -> Any:
    """The fitted text vectorizer of ``pipeline``: step ``"vec"``, else any step with ``vocabulary_``."""
    if hasattr(pipeline, "vocabulary_"):
        return pipeline
    steps = getattr(pipeline, "named_steps", None)
    if steps is not None:
        vec = steps.get("vec")
        if vec is not None and hasattr(vec, "vocabulary_"):
            return vec
        for step in steps.values():
            if hasattr(step, "vocabulary_"):
                return step
    raise InputError(
        "the model has no fitted vectorizer: expected a fitted sklearn Pipeline with a "
        "TfidfVectorizer/CountVectorizer step (named 'vec') that has vocabulary_"
    )


def score_texts(pipeline: Any, texts: Sequence[str], *, return_features: bool = False) -> Any:
    """``(predictions, scores)`` of a fitted binary classifier: 0/1 ints and P(fake) in [0, 1].

    The scores are :func:`fnlib.models.scoring.positive_scores` with ``probability=True``: the
    logistic function of ``decision_function`` when the model has one (``predict_proba``'s own
    formula for logistic regression; uncalibrated but monotone e.g. for a linear SVM), else
    ``predict_proba``.
    ``return_features=True`` adds a third item: the features the final step scored (the
    output of ``pipeline[:-1]``; the texts for a one-step model), e.g. for explanations.
    """
    classes = [int(c) for c in getattr(pipeline, "classes_", [])]
    if sorted(classes) != [0, 1]:
        raise InputError(
            f"the model must be a fitted binary classifier of 0/1 labels, classes {classes}"
        )
    items: Any = list(texts)
    model = pipeline
    if isinstance(pipeline, Pipeline) and len(pipeline.steps) > 1:
        # clean and vectorise once: predict and predict_proba would each run every step again
        items = pipeline[:-1].transform(items)
        model = pipeline[-1]
    predictions = np.asarray(model.predict(items)).astype(np.int64)
    scores = positive_scores(model, items, probability=True)
    return (predictions, scores, items) if return_features else (predictions, scores)


def _vocabulary(
    vectorizer: Any, train_tokens: list[list[str]], max_vocabulary: int
) -> dict[str, Any]:
    """The vectorizer's words (n-gram terms split into words), capped to the most frequent.

    Rank (lower = kept first): the smallest idf of a term holding the word when the vectorizer
    has ``idf_``, else minus the word's count in the train texts.
    """
    rank: dict[str, float] = {}
    counts: Counter[str] = Counter()
    if getattr(vectorizer, "analyzer", "word") != "word":
        log.warning("vectorizer analyzer is not 'word': using the train texts' words as vocabulary")
        source = "train_texts"
        counts = Counter(token for tokens in train_tokens for token in tokens)
        rank = {word: -float(count) for word, count in counts.items()}
    else:
        source = "vectorizer"
        idf = getattr(vectorizer, "idf_", None)
        if idf is None:
            counts = Counter(token for tokens in train_tokens for token in tokens)
        for term, index in vectorizer.vocabulary_.items():
            for word in str(term).lower().split():
                value = float(idf[index]) if idf is not None else -float(counts.get(word, 0))
                rank[word] = min(rank.get(word, value), value)
    full_size = len(rank)
    if full_size > max_vocabulary:
        kept = sorted(rank, key=lambda word: (rank[word], word))[:max_vocabulary]
    else:
        kept = list(rank)
    return {
        "source": source,
        "terms": sorted(kept),
        "size": len(kept),
        "full_size": full_size,
        "capped": full_size > max_vocabulary,
    }


def build_reference(
    train_texts: Sequence[str],
    test_texts: Sequence[str],
    test_scores: Sequence[float] | np.ndarray,
    pipeline: Any,
    *,
    test_predictions: Sequence[int] | np.ndarray | None = None,
    max_vocabulary: int = MAX_VOCABULARY,
    n_length_bins: int = 10,
) -> dict[str, Any]:
    """The JSON-serialisable monitoring reference of a model (see the module docstring).

    ``test_scores`` are the model's P(fake) on ``test_texts``; ``test_predictions`` default to
    ``score >= 0.5``. The result depends only on its inputs (no timestamps), so re-training
    the same model on the same data gives the same reference.
    """
    train, test = list(train_texts), list(test_texts)
    scores = np.asarray(test_scores, dtype=float)
    if not train or not test:
        raise InputError("the reference needs at least one train and one test text")
    if scores.shape != (len(test),):
        raise InputError(f"test_scores has {scores.size} values for {len(test)} test texts")
    if test_predictions is None:
        predictions = (scores >= 0.5).astype(np.int64)
    else:
        predictions = np.asarray(test_predictions)
        if predictions.shape != (len(test),):
            raise InputError(
                f"test_predictions has {predictions.size} values for {len(test)} texts"
            )
    if (
        isinstance(max_vocabulary, bool)
        or not isinstance(max_vocabulary, int)
        or max_vocabulary < 1
    ):
        raise InputError(f"max_vocabulary must be a positive integer, got {max_vocabulary!r}")

    vectorizer = find_vectorizer(pipeline)
    train_tokens = [tokenize(t) for t in train]
    vocabulary = _vocabulary(vectorizer, train_tokens, max_vocabulary)
    vocab = frozenset(vocabulary["terms"])
    edges = length_bin_edges([word_count(t) for t in train], n_length_bins)
    reference = {
        "kind": REFERENCE_KIND,
        "version": REFERENCE_VERSION,
        "n_train": len(train),
        "n_test": len(test),
        "length": {
            "unit": "words",
            "edges": edges,
            "train_fractions": length_distribution(train, edges),
            "test_fractions": length_distribution(test, edges),
        },
        "vocabulary": vocabulary,
        "oov": {
            "tokenisation": "lowercase, token_pattern (?u)\\b\\w\\w+\\b",
            "train_rate": oov_rate(train, vocab),
            "test_rate": oov_rate(test, vocab),
            "baseline": "test_rate",
        },
        "predictions": {"test_mix": prediction_mix(predictions)},
        "scores": {"bin_edges": list(SCORE_BIN_EDGES), "test_fractions": score_histogram(scores)},
    }
    log.info(
        "built monitoring reference: %d train / %d test texts, %d vocabulary words, "
        "OOV train %.4f / test %.4f",
        len(train),
        len(test),
        vocabulary["size"],
        reference["oov"]["train_rate"],
        reference["oov"]["test_rate"],
    )
    return reference


def validate_reference(reference: Any) -> dict[str, Any]:
    """Check that ``reference`` is a reference this version of fnlib understands."""
    if not isinstance(reference, dict):
        raise InputError(f"the monitoring reference must be a dict, got {type(reference).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in reference]
    if missing:
        raise InputError(
            f"the monitoring reference lacks {', '.join(missing)}: rebuild it with build_reference"
        )
    if reference["kind"] != REFERENCE_KIND or reference["version"] != REFERENCE_VERSION:
        raise InputError(
            f"unsupported monitoring reference {reference['kind']!r} version "
            f"{reference['version']!r}; expected {REFERENCE_KIND!r} version {REFERENCE_VERSION}"
        )
    return reference


def reference_sha256(reference: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of ``reference`` (sorted keys, compact): its identity."""
    canonical = json.dumps(reference, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
