"""Prediction/feedback log schemas: deterministic CSV and validation naming rows and reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from fnlib.catalog import partition_key
from fnlib.data.errors import CorpusError
from fnlib.errors import InputError
from fnlib.monitoring.logs import (
    FEEDBACK_COLUMNS,
    PREDICTION_COLUMNS,
    interval_days,
    make_feedback_rows,
    make_prediction_rows,
    read_log_csv,
    text_sha256,
    to_utc_iso,
    write_log_csv,
)

TEXTS = ["Plain text", 'with "quotes", commas\nand newlines', "ünïcödé ✓", ""]


def _rows(**overrides: object) -> pd.DataFrame:
    args: dict[str, object] = {
        "ids": ["a", "b", "c", "d"],
        "texts": TEXTS,
        "predictions": np.array([1, 0, 1, 0]),
        "scores": np.array([0.9, 0.1, 0.30000000000000004, 1e-05]),
        "model_id": "m-1",
        "model_version": "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
        "scored_at": datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
    }
    args.update(overrides)
    return make_prediction_rows(**args)  # type: ignore[arg-type]


def _problem_checks(exc: pytest.ExceptionInfo[CorpusError]) -> dict[str, tuple[int, ...]]:
    return {p.check: p.rows for p in exc.value.problems}


def test_prediction_rows_schema_and_round_trip() -> None:
    rows = _rows()
    assert tuple(rows.columns) == PREDICTION_COLUMNS
    assert rows["text_sha256"].tolist() == [text_sha256(t) for t in TEXTS]
    assert rows["scored_at"].unique().tolist() == ["2026-11-01T06:30:00Z"]
    assert rows["day"].unique().tolist() == ["2026-11-01"]
    assert rows["prediction"].dtype == "int64" and rows["score"].dtype == "float64"
    data = write_log_csv(rows, "predictions")
    assert data == write_log_csv(rows.copy(), "predictions")
    back = read_log_csv(data, "predictions", "s3://b/predictions/x.csv")
    pd.testing.assert_frame_equal(back, rows)
    assert write_log_csv(back, "predictions") == data
    assert data.startswith(b'"id","text_sha256","text","prediction","score"')


def test_keep_text_false_keeps_only_the_hash() -> None:
    rows = _rows(keep_text=False)
    assert rows["text"].tolist() == [""] * 4
    assert rows["text_sha256"].tolist() == [text_sha256(t) for t in TEXTS]
    pd.testing.assert_frame_equal(
        read_log_csv(write_log_csv(rows, "predictions"), "predictions"), rows
    )


def test_scored_at_offsets_are_normalised_and_day_can_be_set() -> None:
    local = datetime(2026, 11, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    rows = _rows(scored_at=local)
    assert rows["scored_at"][0] == "2026-11-02T04:30:00Z" and rows["day"][0] == "2026-11-02"
    assert _rows(scored_at="2026-11-05T01:00:00Z", day="2026-11-01")["day"][0] == "2026-11-01"
    assert to_utc_iso("2026-11-01T06:00:00.250+00:00") == "2026-11-01T06:00:00.250000Z"
    with pytest.raises(InputError, match="time zone"):
        _rows(scored_at="2026-11-01T06:00:00")
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        _rows(day="2026-13-01")


def test_bad_prediction_and_score_name_rows() -> None:
    with pytest.raises(CorpusError) as exc:
        _rows(predictions=np.array([1, 2, 0, 1]), scores=np.array([0.5, 1.5, -0.1, np.nan]))
    checks = _problem_checks(exc)
    assert checks["prediction"] == (1,)
    assert checks["score"] == (1, 2, 3)
    assert "rows 1, 2, 3" in str(exc.value)


def test_mismatched_lengths_and_blank_fields() -> None:
    with pytest.raises(InputError, match="equal lengths"):
        _rows(ids=["a"])
    with pytest.raises(CorpusError) as exc:
        _rows(ids=["a", "a", " ", "d"], model_version="")
    checks = _problem_checks(exc)
    assert checks["id_duplicate"] == (0, 1) and checks["id"] == (2,)
    assert checks["model_version"] == (0, 1, 2, 3)


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode()


def test_read_rejects_bad_rows_with_reasons() -> None:
    frame = _rows().astype({"prediction": object, "score": object})
    frame.loc[0, "prediction"] = "yes"
    frame.loc[1, "score"] = "1.2"
    frame.loc[2, "day"] = "2026-11-1"
    frame.loc[3, "scored_at"] = "yesterday"
    frame.loc[0, "text"] = "tampered text"
    with pytest.raises(CorpusError) as exc:
        read_log_csv(
            _csv(frame), "predictions", "s3://bucket/predictions/day=2026-11-01/part-x.csv"
        )
    checks = _problem_checks(exc)
    assert checks == {
        "prediction": (0,),
        "score": (1,),
        "day": (2,),
        "timestamp": (3,),
        "text_sha256_mismatch": (0,),
    }
    assert "s3://bucket/predictions/day=2026-11-01/part-x.csv" in str(exc.value)


def test_read_rejects_missing_and_extra_columns() -> None:
    frame = _rows()
    with pytest.raises(CorpusError, match="missing column"):
        read_log_csv(_csv(frame.drop(columns="score")), "predictions")
    with pytest.raises(CorpusError, match="unexpected"):
        read_log_csv(_csv(frame.assign(extra=1)), "predictions")
    with pytest.raises(CorpusError, match="non-UTF-8"):
        read_log_csv(b'"id"\n"\xff"\n', "predictions")
    with pytest.raises(InputError, match="log kind"):
        read_log_csv(_csv(frame), "metrics")


def test_feedback_rows_keep_labels_verbatim() -> None:
    rows = make_feedback_rows(
        ["x", "y", "z", "w"],
        [1, "FAKE ", "maybe", None],
        "2026-11-02T09:00:00+01:00",
        ["t1", "", "t3", "t4"],
    )
    assert tuple(rows.columns) == FEEDBACK_COLUMNS
    assert rows["label"].tolist() == ["1", "FAKE ", "maybe", ""]
    assert rows["received_at"][0] == "2026-11-02T08:00:00Z" and rows["day"][0] == "2026-11-02"
    data = write_log_csv(rows, "feedback")
    pd.testing.assert_frame_equal(read_log_csv(data, "feedback"), rows)
    with pytest.raises(CorpusError, match="day"):
        write_log_csv(rows.assign(day="02/11/2026"), "feedback")


def test_empty_log_round_trips() -> None:
    rows = _rows(ids=[], texts=[], predictions=np.array([], dtype=int), scores=np.array([]))
    back = read_log_csv(write_log_csv(rows, "predictions"), "predictions")
    assert back.empty and tuple(back.columns) == PREDICTION_COLUMNS


def test_partition_key() -> None:
    assert (
        partition_key("predictions", "2026-11-01", "run-42")
        == "predictions/day=2026-11-01/part-run-42.csv"
    )
    assert partition_key("feedback", "2026-02-28", "0") == "feedback/day=2026-02-28/part-0.csv"


@pytest.mark.parametrize(
    ("kind", "day", "part"),
    [
        ("predictions", "2026-11-01", "../../models/champion"),
        ("predictions", "2026-11-01", "a/b"),
        ("predictions", "2026-11-01", "x.csv"),
        ("predictions", "2026-11-01", ""),
        ("predictions", "2026-11-01", "Run"),
        ("predictions", "2026-02-30", "a"),
        ("predictions", "../2026-11-01", "a"),
        ("models", "2026-11-01", "a"),
    ],
)
def test_partition_key_rejects_traversal_and_bad_days(kind: str, day: str, part: str) -> None:
    with pytest.raises(InputError):
        partition_key(kind, day, part)


def test_interval_days() -> None:
    assert interval_days("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z") == ["2026-11-01"]
    assert interval_days("2026-10-31T12:00:00Z", "2026-11-02T00:00:01Z") == [
        "2026-10-31",
        "2026-11-01",
        "2026-11-02",
    ]
    with pytest.raises(InputError, match="after"):
        interval_days("2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z")
