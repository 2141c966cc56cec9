"""The generator's realistic mode: a vocabulary that grows with the corpus like real text."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline

from fnlib.data import synthetic
from fnlib.data.dedupe import dedupe
from fnlib.data.scrub import scrub
from fnlib.data.sources import load_source
from fnlib.data.split import split_train_test
from fnlib.data.synthetic_vocab import SYLLABLES, OpenVocabulary, draw_ranks, pseudo_word
from fnlib.data.validate import ValidationLimits, validate_corpus
from fnlib.errors import InputError

_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def _types_at(texts: list[str], tokens: int) -> int:
    """Distinct words once ``tokens`` running words have been read."""
    seen: set[str] = set()
    n = 0
    for text in texts:
        words = _TOKEN.findall(text.lower())
        n += len(words)
        seen.update(words)
        if n >= tokens:
            return len(seen)
    raise AssertionError(f"only {n} tokens, wanted {tokens}")


@pytest.fixture(scope="module")
def corpus() -> pd.DataFrame:
    return synthetic.generate(2000, seed=0, vocab="zipf")


def test_seeded_labelled_and_valid(corpus: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(synthetic.generate(2000, seed=0, vocab="zipf"), corpus)
    assert set(corpus["source"]) == {"synthetic"}
    assert corpus["meta_generator"].str.contains("SYNTHETIC").all()
    assert corpus["meta_generator"].str.contains("vocab=zipf").all()
    summary = validate_corpus(corpus, "synthetic", ValidationLimits(min_rows_per_class=10))
    assert summary["class_counts"] == {"real": 1000, "fake": 1000}
    words = corpus["text"].str.split().str.len()
    assert 330 <= words.mean() <= 500  # article length: ~400 words


def test_default_stays_the_fixed_vocabulary() -> None:
    fixed = synthetic.generate(300, seed=4)
    pd.testing.assert_frame_equal(synthetic.generate(300, seed=4, vocab="fixed"), fixed)
    assert not fixed["meta_generator"].str.contains("zipf").any()
    with pytest.raises(InputError, match="vocab"):
        synthetic.generate(10, vocab="english")


def test_vocabulary_grows_with_the_corpus(corpus: pd.DataFrame) -> None:
    texts = corpus["text"].tolist()
    fixed = synthetic.generate(2000, seed=0)["text"].tolist()
    # Heaps' law with b ~ 0.5: 4x the tokens -> ~2x the types; the fixed list saturates
    zipf_growth = _types_at(texts, 400_000) / _types_at(texts, 100_000)
    fixed_growth = _types_at(fixed, 400_000) / _types_at(fixed, 100_000)
    assert 1.7 <= zipf_growth <= 2.5
    assert fixed_growth < 1.3


def test_type_token_curve_matches_real_articles(shared_data: Path, corpus: pd.DataFrame) -> None:
    paths = sorted((shared_data / "perez_rosas").glob("*/*/*.txt"))
    if not paths:
        pytest.skip(f"no Perez-Rosas articles under {shared_data}")
    rng = np.random.default_rng(0)
    real = [paths[i].read_text(encoding="utf-8", errors="replace") for i in rng.permutation(len(paths))]
    texts = corpus["text"].tolist()
    for tokens in (25_000, 200_000):
        ratio = _types_at(texts, tokens) / _types_at(real, tokens)
        assert 0.8 <= ratio <= 1.25, (tokens, ratio)


def test_learnable_but_not_trivially(corpus: pd.DataFrame) -> None:
    scrubbed, _ = scrub(corpus)
    scrubbed, _ = dedupe(scrubbed[scrubbed["text"] != ""])
    train, test = split_train_test(scrubbed, test_size=0.25, seed=0)
    model = make_pipeline(CountVectorizer(), MultinomialNB()).fit(train["text"], train["label"])
    assert 0.75 <= model.score(test["text"], test["label"]) <= 0.99


def test_made_up_words_are_distinct_and_not_stop_words() -> None:
    edge = len(SYLLABLES) ** 2  # where made-up words get a third syllable
    words = [pseudo_word(i) for i in range(edge - 20_000, edge + 20_000)]
    assert len(set(words)) == len(words)
    assert all(w.isalpha() and w.islower() and len(w) >= 4 for w in words)
    assert {w for w in words if w in ENGLISH_STOP_WORDS}  # some spell stop words ("here")
    vocab = OpenVocabulary(["the", "of"], reserved=["beba"])
    made_up = vocab.words(np.arange(3, 40_003))
    assert len(set(made_up)) == len(made_up)
    assert not set(made_up) & (ENGLISH_STOP_WORDS | {"the", "of", "beba"})
    assert "bebax" in set(made_up)


def test_rank_draws_follow_two_regime_zipf() -> None:
    ranks = draw_ranks(np.random.default_rng(0), 400_000)
    assert ranks.min() >= 1
    counts = np.bincount(ranks[ranks <= 100])
    # in the kernel frequency falls as 1/rank: rank 10 is ~10x rarer than rank 1
    assert 7 <= counts[1] / counts[10] <= 13
    assert (ranks > 5000).mean() > 0.05  # a real tail of rare words


def test_selected_through_the_source_options() -> None:
    frame = load_source("synthetic", n_docs=50, seed=2, vocab="zipf")
    assert frame["meta_generator"].str.contains("vocab=zipf").all()
