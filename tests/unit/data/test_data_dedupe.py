"""dedupe: exact and normalised copies, label conflicts, order independence."""

from __future__ import annotations

import pandas as pd

from fnlib.data.dedupe import dedupe, normalised_text


def _frame(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "text", "label"]).assign(source="test")


def test_exact_duplicates_keep_smallest_id() -> None:
    df = _frame([("b", "Same words here.", 1), ("a", "Same words here.", 1), ("c", "Other.", 0)])
    out, report = dedupe(df)
    assert out["id"].tolist() == ["a", "c"]  # input order kept, smallest id of the copies kept
    assert report["exact_duplicates"] == 1 and report["near_duplicates"] == 0
    assert report["examples"]["exact"] == [{"dropped": "b", "kept": "a"}]
    assert report["rows_in"] == 3 and report["rows_out"] == 2 and report["rows_dropped"] == 1


def test_normalised_duplicates() -> None:
    df = _frame(
        [
            ("a", "Breaking: the Mayor said \u201cno\u201d, again!", 1),
            ("b", "breaking  the mayor said no again", 1),
            ("c", 'BREAKING -- THE MAYOR\nSAID "NO" AGAIN...', 1),
            ("d", "breaking: the mayor said yes, again!", 1),
        ]
    )
    out, report = dedupe(df)
    assert out["id"].tolist() == ["a", "d"]
    assert report["near_duplicates"] == 2 and report["exact_duplicates"] == 0
    assert normalised_text(pd.Series(["A, b\tC!"])).tolist() == ["abc"]


def test_label_conflicts_drop_every_copy() -> None:
    df = _frame(
        [
            ("a", "Contested claim.", 1),
            ("b", "contested claim", 0),
            ("c", "Contested claim.", 1),
            ("d", "Plain fact.", 0),
        ]
    )
    out, report = dedupe(df)
    assert out["id"].tolist() == ["d"]
    assert report["label_conflicts"] == {"groups": 1, "rows": 3, "examples": [["a", "b", "c"]]}
    assert report["exact_duplicates"] == 0  # conflicts are counted separately


def test_result_does_not_depend_on_row_order() -> None:
    rows = [
        ("x2", "Copy.", 0),
        ("x1", "copy", 0),
        ("x3", "Unique one.", 1),
        ("x0", "Unique two.", 1),
    ]
    out1, rep1 = dedupe(_frame(rows))
    out2, rep2 = dedupe(_frame(rows[::-1]))
    assert sorted(out1["id"]) == sorted(out2["id"]) == ["x0", "x1", "x3"]
    assert rep1 == rep2


def test_punctuation_only_texts_are_not_lumped_together() -> None:
    df = _frame([("a", "!!!", 1), ("b", "???", 0), ("c", "!!!", 1)])
    out, report = dedupe(df)
    assert out["id"].tolist() == ["a", "b"]
    assert report["label_conflicts"]["rows"] == 0


def test_no_duplicates_is_a_no_op() -> None:
    df = _frame([("a", "One.", 0), ("b", "Two.", 1)])
    out, report = dedupe(df)
    pd.testing.assert_frame_equal(out, df)
    assert report["rows_dropped"] == 0
