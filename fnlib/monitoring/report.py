"""One monitoring report per data interval: volume, performance, drift and retrain reasons.

:func:`monitor_interval` is deterministic: the same inputs give the identical dict (no clocks,
no randomness, rows de-duplicated and sorted by id, numbers rounded to 6 decimals), so a re-run
or backfill of an interval writes byte-identical JSON (``json.dumps(report, sort_keys=True)``).
The caller adds run metadata (Airflow run id, timestamps) next to the report, not inside it.

Which rows count:

- drift and volume: prediction-log rows whose ``day`` falls in the interval (an article scored
  several times counts once, with its latest scoring);
- performance: feedback rows whose ``day`` falls in the interval, joined by id to any
  prediction passed in. Feedback arrives after the article was scored, so pass the predictions
  of a look-back window (e.g. the last 30 days) as well; only the interval's own rows drive
  the drift metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix

from fnlib.data.schema import FAKE, ID, LABEL, REAL, TEXT
from fnlib.errors import InputError
from fnlib.monitoring.drift import (
    ALERT,
    INSUFFICIENT,
    OK,
    DriftThresholds,
    length_distribution,
    oov_rate,
    prediction_mix,
    psi,
    psi_noise,
    score_histogram,
    status_for,
    worst_status,
)
from fnlib.monitoring.feedback import normalise_label
from fnlib.monitoring.logs import (
    DAY,
    EMPTY_SHA256,
    FEEDBACK,
    MODEL_ID,
    MODEL_VERSION,
    PREDICTION,
    PREDICTIONS,
    SCORE,
    SCORED_AT,
    TEXT_SHA256,
    interval_days,
    to_utc_iso,
    validate_log_frame,
)
from fnlib.monitoring.reference import reference_sha256, validate_reference

log = logging.getLogger(__name__)

REPORT_KIND = "fnlib.monitoring.report"
REPORT_VERSION = 1
DIGITS = 6


def _r(value: float) -> float:
    return round(float(value), DIGITS)


def _latest(predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per id: the latest scoring (ties broken by model, then score), sorted by id."""
    if predictions.empty:
        return predictions.reset_index(drop=True)
    order = predictions.assign(
        _at=pd.to_datetime(predictions[SCORED_AT], utc=True, format="ISO8601")
    )
    order = order.sort_values(
        [ID, "_at", MODEL_ID, MODEL_VERSION, SCORE, PREDICTION], kind="stable"
    )
    return order.drop_duplicates(ID, keep="last").drop(columns="_at").reset_index(drop=True)


