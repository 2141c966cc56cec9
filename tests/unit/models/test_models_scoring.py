"""One scoring rule for every family of the zoo: scores rank like predict_proba, agree with
predict at the family's threshold, and are the ones tuning, evaluation and monitoring use."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.metrics import roc_auc_score

from fnlib.catalog import MODELS
from fnlib.errors import InputError
from fnlib.models.evaluate import evaluate, fit_final
from fnlib.models.scoring import positive_scores, threshold
from fnlib.models.specs import ModelConfig
from fnlib.models.zoo import build_classifier, build_featurizer
from fnlib.monitoring.reference import score_texts

CONFIGS = [ModelConfig(model) for model in MODELS] + [
    ModelConfig("sgd", params={"loss": "log_loss"}),
    ModelConfig("sgd", params={"loss": "modified_huber"}),
]


@pytest.fixture(scope="module")
def features(split, test_split):
    featurizer = build_featurizer(ModelConfig("nb"))
    x_train = featurizer.fit_transform(split["text"].tolist())
    x_test = featurizer.transform(test_split["text"].tolist())
    return x_train, split["label"].to_numpy(), x_test


def _ranks_like(scores: np.ndarray, other: np.ndarray) -> bool:
    """``other`` never decreases where ``scores`` increases (ties may break either way)."""
    order = np.argsort(scores, kind="stable")
    return bool((np.diff(other[order]) >= 0).all())


@pytest.mark.parametrize("probabilities", [False, True], ids=["bare", "final"])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.label.split(" | ")[0])
def test_scores_rank_like_predict_proba_and_agree_with_predict(features, config, probabilities):
    x_train, y_train, x_test = features
    clf = build_classifier(config, seed=0, probabilities=probabilities).fit(x_train, y_train)
    predicted_fake = np.asarray(clf.predict(x_test)) == 1
    assert 0 < predicted_fake.sum() < predicted_fake.size  # both outcomes are tested
    raw = positive_scores(clf, x_test)
    probability = positive_scores(clf, x_test, probability=True)
    assert raw.shape == probability.shape == (x_test.shape[0],)
    np.testing.assert_array_equal(raw > threshold(clf), predicted_fake)
    np.testing.assert_array_equal(probability > threshold(clf, probability=True), predicted_fake)
    assert ((probability >= 0) & (probability <= 1)).all()
    assert _ranks_like(raw, probability) and _ranks_like(probability, raw)
    if hasattr(clf, "decision_function"):  # what scikit-learn's roc_auc scorer ranks by
        np.testing.assert_array_equal(raw, clf.decision_function(x_test))
    if hasattr(clf, "predict_proba"):
        proba = clf.predict_proba(x_test)[:, list(clf.classes_).index(1)]
        assert _ranks_like(raw, proba)
        if config.model in ("logreg", "sgd") and config.param_dict.get("loss") != "modified_huber":
            # their predict_proba is the logistic function of the decision function
            np.testing.assert_array_equal(probability, proba)
    if config.model in ("nb", "rf") or (probabilities and config.model == "linsvm"):
        assert threshold(clf) == 0.5  # no decision function: P(fake) itself


def test_the_three_callers_use_the_one_rule(split, test_split):
    texts, y = test_split["text"].tolist(), test_split["label"].to_numpy()
    model = fit_final(ModelConfig("logreg", "raw"), split, seed=0)
    expected = positive_scores(model, texts, probability=True)
    _, monitored = score_texts(model, texts)
    np.testing.assert_array_equal(monitored, expected)
    report = evaluate(model, texts, y)
    assert report["roc_auc"] == roc_auc_score(y, expected)
    assert report["roc_auc"] == roc_auc_score(y, positive_scores(model, texts))
    assert all(0 <= t <= 1 for t in report["curves"]["roc"]["thresholds"][1:])


def test_scores_need_a_binary_classifier_of_fake():
    wrong = DummyClassifier().fit(np.zeros((4, 1)), [0, 2, 0, 2])
    with pytest.raises(InputError, match="binary classifier"):
        positive_scores(wrong, np.zeros((2, 1)))
    no_scores = type("Bare", (), {"classes_": np.array([0, 1])})()
    with pytest.raises(InputError, match="neither"):
        positive_scores(no_scores, np.zeros((2, 1)))
