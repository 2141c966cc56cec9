"""The score of a classifier: one rule for tuning, evaluation, scoring and monitoring.

:func:`positive_scores` is how much a fitted binary classifier leans towards ``fake`` (label
1): its ``decision_function`` when it has one, else the ``predict_proba`` column of label 1.
This is the order scikit-learn's ``"roc_auc"`` scorer uses, so cross-validated ROC AUC on the
shared fold features equals ``cross_validate``'s. The zoo's families:

==========  ===========================  ==========================================
family      bare classifier (tuning)     final model (``fit_final``, calibrated)
==========  ===========================  ==========================================
``nb``      P(fake)                      P(fake)
``linsvm``  decision function            P(fake) of ``CalibratedClassifierCV``
``sgd``     decision function            P(fake) of ``CalibratedClassifierCV`` (hinge)
                                         or the decision function (``log_loss``,
                                         ``modified_huber``)
``rf``      P(fake)                      P(fake)
``logreg``  decision function            decision function
==========  ===========================  ==========================================

``probability=True`` maps a decision function through the logistic function, so the score is
in [0, 1] (the prediction log, score histograms, curve thresholds) and ranks exactly like the
raw score. For ``logreg`` and ``sgd`` with ``log_loss`` that is ``predict_proba``'s own
formula, so the values equal ``predict_proba[:, 1]`` bit for bit.

:func:`threshold` is where a score turns into a prediction of fake: a score above it is
predicted 1 (0 for a decision function, 0.5 for a probability).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit

from fnlib.data.schema import FAKE
from fnlib.errors import InputError

__all__ = ["positive_scores", "threshold"]


def _uses_decision_function(model: Any) -> bool:
    if hasattr(model, "decision_function"):
        return True
    if hasattr(model, "predict_proba"):
        return False
    raise InputError(f"{type(model).__name__} has neither decision_function nor predict_proba")


def positive_scores(model: Any, X: Any, *, probability: bool = False) -> np.ndarray:
    """The score of ``fake`` for each row of ``X`` (see the module doc); with
    ``probability=True`` in [0, 1]."""
    classes = list(model.classes_)
    if FAKE not in classes or len(classes) != 2:
        raise InputError(
            f"expected a fitted binary classifier with label {FAKE}, classes {classes}"
        )
    if _uses_decision_function(model):
        decision = np.asarray(model.decision_function(X), dtype=float)
        if classes[1] != FAKE:  # a binary decision function points at classes_[1]
            decision = -decision
        return np.clip(expit(decision), 0.0, 1.0) if probability else decision
    proba = np.asarray(model.predict_proba(X), dtype=float)[:, classes.index(FAKE)]
    return np.clip(proba, 0.0, 1.0) if probability else proba


def threshold(model: Any, *, probability: bool = False) -> float:
    """The score above which ``model`` predicts fake (for :func:`positive_scores` with the same
    ``probability``)."""
    return 0.0 if _uses_decision_function(model) and not probability else 0.5
