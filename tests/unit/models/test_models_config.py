"""ModelConfig identity and validation, the grids, and the Pipelines the zoo builds."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import f1_score
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC, LinearSVC

from fnlib.errors import InputError
from fnlib.models.config import (
    MODELS,
    PARAM_SPECS,
    FeatureSettings,
    ModelConfig,
    build_classifier,
    build_featurizer,
    build_pipeline,
    default_grid,
    small_grid,
)
from fnlib.text import TextCleaner

BIGRAM = {"ngram_max": 2, "sublinear_tf": True, "min_df": 2}


def test_models_and_specs() -> None:
    assert MODELS == ("nb", "linsvm", "sgd", "rf", "logreg")
    assert set(PARAM_SPECS) == set(MODELS)


def test_config_id_is_stable_and_canonical() -> None:
    config = ModelConfig("logreg", "denoised", BIGRAM, {"C": 1})
    # pinned: a change here silently re-keys every tuning result and cache entry
    assert config.config_id == "cfg-ffc574208e48"
    assert config.feature_key == "feat-3c4f6f17d3e4"
    assert config.config_id == ModelConfig("logreg", "denoised", BIGRAM, {"C": 1.0}).config_id
    assert config.config_id.startswith("cfg-") and len(config.config_id) == 16
    assert config.feature_key.startswith("feat-") and len(config.feature_key) == 17
    same = ModelConfig(
        "logreg",
        "denoised",
        (("min_df", 2), ("ngram_max", 2)),
        (("class_weight", None), ("C", 1.0)),
    )
    assert same == config and hash(same) == hash(config)
    assert same.config_id == config.config_id
    assert config.params == (("C", 1.0), ("class_weight", None))
    assert dict(config.vectorizer)["max_features"] is None  # defaults are filled in


def test_config_id_pinned() -> None:
    config = ModelConfig("logreg", "denoised", BIGRAM, {"C": 1})
    payload = json.dumps(config.to_dict(), sort_keys=True, separators=(",", ":"))
    assert payload == (
        '{"model":"logreg","params":{"C":1.0,"class_weight":null},"variant":"denoised",'
        '"vectorizer":{"max_features":null,"min_df":2,"ngram_max":2,"sublinear_tf":true}}'
    )


def test_ids_distinct_and_feature_keys_shared() -> None:
    grid = default_grid()
    assert 20 <= len(grid) <= 40
    assert len({c.config_id for c in grid}) == len(grid)
    keys = {c.feature_key for c in grid}
    assert len(keys) == 4  # 2 variants x 2 vectorizer settings
    nb = ModelConfig("nb", "raw", BIGRAM, {"alpha": 0.5})
    svm = ModelConfig("linsvm", "raw", BIGRAM)
    assert nb.feature_key == svm.feature_key == nb.features.feature_key
    assert nb.feature_key != ModelConfig("nb", "denoised", BIGRAM).feature_key
    assert nb.feature_key != ModelConfig("nb", "raw", {**BIGRAM, "min_df": 1}).feature_key


def test_round_trip_json() -> None:
    for config in default_grid():
        data = json.loads(json.dumps(config.to_dict()))
        assert ModelConfig.from_dict(data) == config
        tagged = {**data, "config_id": config.config_id}
        assert ModelConfig.from_dict(tagged).config_id == config.config_id


def test_from_dict_checks_claimed_id_and_keys() -> None:
    data = {**ModelConfig("nb").to_dict(), "config_id": "cfg-000000000000"}
    with pytest.raises(InputError, match="id mismatch"):
        ModelConfig.from_dict(data)
    with pytest.raises(InputError, match="unknown model configuration key"):
        ModelConfig.from_dict({"model": "nb", "colour": "red"})
    with pytest.raises(InputError, match="'model'"):
        ModelConfig.from_dict({"variant": "raw"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "xgboost"}, "unknown model"),
        ({"model": "nb", "variant": "stemmed"}, "unknown text variant"),
        ({"model": "nb", "params": {"C": 1.0}}, r"unknown nb params setting\(s\) \['C'\]"),
        ({"model": "nb", "vectorizer": {"ngrams": 2}}, "unknown vectorizer setting"),
        ({"model": "nb", "params": {"alpha": -1}}, "must be > 0"),
        ({"model": "logreg", "params": {"C": float("nan")}}, "finite number"),
        ({"model": "logreg", "params": {"C": "big"}}, "finite number"),
        ({"model": "rf", "params": {"n_estimators": 10.5}}, "whole number"),
        ({"model": "rf", "params": {"n_estimators": True}}, "finite number"),
        ({"model": "rf", "params": {"max_features": "all"}}, "must be one of"),
        ({"model": "nb", "vectorizer": {"ngram_max": 3}}, "must be one of"),
        ({"model": "nb", "vectorizer": {"min_df": 0}}, ">= 1"),
        ({"model": "nb", "vectorizer": {"sublinear_tf": 1}}, "true or false"),
        ({"model": "nb", "params": ["alpha"]}, "mapping or"),
        ({"model": "nb", "params": 3}, "must be a mapping"),
    ],
)
def test_invalid_configs(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        ModelConfig(**kwargs)


def test_labels() -> None:
    config = ModelConfig("logreg", "denoised", BIGRAM, {"C": 1})
    assert config.label == "logreg C=1 | denoised 1-2gram sub min_df=2"
    rf = ModelConfig(
        "rf",
        "raw",
        {"ngram_max": 1, "sublinear_tf": False, "max_features": 5000},
        {"n_estimators": 200},
    )
    assert (
        rf.label == "rf min_samples_leaf=2 n_estimators=200 | raw 1gram min_df=2 max_features=5000"
    )
    assert FeatureSettings("raw").label == "raw 1gram sub min_df=2"


def test_grids() -> None:
    # grid=small: one configuration per model and feature setting (2 variants x 2 vectorizers)
    assert len(small_grid()) == 20
    assert {(c.model, c.feature_key) for c in small_grid()} == {
        (c.model, c.feature_key) for c in default_grid()
    }
    assert len(default_grid(models=["nb", "logreg"], variants=["raw"])) == 8
    with pytest.raises(InputError, match="unknown model"):
        default_grid(models=["nb", "bert"])
    with pytest.raises(InputError, match="unknown text variant"):
        default_grid(variants=["clean"])


def test_pipeline_structure_and_seeds() -> None:
    config = ModelConfig("logreg", "denoised", BIGRAM, {"C": 10})
    pipe = build_pipeline(config, seed=7)
    assert isinstance(pipe, Pipeline)
    assert [name for name, _ in pipe.steps] == ["text", "vec", "clf"]
    assert isinstance(pipe["text"], TextCleaner) and pipe["text"].variant == "denoised"
    vec = pipe["vec"]
    assert isinstance(vec, TfidfVectorizer)
    assert (vec.ngram_range, vec.sublinear_tf, vec.min_df) == ((1, 2), True, 2)
    assert isinstance(pipe["clf"], LogisticRegression)
    assert pipe["clf"].C == 10.0 and pipe["clf"].random_state == 7
    featurizer = build_featurizer(config)
    assert [name for name, _ in featurizer.steps] == ["text", "vec"]


@pytest.mark.parametrize(
    ("model", "params", "plain", "calibrated"),
    [
        ("nb", {}, MultinomialNB, False),
        ("linsvm", {}, LinearSVC, True),
        ("sgd", {}, SGDClassifier, True),
        ("sgd", {"loss": "log_loss"}, SGDClassifier, False),
        ("rf", {"select_k": None}, RandomForestClassifier, False),
        ("logreg", {}, LogisticRegression, False),
    ],
)
def test_classifiers(model: str, params: dict, plain: type, calibrated: bool) -> None:
    config = ModelConfig(model, "raw", params=params)
    assert isinstance(build_classifier(config, seed=3), plain)
    wrapped = build_classifier(config, seed=3, probabilities=True)
    assert hasattr(wrapped, "predict_proba")
    assert isinstance(wrapped, CalibratedClassifierCV) == calibrated
    if calibrated:
        assert wrapped.cv == 3 and isinstance(wrapped.estimator, plain)
    assert not isinstance(wrapped, SVC)


def test_forest_is_bounded_and_seeded() -> None:
    clf = build_classifier(ModelConfig("rf"), seed=5)
    assert [name for name, _ in clf.steps] == ["select", "forest"]
    forest = clf["forest"]
    assert forest.n_jobs == 1 and forest.random_state == 5 and forest.max_features == "sqrt"
    assert 100 <= forest.n_estimators <= 200
    assert clf["select"].k == 5000


@pytest.mark.parametrize("model", MODELS)
def test_every_model_fits_well_above_chance(model, split, test_split) -> None:
    config = next(c for c in default_grid(models=[model]) if c.variant == "denoised")
    for probabilities in (False, True):
        pipe = build_pipeline(config, seed=0, probabilities=probabilities)
        pipe.fit(split["text"].tolist(), split["label"].to_numpy())
        predicted = pipe.predict(test_split["text"].tolist())
        assert f1_score(test_split["label"], predicted) > 0.75
        assert set(np.unique(predicted)) <= {0, 1}
    assert hasattr(pipe, "predict_proba")
