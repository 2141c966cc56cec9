"""Explanations: the listed terms' contributions + the rest + the intercept are the score, and
that score is the model's own (checked against scikit-learn's outputs, per family)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logit

from fnlib.errors import InputError
from fnlib.models.card import explanation_section
from fnlib.models.evaluate import fit_final
from fnlib.models.explain import (
    explain_features,
    explain_texts,
    format_terms,
    linear_form,
    parse_terms,
    score_with_reasons,
    top_ngrams,
)
from fnlib.models.specs import ModelConfig
from fnlib.monitoring.reference import score_texts

# what each family's explained score must equal, computed from scikit-learn's own outputs
CONFIGS = {
    "logreg": {"model": "logreg", "vectorizer": {"ngram_max": 2}},
    "nb": {"model": "nb", "params": {"alpha": 0.1}},
    "linsvm": {"model": "linsvm"},  # calibrated (fn_train asks for probabilities)
    "sgd_hinge": {"model": "sgd"},  # calibrated
    "sgd_log": {"model": "sgd", "params": {"loss": "log_loss"}},
    "sgd_huber": {"model": "sgd", "params": {"loss": "modified_huber"}},
}


@pytest.fixture(scope="module")
def models(split):
    return {name: fit_final(ModelConfig.from_dict(cfg), split, seed=0) for name, cfg in CONFIGS.items()}


def _reference_score(name, model, features):
    clf = model.steps[-1][1]
    if name in ("logreg", "nb", "sgd_log"):
        return logit(clf.predict_proba(features)[:, 1])
    if name == "sgd_huber":
        return clf.decision_function(features)
    # calibrated: the mean over folds of each fold's calibrated log-odds of fake
    return np.mean([logit(fold.predict_proba(features)[:, 1]) for fold in clf.calibrated_classifiers_],
                   axis=0)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_contributions_add_up_to_the_models_own_score(name, models, test_split):
    model = models[name]
    texts = test_split["text"].tolist()[:60]
    features = model[:-1].transform(texts)
    form = linear_form(model)
    explanations = explain_features(form, features, k=3)
    expected = _reference_score(name, model, features)
    got = np.array([e.score for e in explanations])
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)
    for e in explanations:
        total = e.intercept + sum(c for _, c in e.terms) + e.rest
        assert total == pytest.approx(e.score, abs=1e-9)
        assert len(e.terms) == 3
        sizes = [abs(c) for _, c in e.terms]
        assert sizes == sorted(sizes, reverse=True)
    # the listed terms are the largest contributions of the text
    row = features[0].toarray().ravel() * form.weights
    assert abs(explanations[0].terms[0][1]) == pytest.approx(np.abs(row).max())
    # the sign of the explained score agrees with the prediction (nearly always for calibrated)
    agree = np.mean((got > 0) == (model.predict(texts) == 1))
    assert agree >= 0.95


def test_top_ngrams_point_each_way(models):
    form = linear_form(models["logreg"])
    top = top_ngrams(form, 5)
    assert len(top["fake"]) == 5 and len(top["real"]) == 5
    assert all(w > 0 for _, w in top["fake"]) and all(w < 0 for _, w in top["real"])
    assert top["fake"][0][1] == pytest.approx(form.weights.max())
    assert top["real"][0][1] == pytest.approx(form.weights.min())


def test_score_with_reasons_matches_scoring(models, test_split):
    texts = test_split["text"].tolist()[:40]
    model = models["linsvm"]
    predictions, scores, reasons = score_with_reasons(model, texts)
    expected_predictions, expected_scores = score_texts(model, texts)
    np.testing.assert_array_equal(predictions, expected_predictions)
    np.testing.assert_array_equal(scores, expected_scores)
    explained = explain_texts(model, texts, k=3)
    assert reasons == [format_terms(e.terms) for e in explained]
    parsed = parse_terms(reasons[0])
    assert [t for t, _ in parsed] == [t for t, _ in explained[0].terms]
    assert all(c == pytest.approx(v, abs=5e-4) for (_, c), (_, v) in zip(parsed, explained[0].terms, strict=True))


def test_forest_gives_no_reasons_and_says_so(split, test_split):
    forest = fit_final(ModelConfig.from_dict({"model": "rf", "params": {"n_estimators": 10}}), split)
    assert linear_form(forest) is None
    with pytest.raises(InputError, match="no per-prediction reasons"):
        explain_texts(forest, ["some text"])
    _, _, reasons = score_with_reasons(forest, test_split["text"].tolist()[:5])
    assert reasons == [""] * 5
    section = explanation_section(forest)
    assert "per-prediction reasons\nare not given" in section and "impurity importance" in section


def test_card_section_lists_top_ngrams(models):
    section = explanation_section(models["nb"])
    top = top_ngrams(linear_form(models["nb"]), 1)
    assert f"`{top['fake'][0][0]}`" in section and f"`{top['real'][0][0]}`" in section
    assert "log-odds of fake" in section
