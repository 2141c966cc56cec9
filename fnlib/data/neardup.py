"""Near-duplicates across the train/test split: reposts with a changed word survive the exact
and normalised de-duplication (:mod:`fnlib.data.dedupe`) and inflate test scores.

Two documents are near-duplicates when the Jaccard similarity of their word sets (case-folded
``\\w+`` tokens) is at least ``threshold`` (default 0.8: one word replaced in an eleven-word
headline gives 10/12 = 0.83). Word order is ignored on purpose: a reworded repost is still a
repost.

The search is **exact** (every pair at or above the threshold is found, nothing else) and
fast, by prefix filtering (the all-pairs similarity join): order the vocabulary from rarest to
most common. A pair with Jaccard >= t shares at least ``a = ceil(t * max(|x|, |y|))`` words,
and its k-th shared word (in that order) lies within the first ``|x| - a + k`` words of x and
the first ``|y| - a + k`` of y (at least a - k shared words follow it in both). So with
``k = min(K, ceil(t * |x|))`` per set, the "prefix" of a set is its first
``|x| - ceil(t * |x|) + k`` words, and a pair is a candidate only if its prefixes share at least
``min(k_x, k_y)`` words: one sparse matrix product counts them. K = 1 is the classic prefix
filter; on long articles chance sharing of one rare word is common (a 45k-article corpus gives
tens of millions of one-word candidates), sharing several is not, so K = 4 keeps the candidate
set small without losing a pair. The product is taken a block of train rows at a time and
filtered at once, so memory follows the candidates; each candidate is then checked with its
exact Jaccard, in batches of bounded size.

:func:`drop_near_duplicates` removes from **train** every row that is a near-duplicate of some
test row (the test split is never changed) and reports how many, how many of those pairs
disagree on the label, and examples.
"""

from __future__ import annotations

import logging
import re
from array import array
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from fnlib.data.schema import ID, LABEL, TEXT

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.8
#: shared prefix words required of a candidate pair (the k above, capped per set); exact for any
#: value >= 1, larger values trade a longer prefix for far fewer candidates
PREFIX_SHARED = 4
#: candidate pairs are verified in batches holding at most this many stored words
VERIFY_BATCH_WORDS = 20_000_000
#: train rows whose prefix products are taken (and filtered) at once
CANDIDATE_BLOCK_ROWS = 2_000
MAX_EXAMPLES = 5
SNIPPET_CHARS = 100
_TOKEN = re.compile(r"\w+")


