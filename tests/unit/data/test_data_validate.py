"""validate_corpus: a summary for good input, every problem listed for bad input."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from fnlib.data.errors import CorpusError
from fnlib.data.validate import ValidationLimits, validate_corpus

Factory = Callable[..., pd.DataFrame]


def _problems(df: pd.DataFrame, limits: ValidationLimits | None = None) -> dict[str, tuple]:
    with pytest.raises(CorpusError) as info:
        validate_corpus(df, "test", limits)
    return {p.check: p.rows for p in info.value.problems}


def test_valid_corpus_summary(corpus_factory: Factory) -> None:
    df = corpus_factory(5)
    df["meta_subject"] = "x"
    summary = validate_corpus(df, "test")
    assert summary["rows"] == 10
    assert summary["class_counts"] == {"real": 5, "fake": 5}
    assert summary["meta_columns"] == ["meta_subject"]
    assert summary["text_chars"]["min"] > 0


def test_missing_core_columns(corpus_factory: Factory) -> None:
    df = corpus_factory(3).drop(columns=["label", "source"])
    with pytest.raises(CorpusError, match=r"missing column\(s\) label, source"):
        validate_corpus(df, "test")


def test_bad_label_values_name_rows(corpus_factory: Factory) -> None:
    df = corpus_factory(3).astype({"label": object})
    df.loc[1, "label"] = "1"
    df.loc[4, "label"] = 7
    df.loc[5, "label"] = None
    assert _problems(df)["label_value"] == (1, 4, 5)


def test_empty_whitespace_and_non_string_text(corpus_factory: Factory) -> None:
    df = corpus_factory(4).astype({"text": object})
    df.loc[0, "text"] = ""
    df.loc[2, "text"] = " \n\t "
    df.loc[5, "text"] = 42
    df.loc[6, "text"] = np.nan
    problems = _problems(df)
    assert problems["empty_text"] == (0, 2)
    assert problems["text_type"] == (5, 6)


def test_too_long_text(corpus_factory: Factory) -> None:
    df = corpus_factory(3)
    df.loc[3, "text"] = "x" * 101
    assert _problems(df, ValidationLimits(max_text_chars=100))["text_too_long"] == (3,)


def test_duplicate_and_blank_ids(corpus_factory: Factory) -> None:
    df = corpus_factory(3)
    df.loc[4, "id"] = df.loc[1, "id"]
    df.loc[2, "id"] = " "
    problems = _problems(df)
    assert problems["duplicate_id"] == (1, 4)
    assert problems["bad_id"] == (2,)


def test_class_counts_and_sizes(corpus_factory: Factory) -> None:
    df = corpus_factory(12)
    unbalanced = pd.concat([df[df["label"] == 0], df[df["label"] == 1].head(3)])
    with pytest.raises(CorpusError, match="3 fake rows; at least 10 per class"):
        validate_corpus(unbalanced, "test", ValidationLimits(min_rows_per_class=10))
    only_real = df[df["label"] == 0]
    assert "single_class" in _problems(only_real)
    assert "too_few_rows" in _problems(
        df.head(3), ValidationLimits(min_rows=4, min_rows_per_class=1)
    )
    assert "too_many_rows" in _problems(df, ValidationLimits(max_rows=10))


def test_all_problems_are_reported_together(corpus_factory: Factory) -> None:
    df = corpus_factory(3).astype({"label": object})
    df.loc[0, "text"] = ""
    df.loc[1, "label"] = "fake"
    df.loc[2, "id"] = df.loc[3, "id"]
    with pytest.raises(CorpusError) as info:
        validate_corpus(df, "mydata", ValidationLimits(min_rows_per_class=3))
    checks = {p.check for p in info.value.problems}
    assert {"empty_text", "label_value", "duplicate_id", "too_few_per_class"} <= checks
    assert "mydata: input rejected, nothing was uploaded" in str(info.value)
