"""The feedback quality gate: every rule, and nothing is ever dropped silently."""

from __future__ import annotations

import pandas as pd
import pytest

from fnlib.data.schema import SPLIT_COLUMNS
from fnlib.errors import InputError
from fnlib.monitoring.feedback import (
    FeedbackLimits,
    attach_texts,
    gate_feedback,
    normalise_label,
    quarantine_summary,
    vocabulary_coverage,
)
from fnlib.monitoring.logs import make_feedback_rows, make_prediction_rows

VOCAB = {"senate", "vote", "budget", "shocking", "hoax", "report", "the", "on", "new", "secret"}
GOOD = "the senate vote on the new budget report"


def _frame(rows: list[tuple[object, object, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "label", "text"]).assign(
        received_at="2026-11-02T08:00:00Z"
    )


def _gate(
    rows: list[tuple[object, object, object]], **kwargs: object
) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = _frame(rows)
    accepted, quarantined = gate_feedback(frame, VOCAB, **kwargs)  # type: ignore[arg-type]
    assert len(accepted) + len(quarantined) == len(frame)
    return accepted, quarantined


def _reasons(quarantined: pd.DataFrame) -> dict[str, str]:
    return dict(zip(quarantined["id"].astype(str), quarantined["reason"], strict=True))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("fake", 1),
        (" Real ", 0),
        ("FAKE", 1),
        ("1", 1),
        ("0", 0),
        (1, 1),
        (0, 0),
        ("true", None),
        ("", None),
        (2, None),
        (True, None),
        (None, None),
        (1.0, None),
        ("fake news", None),
    ],
)
def test_normalise_label(value: object, expected: int | None) -> None:
    assert normalise_label(value) == expected


def test_clean_feedback_is_accepted_in_split_schema() -> None:
    accepted, quarantined = _gate(
        [
            ("a", "fake", "shocking secret hoax on the senate"),
            ("b", 0, GOOD),
            ("c", "1", GOOD + " again"),
        ]
    )
    assert tuple(accepted.columns) == SPLIT_COLUMNS
    assert accepted["label"].tolist() == [1, 0, 1] and accepted["label"].dtype == "int64"
    assert accepted["id"].tolist() == ["a", "b", "c"]
    assert quarantined.empty and "reason" in quarantined.columns


def test_each_rule_quarantines_with_its_reason() -> None:
    rows = [
        ("ok", "real", GOOD),
        ("", "real", GOOD),
        ("lab", "satire", GOOD),
        ("empty", "fake", "   \n "),
        ("short", "fake", "shocking hoax"),
        ("long", "fake", GOOD + " x" * 60),
        ("garbage", "fake", "lorem ipsum dolor sit amet consectetur adipiscing elit"),
        ("foreign", "real", "der Senat stimmt über den neuen Haushalt ab"),
        ("train-1", "real", GOOD),
    ]
    accepted, quarantined = _gate(rows, limits=FeedbackLimits(max_chars=100), known_ids={"train-1"})
    assert accepted["id"].tolist() == ["ok"]
    reasons = _reasons(quarantined)
    assert reasons[""].startswith("missing id")
    assert reasons["lab"] == "invalid label: 'satire' is not fake/real/1/0"
    assert reasons["empty"].startswith("empty text")
    assert reasons["short"] == "too short: 2 word(s) < 3"
    assert reasons["long"].startswith("too long: 160 characters > 100")
    assert reasons["garbage"].startswith("low vocabulary coverage: 0.00 < 0.2")
    assert reasons["foreign"].startswith("low vocabulary coverage")
    assert reasons["train-1"].startswith("already in training data")
    # quarantined rows keep all their columns
    assert list(quarantined.columns) == ["id", "label", "text", "received_at", "reason"]


