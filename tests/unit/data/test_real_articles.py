"""The article loaders and the predefined split on the real sets in ``../shared/data``.

The data is never copied into the project; these tests skip when the folder is absent.
Expected counts come from ``../shared/data/README.md``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fnlib.data.articles import load_folders, load_json
from fnlib.data.prepare import PrepareOptions, prepare_corpus
from fnlib.data.sources import load_liar

pytestmark = pytest.mark.realdata

SHARED_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"


def _require(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real data set {name!r} not found at {path} (needs <project>/../shared/data)")
    return path


@pytest.mark.parametrize(("folder", "per_class"), [("fakeNewsDataset", 240), ("celebrityDataset", 250)])
def test_perez_rosas_folders(folder: str, per_class: int) -> None:
    corpus = load_folders(_require("perez_rosas") / folder)
    assert corpus.groupby("meta_class_folder")["label"].agg(["first", "size"]).to_dict() == {
        "first": {"fake": 1, "legit": 0}, "size": {"fake": per_class, "legit": per_class}}
    assert corpus["id"].is_unique and corpus["text"].str.len().min() > 50


@pytest.fixture(scope="module")
def articles() -> pd.DataFrame:
    return load_json(_require("fakenewsnet_articles"))


def test_fakenewsnet_articles_counts_and_metadata(articles: pd.DataFrame) -> None:
    site = articles["id"].str.split("/").str[0].str.removeprefix("json:")
    assert articles.groupby([site, "label"]).size().to_dict() == {
        ("BuzzFeed", 0): 91, ("BuzzFeed", 1): 91, ("PolitiFact", 0): 120, ("PolitiFact", 1): 120}
    assert (articles["meta_url"] != "").sum() > 350


def test_fakenewsnet_articles_origin_scrubbed_and_flagged(articles: pd.DataFrame) -> None:
    prepared = prepare_corpus(articles, "json", PrepareOptions())
    scrub = prepared.report["scrub"]
    assert scrub["rules"]["origin"]["rows_changed"] > 50
    # the publisher is 87% accurate on 75% of the articles: flagged as class-predictive
    assert {"meta_url", "meta_source", "meta_site_name"} <= set(scrub["metadata"]["class_predictive"])
    texts = pd.concat([prepared.train, prepared.test]).merge(
        articles[["id", "meta_site_name"]], on="id")
    named = texts[texts["meta_site_name"].str.len() >= 3]
    assert not any(name.casefold() in text.casefold()
                   for name, text in zip(named["meta_site_name"], named["text"], strict=True)
                   if f" {name.casefold()} " in f" {text.casefold()} ")


def test_liar_official_test_split_survives(tmp_path: Path) -> None:
    liar = load_liar(_require("liar"))
    prepared = prepare_corpus(liar, "liar", PrepareOptions(split="predefined"))
    published = set(liar.loc[liar["meta_split"] == "test", "id"])
    blank = set(prepared.report["blank_after_scrub"]["example_ids"])
    assert set(prepared.test["id"]) == published - blank
    assert len(prepared.test) >= 1280
    cross = prepared.report["dedupe"]["cross_split"]
    assert cross["train_rows_dropped"] > 0  # LIAR repeats statements across its files
    near = prepared.report["near_duplicates_across_split"]
    assert near["train_rows_dropped"] >= 0 and near["threshold"] == 0.8
    assert set(prepared.train["id"]).isdisjoint(published)
