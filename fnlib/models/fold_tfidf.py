"""Exact per-fold TF-IDF: every fold's features from one count matrix, equal to
``TfidfVectorizer``'s bit for bit.

:func:`count_matrix` tokenises the cleaned texts once into a count matrix over the whole
collection's vocabulary; :func:`fold_tfidf` derives one fold from it: the fold's vocabulary,
``min_df``, ``max_features`` and idf come from the fold's training rows only, then its training
and validation rows are TF-IDF-transformed. That is what fitting a ``TfidfVectorizer`` on the
fold's training texts and transforming its validation texts does (terms seen only in validation
rows are dropped either way), but each document is tokenised once instead of once per fold
(~4x less featurisation work for 5 folds). The matrices are equal to ``TfidfVectorizer``'s bit
for bit - including the order of each row's entries, which decides the floating-point rounding
of the l2 norm - so the per-fold scores equal those of ``cross_validate`` over the full pipeline
exactly (the unit tests check both).

Memory: on real text most n-grams occur in one document only, and the term dictionary built
while counting holds every distinct one (~4.7M for the uni+bigrams of 35k realistic articles,
~1 GiB of Python strings). With ``ngram_max > 1`` and ``min_df > 1`` a first, hashed pass
counts document frequencies per bucket, and terms that certainly occur in fewer than
``min_df`` documents never enter the dictionary (:func:`count_matrix`); no fold could keep
them, so the features stay exact. What remains is the folds themselves (every training row is
in ``k - 1`` training matrices), so the tuning path never holds more than one:
:func:`fnlib.models.folds.iter_fold_features` builds them one at a time.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

from fnlib.errors import InputError
from fnlib.models.specs import FeatureSettings

__all__ = ["Fold", "FoldFeatures", "count_matrix", "fold_tfidf"]

Fold = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class FoldFeatures:
    """One fold's TF-IDF features (CSR, float64) and labels."""

    X_train: sp.csr_matrix
    y_train: np.ndarray
    X_val: sp.csr_matrix
    y_val: np.ndarray

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])


def count_matrix(
    cleaned: Sequence[str], settings: FeatureSettings, *, min_df: int = 1
) -> sp.csr_matrix:
    """Term counts (int32) of every document over the whole collection's vocabulary.

    Columns are the terms in sorted order (like ``CountVectorizer``). Each row keeps its
    entries in the order the terms first occur in the document: :func:`fold_tfidf` needs that
    order to reproduce ``TfidfVectorizer``'s floating-point results exactly.

    ``min_df > 1`` leaves out terms that occur in fewer than ``min_df`` documents of the whole
    collection (and may keep a few of them: see :func:`_document_counts`). No fold can
    keep such a term (a fold's training rows are a subset of the collection), so the folds'
    features are unchanged, while the term dictionary, which holds every distinct n-gram while
    counting, no longer grows with the long tail of n-grams seen once.
    """
    analyze = CountVectorizer(ngram_range=(1, int(settings.settings["ngram_max"]))).build_analyzer()
    table = _document_counts(cleaned, analyze, min_df) if min_df > 1 else None
    mask = len(table) - 1 if table is not None else 0
    vocabulary: defaultdict[str, int] = defaultdict()
    vocabulary.default_factory = vocabulary.__len__
    # compact: 4 bytes per entry, no Python int objects (a term id or a count past 2**31 would
    # need more memory than any machine has; array raises OverflowError rather than wrap)
    indices = array("i")
    values = array("i")
    indptr = [0]
    for doc in cleaned:  # the same loop as CountVectorizer._count_vocab
        counter: dict[int, int] = {}
        for feature in analyze(doc):
            if table is not None and table[hash(feature) & mask] < min_df:
                continue  # certainly in fewer than min_df documents
            index = vocabulary[feature]
            counter[index] = counter.get(index, 0) + 1
        indices.extend(counter.keys())
        values.extend(counter.values())
        indptr.append(len(indices))
    if not vocabulary:
        if table is not None:
            raise InputError(
                f"no terms are left for {settings.label}: none occurs in min_df={min_df} "
                "documents; use a lower min_df or more data"
            )
        raise InputError(
            f"cannot build features for {settings.label}: the texts contain no terms "
            "(all blank or stop words)"
        )
    terms = sorted(vocabulary)
    index_dtype = np.int64 if len(indices) > np.iinfo(np.int32).max else np.int32
    alphabetical = np.empty(len(terms), dtype=index_dtype)
    alphabetical[[vocabulary[t] for t in terms]] = np.arange(len(terms), dtype=index_dtype)
    del vocabulary, terms
    columns = alphabetical[np.frombuffer(indices, dtype=np.int32)]
    del indices
    # integer counts, 4 bytes each (a view of the buffer): TfidfTransformer turns the rows a
    # fold keeps into float64, exactly as it does CountVectorizer's int64 counts
    return sp.csr_matrix(
        (np.frombuffer(values, dtype=np.int32), columns, np.asarray(indptr, dtype=index_dtype)),
        shape=(len(indptr) - 1, len(alphabetical)),
    )