def _performance(
    feedback: pd.DataFrame, joinable: pd.DataFrame, thresholds: DriftThresholds, test_f1: float
) -> dict[str, Any]:
    labels = [normalise_label(v) for v in feedback[LABEL]]
    valid = feedback.assign(_y=labels).loc[
        np.array([lab is not None for lab in labels], dtype=bool)
    ]
    per_id = valid.groupby(ID, sort=True)["_y"].agg(["nunique", "first"])
    conflicting = per_id[per_id["nunique"] > 1]
    truth = per_id[per_id["nunique"] == 1]["first"].astype("int64").rename("label").reset_index()
    joined = truth.merge(joinable[[ID, PREDICTION]], on=ID, how="inner").sort_values(ID)
    n = len(joined)
    section: dict[str, Any] = {
        "n_feedback": len(feedback),
        "invalid_labels": len(feedback) - len(valid),
        "conflicting_ids": len(conflicting),
        "unmatched_ids": len(truth) - n,
        "n_labelled": n,
        "min_feedback": thresholds.min_feedback,
        "test_f1": _r(test_f1),
    }
    if n == 0:
        section["status"] = INSUFFICIENT
        return section
    y, p = joined["label"].to_numpy(), joined[PREDICTION].to_numpy()
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y, p, labels=[REAL, FAKE]).ravel())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    section.update(
        accuracy=_r((tp + tn) / n),
        precision=_r(precision),
        recall=_r(recall),
        confusion={"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    )
    if tp + fp + fn == 0:  # no fake article labelled or predicted: F1 is undefined
        section.update(f1=None, f1_drop=None, status=INSUFFICIENT)
        section["note"] = "no fake article among the labelled ones and none predicted fake"
        return section
    f1 = 2 * tp / (2 * tp + fp + fn)
    section.update(f1=_r(f1), f1_drop=_r(test_f1 - f1))
    if n < thresholds.min_feedback:
        section["status"] = INSUFFICIENT
    else:
        section["status"] = status_for(
            section["f1_drop"], thresholds.f1_drop_warn, thresholds.f1_drop_alert
        )
    return section


def _drift(current: pd.DataFrame, reference: dict[str, Any], t: DriftThresholds) -> dict[str, Any]:
    n = len(current)
    has_text = ((current[TEXT] != "") | (current[TEXT_SHA256] == EMPTY_SHA256)).to_numpy(dtype=bool)
    texts = current.loc[has_text, TEXT].tolist()
    length_ref = reference["length"]["train_fractions"]
    mix_ref = float(reference["predictions"]["test_mix"]["fake"])
    score_ref = reference["scores"]["test_fractions"]
    oov_ref = float(reference["oov"][reference["oov"].get("baseline", "test_rate")])
    enough, enough_text = n >= t.min_volume, len(texts) >= t.min_volume
    note = f"needs at least {t.min_volume} predictions, got {n}"
    text_note = f"needs at least {t.min_volume} predictions with their text kept, got {len(texts)}"

    length: dict[str, Any] = {
        "n_texts": len(texts),
        "reference_fractions": [_r(v) for v in length_ref],
    }
    oov: dict[str, Any] = {"n_texts": len(texts), "reference_rate": _r(oov_ref)}
    if enough_text:
        fractions = length_distribution(texts, reference["length"]["edges"])
        length.update(fractions=[_r(v) for v in fractions], psi=_r(psi(length_ref, fractions)))
        _judge_psi(length, int(reference["n_train"]), len(texts), len(fractions), t)
        rate = _r(oov_rate(texts, frozenset(reference["vocabulary"]["terms"])))
        oov.update(rate=rate, change=_r(rate - oov_ref))
        oov["status"] = status_for(oov["change"], t.oov_increase_warn, t.oov_increase_alert)
    else:
        length.update(status=INSUFFICIENT, note=text_note)
        oov.update(status=INSUFFICIENT, note=text_note)

    mix: dict[str, Any] = {"reference_fake_share": _r(mix_ref)}
    score: dict[str, Any] = {"reference_fractions": [_r(v) for v in score_ref]}
    if enough:
        fake = _r(prediction_mix(current[PREDICTION].to_numpy())["fake"])
        mix.update(fake_share=fake, shift=_r(abs(fake - mix_ref)))
        mix["status"] = status_for(
            mix["shift"], t.prediction_mix_shift_warn, t.prediction_mix_shift_alert
        )
        fractions = score_histogram(current[SCORE].to_numpy(dtype=float))
        score.update(fractions=[_r(v) for v in fractions], psi=_r(psi(score_ref, fractions)))
        _judge_psi(score, int(reference["n_test"]), n, len(fractions), t)
    else:
        mix.update(status=INSUFFICIENT, note=note)
        score.update(status=INSUFFICIENT, note=note)
    metrics = {"length": length, "oov": oov, "prediction_mix": mix, "score": score}
    return {**metrics, "status": worst_status(m["status"] for m in metrics.values())}


def _judge_psi(metric: dict[str, Any], n_reference: int, n_current: int, n_bins: int,
               t: DriftThresholds) -> None:
    """Status from the PSI in excess of its sampling noise (see :func:`psi_noise`)."""
    noise = _r(psi_noise(n_reference, max(n_current, 1), n_bins))
    metric.update(noise=noise, excess=_r(max(0.0, metric["psi"] - noise)))
    metric["status"] = status_for(metric["excess"], t.psi_warn, t.psi_alert)


_REASONS: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], str]] = {
    "f1_drop": (
        lambda r: r["performance"],
        "performance: F1 {f1:.3f} on {n_labelled} labelled articles is {f1_drop:.3f} below the "
        "model's test F1 {test_f1:.3f} (alert at a drop of {limit:.2f})",
    ),
    "length_psi": (
        lambda r: r["drift"]["length"],
        "text length drift: PSI {psi:.3f} against the training texts, {excess:.3f} above its "
        "sampling noise {noise:.3f} (alert at {limit:.2f})",
    ),
    "oov_increase": (
        lambda r: r["drift"]["oov"],
        "vocabulary drift: out-of-vocabulary rate {rate:.3f} is {change:+.3f} against the "
        "reference {reference_rate:.3f} (alert at +{limit:.2f})",
    ),
    "prediction_mix_shift": (
        lambda r: r["drift"]["prediction_mix"],
        "prediction mix shift: {fake_share:.1%} predicted fake against {reference_fake_share:.1%} "
        "on the test split (shift {shift:.3f}, alert at {limit:.2f})",
    ),
    "score_psi": (
        lambda r: r["drift"]["score"],
        "score distribution drift: PSI {psi:.3f} against the test split, {excess:.3f} above its "
        "sampling noise {noise:.3f} (alert at {limit:.2f})",
    ),
}
_LIMITS = {
    "f1_drop": "f1_drop_alert",
    "length_psi": "psi_alert",
    "oov_increase": "oov_increase_alert",
    "prediction_mix_shift": "prediction_mix_shift_alert",
    "score_psi": "psi_alert",
}