def test_several_reasons_are_joined() -> None:
    _, quarantined = _gate([("x", "maybe", "zz")])
    reason = quarantined["reason"][0]
    assert reason.split("; ")[0].startswith("invalid label")
    assert "too short" in reason and "low vocabulary coverage" in reason
    assert quarantine_summary(quarantined) == {
        "invalid label": 1,
        "low vocabulary coverage": 1,
        "too short": 1,
    }


def test_duplicates_and_conflicts() -> None:
    rows = [
        ("dup", "fake", GOOD),
        ("conflict", "fake", GOOD),
        ("dup", "1", GOOD),  # same label spelled differently, same text: an exact repeat
        ("conflict", "real", GOOD),
        ("dup", "FAKE", GOOD),
        ("texts", "real", GOOD),
        ("texts", "real", GOOD + " budget"),
    ]
    accepted, quarantined = _gate(rows)
    assert accepted["id"].tolist() == ["dup"] and accepted["label"].tolist() == [1]
    assert quarantined["id"].tolist() == ["conflict", "dup", "conflict", "dup", "texts", "texts"]
    by_row = quarantined["reason"].tolist()
    assert by_row[0].startswith("conflicting labels") and by_row[2].startswith("conflicting labels")
    assert by_row[1] == by_row[3] == "duplicate: repeats row 0"
    assert by_row[4].startswith("conflicting texts") and by_row[5].startswith("conflicting texts")
    assert quarantine_summary(quarantined) == {
        "conflicting labels": 2,
        "conflicting texts": 2,
        "duplicate": 2,
    }


def test_invariant_on_a_messy_log_and_input_checks() -> None:
    rows = [
        (f"id{i % 7}", ["fake", "real", "?", 1][i % 4], GOOD if i % 3 else "x") for i in range(40)
    ]
    _gate(rows)  # asserts the invariant
    with pytest.raises(InputError, match="label"):
        gate_feedback(pd.DataFrame({"id": ["a"], "text": ["t"]}), VOCAB)
    with pytest.raises(InputError, match="vocabulary"):
        gate_feedback(_frame([("a", "fake", GOOD)]), [])
    with pytest.raises(InputError):
        FeedbackLimits(min_vocab_coverage=1.5)
    empty_accepted, empty_quarantined = gate_feedback(_frame([]), VOCAB)
    assert empty_accepted.empty and empty_quarantined.empty


def test_gate_accepts_a_feedback_log_frame() -> None:
    log = make_feedback_rows(["a", "b"], ["fake", "nope"], "2026-11-02T08:00:00Z", [GOOD, GOOD])
    accepted, quarantined = gate_feedback(log, VOCAB)
    assert accepted["id"].tolist() == ["a"] and quarantined["id"].tolist() == ["b"]
    assert {"received_at", "day", "reason"} <= set(quarantined.columns)


def test_vocabulary_coverage() -> None:
    assert vocabulary_coverage("The senate, the VOTE and Zorg", frozenset(VOCAB)) == pytest.approx(
        4 / 6
    )
    assert vocabulary_coverage("!!! ...", frozenset(VOCAB)) == 0.0


def test_attach_texts_fills_blank_feedback_from_the_prediction_log() -> None:
    predictions = make_prediction_rows(
        ["a", "b", "c"],
        [GOOD, "other text here", "kept"],
        [1, 0, 1],
        [0.9, 0.2, 0.8],
        "m",
        "v",
        "2026-11-01T00:00:00Z",
    )
    hashed = make_prediction_rows(
        ["d"], ["hidden"], [0], [0.1], "m", "v", "2026-11-01T00:00:00Z", keep_text=False
    )
    feedback = make_feedback_rows(
        ["a", "b", "d", "x"],
        ["fake", "real", "real", "fake"],
        "2026-11-02T00:00:00Z",
        ["", "mine", "", ""],
    )
    filled = attach_texts(feedback, pd.concat([predictions, hashed], ignore_index=True))
    assert filled["text"].tolist() == [GOOD, "mine", "", ""]