def _document_counts(
    cleaned: Sequence[str], analyze: Callable[[str], list[str]], min_df: int
) -> bytearray:
    """A first pass over the texts: per hash bucket (``hash(term) & (len - 1)``), how many
    documents contain a term of the bucket, saturating at ``min_df``.

    Exact in the direction that matters: a bucket's count is at least the document frequency
    of every term in it, so a term whose bucket counts less than ``min_df`` is certainly in
    fewer documents, and no term with ``min_df`` documents is ever dropped; a rare term that
    shares a bucket with others may be kept, which costs a column that no fold selects. The
    table has 4-8 buckets per running word (one byte each, at most ``2**28``), so few rare
    terms survive. Python's ``hash`` is salted per process, which only moves the collisions.
    """
    words = sum(len(doc) for doc in cleaned) // 5 + 1  # an upper-end guess of running words
    bits = min(max((4 * words).bit_length(), 16), _SKETCH_MAX_BITS)
    mask = (1 << bits) - 1
    table = bytearray(1 << bits)
    for doc in cleaned:
        for feature in set(analyze(doc)):
            bucket = hash(feature) & mask
            if table[bucket] < min_df:
                table[bucket] += 1
    return table


_SKETCH_MAX_BITS = 28


def _in_first_seen_order(rows: sp.csr_matrix) -> sp.csr_matrix:
    """Reorder each row's entries by where its term first occurs in ``rows`` (row by row,
    within a row by first occurrence): the order ``CountVectorizer.fit`` stores them in."""
    seq = rows.indices
    # 4-byte sort keys while positions fit (they decide the order, not the dtype)
    position_dtype = np.int32 if seq.size <= np.iinfo(np.int32).max else np.int64
    first = np.zeros(rows.shape[1], dtype=position_dtype)
    terms, position = np.unique(seq, return_index=True)
    first[terms] = position
    del terms, position
    row_of = np.repeat(np.arange(rows.shape[0], dtype=position_dtype), np.diff(rows.indptr))
    order = np.lexsort((first[seq], row_of))
    del row_of
    return sp.csr_matrix((rows.data[order], seq[order], rows.indptr.copy()), shape=rows.shape)


def _as_float(rows: sp.csr_matrix) -> sp.csr_matrix:
    """``rows`` with float64 values and every row's entries in the same order (scipy's
    ``astype``, which TfidfTransformer would call on integer counts, sorts them)."""
    return sp.csr_matrix((rows.data.astype(np.float64), rows.indices, rows.indptr),
                         shape=rows.shape)


def fold_tfidf(
    counts: sp.csr_matrix, y: np.ndarray, fold: Fold, settings: FeatureSettings
) -> FoldFeatures:
    """TF-IDF features of one fold, fitted on the fold's training rows only.

    Equal, bit for bit, to ``TfidfVectorizer`` fitted on the fold's training texts and
    applied to its validation texts (``counts`` from :func:`count_matrix`).
    """
    values = settings.settings
    train_idx, val_idx = fold
    train = _in_first_seen_order(counts[train_idx])
    df = np.bincount(train.indices, minlength=counts.shape[1])
    mask = df >= int(values["min_df"])
    limit = values["max_features"]
    if limit is not None and int(mask.sum()) > limit:  # same selection as CountVectorizer
        totals = np.asarray(train.sum(axis=0)).ravel()
        best = (-totals[mask]).argsort()[:limit]
        limited = np.zeros_like(mask)
        limited[np.flatnonzero(mask)[best]] = True
        mask = limited
    kept = np.flatnonzero(mask)
    if kept.size == 0:
        raise InputError(
            f"no terms are left for {settings.label} after min_df={values['min_df']} on a fold "
            f"of {len(train_idx)} documents; use a lower min_df or more data"
        )
    tfidf = TfidfTransformer(sublinear_tf=bool(values["sublinear_tf"]))
    x_train = _as_float(train[:, kept])
    del train
    tfidf.fit(x_train)
    x_val = _as_float(counts[val_idx][:, kept])
    x_val.sort_indices()  # TfidfVectorizer.transform sorts its rows by column
    return FoldFeatures(
        X_train=sp.csr_matrix(tfidf.transform(x_train, copy=False)),
        y_train=y[train_idx],
        X_val=sp.csr_matrix(tfidf.transform(x_val, copy=False)),
        y_val=y[val_idx],
    )
