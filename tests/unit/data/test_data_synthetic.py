"""The synthetic generator: seeded, labelled as synthetic, valid, noisy, not trivially separable."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline

from fnlib.data import synthetic
from fnlib.data.dedupe import dedupe
from fnlib.data.schema import CORE_COLUMNS
from fnlib.data.scrub import scrub
from fnlib.data.split import split_train_test
from fnlib.data.validate import ValidationLimits, validate_corpus
from fnlib.errors import InputError


@pytest.fixture(scope="module")
def corpus() -> pd.DataFrame:
    return synthetic.generate(2000, seed=0)


def test_deterministic_per_seed(corpus: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(synthetic.generate(2000, seed=0), corpus)
    other = synthetic.generate(2000, seed=1)
    assert (other["text"] != corpus["text"]).mean() > 0.99


def test_schema_and_synthetic_labelling(corpus: pd.DataFrame) -> None:
    assert list(corpus.columns[:4]) == list(CORE_COLUMNS)
    assert corpus["id"].tolist()[:3] == ["synthetic:0", "synthetic:1", "synthetic:2"]
    assert set(corpus["source"]) == {"synthetic"}
    assert corpus["meta_generator"].str.contains("SYNTHETIC").all()
    assert "SYNTHETIC" in (synthetic.__doc__ or "")
    assert corpus["label"].sum() == 1000
    assert synthetic.generate(100, seed=0, fake_ratio=0.3)["label"].sum() == 30
    words = corpus["text"].str.split().str.len()
    assert words.median() > 150 and words.max() <= 650


def test_passes_validation(corpus: pd.DataFrame) -> None:
    summary = validate_corpus(corpus, "synthetic", ValidationLimits(min_rows_per_class=10))
    assert summary["class_counts"] == {"real": 1000, "fake": 1000}


def test_has_the_traps_of_real_data(corpus: pd.DataFrame) -> None:
    real, fake = corpus[corpus["label"] == 0], corpus[corpus["label"] == 1]
    assert real["text"].str.contains("(Reuters) -", regex=False).mean() > 0.8
    assert not fake["text"].str.contains("(Reuters)", regex=False).any()
    assert fake["text"].str.contains("21st Century Wire says", regex=False).mean() > 0.05
    assert fake["text"].str.contains("Featured image via", regex=False).mean() > 0.15
    assert corpus["text"].str.contains("https://", regex=False).any()
    assert corpus["text"].str.contains(r"&amp;|<br/>|<p>|&#8217;|&nbsp;|<em>|&quot;").any()
    assert corpus["text"].duplicated().sum() >= 5  # exact copies
    assert (~corpus["text"].str.contains("\n\n", regex=False)).sum() >= 3  # empty bodies
    assert set(real["meta_subject"]).isdisjoint(fake["meta_subject"])  # like ISOT's subject


def test_scrub_and_dedupe_find_the_planted_problems(corpus: pd.DataFrame) -> None:
    scrubbed, report = scrub(corpus)
    assert report["rules"]["dateline"]["rows_changed"] > 800
    assert report["blank_after_scrub"] >= 1
    assert "meta_subject" in report["metadata"]["class_identifying"]
    _, dedupe_report = dedupe(scrubbed[scrubbed["text"] != ""])
    assert dedupe_report["exact_duplicates"] >= 5 and dedupe_report["near_duplicates"] >= 5


def test_not_trivially_separable_after_scrub(corpus: pd.DataFrame) -> None:
    scrubbed, _ = scrub(corpus)
    scrubbed, _ = dedupe(scrubbed[scrubbed["text"] != ""])
    train, test = split_train_test(scrubbed, test_size=0.25, seed=0)
    model = make_pipeline(CountVectorizer(), MultinomialNB()).fit(train["text"], train["label"])
    accuracy = model.score(test["text"], test["label"])
    assert 0.75 <= accuracy <= 0.99


@pytest.mark.parametrize(
    "kwargs",
    [{"n_docs": 0}, {"n_docs": 2.5}, {"fake_ratio": 1.5}, {"fake_ratio": "half"}, {"seed": None}],
)
def test_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(InputError):
        synthetic.generate(**kwargs)
