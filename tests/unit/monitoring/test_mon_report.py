"""monitor_interval: statuses, every retrain reason, joins, and byte-identical re-runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from fnlib.data.errors import CorpusError
from fnlib.errors import InputError
from fnlib.monitoring.drift import DriftThresholds
from fnlib.monitoring.report import monitor_interval, report_row

START, END = "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"
Factory = Callable[..., pd.DataFrame]


def _run(
    predictions: pd.DataFrame, feedback: pd.DataFrame, reference: dict[str, Any], **kw: Any
) -> dict[str, Any]:
    return monitor_interval(
        predictions,
        feedback,
        reference,
        kw.get("thresholds"),
        kw.get("test_f1", 1.0),
        kw.get("start", START),
        kw.get("end", END),
    )


def _no_feedback(feedback_frame: Factory) -> pd.DataFrame:
    return feedback_frame([], [])


def test_clean_interval_is_ok(
    hand_reference: dict, prediction_frame: Factory, feedback_frame: Factory
) -> None:
    predictions = prediction_frame()
    report = _run(
        predictions,
        feedback_frame(predictions["id"].tolist(), predictions["prediction"].tolist()),
        hand_reference,
    )
    assert (
        report["status"] == "ok"
        and report["retrain_reasons"] == []
        and not report["retrain_requested"]
    )
    drift = report["drift"]
    assert drift["length"]["psi"] == drift["score"]["psi"] == drift["oov"]["change"] == 0.0
    assert drift["prediction_mix"]["shift"] == 0.0
    performance = report["performance"]
    assert (
        performance["n_labelled"] == 30
        and performance["f1"] == 1.0
        and performance["status"] == "ok"
    )
    assert performance["confusion"] == {"tn": 15, "fp": 0, "fn": 0, "tp": 15}
    assert report["volume"]["models"] == [{"model_id": "model-a", "model_version": "v1", "n": 30}]
    assert report["interval"] == {"start": START, "end": END, "days": ["2026-11-01"]}


def test_low_volume_is_insufficient(
    hand_reference: dict, prediction_frame: Factory, feedback_frame: Factory
) -> None:
    report = _run(
        prediction_frame(10, scores=[0.99] * 10), _no_feedback(feedback_frame), hand_reference
    )
    assert report["volume"]["status"] == "insufficient"
    assert {m["status"] for k, m in report["drift"].items() if k != "status"} == {"insufficient"}
    assert "needs at least 20 predictions, got 10" in report["drift"]["score"]["note"]
    assert (
        report["performance"]["status"] == "insufficient"
        and report["performance"]["n_labelled"] == 0
    )
    assert report["status"] == "insufficient" and report["retrain_reasons"] == []
    lowered = _run(
        prediction_frame(10, scores=[0.99] * 10),
        _no_feedback(feedback_frame),
        hand_reference,
        thresholds=DriftThresholds(min_volume=5),
    )
    assert lowered["drift"]["score"]["status"] == "alert"


def _flipped(predictions: pd.DataFrame, n_flipped: int) -> list[int]:
    """True labels: the predictions, with the first ``n_flipped`` predicted-fake ones really real."""
    labels = predictions["prediction"].tolist()
    fakes = [i for i, p in enumerate(labels) if p == 1][:n_flipped]
    return [0 if i in fakes else p for i, p in enumerate(labels)]


@pytest.mark.parametrize(("flipped", "status"), [(0, "ok"), (2, "warn"), (4, "alert")])
def test_f1_drop_statuses(
    hand_reference: dict,
    prediction_frame: Factory,
    feedback_frame: Factory,
    flipped: int,
    status: str,
) -> None:
    predictions = prediction_frame()
    feedback = feedback_frame(predictions["id"].tolist(), _flipped(predictions, flipped))
    report = _run(predictions, feedback, hand_reference)
    performance = report["performance"]
    # 2 flipped: tp 13, fp 2 -> F1 26/28 = 0.928571 (drop 0.071); 4 flipped: 22/26 (drop 0.154)
    assert performance["f1"] == {0: 1.0, 2: 0.928571, 4: 0.846154}[flipped]
    assert performance["status"] == status and report["status"] == status
    assert ("f1_drop" in report["alerts"]) == (status == "alert")
    assert ("f1_drop" in report["warnings"]) == (status == "warn")
    if status == "alert":
        assert report["retrain_reasons"] == [
            "performance: F1 0.846 on 30 labelled articles is 0.154 below the model's test F1 "
            "1.000 (alert at a drop of 0.10)"
        ]


def test_too_little_feedback_is_insufficient(
    hand_reference: dict, prediction_frame: Factory, feedback_frame: Factory
) -> None:
    predictions = prediction_frame()
    feedback = feedback_frame(
        predictions["id"].tolist()[:10], [1 - p for p in predictions["prediction"][:10]]
    )
    performance = _run(predictions, feedback, hand_reference)["performance"]
    assert performance["n_labelled"] == 10 and performance["f1"] == 0.0
    assert performance["status"] == "insufficient"


@pytest.mark.parametrize(
    ("change", "code", "reason_start"),
    [
        ("length", "length_psi", "text length drift: PSI"),
        ("oov", "oov_increase", "vocabulary drift: out-of-vocabulary rate 0.111 is +0.111"),
        ("mix", "prediction_mix_shift", "prediction mix shift: 66.7% predicted fake against 50.0%"),
        ("score", "score_psi", "score distribution drift: PSI"),
    ],
)
def test_each_drift_reason(
    hand_reference: dict,
    prediction_frame: Factory,
    feedback_frame: Factory,
    clean_texts: Callable[..., list[str]],
    change: str,
    code: str,
    reason_start: str,
) -> None:
    kwargs: dict[str, Any] = {
        "length": {
            "texts": ["alpha beta gamma delta epsilon zeta theta kappa alpha beta gamma"] * 30
        },
        "oov": {"texts": [t + " zorg" for t in clean_texts(30)]},  # 3 unknown of 27 tokens
        "mix": {"predictions": [1] * 20 + [0] * 10},
        "score": {"scores": [0.95] * 30},
    }[change]
    report = _run(prediction_frame(**kwargs), _no_feedback(feedback_frame), hand_reference)
    assert (
        report["alerts"] == [code] and report["status"] == "alert" and report["retrain_requested"]
    )
    assert len(report["retrain_reasons"]) == 1 and report["retrain_reasons"][0].startswith(
        reason_start
    )


def test_warn_is_not_a_retrain_reason(
    hand_reference: dict, prediction_frame: Factory, feedback_frame: Factory
) -> None:
    # 18 of 30 fake: shift 0.6 - 0.5 = 0.1 exactly (after rounding) -> warn
    report = _run(
        prediction_frame(predictions=[1] * 18 + [0] * 12),
        _no_feedback(feedback_frame),
        hand_reference,
    )
    assert report["drift"]["prediction_mix"]["shift"] == 0.1
    assert report["warnings"] == ["prediction_mix_shift"] and report["status"] == "warn"
    assert report["retrain_reasons"] == [] and not report["retrain_requested"]


def test_report_is_deterministic(
    hand_reference: dict, prediction_frame: Factory, feedback_frame: Factory
) -> None:
    predictions = prediction_frame(scores=[0.95] * 30)
    feedback = feedback_frame(predictions["id"].tolist(), _flipped(predictions, 3))
    first = json.dumps(_run(predictions, feedback, hand_reference), sort_keys=True).encode()
    again = json.dumps(
        _run(predictions.copy(), feedback.copy(), hand_reference), sort_keys=True
    ).encode()
    shuffled = json.dumps(
        _run(
            predictions.sample(frac=1, random_state=1),
            feedback.sample(frac=1, random_state=2),
            hand_reference,
        ),
        sort_keys=True,
    ).encode()
    assert first == again == shuffled


def test_lookback_join_duplicates_and_out_of_interval_rows(
    hand_reference: dict, prediction_frame: Factory, feedback_frame: Factory
) -> None:
    today = prediction_frame()
    yesterday = prediction_frame(day="2026-10-31", prefix="y")
    rescored = prediction_frame(5).assign(scored_at="2026-11-01T09:00:00Z", model_version="v2")
    predictions = pd.concat([yesterday, today, rescored], ignore_index=True)
    # feedback received today labels yesterday's articles (+ an unknown id, a bad label, a conflict)
    ids = yesterday["id"].tolist() + ["nobody", "y000", "y001", "y001"]
    labels = yesterday["prediction"].tolist() + [1, "satire", 1, 0]
    feedback = pd.concat(
        [feedback_frame(ids, labels), feedback_frame(["a000"], [1], day="2026-10-30")]
    )
    report = _run(predictions, feedback, hand_reference)
    volume = report["volume"]
    assert (volume["n_rows"], volume["n_predictions"], volume["duplicates_dropped"]) == (35, 30, 5)
    assert volume["outside_interval"] == 30
    assert volume["models"] == [
        {"model_id": "model-a", "model_version": "v1", "n": 25},
        {"model_id": "model-a", "model_version": "v2", "n": 5},
    ]
    performance = report["performance"]
    assert performance["n_feedback"] == 34 and performance["invalid_labels"] == 1
    assert performance["conflicting_ids"] == 1 and performance["unmatched_ids"] == 1
    assert performance["n_labelled"] == 29 and performance["f1"] == 1.0


def test_hash_only_logs_skip_text_metrics(
    hand_reference: dict, prediction_frame: Factory, feedback_frame: Factory
) -> None:
    report = _run(prediction_frame(keep_text=False), _no_feedback(feedback_frame), hand_reference)
    drift = report["drift"]
    assert drift["length"]["status"] == drift["oov"]["status"] == "insufficient"
    assert "text kept" in drift["oov"]["note"]
    assert (
        drift["score"]["status"] == drift["prediction_mix"]["status"] == "ok"
        and report["status"] == "ok"
    )


def test_report_row(
    hand_reference: dict, prediction_frame: Factory, feedback_frame: Factory
) -> None:
    report = _run(
        prediction_frame(scores=[0.95] * 30), _no_feedback(feedback_frame), hand_reference
    )
    row = report_row(report)
    assert json.loads(json.dumps(row)) == row
    assert all(not isinstance(v, dict | list) for v in row.values())
    assert (
        row["interval_start"] == START and row["status"] == "alert" and row["alerts"] == "score_psi"
    )
    assert row["n_predictions"] == 30 and row["f1"] is None and row["score_psi"] > 0.25
    assert row["fake_share"] == 0.5 and row["retrain_requested"] is True


def test_bad_inputs(
    hand_reference: dict, prediction_frame: Factory, feedback_frame: Factory
) -> None:
    predictions, feedback = prediction_frame(), _no_feedback(feedback_frame)
    with pytest.raises(InputError, match="model_test_f1"):
        _run(predictions, feedback, hand_reference, test_f1=1.5)
    with pytest.raises(InputError, match="after"):
        _run(predictions, feedback, hand_reference, start=END, end=START)
    with pytest.raises(InputError, match="lacks"):
        _run(predictions, feedback, {"kind": "fnlib.monitoring.reference"})
    with pytest.raises(CorpusError, match="missing"):
        _run(predictions.drop(columns="score"), feedback, hand_reference)


def test_f1_undefined_without_any_fake(
    hand_reference: dict, prediction_frame: Factory, feedback_frame: Factory
) -> None:
    predictions = prediction_frame(predictions=[0] * 30)
    report = _run(
        predictions, feedback_frame(predictions["id"].tolist(), ["real"] * 30), hand_reference
    )
    performance = report["performance"]
    assert performance["f1"] is None and performance["accuracy"] == 1.0
    assert performance["status"] == "insufficient" and "f1_drop" not in report["alerts"]
