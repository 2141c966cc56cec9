"""Why a text was flagged: exact per-term contributions for the linear families and NB.

Every explained model scores a text with a function that is linear in its TF-IDF vector ``x``:

    score(x) = intercept + sum_j x_j * weight_j

:func:`linear_form` finds that function in a fitted pipeline (fake = positive direction):

``logreg``, ``sgd`` with ``log_loss``
    ``decision_function``: the log-odds of fake (``predict_proba`` is its logistic function).
``sgd`` with ``modified_huber``
    ``decision_function`` (the probability is a clipped affine function of it).
``nb``
    ``log P(fake | x) - log P(real | x)``, the log-odds of ``predict_proba``: the class prior
    log-ratio plus ``x_j`` times each term's log-probability ratio.
``linsvm``, ``sgd`` with hinge loss (calibrated with ``CalibratedClassifierCV``)
    the mean over the calibration folds of each fold's calibrated log-odds
    ``-(a_k * f_k(x) + b_k)``, where ``f_k`` is the fold's linear decision function and
    ``a_k, b_k`` its sigmoid calibration. The published probability is the mean of the folds'
    logistic functions, not the logistic function of this mean, so the two can differ a little;
    the score explained here is exact for the mean log-odds and has the same sign as the
    prediction except in rare near-ties.

Forests (``rf``) have no such form: :func:`linear_form` returns ``None`` and no per-prediction
reasons are given for them.

A term's *contribution* to one text is ``x_j * weight_j``. The listed terms' contributions,
plus the ``rest`` (all other terms), plus the intercept add up to the score exactly.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.pipeline import Pipeline

from fnlib.data.schema import FAKE
from fnlib.errors import InputError

log = logging.getLogger(__name__)

TOP_TERMS = 3
"""Terms listed per prediction in the prediction log (largest absolute contribution first)."""
_SEPARATOR = ";"


@dataclass(frozen=True)
class LinearForm:
    """``score(x) = intercept + x @ weights`` over the vectorizer's ``terms``."""

    terms: np.ndarray
    weights: np.ndarray
    intercept: float
    score_name: str

    def scores(self, features: Any) -> np.ndarray:
        return np.asarray(features @ self.weights, dtype=float).ravel() + self.intercept


@dataclass(frozen=True)
class Explanation:
    """One text: its score, the top terms with their contributions, and the remainder."""

    score: float
    intercept: float
    terms: list[tuple[str, float]]
    rest: float
    score_name: str

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "intercept": self.intercept, "rest": self.rest,
                "score_name": self.score_name,
                "terms": [{"term": t, "contribution": c} for t, c in self.terms]}


def _split(pipeline: Any) -> tuple[Any, Any]:
    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) < 2:
        raise InputError("explanations need a fitted Pipeline of featurizer steps and a classifier")
    vectorizer = pipeline.steps[-2][1]
    if not hasattr(vectorizer, "get_feature_names_out"):
        raise InputError("the step before the classifier must be a fitted text vectorizer")
    return vectorizer, pipeline.steps[-1][1]


def _sign(classes: Sequence[Any]) -> float:
    """+1 when the positive column of a binary decision function is fake, else -1."""
    classes = [int(c) for c in classes]
    if sorted(classes) != [0, 1]:
        raise InputError(f"explanations need a binary 0/1 classifier, classes {classes}")
    return 1.0 if classes[1] == FAKE else -1.0


def _affine(clf: Any) -> tuple[np.ndarray, float] | None:
    """(weights, intercept) of a fitted linear model's decision function towards fake."""
    name = type(clf).__name__
    if name == "MultinomialNB":
        fake = list(clf.classes_).index(FAKE)
        real = 1 - fake
        weights = clf.feature_log_prob_[fake] - clf.feature_log_prob_[real]
        return weights, float(clf.class_log_prior_[fake] - clf.class_log_prior_[real])
    if name in ("LogisticRegression", "LinearSVC", "SGDClassifier"):
        sign = _sign(clf.classes_)
        return sign * np.asarray(clf.coef_, dtype=float).ravel(), sign * float(clf.intercept_[0])
    return None


def _calibrated(clf: Any) -> tuple[np.ndarray, float] | None:
    """Mean calibrated log-odds of a ``CalibratedClassifierCV`` over linear folds."""
    weights, intercepts = [], []
    for fold in clf.calibrated_classifiers_:
        base = _affine(fold.estimator)
        calibrators = getattr(fold, "calibrators", [])
        if base is None or len(calibrators) != 1 or not hasattr(calibrators[0], "a_"):
            return None
        # the fold's decision function is towards classes_[1]; _affine already points it at
        # fake, so undo that sign before applying the calibrator fitted on the raw function
        sign = _sign(fold.estimator.classes_)
        a, b = float(calibrators[0].a_), float(calibrators[0].b_)
        # P(classes_[1]) = 1 / (1 + exp(a f + b)): log-odds of classes_[1] = -(a f + b)
        # so the log-odds of fake are sign * -(a * sign * (w . x + c) + b)
        w, c = base
        weights.append(-a * w)
        intercepts.append(-a * c - sign * b)
    return np.mean(weights, axis=0), float(np.mean(intercepts))


