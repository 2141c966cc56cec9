"""Fold features: the work every configuration of a grid repeats, done once and shared.

Cross-validating a grid of ``Pipeline(text -> vec -> clf)`` the naive way cleans and vectorises
the training split again for every configuration and fold. Here the texts are cleaned once per
text variant, and the TF-IDF features of each fold are built once per
:attr:`~fnlib.models.config.ModelConfig.feature_key` (variant + vectorizer settings); every
configuration with that key then only fits its classifier (:func:`fnlib.models.cv.score_config`).

:func:`build_fold_features` tokenises the cleaned split once into a count matrix over the whole
split's vocabulary and derives each fold from it: the fold's vocabulary, ``min_df``,
``max_features`` and idf come from the fold's training rows only, then its training and
validation rows are TF-IDF-transformed. That is what fitting a ``TfidfVectorizer`` on the
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
in ``k - 1`` training matrices).

:class:`FeatureCache` shares fold features between processes (mapped Airflow tasks): one
``.npz`` file per (dataset, feature key, folds, seed), written atomically under a file lock,
with a checksum sidecar. It is an accelerator, not lineage: a miss or a corrupt file just
recomputes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import time
import uuid
import zipfile
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.model_selection import StratifiedKFold

from fnlib.errors import InputError
from fnlib.models.config import FeatureSettings, ModelConfig
from fnlib.text.clean import TextCleaner

log = logging.getLogger(__name__)

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


def _labels(labels: Any) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1 or y.size == 0:
        raise InputError(f"labels must be a non-empty 1-D sequence, got shape {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise InputError("labels must be 0 (real) or 1 (fake)")
    return y.astype(np.int64)


def make_folds(labels: Any, n_folds: int = 5, seed: int = 0) -> list[Fold]:
    """Stratified, shuffled, seeded k-fold (train_index, val_index) pairs."""
    y = _labels(labels)
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or n_folds < 2:
        raise InputError(f"n_folds must be an integer >= 2, got {n_folds!r}")
    smallest = int(np.bincount(y, minlength=2).min())
    if smallest < n_folds:
        raise InputError(
            f"{n_folds}-fold CV needs at least {n_folds} documents per class; the smallest "
            f"class has {smallest}. Use fewer folds or more data"
        )
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [
        (train.astype(np.int64), val.astype(np.int64))
        for train, val in splitter.split(np.zeros((y.size, 1)), y)
    ]


def _settings(config: ModelConfig | FeatureSettings) -> FeatureSettings:
    if isinstance(config, ModelConfig):
        return config.features
    if isinstance(config, FeatureSettings):
        return config
    raise InputError(f"expected a ModelConfig or FeatureSettings, got {type(config)!r}")


def count_matrix(
    cleaned: Sequence[str], settings: FeatureSettings, *, min_df: int = 1
) -> sp.csr_matrix:
    """Term counts of every document over the whole collection's vocabulary.

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
    data = np.frombuffer(values, dtype=np.int32).astype(np.float64)
    del values
    columns = alphabetical[np.frombuffer(indices, dtype=np.int32)]
    del indices
    return sp.csr_matrix(
        (data, columns, np.asarray(indptr, dtype=index_dtype)),
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
    first = np.zeros(rows.shape[1], dtype=np.int64)
    terms, position = np.unique(seq, return_index=True)
    first[terms] = position
    row_of = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    order = np.lexsort((first[seq], row_of))
    return sp.csr_matrix((rows.data[order], seq[order], rows.indptr.copy()), shape=rows.shape)


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
    x_train = train[:, kept]
    tfidf.fit(x_train)
    x_val = counts[val_idx][:, kept]
    x_val.sort_indices()  # TfidfVectorizer.transform sorts its rows by column
    return FoldFeatures(
        X_train=sp.csr_matrix(tfidf.transform(x_train, copy=False)),
        y_train=y[train_idx],
        X_val=sp.csr_matrix(tfidf.transform(x_val, copy=False)),
        y_val=y[val_idx],
    )


def build_fold_features(
    texts: Sequence[str],
    labels: Any,
    config: ModelConfig | FeatureSettings,
    folds: Sequence[Fold],
    *,
    precleaned: bool = False,
) -> list[FoldFeatures]:
    """Clean ``texts`` once for the variant, then build every fold's features (see module doc).

    ``precleaned=True`` says ``texts`` already went through ``TextCleaner(variant)``, so texts
    cleaned once can serve several vectorizer settings.
    """
    settings = _settings(config)
    y = _labels(labels)
    cleaned = list(texts) if precleaned else TextCleaner(settings.variant).transform(texts)
    if len(cleaned) != y.size:
        raise InputError(f"{len(cleaned)} texts but {y.size} labels; they must align")
    start = time.perf_counter()
    values = settings.settings
    # the n-gram dictionary is what grows with the corpus: leave out the terms no fold can keep
    prune = int(values["min_df"]) if int(values["ngram_max"]) > 1 else 1
    counts = count_matrix(cleaned, settings, min_df=prune)
    features = [fold_tfidf(counts, y, fold, settings) for fold in folds]
    log.info(
        "fold features %s (%s): %d folds, %d docs, %d terms in %.2fs",
        settings.feature_key,
        settings.label,
        len(features),
        y.size,
        counts.shape[1],
        time.perf_counter() - start,
    )
    return features


def build_all_fold_features(
    texts: Sequence[str],
    labels: Any,
    configs: Sequence[ModelConfig | FeatureSettings],
    folds: Sequence[Fold],
) -> dict[str, list[FoldFeatures]]:
    """Fold features for every distinct feature key of ``configs``, cleaning once per variant."""
    by_key = {s.feature_key: s for s in map(_settings, configs)}
    result: dict[str, list[FoldFeatures]] = {}
    for variant in dict.fromkeys(s.variant for s in by_key.values()):
        cleaned = TextCleaner(variant).transform(texts)
        for key, settings in by_key.items():
            if settings.variant == variant:
                result[key] = build_fold_features(cleaned, labels, settings, folds, precleaned=True)
    return result


_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_FORMAT = 1
_CORRUPT = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


def _check_key(name: str, value: str) -> str:
    if not isinstance(value, str) or not _KEY.fullmatch(value):
        raise InputError(
            f"{name} must be 1-128 characters of letters, digits, '.', '_' or '-' starting "
            f"with a letter or digit (it becomes a file name), got {value!r}"
        )
    return value


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _arrays(features: Sequence[FoldFeatures]) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    for i, fold in enumerate(features):
        for part, matrix, y in (
            ("train", fold.X_train, fold.y_train),
            ("val", fold.X_val, fold.y_val),
        ):
            csr = sp.csr_matrix(matrix)
            arrays[f"{i}_{part}_data"] = csr.data
            arrays[f"{i}_{part}_indices"] = csr.indices
            arrays[f"{i}_{part}_indptr"] = csr.indptr
            arrays[f"{i}_{part}_shape"] = np.asarray(csr.shape, dtype=np.int64)
            arrays[f"{i}_{part}_y"] = np.asarray(y)
    return arrays


def _from_arrays(arrays: Any, n_folds: int) -> list[FoldFeatures]:
    def part(i: int, name: str) -> tuple[sp.csr_matrix, np.ndarray]:
        shape = tuple(int(v) for v in arrays[f"{i}_{name}_shape"])
        matrix = sp.csr_matrix(
            (
                arrays[f"{i}_{name}_data"],
                arrays[f"{i}_{name}_indices"],
                arrays[f"{i}_{name}_indptr"],
            ),
            shape=shape,
        )
        return matrix, arrays[f"{i}_{name}_y"]

    folds = []
    for i in range(n_folds):
        x_train, y_train = part(i, "train")
        x_val, y_val = part(i, "val")
        folds.append(FoldFeatures(x_train, y_train, x_val, y_val))
    return folds


class FeatureCache:
    """Fold features on local disk, shared by processes working on the same dataset.

    Layout: ``directory/<dataset_key>/<feature_key>-k<n_folds>-s<seed>.npz`` with a
    ``.sha256`` sidecar (written last: a data file without a matching sidecar is treated as
    partial and rebuilt) and a ``.lock`` file. Files hold plain arrays (loaded with
    ``allow_pickle=False``). ``stats`` counts hits, builds and rebuilds of corrupt entries.
    """

    def __init__(self, directory: str | os.PathLike[str], lock_timeout: float = 3600.0):
        self.directory = Path(directory)
        self.lock_timeout = float(lock_timeout)
        self.stats = {"hit": 0, "built": 0, "rebuilt": 0, "uncached": 0}
        self.last_status: str | None = None

    def path_for(self, dataset_key: str, feature_key: str, n_folds: int, seed: int) -> Path:
        _check_key("dataset_key", dataset_key)
        _check_key("feature_key", feature_key)
        return self.directory / dataset_key / f"{feature_key}-k{int(n_folds)}-s{int(seed)}.npz"

    def get_or_build(
        self,
        dataset_key: str,
        feature_key: str,
        n_folds: int,
        seed: int,
        build: Callable[[], list[FoldFeatures]],
    ) -> list[FoldFeatures]:
        """Return the cached fold features, or call ``build`` once (across processes) and cache."""
        path = self.path_for(dataset_key, feature_key, n_folds, seed)
        found, corrupt = self._load(path, n_folds)
        if found is not None:
            return self._done("hit", found)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock(path) as locked:
            if locked:  # another process may have built it while we waited
                found, corrupt_now = self._load(path, n_folds)
                if found is not None:
                    return self._done("hit", found)
                corrupt = corrupt or corrupt_now
            features = build()
            if not isinstance(features, list) or len(features) != n_folds:
                raise InputError(f"build() must return a list of {n_folds} FoldFeatures")
            if not locked:
                log.warning(
                    "feature cache lock %s busy for %ss: not caching", path, self.lock_timeout
                )
                return self._done("uncached", features)
            self._store(path, features)
            return self._done("rebuilt" if corrupt else "built", features)

    def _done(self, status: str, features: list[FoldFeatures]) -> list[FoldFeatures]:
        self.stats[status] += 1
        self.last_status = status
        return features

    @staticmethod
    def _sidecar(path: Path) -> Path:
        return path.with_name(path.name + ".sha256")

    def _load(self, path: Path, n_folds: int) -> tuple[list[FoldFeatures] | None, bool]:
        """(features, corrupt): (None, False) on a miss, (None, True) on a bad entry."""
        sidecar = self._sidecar(path)
        if not path.exists():
            return None, False
        if not sidecar.exists():
            log.warning("feature cache entry %s has no checksum (partial write?): rebuilding", path)
            return None, True
        try:
            expected = json.loads(sidecar.read_text(encoding="utf-8"))
            if expected.get("format") != _FORMAT or expected.get("sha256") != _sha256(path):
                log.warning("feature cache entry %s fails its checksum: rebuilding", path)
                return None, True
            with np.load(path, allow_pickle=False) as arrays:
                return _from_arrays(arrays, n_folds), False
        except _CORRUPT as exc:
            log.warning("feature cache entry %s is unreadable (%s): rebuilding", path, exc)
            return None, True

    def _store(self, path: Path, features: list[FoldFeatures]) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
        try:
            with tmp.open("wb") as fh:
                np.savez(fh, **_arrays(features))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
            meta = {"format": _FORMAT, "sha256": _sha256(path), "n_folds": len(features)}
            tmp.write_text(json.dumps(meta), encoding="utf-8")
            os.replace(tmp, self._sidecar(path))  # the sidecar commits the entry
        finally:
            tmp.unlink(missing_ok=True)
        log.info("cached fold features %s (%d bytes)", path, path.stat().st_size)

    @contextlib.contextmanager
    def _lock(self, path: Path) -> Iterator[bool]:
        """Exclusive ``flock`` on ``<entry>.lock``; yields False if it timed out."""
        with path.with_name(path.name + ".lock").open("a") as fh:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(0.05)
            try:
                yield True
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def fold_features_for(
    config: ModelConfig | FeatureSettings,
    texts: Sequence[str],
    labels: Any,
    n_folds: int = 5,
    seed: int = 0,
    cache: FeatureCache | None = None,
    dataset_key: str | None = None,
) -> list[FoldFeatures]:
    """What one mapped tuning task calls: the config's fold features, through ``cache`` when
    given (``dataset_key`` then names the data, e.g. the dataset id or the train split's
    sha256)."""
    settings = _settings(config)

    def build() -> list[FoldFeatures]:
        return build_fold_features(texts, labels, settings, make_folds(labels, n_folds, seed))

    if cache is None:
        return build()
    if dataset_key is None:
        raise InputError("a feature cache needs a dataset_key naming the data")
    return cache.get_or_build(dataset_key, settings.feature_key, n_folds, seed, build)
