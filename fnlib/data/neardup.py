"""Near-duplicates across the train/test split: reposts with a changed word survive the exact
and normalised de-duplication (:mod:`fnlib.data.dedupe`) and inflate test scores.

Two documents are near-duplicates when the Jaccard similarity of their word sets (case-folded
``\\w+`` tokens) is at least ``threshold`` (default 0.8: one word replaced in an eleven-word
headline gives 10/12 = 0.83). Word order is ignored on purpose: a reworded repost is still a
repost.

The search is **exact** (every pair at or above the threshold is found, nothing else) and
fast, by prefix filtering (the all-pairs similarity join): order the vocabulary from rarest to
most common; a pair with Jaccard >= t must share at least one of the first
``|x| - ceil(t * |x|) + 1`` words of each set in that order. Candidate pairs are the pairs
sharing such a "prefix" word (one sparse matrix product; prefixes are made of rare words, so
there are few), and each candidate is then checked with its exact Jaccard.

:func:`drop_near_duplicates` removes from **train** every row that is a near-duplicate of some
test row (the test split is never changed) and reports how many, how many of those pairs
disagree on the label, and examples.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from fnlib.data.schema import ID, LABEL, TEXT

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.8
MAX_EXAMPLES = 5
SNIPPET_CHARS = 100
_TOKEN = re.compile(r"\w+")


def word_sets(texts: pd.Series) -> list[frozenset[str]]:
    """The case-folded word set of each text (what similarity is measured on)."""
    return [frozenset(_TOKEN.findall(t.casefold())) for t in texts.astype(str)]


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def _incidence(sets: list[frozenset[str]], vocab: dict[str, int]) -> sp.csr_matrix:
    """Binary documents x words matrix; column j is the word of rank j (rarest first)."""
    indptr = np.zeros(len(sets) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(s) for s in sets])
    indices = np.fromiter((vocab[w] for s in sets for w in s), dtype=np.int64, count=int(indptr[-1]))
    data = np.ones(len(indices), dtype=np.int32)
    matrix = sp.csr_matrix((data, indices, indptr), shape=(len(sets), len(vocab)))
    matrix.sort_indices()  # each row's words from rarest to most common
    return matrix


def _prefixes(matrix: sp.csr_matrix, threshold: float) -> sp.csr_matrix:
    """Keep the first ``n - ceil(threshold * n) + 1`` (rarest) words of each row."""
    sizes = np.diff(matrix.indptr)
    keep = sizes - np.ceil(threshold * sizes - 1e-9).astype(np.int64) + 1
    keep = np.minimum(np.maximum(keep, 0), sizes)
    position = np.arange(matrix.nnz) - np.repeat(matrix.indptr[:-1], sizes)
    mask = position < np.repeat(keep, sizes)
    rows = np.repeat(np.arange(matrix.shape[0]), sizes)[mask]
    return sp.csr_matrix((matrix.data[mask], (rows, matrix.indices[mask])), shape=matrix.shape)


def near_duplicate_pairs(train: pd.DataFrame, test: pd.DataFrame,
                         threshold: float = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """Every (train row, test row) pair with word-set Jaccard >= ``threshold``, exactly.

    Returns columns ``train_pos``, ``test_pos`` (row positions), ``jaccard``, sorted by
    train position then test position.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"near-duplicate threshold must be in (0, 1], got {threshold}")
    train_sets, test_sets = word_sets(train[TEXT]), word_sets(test[TEXT])
    frequency: dict[str, int] = {}
    for words in (*train_sets, *test_sets):
        for w in words:
            frequency[w] = frequency.get(w, 0) + 1
    vocab = {w: rank for rank, w in enumerate(sorted(frequency, key=lambda w: (frequency[w], w)))}
    x, y = _incidence(train_sets, vocab), _incidence(test_sets, vocab)
    candidates = (_prefixes(x, threshold) @ _prefixes(y, threshold).T).tocoo()
    rows, cols = candidates.row.astype(np.int64), candidates.col.astype(np.int64)
    size_x, size_y = np.diff(x.indptr)[rows], np.diff(y.indptr)[cols]
    plausible = (np.minimum(size_x, size_y) >= threshold * np.maximum(size_x, size_y) - 1e-9)
    rows, cols = rows[plausible], cols[plausible]
    inter = np.asarray(x[rows].multiply(y[cols]).sum(axis=1)).ravel() if len(rows) else np.array([])
    union = np.diff(x.indptr)[rows] + np.diff(y.indptr)[cols] - inter
    score = np.divide(inter, union, out=np.zeros(len(rows)), where=union > 0)
    hit = score >= threshold - 1e-12
    pairs = pd.DataFrame({"train_pos": rows[hit], "test_pos": cols[hit], "jaccard": score[hit]})
    log.debug("near-duplicates: %d candidate pairs, %d at Jaccard >= %s",
              len(candidates.row), len(pairs), threshold)
    return pairs.sort_values(["train_pos", "test_pos"], kind="stable").reset_index(drop=True)


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 3] + "..."


def drop_near_duplicates(train: pd.DataFrame, test: pd.DataFrame,
                         threshold: float = DEFAULT_THRESHOLD
                         ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Drop train rows that near-duplicate a test row; return the new train and a report."""
    pairs = near_duplicate_pairs(train, test, threshold)
    train_pos = pairs["train_pos"].to_numpy(dtype=np.int64)
    test_pos = pairs["test_pos"].to_numpy(dtype=np.int64)
    differ = train[LABEL].to_numpy()[train_pos] != test[LABEL].to_numpy()[test_pos]
    drop = np.zeros(len(train), dtype=bool)
    drop[train_pos] = True
    # examples: the least similar pairs first, they show best what the threshold lets through
    shown = pairs.sort_values(["jaccard", "train_pos"], kind="stable").head(MAX_EXAMPLES)
    examples = [
        {"train_id": str(train[ID].iloc[r.train_pos]), "test_id": str(test[ID].iloc[r.test_pos]),
         "jaccard": round(float(r.jaccard), 4),
         "train_text": _snippet(str(train[TEXT].iloc[r.train_pos])),
         "test_text": _snippet(str(test[TEXT].iloc[r.test_pos]))}
        for r in shown.itertuples()
    ]
    report = {
        "threshold": threshold,
        "method": "word-set Jaccard, exact (prefix-filtered candidates, each pair verified)",
        "pairs": int(len(pairs)),
        "pairs_label_differs": int(differ.sum()),
        "test_rows_matched": int(pairs["test_pos"].nunique()),
        "train_rows_dropped": int(drop.sum()),
        "examples": examples,
    }
    kept = train[~drop].reset_index(drop=True)
    log.info("near-duplicates across the split (Jaccard >= %s): %d pairs, %d train rows dropped",
             threshold, len(pairs), int(drop.sum()))
    return kept, report

