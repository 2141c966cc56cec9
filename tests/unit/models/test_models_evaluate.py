"""fit_final and evaluate: metrics equal scikit-learn's, JSON-friendly reports, curves."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from fnlib.errors import InputError
from fnlib.models.evaluate import MAX_CURVE_POINTS, curves, evaluate, fit_final
from fnlib.models.scoring import positive_scores
from fnlib.models.specs import ModelConfig


@pytest.fixture(scope="module")
def svm(split):
    return fit_final(ModelConfig("linsvm", "denoised", params={"C": 0.3}).to_dict(), split, seed=0)


def test_fit_final_calibrates_linsvm(svm, test_split) -> None:
    assert [name for name, _ in svm.steps] == ["text", "vec", "clf"]
    assert isinstance(svm["clf"], CalibratedClassifierCV)
    s = positive_scores(svm, test_split["text"])
    assert s.shape == (len(test_split),) and ((s >= 0) & (s <= 1)).all()


def test_evaluate_matches_sklearn(svm, test_split) -> None:
    texts, y = test_split["text"].tolist(), test_split["label"].to_numpy()
    report = evaluate(svm, texts, y)
    json.dumps(report, allow_nan=False)
    predicted = svm.predict(texts)
    s = svm.predict_proba(texts)[:, 1]
    assert report["n"] == len(texts)
    assert report["accuracy"] == pytest.approx(accuracy_score(y, predicted))
    assert report["precision"] == pytest.approx(precision_score(y, predicted))
    assert report["recall"] == pytest.approx(recall_score(y, predicted))
    assert report["f1"] == pytest.approx(f1_score(y, predicted))
    assert report["roc_auc"] == pytest.approx(roc_auc_score(y, s))
    tn, fp, fn, tp = confusion_matrix(y, predicted).ravel()
    assert report["confusion"] == [[tn, fp], [fn, tp]]
    assert report["report"]["fake"]["support"] == int((y == 1).sum())
    assert report["report"]["real"]["recall"] == pytest.approx(tn / (tn + fp))
    assert report["f1"] > 0.8
    roc, pr = report["curves"]["roc"], report["curves"]["pr"]
    assert len(roc["fpr"]) == len(roc["tpr"]) == len(roc["thresholds"]) <= MAX_CURVE_POINTS
    assert len(pr["precision"]) == len(pr["recall"]) == len(pr["thresholds"]) <= MAX_CURVE_POINTS
    assert roc["fpr"][0] == 0.0 and roc["tpr"][-1] == 1.0
    assert roc["auc"] == pytest.approx(report["roc_auc"])


def test_evaluate_ranks_by_the_decision_function_without_proba(split, test_split) -> None:
    from fnlib.models.zoo import build_pipeline

    texts, y = test_split["text"].tolist(), test_split["label"].to_numpy()
    plain = build_pipeline(ModelConfig("linsvm"), probabilities=False)
    plain.fit(split["text"].tolist(), split["label"].to_numpy())
    s = positive_scores(plain, texts)
    np.testing.assert_allclose(s, plain.decision_function(texts))
    report = evaluate(plain, texts, y)
    assert report["roc_auc"] == pytest.approx(roc_auc_score(y, s)) and report["roc_auc"] > 0.8


def test_curves_are_downsampled_keeping_the_ends() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 5000)
    s = y * 0.3 + rng.random(5000)
    points = curves(y, s)
    roc, pr = points["roc"], points["pr"]
    assert 100 < len(roc["fpr"]) <= MAX_CURVE_POINTS and len(pr["recall"]) <= MAX_CURVE_POINTS
    assert (roc["fpr"][0], roc["tpr"][0]) == (0.0, 0.0)
    assert (roc["fpr"][-1], roc["tpr"][-1]) == (1.0, 1.0)
    assert roc["thresholds"][0] is None  # roc_curve's +inf start becomes null
    assert pr["recall"][0] == 1.0 and pr["recall"][-1] == 0.0
    assert np.all(np.diff(roc["fpr"]) >= 0)


def test_one_class_has_no_auc_or_curves(svm, test_split) -> None:
    fakes = test_split[test_split["label"] == 1]
    report = evaluate(svm, fakes["text"], fakes["label"])
    assert report["roc_auc"] is None and report["curves"] is None
    json.dumps(report, allow_nan=False)


def test_rejects_bad_input(svm, split) -> None:
    with pytest.raises(InputError, match="expected 2 labels"):
        evaluate(svm, ["a", "b"], [1])
    with pytest.raises(InputError, match="0 \\(real\\) or 1"):
        evaluate(svm, ["a", "b"], [1, 5])
    with pytest.raises(InputError, match="lacks column"):
        fit_final(ModelConfig("nb"), split.drop(columns=["label"]))
    one_class = split[split["label"] == 0]
    with pytest.raises(InputError, match="both classes"):
        fit_final(ModelConfig("nb"), one_class)
    with pytest.raises(InputError, match="string"):
        fit_final(ModelConfig("nb"), pd.DataFrame({"text": ["a", None], "label": [0, 1]}))
