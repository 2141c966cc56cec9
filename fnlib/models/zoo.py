"""The model zoo: how a configuration (:mod:`fnlib.models.specs`) becomes a Pipeline.

Every model is one scikit-learn ``Pipeline`` with the steps ``("text", TextCleaner)``,
``("vec", TfidfVectorizer)`` and ``("clf", classifier)``; see :func:`build_pipeline`.

Zoo notes:

``nb``      ``MultinomialNB``.
``linsvm``  ``LinearSVC``; wrapped in ``CalibratedClassifierCV(cv=3)`` only when probabilities
            are requested (never ``SVC(kernel="linear", probability=True)``: far slower).
``sgd``     ``SGDClassifier``; with the default hinge loss it has no ``predict_proba``, so it is
            calibrated like ``linsvm`` when probabilities are requested.
``rf``      ``RandomForestClassifier(n_jobs=1)`` behind a chi-squared selection of the
            ``select_k`` best TF-IDF columns (fitted on the training data only). Forests on
            100k+ sparse columns spend their time scanning columns that are almost never
            chosen; the selection makes a fit ~5x faster at the same F1 and keeps 45k
            article-length documents trainable. ``select_k=None`` disables it. Trees are
            bounded by ``min_samples_leaf`` (default 2): fully grown trees on noisy labels
            (LIAR) take ~3x longer to fit for a worse ROC AUC.
``logreg``  ``LogisticRegression(solver="liblinear")``: the fastest solver on sparse text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.feature_selection import SelectKBest, chi2
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from fnlib.models.specs import FeatureSettings, ModelConfig, vectorizer_settings
from fnlib.text.clean import TextCleaner

__all__ = [
    "Chi2TopK",
    "build_classifier",
    "build_featurizer",
    "build_pipeline",
    "build_vectorizer",
]


class Chi2TopK(SelectKBest):
    """``SelectKBest(chi2, k)`` that quietly keeps every column when there are fewer than k."""

    def __init__(self, score_func: Any = chi2, *, k: int = 5000):
        super().__init__(score_func=score_func, k=k)

    def _check_params(self, X: Any, y: Any) -> None:
        return None


def build_vectorizer(
    settings: Mapping[str, Any] | FeatureSettings | ModelConfig,
) -> TfidfVectorizer:
    """The ``TfidfVectorizer`` for vectorizer settings (a mapping, FeatureSettings or config)."""
    values = vectorizer_settings(settings)
    return TfidfVectorizer(
        ngram_range=(1, int(values["ngram_max"])),
        sublinear_tf=bool(values["sublinear_tf"]),
        min_df=int(values["min_df"]),
        max_features=values["max_features"],
        dtype=np.float64,
    )


def build_featurizer(config: ModelConfig | FeatureSettings) -> Pipeline:
    """``Pipeline([("text", TextCleaner), ("vec", TfidfVectorizer)])`` for a configuration."""
    return Pipeline(
        [("text", TextCleaner(variant=config.variant)), ("vec", build_vectorizer(config))]
    )


def build_classifier(config: ModelConfig, seed: int = 0, probabilities: bool = False) -> Any:
    """The (unfitted) classifier of ``config``, seeded with ``seed``.

    With ``probabilities=True`` the result always has ``predict_proba``: classifiers without it
    (``linsvm``, ``sgd`` with hinge or perceptron-like losses) are wrapped in
    ``CalibratedClassifierCV(cv=3)``.
    """
    p = config.param_dict
    model = config.model
    if model == "nb":
        clf: Any = MultinomialNB(alpha=p["alpha"])
    elif model == "linsvm":
        clf = LinearSVC(C=p["C"], class_weight=p["class_weight"], max_iter=5000, random_state=seed)
    elif model == "sgd":
        clf = SGDClassifier(
            loss=p["loss"],
            alpha=p["alpha"],
            penalty=p["penalty"],
            class_weight=p["class_weight"],
            random_state=seed,
        )
    elif model == "rf":
        forest = RandomForestClassifier(
            n_estimators=p["n_estimators"],
            max_depth=p["max_depth"],
            min_samples_leaf=p["min_samples_leaf"],
            max_features=p["max_features"],
            class_weight=p["class_weight"],
            n_jobs=1,
            random_state=seed,
        )
        if p["select_k"] is None:
            clf = forest
        else:
            clf = Pipeline([("select", Chi2TopK(k=p["select_k"])), ("forest", forest)])
    else:  # logreg; ModelConfig has validated the name
        clf = LogisticRegression(
            C=p["C"],
            class_weight=p["class_weight"],
            solver="liblinear",
            max_iter=1000,
            random_state=seed,
        )
    if probabilities and not hasattr(clf, "predict_proba"):
        return CalibratedClassifierCV(clf, cv=3)
    return clf


def build_pipeline(config: ModelConfig, seed: int = 0, probabilities: bool = False) -> Pipeline:
    """The full model: ``text`` -> ``vec`` -> ``clf``; see :func:`build_classifier`."""
    featurizer = build_featurizer(config)
    return Pipeline([*featurizer.steps, ("clf", build_classifier(config, seed, probabilities))])
