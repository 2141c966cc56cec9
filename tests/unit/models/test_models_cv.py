"""score_config output and the leaderboard's ordering and tie-breaks."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from fnlib.catalog import TUNING_METRICS as METRICS
from fnlib.errors import InputError
from fnlib.models.cv import leaderboard, score_config, score_configs, select_best
from fnlib.models.folds import build_fold_features, iter_fold_features, make_folds
from fnlib.models.specs import ModelConfig


@pytest.fixture(scope="module")
def folds(texts, labels):
    config = ModelConfig("logreg", "denoised")
    return build_fold_features(texts, labels, config, make_folds(labels, 3, seed=0))


def test_score_config_result(folds) -> None:
    config = ModelConfig("logreg", "denoised", params={"C": 10})
    result = score_config(config, folds, metric="accuracy", seed=1)
    json.dumps(result, allow_nan=False)
    assert result["config_id"] == config.config_id
    assert ModelConfig.from_dict(result["config"]) == config
    assert result["label"] == config.label and result["feature_key"] == config.feature_key
    assert result["n_folds"] == 3 and len(result["folds"]) == 3
    assert result["metric"] == "accuracy" and result["score"] == result["mean"]["accuracy"]
    for fold in result["folds"]:
        assert set(fold) == {*METRICS, "fit_time", "score_time", "cpu_time"}
        assert all(0.0 <= fold[m] <= 1.0 for m in METRICS)
    for metric in METRICS:
        values = [f[metric] for f in result["folds"]]
        assert result["mean"][metric] == pytest.approx(np.mean(values))
        assert result["std"][metric] == pytest.approx(np.std(values))
    assert result["mean"]["f1"] > 0.8
    assert result["fit_time"] == pytest.approx(sum(f["fit_time"] for f in result["folds"]))


def test_score_config_accepts_dicts_and_uses_proba_for_auc(folds) -> None:
    forest = ModelConfig("rf", "denoised", params={"n_estimators": 20})
    result = score_config(forest.to_dict(), folds)
    assert result["config_id"] == forest.config_id
    assert result["mean"]["roc_auc"] is not None and result["mean"]["roc_auc"] > 0.8


def test_score_config_rejects(folds) -> None:
    with pytest.raises(InputError, match="unknown metric"):
        score_config(ModelConfig("nb"), folds, metric="auc")
    with pytest.raises(InputError, match="at least one fold"):
        score_config(ModelConfig("nb"), [])


def _scores(result: dict) -> list:
    return [{k: v for k, v in fold.items() if not k.endswith("_time")} for fold in result["folds"]]


def test_score_configs_holds_one_fold_at_a_time_and_equals_score_config(texts, labels,
                                                                      watched_folds) -> None:
    """Several configurations on lazily built folds: each fold is let go before the next is
    built, and every result equals scoring the configuration alone on all folds at once."""
    configs = [ModelConfig("logreg", "raw", params={"C": 10}), ModelConfig("nb", "raw"),
               ModelConfig("rf", "raw", params={"n_estimators": 10})]
    folds = make_folds(labels, 3, seed=0)
    lazily, alive = watched_folds(iter_fold_features(texts, labels, configs[0], folds), 3)
    results = score_configs(configs, lazily, seed=3)
    assert alive == [0, 0, 0]
    every_fold = build_fold_features(texts, labels, configs[0], folds)
    for config, result in zip(configs, results, strict=True):
        alone = score_config(config, every_fold, seed=3)
        assert result["config_id"] == config.config_id and result["n_folds"] == 3
        assert _scores(result) == _scores(alone)
        assert result["mean"] == alone["mean"] and result["std"] == alone["std"]
    with pytest.raises(InputError, match="at least one configuration"):
        score_configs([], every_fold)


def _result(config: ModelConfig, mean: float, std: float, fit_time: float = 1.0) -> dict:
    means = {m: mean for m in METRICS}
    return {
        "config_id": config.config_id,
        "label": config.label,
        "model": config.model,
        "variant": config.variant,
        "feature_key": config.feature_key,
        "mean": means,
        "std": {m: std for m in METRICS},
        "fit_time": fit_time,
        "score_time": 0.1,
    }


def test_leaderboard_orders_best_first_with_deterministic_ties() -> None:
    nb = ModelConfig("nb", params={"alpha": 0.5})
    svm = ModelConfig("linsvm")
    rf = ModelConfig("rf")
    lr_a, lr_b = sorted(
        [ModelConfig("logreg", params={"C": 2.0}), ModelConfig("logreg", params={"C": 3.0})],
        key=lambda c: c.config_id,
    )
    results = [
        _result(rf, 0.90, 0.01, fit_time=0.01),  # tie on mean and std: cheaper family wins
        _result(lr_b, 0.90, 0.01),  # same family: config_id decides
        _result(nb, 0.80, 0.00),
        _result(svm, 0.90 + 1e-15, 0.02),  # equal after rounding, but a larger spread
        _result(lr_a, 0.90, 0.01, fit_time=99.0),  # fit time does not decide
        _result(ModelConfig("sgd"), 0.95, 0.05),
    ]
    table = leaderboard(results)
    assert isinstance(table, pd.DataFrame)
    assert table["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    assert table["config_id"].tolist() == [
        ModelConfig("sgd").config_id,
        lr_a.config_id,
        lr_b.config_id,
        rf.config_id,
        svm.config_id,
        nb.config_id,
    ]
    for column in (
        "label",
        "model",
        "variant",
        "feature_key",
        "mean_f1",
        "std_roc_auc",
        "fit_time",
    ):
        assert column in table.columns
    # the order does not depend on the input order
    shuffled = [results[i] for i in (3, 0, 5, 1, 4, 2)]
    assert leaderboard(shuffled)["config_id"].tolist() == table["config_id"].tolist()
    assert select_best(shuffled)["config_id"] == ModelConfig("sgd").config_id


def test_leaderboard_by_another_metric_and_missing_scores() -> None:
    a, b = ModelConfig("nb"), ModelConfig("sgd")
    ra, rb = _result(a, 0.7, 0.0), _result(b, 0.9, 0.0)
    ra["mean"]["recall"] = 0.99
    rb["mean"]["roc_auc"] = None  # no scores: sorts last by roc_auc
    assert leaderboard([ra, rb], metric="recall")["config_id"].iloc[0] == a.config_id
    table = leaderboard([rb, ra], metric="roc_auc")
    assert table["config_id"].tolist() == [a.config_id, b.config_id]
    assert math.isnan(table["mean_roc_auc"].iloc[1])


def test_leaderboard_rejects() -> None:
    r = _result(ModelConfig("nb"), 0.5, 0.1)
    with pytest.raises(InputError, match="duplicate"):
        leaderboard([r, dict(r)])
    with pytest.raises(InputError, match="at least one"):
        leaderboard([])
    with pytest.raises(InputError, match="unknown metric"):
        leaderboard([r], metric="mcc")
