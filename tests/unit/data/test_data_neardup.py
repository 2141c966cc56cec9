"""Near-duplicates across the split: found exactly by prefix filtering, dropped from train."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from fnlib.data import neardup
from fnlib.data.neardup import drop_near_duplicates, jaccard, near_duplicate_pairs, word_sets
from fnlib.data.prepare import PrepareOptions, prepare_corpus

VOCAB = [f"w{i}" for i in range(400)]


def _frame(texts: list[str], labels: list[int], prefix: str) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"{prefix}{i:03d}" for i in range(len(texts))], "text": texts,
                         "label": labels})


def _random_texts(rng: np.random.Generator, n: int, words: int = 12) -> list[str]:
    return [" ".join(rng.choice(VOCAB, size=words, replace=False)) for _ in range(n)]


def test_a_changed_word_is_found_and_unrelated_texts_are_not() -> None:
    test = _frame(["Senate passes the budget bill after a long night of votes",
                   "Celebrity couple announces surprise wedding in Paris"], [0, 1], "te")
    train = _frame(["Senate passes the budget bill after a long night of debate",  # 1 word changed
                    "senate PASSES the budget bill, after a long night of votes!",  # case/punct
                    "Senate rejects the farm bill after a short debate",
                    "Celebrity couple denies wedding rumours"], [0, 1, 0, 1], "tr")
    pairs = near_duplicate_pairs(train, test, threshold=0.8)
    assert pairs[["train_pos", "test_pos"]].values.tolist() == [[0, 0], [1, 0]]
    assert pairs["jaccard"].tolist() == pytest.approx([10 / 12, 1.0])  # 11 words, one replaced
    kept, report = drop_near_duplicates(train, test, threshold=0.8)
    assert kept["id"].tolist() == ["tr002", "tr003"]
    assert report["pairs"] == 2 and report["train_rows_dropped"] == 2
    assert report["pairs_label_differs"] == 1 and report["test_rows_matched"] == 1
    first = report["examples"][0]
    assert first["train_id"] == "tr000" and first["test_id"] == "te000"
    assert first["jaccard"] == pytest.approx(0.8333, abs=1e-4)
    assert first["train_text"].startswith("Senate passes")


@pytest.mark.parametrize(("shared", "batch_words", "block_rows"),
                         [(1, 20_000_000, 2_000), (4, 20_000_000, 2_000), (12, 7, 13)],
                         ids=["one-shared-word", "default", "many-shared-tiny-batches"])
def test_agrees_with_brute_force_on_random_corpora(monkeypatch, shared, batch_words,
                                                   block_rows) -> None:
    """Exact for any number of required shared prefix words, and however the candidates are
    found (blocks of train rows) and verified (batches)."""
    monkeypatch.setattr(neardup, "PREFIX_SHARED", shared)
    monkeypatch.setattr(neardup, "VERIFY_BATCH_WORDS", batch_words)
    monkeypatch.setattr(neardup, "CANDIDATE_BLOCK_ROWS", block_rows)
    rng = np.random.default_rng(7)
    test_texts = _random_texts(rng, 60)
    train_texts = _random_texts(rng, 200)
    # plant copies of test texts with 0, 1 or 3 of 12 words replaced (Jaccard 1.0, 0.85, 0.6)
    for k, changed in enumerate([0, 1, 1, 3, 0, 1, 3, 1]):
        words = test_texts[k * 5].split()
        for j in range(changed):
            words[j] = f"new{k}_{j}"
        train_texts.append(" ".join(words))
    # and texts over a small vocabulary of varied length: many pairs near any threshold
    small = [f"s{i}" for i in range(14)]
    train_texts += [" ".join(rng.choice(small, size=rng.integers(1, 12))) for _ in range(150)]
    test_texts += [" ".join(rng.choice(small, size=rng.integers(1, 12))) for _ in range(60)]
    train = _frame(train_texts, [0] * len(train_texts), "tr")
    test = _frame(test_texts, [0] * len(test_texts), "te")
    train_sets, test_sets = word_sets(train["text"]), word_sets(test["text"])
    similarity = {(i, j): jaccard(train_sets[i], test_sets[j])
                  for i, j in itertools.product(range(len(train)), range(len(test)))}
    for threshold in (0.3, 0.5, 0.8, 1.0):
        expected = {pair for pair, score in similarity.items() if score >= threshold}
        found = near_duplicate_pairs(train, test, threshold)
        assert set(map(tuple, found[["train_pos", "test_pos"]].values.tolist())) == expected
        assert found["jaccard"].tolist() == [similarity[p] for p in
                                             zip(found["train_pos"], found["test_pos"], strict=True)]
        assert len(expected) > 5
    planted = near_duplicate_pairs(train.iloc[:208], test.iloc[:60], 0.8)
    assert len(planted) == 6  # the six copies with 0 or 1 changed word, nothing else


def test_prepare_drops_them_by_default_and_the_param_turns_it_off(corpus_factory) -> None:
    corpus = corpus_factory(n_per_class=20)
    copies = corpus.iloc[::4].copy()  # reposts with one word added: Jaccard 8/9
    copies["id"] = copies["id"] + ":repost"
    copies["text"] = copies["text"] + " today"
    corpus = pd.concat([corpus, copies], ignore_index=True)
    on = prepare_corpus(corpus, "test", PrepareOptions(seed=3))
    off = prepare_corpus(corpus, "test", PrepareOptions(seed=3, near_dedupe=False))
    report = on.report["near_duplicates_across_split"]
    assert off.report["near_duplicates_across_split"] == {"skipped": True}
    assert on.test["id"].tolist() == off.test["id"].tolist()  # test is never touched
    dropped = set(off.train["id"]) - set(on.train["id"])
    assert len(dropped) == report["train_rows_dropped"] > 0
    assert report["threshold"] == 0.8 and on.report["options"]["near_dedupe"] is True
    on_sets = word_sets(on.train["text"])
    test_sets = word_sets(on.test["text"])
    assert all(jaccard(a, b) < 0.8 for a in on_sets for b in test_sets)
