"""The loaders and prepare_corpus on the real LIAR and FakeNewsNet files in ``../shared/data``.

The data is never copied into the project; these tests skip when the folder is absent.
Expected row counts come from ``../shared/data/README.md``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fnlib.data.dedupe import normalised_text
from fnlib.data.prepare import PreparedCorpus, prepare_corpus
from fnlib.data.sources import load_fakenewsnet, load_liar

pytestmark = pytest.mark.realdata

PROJECT_ROOT = Path(__file__).resolve().parents[3]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


def _require(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real data set {name!r} not found at {path} (needs <project>/../shared/data)")
    return path


@pytest.fixture(scope="module")
def liar() -> pd.DataFrame:
    return load_liar(_require("liar"))


@pytest.fixture(scope="module")
def fakenewsnet() -> pd.DataFrame:
    return load_fakenewsnet(_require("fakenewsnet"))


def _assert_no_leak_between_splits(prepared: PreparedCorpus) -> None:
    train, test = prepared.train, prepared.test
    assert set(train["id"]).isdisjoint(test["id"])
    assert set(train["text"]).isdisjoint(test["text"])
    assert set(normalised_text(train["text"])).isdisjoint(normalised_text(test["text"]))


def test_liar_row_counts(liar: pd.DataFrame) -> None:
    assert liar["meta_split"].value_counts().to_dict() == {
        "train": 10269,
        "valid": 1284,
        "test": 1283,
    }
    assert liar["id"].is_unique and liar["id"].str.match(r"^liar:\d+\.json$").all()
    assert set(liar["label"]) == {0, 1}


def test_liar_prepares(liar: pd.DataFrame) -> None:
    prepared = prepare_corpus(liar, "liar")
    report = prepared.report
    assert report["input"]["rows"] == 12836
    assert "meta_speaker" in report["scrub"]["metadata"]["dropped"]
    assert report["dedupe"]["rows_dropped"] > 0  # LIAR repeats some statements
    near = report["near_duplicates_across_split"]["train_rows_dropped"]
    assert len(prepared.train) + len(prepared.test) + near == report["validation"]["prepared"]["rows"]
    assert 0.18 < len(prepared.test) / report["validation"]["prepared"]["rows"] < 0.22
    _assert_no_leak_between_splits(prepared)


def test_fakenewsnet_row_counts(fakenewsnet: pd.DataFrame) -> None:
    counts = fakenewsnet.groupby(["meta_collection", "label"]).size().to_dict()
    assert counts == {
        ("gossipcop", 0): 2732,
        ("gossipcop", 1): 2732,
        ("politifact", 0): 157,
        ("politifact", 1): 158,
    }
    assert fakenewsnet["id"].is_unique


def test_fakenewsnet_prepares_without_urls(fakenewsnet: pd.DataFrame) -> None:
    prepared = prepare_corpus(fakenewsnet, "fakenewsnet")
    rows = pd.concat([prepared.train, prepared.test]).merge(
        fakenewsnet[["id", "meta_url"]], on="id"
    )
    assert len(rows) == len(prepared.train) + len(prepared.test)
    assert not rows["text"].str.contains(r"https?://|www\.", regex=True).any()
    assert not rows["text"].str.contains(r"\b\w+\.(?:com|org|net)\b", regex=True).any()
    assert not any(
        url and url in text for url, text in zip(rows["meta_url"], rows["text"], strict=True)
    )
    assert prepared.report["dedupe"]["label_conflicts"]["rows"] >= 2  # one story is in both files
    assert prepared.report["blank_after_scrub"]["rows_dropped"] >= 1  # titles that were a domain
    _assert_no_leak_between_splits(prepared)
