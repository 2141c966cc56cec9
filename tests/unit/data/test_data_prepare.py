"""prepare_corpus end to end, and the deterministic split CSV format."""

from __future__ import annotations

import json
from collections.abc import Callable

import pandas as pd
import pytest

from fnlib.data.errors import CorpusError
from fnlib.data.prepare import PrepareOptions, prepare_corpus, read_split_csv, write_split_csv
from fnlib.data.schema import SPLIT_COLUMNS
from fnlib.data.synthetic import generate
from fnlib.data.validate import ValidationLimits
from fnlib.errors import InputError

Factory = Callable[..., pd.DataFrame]


def test_prepare_synthetic_report_and_splits() -> None:
    prepared = prepare_corpus(generate(600, seed=5), "synthetic")
    report = json.loads(json.dumps(prepared.report))  # JSON-serialisable
    assert report["synthetic"] is True and "SYNTHETIC" in report["note"]
    assert report["input"]["rows"] == 600 and report["input"]["class_counts"]["fake"] == 300
    assert {"validation", "scrub", "blank_after_scrub", "dedupe", "split"} <= set(report)
    assert report["validation"]["raw"]["rows"] == 600
    assert report["scrub"]["rules"]["dateline"]["rows_changed"] > 200
    split = report["split"]
    assert split["train"]["rows"] == len(prepared.train) and split["test"]["rows"] == len(
        prepared.test
    )
    assert abs(split["train"]["fake_ratio"] - split["test"]["fake_ratio"]) < 0.02
    dropped = report["blank_after_scrub"]["rows_dropped"] + report["dedupe"]["rows_dropped"]
    assert len(prepared.train) + len(prepared.test) == 600 - dropped
    for frame in (prepared.train, prepared.test):
        assert tuple(frame.columns) == SPLIT_COLUMNS
        assert not frame["text"].str.contains("(Reuters)", regex=False).any()
        assert (frame["text"].str.strip() != "").all()
    assert set(prepared.train["text"]).isdisjoint(prepared.test["text"])


def test_prepare_is_deterministic_and_order_independent() -> None:
    df = generate(300, seed=2)
    first = prepare_corpus(df, "synthetic")
    second = prepare_corpus(df.sample(frac=1, random_state=1), "synthetic")
    pd.testing.assert_frame_equal(first.train, second.train)
    assert first.report == second.report
    assert write_split_csv(first.test) == write_split_csv(second.test)


def test_blank_after_scrub_rows_are_dropped_and_listed(corpus_factory: Factory) -> None:
    df = corpus_factory(12)
    df.loc[0, "text"] = "https://example.com/just-a-link"
    prepared = prepare_corpus(df, "test")
    assert prepared.report["blank_after_scrub"] == {
        "rows_dropped": 1,
        "example_ids": [df.loc[0, "id"]],
    }
    assert df.loc[0, "id"] not in set(prepared.train["id"]) | set(prepared.test["id"])


def test_blank_raw_text_rejects_the_whole_input(corpus_factory: Factory) -> None:
    df = corpus_factory(12)
    df.loc[3, "text"] = "   "
    with pytest.raises(CorpusError) as info:
        prepare_corpus(df, "test")
    assert [(p.check, p.rows) for p in info.value.problems] == [("empty_text", (3,))]


def test_too_few_rows_after_dedupe_is_rejected(corpus_factory: Factory) -> None:
    df = corpus_factory(12)
    fake = df["label"] == 1
    df.loc[fake, "text"] = "The same fake story."  # all fake rows collapse to one
    with pytest.raises(CorpusError, match=r"(?s)after scrub and dedupe.*1 fake rows"):
        prepare_corpus(df, "test")


def test_options_can_skip_scrub_and_dedupe(corpus_factory: Factory) -> None:
    df = corpus_factory(12)
    df.loc[0, "text"] = "OSLO (Reuters) - " + df.loc[0, "text"]
    options = PrepareOptions(
        scrub=False,
        dedupe=False,
        test_size=0.5,
        seed=1,
        limits=ValidationLimits(min_rows_per_class=5),
    )
    prepared = prepare_corpus(df, "test", options)
    texts = pd.concat([prepared.train, prepared.test])["text"]
    assert texts.str.contains("(Reuters)", regex=False).sum() == 1
    assert prepared.report["scrub"] == {"skipped": True} and len(prepared.test) == 12


def _tricky_split() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["a", "b,1", 'c"q', "d", "e", "f", "g"],
            "text": [
                "NA",
                "commas, and more, commas",
                'he said "hi"\nnew line',
                "cr\r\nlf\rz",
                "null",
                "  spaced  ",
                "caf\u00e9 \u2014 \U0001f600",
            ],
            "label": [0, 1, 0, 1, 0, 1, 0],
        }
    )


def test_split_csv_round_trip_is_exact() -> None:
    df = _tricky_split()
    data = write_split_csv(df)
    back = read_split_csv(data)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    assert back["label"].dtype == "int64"
    assert back["text"].tolist() == df["text"].tolist()
    assert data.startswith(b'"id","text","label"\n"a","NA",0\n')
    assert write_split_csv(back) == data  # same frame, same bytes


def test_split_csv_writer_is_strict() -> None:
    df = _tricky_split()
    with pytest.raises(InputError, match="missing column"):
        write_split_csv(df.drop(columns=["label"]))
    bad = df.astype({"text": object})
    bad.loc[2, "text"] = None
    with pytest.raises(InputError, match=r"text is not a string in rows \[2\]"):
        write_split_csv(bad)
    extra = df.assign(source="x")
    assert write_split_csv(extra) == write_split_csv(df)  # only id, text, label are written


def test_split_csv_reader_is_strict() -> None:
    with pytest.raises(CorpusError, match="non-UTF-8"):
        read_split_csv(b'"id","text","label"\n"a","caf\xe9",0\n', name="s3://b/train.csv")
    with pytest.raises(CorpusError, match="columns must be exactly"):
        read_split_csv(b'"id","label","text"\n"a",0,"x"\n')
    with pytest.raises(CorpusError) as info:
        read_split_csv(b'"id","text","label"\n"a","x",0\n"b","y",2\n')
    assert info.value.problems[0].rows == (1,)
    empty = read_split_csv(write_split_csv(_tricky_split().iloc[:0]))
    assert list(empty.columns) == list(SPLIT_COLUMNS) and len(empty) == 0