def linear_form(pipeline: Any) -> LinearForm | None:
    """The exact linear score of a fitted pipeline, or ``None`` (forests)."""
    vectorizer, clf = _split(pipeline)
    if type(clf).__name__ == "CalibratedClassifierCV":
        found = _calibrated(clf)
        name = "mean calibrated log-odds of fake"
    else:
        found = _affine(clf)
        name = ("log-odds of fake" if type(clf).__name__ in ("MultinomialNB", "LogisticRegression")
                or getattr(clf, "loss", "") == "log_loss" else "decision score towards fake")
    if found is None:
        return None
    weights, intercept = found
    terms = np.asarray(vectorizer.get_feature_names_out(), dtype=object)
    if terms.size != weights.size:
        raise InputError(f"the vectorizer has {terms.size} terms but the classifier "
                         f"{weights.size} weights: not a pipeline fnlib built")
    return LinearForm(terms, np.asarray(weights, dtype=float), intercept, name)


def top_ngrams(form: LinearForm, n: int = 15) -> dict[str, list[tuple[str, float]]]:
    """The ``n`` terms with the largest weights towards fake and towards real."""
    order = np.argsort(form.weights, kind="stable")
    fake = [(str(form.terms[j]), float(form.weights[j])) for j in order[::-1][:n] if form.weights[j] > 0]
    real = [(str(form.terms[j]), float(form.weights[j])) for j in order[:n] if form.weights[j] < 0]
    return {"fake": fake, "real": real}


def explain_features(form: LinearForm, features: Any, k: int = TOP_TERMS) -> list[Explanation]:
    """One :class:`Explanation` per row of a TF-IDF matrix (top ``k`` terms by |contribution|)."""
    matrix = sparse.csr_matrix(features)
    contributions = matrix.multiply(form.weights.reshape(1, -1)).tocsr()
    contributions.sum_duplicates()
    scores = form.scores(matrix)
    out = []
    for row in range(matrix.shape[0]):
        start, end = contributions.indptr[row], contributions.indptr[row + 1]
        values = contributions.data[start:end]
        columns = contributions.indices[start:end]
        if values.size > k:
            pick = np.argpartition(-np.abs(values), k - 1)[:k]
        else:
            pick = np.arange(values.size)
        pick = pick[np.lexsort((columns[pick], -np.abs(values[pick])))]
        terms = [(str(form.terms[columns[i]]), float(values[i])) for i in pick]
        listed = float(values[pick].sum())
        out.append(Explanation(float(scores[row]), form.intercept, terms,
                               float(values.sum()) - listed, form.score_name))
    return out


def format_terms(terms: Sequence[tuple[str, float]]) -> str:
    """The compact prediction-log form: ``term:+0.412;other term:-0.130``."""
    return _SEPARATOR.join(f"{term}:{value:+.3f}" for term, value in terms)


def parse_terms(value: str) -> list[tuple[str, float]]:
    """Inverse of :func:`format_terms` (for readers of the prediction log)."""
    if not value:
        return []
    out = []
    for item in value.split(_SEPARATOR):
        term, _, number = item.rpartition(":")
        out.append((term, float(number)))
    return out


def explain_texts(pipeline: Any, texts: Sequence[str], k: int = TOP_TERMS) -> list[Explanation]:
    """Explanations for raw texts; an :class:`InputError` for models without a linear form."""
    form = linear_form(pipeline)
    if form is None:
        raise InputError(f"{type(pipeline.steps[-1][1]).__name__} models (forests) give no "
                         "per-prediction reasons: see the model card's feature importances")
    return explain_features(form, pipeline[:-1].transform(list(texts)), k)


def explainable_form(pipeline: Any) -> LinearForm | None:
    """:func:`linear_form` for a pipeline fnlib built, ``None`` for anything else."""
    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) < 2:
        return None
    if not hasattr(pipeline.steps[-2][1], "get_feature_names_out"):
        return None
    return linear_form(pipeline)


def score_with_reasons(pipeline: Any, texts: Sequence[str], k: int = TOP_TERMS,
                       form: LinearForm | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``score_texts`` plus one :func:`format_terms` string per text (``""`` for forests).

    The texts are cleaned and vectorised once; the explanation reuses those features. Pass
    ``form`` (from :func:`explainable_form`) to reuse it across batches.
    """
    from fnlib.monitoring.reference import score_texts

    predictions, scores, features = score_texts(pipeline, texts, return_features=True)
    form = form if form is not None else explainable_form(pipeline)
    if form is None:
        return predictions, scores, [""] * len(predictions)
    return predictions, scores, [format_terms(e.terms) for e in explain_features(form, features, k)]
