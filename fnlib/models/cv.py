"""Cross-validated scoring of one configuration on shared fold features, and the leaderboard.

:func:`score_config` is what one mapped tuning task does: fit the configuration's classifier
on each fold's (shared, precomputed) training features and score it on the fold's validation
features. Metrics treat ``fake`` (label 1) as the positive class, exactly like scikit-learn's
``"f1"``, ``"precision"``, ``"recall"``, ``"accuracy"`` and ``"roc_auc"`` scorers (ROC AUC
ranks by :func:`fnlib.models.scoring.positive_scores`).

:func:`leaderboard` ranks the results. Ties are broken without timings, so the same results
always select the same winner: higher mean, then lower standard deviation across folds, then
the cheaper model family (:data:`COST_ORDER`), then ``config_id``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from fnlib.catalog import TUNING_METRICS as METRICS
from fnlib.errors import InputError
from fnlib.models.fold_tfidf import FoldFeatures
from fnlib.models.scoring import positive_scores
from fnlib.models.specs import ModelConfig
from fnlib.models.zoo import build_classifier

log = logging.getLogger(__name__)

COST_ORDER = {"nb": 0, "sgd": 1, "linsvm": 2, "logreg": 3, "rf": 4}
"""Model families from cheapest to dearest to fit and serve (a deterministic tie-break)."""


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise InputError(f"unknown metric {metric!r}; valid metrics: {', '.join(METRICS)}")
    return metric


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, y_score: np.ndarray | None
) -> dict[str, float | None]:
    """The :data:`METRICS` for one set of predictions (fake = 1 is positive)."""
    both = np.unique(y_true).size == 2
    return {
        "f1": float(f1_score(y_true, y_pred, pos_label=1, zero_division=0)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(precision_score(y_true, y_pred, pos_label=1, zero_division=0)),
        "recall": float(recall_score(y_true, y_pred, pos_label=1, zero_division=0)),
        "roc_auc": float(roc_auc_score(y_true, y_score)) if both and y_score is not None else None,
    }


def _summary(values: list[float | None]) -> tuple[float | None, float | None]:
    present = [v for v in values if v is not None]
    if len(present) != len(values) or not present:
        return None, None
    return float(np.mean(present)), float(np.std(present))


def score_config(
    config: ModelConfig | Mapping[str, Any],
    fold_features: Sequence[FoldFeatures],
    metric: str = "f1",
    seed: int = 0,
) -> dict[str, Any]:
    """Cross-validate ``config``'s classifier on precomputed fold features.

    Returns a JSON-friendly dict: ``config_id``, ``config`` (``to_dict()``), ``label``,
    ``model``, ``variant``, ``feature_key``, ``metric``, ``seed``, ``n_folds``, ``folds`` (per
    fold: every metric plus ``fit_time``/``score_time`` in seconds), ``mean`` and ``std`` of
    every metric (``None`` when a fold has no ROC AUC), ``score`` (the mean of ``metric``),
    and ``fit_time``/``score_time`` summed over the folds.
    """
    check_metric(metric)
    if not isinstance(config, ModelConfig):
        config = ModelConfig.from_dict(config)
    if not fold_features:
        raise InputError("score_config needs at least one fold")
    folds: list[dict[str, Any]] = []
    for fold in fold_features:
        clf = build_classifier(config, seed=seed, probabilities=False)
        start = time.perf_counter()
        clf.fit(fold.X_train, fold.y_train)
        fit_time = time.perf_counter() - start
        start = time.perf_counter()
        y_pred = clf.predict(fold.X_val)
        y_score = positive_scores(clf, fold.X_val)
        score_time = time.perf_counter() - start
        row: dict[str, Any] = classification_metrics(fold.y_val, y_pred, y_score)
        row.update(fit_time=fit_time, score_time=score_time)
        folds.append(row)
    mean, std = {}, {}
    for name in METRICS:
        mean[name], std[name] = _summary([f[name] for f in folds])
    result = {
        "config_id": config.config_id,
        "config": config.to_dict(),
        "label": config.label,
        "model": config.model,
        "variant": config.variant,
        "feature_key": config.feature_key,
        "metric": metric,
        "seed": seed,
        "n_folds": len(folds),
        "folds": folds,
        "mean": mean,
        "std": std,
        "score": mean[metric],
        "fit_time": float(sum(f["fit_time"] for f in folds)),
        "score_time": float(sum(f["score_time"] for f in folds)),
    }
    log.info("%s: mean %s %.4f", config.label, metric, mean[metric] or float("nan"))
    return result


def leaderboard(results: Sequence[Mapping[str, Any]], metric: str = "f1") -> pd.DataFrame:
    """Results of :func:`score_config` as a table, best first (see the module doc for ties).

    Columns: ``rank``, ``config_id``, ``label``, ``model``, ``variant``, ``feature_key``,
    ``mean_<m>`` and ``std_<m>`` for every metric, ``fit_time``, ``score_time``.
    """
    check_metric(metric)
    if not results:
        raise InputError("leaderboard needs at least one result")
    rows = []
    for r in results:
        row = {k: r[k] for k in ("config_id", "label", "model", "variant", "feature_key")}
        for name in METRICS:
            for stat in ("mean", "std"):
                value = r[stat].get(name)
                row[f"{stat}_{name}"] = math.nan if value is None else float(value)
        row["fit_time"] = float(r["fit_time"])
        row["score_time"] = float(r["score_time"])
        rows.append(row)
    table = pd.DataFrame(rows)
    dupes = table["config_id"][table["config_id"].duplicated()].tolist()
    if dupes:
        raise InputError(f"duplicate results for config(s) {sorted(set(dupes))}")
    # rounding absorbs float noise, so equal scores from different summation orders tie
    keys = pd.DataFrame(
        {
            "score": (-table[f"mean_{metric}"].round(12)).fillna(math.inf),
            "spread": table[f"std_{metric}"].round(12).fillna(math.inf),
            "cost": table["model"].map(COST_ORDER).fillna(len(COST_ORDER)),
            "config_id": table["config_id"],
        }
    )
    order = keys.sort_values(["score", "spread", "cost", "config_id"], kind="stable").index
    table = table.loc[order].reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


def select_best(results: Sequence[Mapping[str, Any]], metric: str = "f1") -> dict[str, Any]:
    """The result ranked first by :func:`leaderboard`."""
    best_id = leaderboard(results, metric)["config_id"].iloc[0]
    return dict(next(r for r in results if r["config_id"] == best_id))
