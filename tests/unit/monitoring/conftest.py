"""Shared fixtures for the monitoring tests: a small model trained on SYNTHETIC data, its
reference, and a hand-made reference whose numbers are easy to reason about."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import Pipeline

from fnlib.data.prepare import prepare_corpus
from fnlib.data.synthetic import generate
from fnlib.monitoring.drift import SCORE_BIN_EDGES
from fnlib.monitoring.logs import make_feedback_rows, make_prediction_rows
from fnlib.monitoring.reference import (
    REFERENCE_KIND,
    REFERENCE_VERSION,
    build_reference,
    score_texts,
)

VOCAB = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa"]


@dataclass(frozen=True)
class Trained:
    """A fitted pipeline, its test F1, its reference and a pool of unseen labelled articles."""

    pipeline: Pipeline
    test_f1: float
    reference: dict[str, Any]
    train: pd.DataFrame
    test: pd.DataFrame
    pool: pd.DataFrame


def fit_pipeline(train: pd.DataFrame) -> Pipeline:
    pipeline = Pipeline(
        [
            ("vec", TfidfVectorizer(sublinear_tf=True, min_df=2)),
            ("clf", LogisticRegression(max_iter=1000)),
        ]
    )
    return pipeline.fit(train["text"].tolist(), train["label"].to_numpy())


@pytest.fixture(scope="session")
def trained() -> Trained:
    prepared = prepare_corpus(generate(1200, seed=3), "synthetic")
    pipeline = fit_pipeline(prepared.train)
    predictions, scores = score_texts(pipeline, prepared.test["text"].tolist())
    reference = build_reference(
        prepared.train["text"].tolist(),
        prepared.test["text"].tolist(),
        scores,
        pipeline,
        test_predictions=predictions,
    )
    pool = prepare_corpus(generate(700, seed=11), "synthetic").train
    test_f1 = float(f1_score(prepared.test["label"], predictions))
    return Trained(pipeline, test_f1, reference, prepared.train, prepared.test, pool)


def _hand_reference() -> dict[str, Any]:
    """Three equally full length bins (<=5, 6-10, >10 words), vocabulary :data:`VOCAB`,
    OOV 0, half predicted fake, scores uniform over the 10 bins."""
    return {
        "kind": REFERENCE_KIND,
        "version": REFERENCE_VERSION,
        "n_train": 300,
        "n_test": 100,
        "length": {
            "unit": "words",
            "edges": [5.0, 10.0],
            "train_fractions": [1 / 3, 1 / 3, 1 / 3],
            "test_fractions": [1 / 3, 1 / 3, 1 / 3],
        },
        "vocabulary": {
            "source": "vectorizer",
            "terms": sorted(VOCAB),
            "size": 8,
            "full_size": 8,
            "capped": False,
        },
        "oov": {"train_rate": 0.0, "test_rate": 0.0, "baseline": "test_rate"},
        "predictions": {"test_mix": {"fake": 0.5, "real": 0.5}},
        "scores": {"bin_edges": list(SCORE_BIN_EDGES), "test_fractions": [0.1] * 10},
    }


def _clean_texts(n: int = 30) -> list[str]:
    """``n`` in-vocabulary texts, a third each of 4, 8 and 12 words."""
    sizes = [4, 8, 12]
    return [" ".join(VOCAB[(i + k) % len(VOCAB)] for k in range(sizes[i % 3])) for i in range(n)]


def _prediction_frame(
    n: int = 30,
    texts: list[str] | None = None,
    predictions: list[int] | None = None,
    scores: list[float] | None = None,
    day: str = "2026-11-01",
    prefix: str = "a",
    keep_text: bool = True,
) -> pd.DataFrame:
    """A clean interval of ``n`` predictions matching :func:`hand_reference` exactly."""
    texts = texts if texts is not None else _clean_texts(n)
    predictions = predictions if predictions is not None else [i % 2 for i in range(n)]
    scores = scores if scores is not None else [SCORE_BIN_EDGES[i % 10] + 0.05 for i in range(n)]
    ids = [f"{prefix}{i:03d}" for i in range(n)]
    return make_prediction_rows(
        ids,
        texts,
        np.array(predictions),
        np.array(scores),
        "model-a",
        "v1",
        f"{day}T08:00:00Z",
        keep_text,
    )


def _feedback_frame(ids: list[str], labels: list[Any], day: str = "2026-11-01") -> pd.DataFrame:
    return make_feedback_rows(ids, labels, f"{day}T20:00:00Z")


@pytest.fixture
def hand_reference() -> dict[str, Any]:
    """See :func:`_hand_reference`."""
    return _hand_reference()


@pytest.fixture
def clean_texts() -> Callable[..., list[str]]:
    """``clean_texts(n=30)``: see :func:`_clean_texts`."""
    return _clean_texts


@pytest.fixture
def prediction_frame() -> Callable[..., pd.DataFrame]:
    """``prediction_frame(n=30, texts=, predictions=, scores=, day=, prefix=, keep_text=)``."""
    return _prediction_frame


@pytest.fixture
def feedback_frame() -> Callable[..., pd.DataFrame]:
    """``feedback_frame(ids, labels, day="2026-11-01")``: feedback-log rows."""
    return _feedback_frame