def word_sets(texts: pd.Series) -> list[frozenset[str]]:
    """The case-folded word set of each text (what similarity is measured on)."""
    return [frozenset(_TOKEN.findall(t.casefold())) for t in texts.astype(str)]


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def _word_ids(texts: pd.Series, vocab: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Each text's distinct words (as :func:`word_sets` reads them) as ids into ``vocab``, which
    grows as new words appear: ``(indptr, ids)``, the words of text i being
    ``ids[indptr[i]:indptr[i + 1]]``. Integers, not sets of strings, so a corpus of long
    articles costs a few bytes per word."""
    ids, sizes = array("q"), array("q")
    for text in texts.astype(str):
        words = {vocab.setdefault(w, len(vocab)) for w in _TOKEN.findall(text.casefold())}
        ids.extend(words)
        sizes.append(len(words))
    indptr = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(np.frombuffer(sizes, dtype=np.int64), out=indptr[1:])
    return indptr, np.frombuffer(ids, dtype=np.int64)


def _incidence(indptr: np.ndarray, ids: np.ndarray, rank: np.ndarray) -> sp.csr_matrix:
    """Binary documents x words matrix; column j is the word of rank j (rarest first)."""
    data = np.ones(len(ids), dtype=np.int32)
    matrix = sp.csr_matrix((data, rank[ids], indptr), shape=(len(indptr) - 1, len(rank)))
    matrix.sort_indices()  # each row's words from rarest to most common
    return matrix


def _prefixes(matrix: sp.csr_matrix, threshold: float,
              shared: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """Each row's first ``n - ceil(threshold * n) + k`` (rarest) words, and its k
    (``min(shared, ceil(threshold * n))``): a pair must share ``min(k_x, k_y)`` of them."""
    sizes = np.diff(matrix.indptr)
    least = np.ceil(threshold * sizes - 1e-9).astype(np.int64)  # words any match shares
    k = np.minimum(shared, least)
    keep = np.minimum(np.maximum(sizes - least + k, 0), sizes)
    position = np.arange(matrix.nnz) - np.repeat(matrix.indptr[:-1], sizes)
    mask = position < np.repeat(keep, sizes)
    rows = np.repeat(np.arange(matrix.shape[0]), sizes)[mask]
    prefix = sp.csr_matrix((matrix.data[mask], (rows, matrix.indices[mask])), shape=matrix.shape)
    return prefix, k


def _candidates(x: sp.csr_matrix, y: sp.csr_matrix,
                threshold: float) -> tuple[np.ndarray, np.ndarray, int]:
    """(train rows, test rows) of the candidate pairs, and how many pairs share a prefix word.

    The prefix product is taken a block of train rows at a time and filtered at once, so memory
    follows the candidates, not the (far more numerous) pairs that share one common word."""
    (px, kx), (py, ky) = (_prefixes(m, threshold, PREFIX_SHARED) for m in (x, y))
    pyt = py.T.tocsc()
    size_x, size_y = np.diff(x.indptr), np.diff(y.indptr)
    found_rows, found_cols, sharing = [], [], 0
    for start in range(0, x.shape[0], CANDIDATE_BLOCK_ROWS):
        block = (px[start:start + CANDIDATE_BLOCK_ROWS] @ pyt).tocoo()
        rows, cols = block.row.astype(np.int64) + start, block.col.astype(np.int64)
        sharing += len(rows)
        sx, sy = size_x[rows], size_y[cols]
        keep = ((block.data >= np.minimum(kx[rows], ky[cols]))
                & (np.minimum(sx, sy) >= threshold * np.maximum(sx, sy) - 1e-9))
        found_rows.append(rows[keep])
        found_cols.append(cols[keep])
    if not found_rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 0
    return np.concatenate(found_rows), np.concatenate(found_cols), sharing


def _intersections(x: sp.csr_matrix, y: sp.csr_matrix, rows: np.ndarray,
                   cols: np.ndarray) -> np.ndarray:
    """|x_r & y_c| for each candidate (r, c), in batches of bounded size."""
    out = np.zeros(len(rows), dtype=np.int64)
    words = np.cumsum(np.diff(x.indptr)[rows])
    start = 0
    while start < len(rows):
        base = words[start - 1] if start else 0
        stop = max(int(np.searchsorted(words, base + VERIFY_BATCH_WORDS, side="right")),
                   start + 1)
        r, c = rows[start:stop], cols[start:stop]
        out[start:stop] = np.asarray(x[r].multiply(y[c]).sum(axis=1)).ravel()
        start = stop
    return out


def near_duplicate_pairs(train: pd.DataFrame, test: pd.DataFrame,
                         threshold: float = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """Every (train row, test row) pair with word-set Jaccard >= ``threshold``, exactly.

    Returns columns ``train_pos``, ``test_pos`` (row positions), ``jaccard``, sorted by
    train position then test position.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"near-duplicate threshold must be in (0, 1], got {threshold}")
    vocab: dict[str, int] = {}
    words = [_word_ids(frame[TEXT], vocab) for frame in (train, test)]
    frequency = np.bincount(np.concatenate([ids for _, ids in words]), minlength=len(vocab))
    rank = np.empty(len(vocab), dtype=np.int64)  # rarest first, ties in order of appearance
    rank[np.lexsort((np.arange(len(vocab)), frequency))] = np.arange(len(vocab))
    x, y = (_incidence(indptr, ids, rank) for indptr, ids in words)
    rows, cols, sharing = _candidates(x, y, threshold)
    inter = _intersections(x, y, rows, cols)
    union = np.diff(x.indptr)[rows] + np.diff(y.indptr)[cols] - inter
    score = np.divide(inter, union, out=np.zeros(len(rows)), where=union > 0)
    hit = score >= threshold - 1e-12
    pairs = pd.DataFrame({"train_pos": rows[hit], "test_pos": cols[hit], "jaccard": score[hit]})
    log.debug("near-duplicates: %d pairs share a prefix word, %d candidates, %d at Jaccard >= %s",
              sharing, len(rows), len(pairs), threshold)
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

