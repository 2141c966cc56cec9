"""Cross-validated scoring of configurations on shared fold features, and the leaderboard.

:func:`score_config` fits one configuration's classifier on each fold's (shared, precomputed)
training features and scores it on the fold's validation features; :func:`score_configs`, what
one mapped tuning task does, does that for several configurations of one feature key with one
fold in memory at a time. Metrics treat ``fake`` (label 1) as the positive class, exactly like
scikit-learn's ``"f1"``, ``"precision"``, ``"recall"``, ``"accuracy"`` and ``"roc_auc"``
scorers (ROC AUC ranks by :func:`fnlib.models.scoring.positive_scores`).

:func:`leaderboard` ranks the results. Ties are broken without timings, so the same results
always select the same winner: higher mean, then lower standard deviation across folds, then
the cheaper model family (:data:`COST_ORDER`), then ``config_id``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
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
    fold_features: Iterable[FoldFeatures],
    metric: str = "f1",
    seed: int = 0,
) -> dict[str, Any]:
    """Cross-validate ``config``'s classifier on precomputed fold features.

    Returns a JSON-friendly dict: ``config_id``, ``config`` (``to_dict()``), ``label``,
    ``model``, ``variant``, ``feature_key``, ``metric``, ``seed``, ``n_folds``, ``folds`` (per
    fold: every metric plus ``fit_time``/``score_time`` in seconds and ``cpu_time``, the
    process's CPU seconds for both), ``mean`` and ``std`` of every metric (``None`` when a fold
    has no ROC AUC), ``score`` (the mean of ``metric``), and ``fit_time``/``score_time``
    summed over the folds.
    """
    return score_configs([config], fold_features, metric, seed)[0]


def score_configs(
    configs: Sequence[ModelConfig | Mapping[str, Any]],
    fold_features: Iterable[FoldFeatures],
    metric: str = "f1",
    seed: int = 0,
) -> list[dict[str, Any]]:
    """:func:`score_config` for several configurations, one fold at a time: each fold is taken
    from ``fold_features`` once, every configuration is fitted and scored on it, and it is let
    go before the next fold is taken. With a lazy ``fold_features`` (a generator from
    :func:`fnlib.models.folds.iter_fold_features`, or fold features read from the feature
    store) only one fold is in memory at any time. Every fit is independent of the others
    (seeded), so the results equal :func:`score_config`'s per configuration, bit for bit.
    """
    check_metric(metric)
    cfgs = [c if isinstance(c, ModelConfig) else ModelConfig.from_dict(c) for c in configs]
    if not cfgs:
        raise InputError("score_configs needs at least one configuration")
    rows: list[list[dict[str, Any]]] = [[] for _ in cfgs]
    scored = 0  # not enumerate(): its reused result tuple would keep the previous fold alive
    for fold in fold_features:
        for config, done in zip(cfgs, rows, strict=True):
            done.append(_score_fold(config, fold, seed))
        del fold  # let go of this fold before the next one is built or read
        scored += 1  # noqa: SIM113 (see above)
        if len(cfgs) > 1:
            log.info("fold %d: %d configurations scored", scored, len(cfgs))
    if not rows[0]:
        raise InputError("cross-validation needs at least one fold")
    return [_result(config, folds, metric, seed) for config, folds in zip(cfgs, rows, strict=True)]


def _score_fold(config: ModelConfig, fold: FoldFeatures, seed: int) -> dict[str, Any]:
    clf = build_classifier(config, seed=seed, probabilities=False)
    cpu = time.process_time()
    start = time.perf_counter()
    clf.fit(fold.X_train, fold.y_train)
    fit_time = time.perf_counter() - start
    start = time.perf_counter()
    y_pred = clf.predict(fold.X_val)
    y_score = positive_scores(clf, fold.X_val)
    score_time = time.perf_counter() - start
    row: dict[str, Any] = classification_metrics(fold.y_val, y_pred, y_score)
    row.update(fit_time=fit_time, score_time=score_time, cpu_time=time.process_time() - cpu)
    return row


def _result(config: ModelConfig, folds: list[dict[str, Any]], metric: str,
            seed: int) -> dict[str, Any]:
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