def monitor_interval(
    predictions_df: pd.DataFrame,
    feedback_df: pd.DataFrame,
    reference: dict[str, Any],
    thresholds: DriftThresholds | None,
    model_test_f1: float,
    interval_start: datetime | str,
    interval_end: datetime | str,
) -> dict[str, Any]:
    """The monitoring report of ``[interval_start, interval_end)`` (see the module docstring).

    ``predictions_df`` and ``feedback_df`` are prediction-/feedback-log frames (validated
    here); ``reference`` comes from :func:`~fnlib.monitoring.reference.build_reference`;
    ``model_test_f1`` is the model's F1 (fake = positive) on its test split.
    """
    thresholds = thresholds or DriftThresholds()
    validate_reference(reference)
    if (
        isinstance(model_test_f1, bool)
        or not isinstance(model_test_f1, int | float | np.floating)
        or not 0 <= model_test_f1 <= 1
    ):
        raise InputError(f"model_test_f1 must be a number between 0 and 1, got {model_test_f1!r}")
    days = interval_days(interval_start, interval_end)
    predictions = validate_log_frame(predictions_df, PREDICTIONS, "predictions", unique_ids=False)
    feedback = validate_log_frame(feedback_df, FEEDBACK, "feedback")

    in_interval = predictions[predictions[DAY].isin(days)]
    current = _latest(in_interval)
    models = current.groupby([MODEL_ID, MODEL_VERSION], sort=True).size()
    volume = {
        "n_predictions": len(current),
        "n_rows": len(in_interval),
        "duplicates_dropped": len(in_interval) - len(current),
        "outside_interval": len(predictions) - len(in_interval),
        "min_volume": thresholds.min_volume,
        "status": OK if len(current) >= thresholds.min_volume else INSUFFICIENT,
        "models": [
            {"model_id": m, "model_version": v, "n": int(c)} for (m, v), c in models.items()
        ],
    }
    performance = _performance(
        feedback[feedback[DAY].isin(days)], _latest(predictions), thresholds, float(model_test_f1)
    )
    drift = _drift(current, reference, thresholds)
    report: dict[str, Any] = {
        "kind": REPORT_KIND,
        "version": REPORT_VERSION,
        "interval": {
            "start": to_utc_iso(interval_start),
            "end": to_utc_iso(interval_end),
            "days": days,
        },
        "reference": {
            "sha256": reference_sha256(reference),
            "version": reference["version"],
            "n_train": reference["n_train"],
            "n_test": reference["n_test"],
        },
        "thresholds": thresholds.to_dict(),
        "volume": volume,
        "performance": performance,
        "drift": drift,
    }
    alerts, warnings, reasons = [], [], []
    for code, (section, template) in _REASONS.items():
        values = section(report)
        if values["status"] == ALERT:
            alerts.append(code)
            reasons.append(template.format(limit=getattr(thresholds, _LIMITS[code]), **values))
        elif values["status"] == "warn":
            warnings.append(code)
    report.update(
        alerts=alerts,
        warnings=warnings,
        retrain_reasons=reasons,
        retrain_requested=bool(reasons),
        status=worst_status([performance["status"], drift["status"]]),
    )
    log.info(
        "monitoring %s..%s: status %s, %d retrain reason(s)",
        days[0],
        days[-1],
        report["status"],
        len(reasons),
    )
    return report


def report_row(report: dict[str, Any]) -> dict[str, Any]:
    """The key numbers of a report as one flat row for a time-series table (``None`` = not measured)."""
    performance, drift = report["performance"], report["drift"]
    return {
        "interval_start": report["interval"]["start"],
        "interval_end": report["interval"]["end"],
        "status": report["status"],
        "retrain_requested": report["retrain_requested"],
        "n_predictions": report["volume"]["n_predictions"],
        "n_labelled": performance["n_labelled"],
        "performance_status": performance["status"],
        "accuracy": performance.get("accuracy"),
        "f1": performance.get("f1"),
        "f1_drop": performance.get("f1_drop"),
        "length_psi": drift["length"].get("psi"),
        "oov_rate": drift["oov"].get("rate"),
        "oov_change": drift["oov"].get("change"),
        "fake_share": drift["prediction_mix"].get("fake_share"),
        "prediction_mix_shift": drift["prediction_mix"].get("shift"),
        "score_psi": drift["score"].get("psi"),
        "drift_status": drift["status"],
        "alerts": ";".join(report["alerts"]),
    }
