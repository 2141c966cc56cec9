"""ModelConfig and FeatureSettings: identity (ids, feature keys), canonical form, validation,
labels."""

from __future__ import annotations

import json

import pytest

from fnlib.catalog import MODELS
from fnlib.errors import InputError
from fnlib.models.grids import default_grid
from fnlib.models.specs import PARAM_SPECS, FeatureSettings, ModelConfig

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
