"""The Pipelines the zoo builds, and the grids a tuning run tries."""

from __future__ import annotations

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

from fnlib.catalog import MODELS
from fnlib.errors import InputError
from fnlib.models.grids import default_grid, small_grid
from fnlib.models.specs import ModelConfig
from fnlib.models.zoo import build_classifier, build_featurizer, build_pipeline
from fnlib.text import TextCleaner


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
    config = ModelConfig("logreg", "denoised", {"ngram_max": 2}, {"C": 10})
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
