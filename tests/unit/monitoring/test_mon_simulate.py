"""simulate_traffic: deterministic, well-formed, and its drift is caught by monitor_interval."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from fnlib.data.schema import ID, LABEL
from fnlib.errors import InputError
from fnlib.monitoring.drift import oov_rate, word_count
from fnlib.monitoring.logs import (
    make_feedback_rows,
    make_prediction_rows,
    read_log_csv,
    write_log_csv,
)
from fnlib.monitoring.reference import score_texts
from fnlib.monitoring.report import monitor_interval
from fnlib.monitoring.simulate import ARTICLE_COLUMNS, SIM_FEEDBACK_COLUMNS, simulate_traffic


def _pool(n: int = 40) -> pd.DataFrame:
    return pd.DataFrame(
        {
            ID: [f"p{i}" for i in range(n)],
            "text": [
                f"article number {i} about the budget vote and other news items" for i in range(n)
            ],
            LABEL: [i % 2 for i in range(n)],
        }
    )


def _frames_equal(a: list[Any], b: list[Any]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert (x.day, x.day_index, x.drifted) == (y.day, y.day_index, y.drifted)
        for name in ("articles", "feedback", "truth"):
            pd.testing.assert_frame_equal(getattr(x, name), getattr(y, name))


def test_simulation_is_deterministic_and_well_formed() -> None:
    drift = {"start_day_index": 2, "kinds": ["topic", "length", "label"]}
    batches = simulate_traffic(_pool(), days=4, docs_per_day=50, seed=7, drift=drift)
    _frames_equal(batches, simulate_traffic(_pool(), days=4, docs_per_day=50, seed=7, drift=drift))
    assert [b.day for b in batches] == ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]
    assert [b.drifted for b in batches] == [False, False, True, True]
    ids = pd.concat([b.articles[ID] for b in batches])
    assert ids.is_unique and ids.iloc[0] == "sim-2026-11-01-00000"
    for batch in batches:
        assert tuple(batch.articles.columns) == ARTICLE_COLUMNS and len(batch.articles) == 50
        assert tuple(batch.feedback.columns) == SIM_FEEDBACK_COLUMNS
        assert batch.articles["published_at"].str.startswith(batch.day).all()
        assert batch.truth[ID].tolist() == batch.articles[ID].tolist()
    other = simulate_traffic(_pool(), days=4, docs_per_day=50, seed=8, drift=drift)
    assert other[0].articles["text"].tolist() != batches[0].articles["text"].tolist()
    # the first days do not depend on how many days are simulated
    _frames_equal(
        batches[:2], simulate_traffic(_pool(), days=2, docs_per_day=50, seed=7, drift=drift)
    )


def test_feedback_is_delayed_and_partial() -> None:
    batches = simulate_traffic(
        _pool(), days=3, docs_per_day=50, feedback_fraction=0.6, feedback_delay_days=1
    )
    assert batches[0].feedback.empty
    for earlier, batch in zip(batches, batches[1:], strict=False):
        feedback = batch.feedback
        assert len(feedback) == 30 and set(feedback[ID]) <= set(earlier.articles[ID])
        assert feedback["received_at"].str.startswith(batch.day).all()
        truth = earlier.truth.set_index(ID)[LABEL]
        assert feedback["label"].tolist() == ["fake" if truth[i] else "real" for i in feedback[ID]]
    same_day = simulate_traffic(
        _pool(), days=1, docs_per_day=10, feedback_fraction=1.0, feedback_delay_days=0
    )
    assert set(same_day[0].feedback[ID]) == set(same_day[0].articles[ID])


def test_small_pools_are_sampled_with_replacement_without_early_repeats() -> None:
    one_day = simulate_traffic(_pool(40), days=1, docs_per_day=40)[0]
    assert one_day.articles["text"].nunique() == 40  # no repeat before every row was used
    texts = pd.concat(
        [b.articles["text"] for b in simulate_traffic(_pool(40), days=3, docs_per_day=30)]
    )
    counts = texts.value_counts()
    assert len(texts) == 90 and len(counts) == 40 and counts.max() - counts.min() <= 1


def test_drift_kinds_change_the_texts_and_labels() -> None:
    pool = _pool()
    vocab = {w for t in pool["text"] for w in t.lower().split()}
    for kind, check in [
        ("topic", lambda b: oov_rate(b.articles["text"], vocab) > 0.15),
        ("length", lambda b: max(word_count(t) for t in b.articles["text"]) <= 4),
        ("label", lambda b: b.truth[LABEL].mean() == 0.85),
    ]:
        clean, drifted = simulate_traffic(
            pool, days=2, docs_per_day=100, drift={"start_day_index": 1, "kinds": [kind]}
        )
        assert not check(clean) and check(drifted), kind
    longer = simulate_traffic(
        pool,
        days=1,
        docs_per_day=5,
        drift={"start_day_index": 0, "kinds": ["length"], "length_factor": 2.0},
    )
    assert all(word_count(t) == 22 for t in longer[0].articles["text"])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"days": 0},
        {"docs_per_day": -1},
        {"seed": -1},
        {"feedback_fraction": 1.5},
        {"start_day": "1.11.2026"},
        {"drift": {"start_day_index": 1, "kinds": ["weather"]}},
        {"drift": {"start_day_index": -1, "kinds": ["topic"]}},
        {"drift": {"start_day_index": 1, "kinds": "topic"}},
        {"drift": {"kinds": ["label"], "fake_share": 2}},
        {"drift": {"kinds": ["topic"], "speed": 3}},
    ],
)
def test_bad_parameters(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        simulate_traffic(_pool(), **kwargs)


def test_label_drift_needs_both_classes() -> None:
    assert len(simulate_traffic(_pool().assign(label=0), days=1)[0].articles) == 100
    with pytest.raises(InputError, match="no fake"):
        simulate_traffic(_pool().assign(label=0), drift={"start_day_index": 0, "kinds": ["label"]})


def _monitor_days(trained: Any, batches: list[Any]) -> list[dict[str, Any]]:
    """Score each day like fn_score (log written and read back) and monitor it like fn_monitor."""
    logs, reports = [], []
    for batch in batches:
        predictions, scores = score_texts(trained.pipeline, batch.articles["text"].tolist())
        rows = make_prediction_rows(
            batch.articles[ID].tolist(),
            batch.articles["text"].tolist(),
            predictions,
            scores,
            "synthetic-lr",
            "v1",
            f"{batch.day}T23:00:00Z",
        )
        logs.append(read_log_csv(write_log_csv(rows, "predictions"), "predictions"))
        feedback = make_feedback_rows(
            batch.feedback[ID].tolist(),
            batch.feedback["label"].tolist(),
            f"{batch.day}T12:00:00Z",
            batch.feedback["text"].tolist(),
        )
        reports.append(
            monitor_interval(
                pd.concat(logs, ignore_index=True),
                feedback,
                trained.reference,
                None,
                trained.test_f1,
                f"{batch.day}T00:00:00Z",
                f"{_next(batch.day)}T00:00:00Z",
            )
        )
    return reports


def _next(day: str) -> str:
    return (pd.Timestamp(day) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")


def test_injected_drift_is_detected_on_drifted_days_only(trained: Any) -> None:
    drift = {"start_day_index": 3, "kinds": ["topic", "length", "label"]}
    batches = simulate_traffic(trained.pool, days=5, docs_per_day=150, seed=1, drift=drift)
    reports = _monitor_days(trained, batches)
    for batch, report in zip(batches, reports, strict=True):
        if batch.drifted:
            assert report["status"] == "alert" and report["retrain_requested"], batch.day
            assert {"length_psi", "oov_increase", "prediction_mix_shift"} <= set(report["alerts"])
        else:
            assert report["alerts"] == [] and report["retrain_reasons"] == [], (
                batch.day,
                report["alerts"],
            )
            assert report["status"] in ("ok", "warn")
    assert reports[0]["performance"]["status"] == "insufficient"  # feedback arrives a day later
    assert (
        reports[1]["performance"]["n_labelled"] == 90
        and reports[1]["performance"]["status"] == "ok"
    )


@pytest.mark.parametrize(
    ("kind", "code"),
    [("topic", "oov_increase"), ("length", "length_psi"), ("label", "prediction_mix_shift")],
)
def test_each_drift_kind_raises_its_own_alert(trained: Any, kind: str, code: str) -> None:
    batches = simulate_traffic(
        trained.pool,
        days=2,
        docs_per_day=150,
        seed=2,
        drift={"start_day_index": 1, "kinds": [kind]},
    )
    clean, drifted = _monitor_days(trained, batches)
    assert clean["alerts"] == []
    assert code in drifted["alerts"]
