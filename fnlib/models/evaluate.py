"""Final training and held-out evaluation of one configuration.

:func:`fit_final` fits the chosen configuration on the whole training split as one
``Pipeline`` (cleaner and vectorizer included) that always has ``predict_proba``: classifiers
without it are calibrated with ``CalibratedClassifierCV(cv=3)``. :func:`evaluate` measures a
fitted pipeline on labelled texts and returns a JSON-friendly report: the metrics (fake = 1
is the positive class), the confusion matrix ``[[tn, fp], [fn, tp]]``, scikit-learn's
classification report with ``real``/``fake`` names, and ROC and precision-recall curves
downsampled to at most :data:`MAX_CURVE_POINTS` points each. Scores are P(fake) in [0, 1]
(:func:`fnlib.models.scoring.positive_scores` with ``probability=True``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    classification_report,
    confusion_matrix,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)
from sklearn.pipeline import Pipeline

from fnlib.data.schema import FAKE, LABEL, LABEL_NAMES, REAL, TEXT
from fnlib.errors import InputError
from fnlib.models.cv import classification_metrics
from fnlib.models.scoring import positive_scores
from fnlib.models.specs import ModelConfig
from fnlib.models.zoo import build_pipeline
from fnlib.text.clean import as_documents

log = logging.getLogger(__name__)

MAX_CURVE_POINTS = 200


def _labels(labels: Any, n: int) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1 or y.size != n:
        raise InputError(f"expected {n} labels (one per text), got shape {y.shape}")
    if not np.isin(y, (REAL, FAKE)).all():
        raise InputError("labels must be 0 (real) or 1 (fake)")
    return y.astype(np.int64)


def _downsample(n: int, limit: int = MAX_CURVE_POINTS) -> np.ndarray:
    """At most ``limit`` evenly spread indices of ``range(n)``, always with the first and last."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


def _floats(values: np.ndarray) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, dtype=float)]


def curves(y_true: np.ndarray, y_score: np.ndarray) -> dict[str, Any] | None:
    """ROC and PR curve points (JSON-friendly, <= MAX_CURVE_POINTS each); None for one class."""
    if np.unique(y_true).size < 2:
        return None
    fpr, tpr, roc_thresholds = roc_curve(y_true, y_score, pos_label=FAKE)
    keep = _downsample(fpr.size)
    precision, recall, pr_thresholds = precision_recall_curve(y_true, y_score, pos_label=FAKE)
    # the last PR point (precision 1, recall 0) has no threshold: pad to equal lengths
    pr_thresholds = np.append(pr_thresholds, np.inf)
    keep_pr = _downsample(precision.size)
    return {
        "roc": {
            "fpr": _floats(fpr[keep]),
            "tpr": _floats(tpr[keep]),
            "thresholds": _floats(roc_thresholds[keep]),
            "auc": float(roc_auc_score(y_true, y_score)),
        },
        "pr": {
            "precision": _floats(precision[keep_pr]),
            "recall": _floats(recall[keep_pr]),
            "thresholds": _floats(pr_thresholds[keep_pr]),
            "average_precision": float(average_precision_score(y_true, y_score, pos_label=FAKE)),
        },
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def evaluate(pipeline: Any, texts: Any, labels: Any) -> dict[str, Any]:
    """Metrics of a fitted pipeline on labelled texts (see the module docstring)."""
    docs = as_documents(texts)
    y = _labels(labels, len(docs))
    if not docs:
        raise InputError("cannot evaluate on zero documents")
    y_pred = np.asarray(pipeline.predict(docs)).astype(np.int64)
    y_score = positive_scores(pipeline, docs, probability=True)
    result: dict[str, Any] = dict(classification_metrics(y, y_pred, y_score))
    result["confusion"] = confusion_matrix(y, y_pred, labels=[REAL, FAKE]).tolist()
    result["report"] = _jsonable(
        classification_report(
            y,
            y_pred,
            labels=[REAL, FAKE],
            target_names=[LABEL_NAMES[REAL], LABEL_NAMES[FAKE]],
            output_dict=True,
            zero_division=0,
        )
    )
    result["curves"] = curves(y, y_score)
    result["n"] = len(docs)
    return _jsonable(result)


def fit_final(
    config: ModelConfig | Mapping[str, Any], train_df: pd.DataFrame, seed: int = 0
) -> Pipeline:
    """Fit ``config`` on a whole split (columns ``text`` and ``label``); the result has
    ``predict_proba`` (see :func:`fnlib.models.zoo.build_classifier`)."""
    if not isinstance(config, ModelConfig):
        config = ModelConfig.from_dict(config)
    missing = [c for c in (TEXT, LABEL) if c not in train_df.columns]
    if missing:
        raise InputError(f"training frame lacks column(s) {missing}; it needs text and label")
    docs: Sequence[str] = as_documents(train_df[TEXT])
    y = _labels(train_df[LABEL].to_numpy(), len(docs))
    if np.unique(y).size < 2:
        raise InputError("the training split needs documents of both classes")
    pipeline = build_pipeline(config, seed=seed, probabilities=True)
    start = time.perf_counter()
    pipeline.fit(docs, y)
    log.info(
        "fitted %s on %d documents in %.1fs", config.label, len(docs), time.perf_counter() - start
    )
    return pipeline
