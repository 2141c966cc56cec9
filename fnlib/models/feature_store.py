"""Fold features shared by processes and machines: a local read-through cache in front of a
content-addressed feature store in the bucket.

Fold features (:func:`fnlib.models.folds.build_fold_features`) are a pure function of an
*entry*: the training data (``dataset_key``, e.g. the content-addressed dataset id), the
feature settings (``feature_key``), the folds (``n_folds``, ``seed``) and the featurisation
code (:data:`FORMAT`). Every machine that asks for the same entry gets the same matrices, so
it is built once and then read:

1. the local folder (:class:`FeatureCache`): ``<dir>/<dataset_key>/<feature_key>-k<n>-s<seed>.npz``
   with a ``.sha256`` sidecar written last (a file without a matching sidecar is partial) and a
   ``.lock`` file, so the processes of one machine build an entry once;
2. the bucket (:class:`FeatureBucket`), on a local miss: ``features/<ff-id>/folds.npz`` then
   ``features/<ff-id>/manifest.json`` (data first, manifest last, like every stage output).
   ``ff-id`` is a content address of the entry. The manifest records the object's version id
   and sha256 and the dataset manifest as parent; a download is verified against it before
   use. A first write is conditional (``If-None-Match``), so racing writers on several
   machines leave one version; the bytes are deterministic (a zip with fixed timestamps), so a
   loser of the race normally holds the winner's bytes and writes nothing;
3. a build, when neither has the entry; the result goes to the local folder and the bucket.

The store is an accelerator, not lineage: results never depend on which worker built what. An
entry in the bucket that fails its checksum is refused (never used, never overwritten) and the
features are rebuilt from the verified training split.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np
import scipy.sparse as sp

from fnlib.errors import InputError
from fnlib.models.fold_tfidf import FoldFeatures
from fnlib.models.folds import iter_fold_features, make_folds
from fnlib.models.specs import FeatureSettings, ModelConfig

log = logging.getLogger(__name__)

FORMAT = 1
"""Version of the featurisation output and of the file layout; part of every entry's address."""

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_CORRUPT = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed zip timestamps: same arrays, same bytes


def _check_key(name: str, value: str) -> str:
    if not isinstance(value, str) or not _KEY.fullmatch(value):
        raise InputError(
            f"{name} must be 1-128 characters of letters, digits, '.', '_' or '-' starting "
            f"with a letter or digit (it becomes a file name), got {value!r}"
        )
    return value


_PARTS = ("train", "val")
_FIELDS = ("data", "indices", "indptr", "shape", "y")


def _fold_arrays(i: int, fold: FoldFeatures) -> Iterator[tuple[str, np.ndarray]]:
    """Fold ``i``'s arrays, in the order (and under the names) they are stored."""
    for part, matrix, y in (("train", fold.X_train, fold.y_train), ("val", fold.X_val, fold.y_val)):
        csr = sp.csr_matrix(matrix)
        yield f"{i}_{part}_data", csr.data
        yield f"{i}_{part}_indices", csr.indices
        yield f"{i}_{part}_indptr", csr.indptr
        yield f"{i}_{part}_shape", np.asarray(csr.shape, dtype=np.int64)
        yield f"{i}_{part}_y", np.asarray(y)


def write_features(features: Iterable[FoldFeatures], path: Path) -> int:
    """Write the folds to an ``.npz`` (readable by ``np.load``, no pickles) whose bytes depend
    only on the arrays; the number of folds written.

    The folds are taken one at a time and each is let go once written, so a lazy ``features``
    (:func:`fnlib.models.folds.iter_fold_features`) never has two folds in memory.
    """
    written = 0  # not enumerate(): its reused result tuple would keep the previous fold alive
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for fold in features:
            for name, array in _fold_arrays(written, fold):
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
                info.external_attr = 0o644 << 16
                with archive.open(info, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.ascontiguousarray(array),
                                              allow_pickle=False)
            del fold
            written += 1
    return written


class StoredFolds(Sequence[FoldFeatures]):
    """The fold features of one stored entry, read one fold at a time on access.

    Opening checks that the file holds exactly ``n_folds`` folds (every array of each) and
    reads their widths; ``folds[i]`` then reads fold ``i`` only. Iterating yields each fold
    without keeping it, so a consumer that lets go of a fold before taking the next
    (:func:`fnlib.models.cv.score_configs`) holds one fold at a time. The file stays open while
    the object lives: replacing the entry on disk does not change what it reads.
    """

    def __init__(self, path: str | os.PathLike[str], n_folds: int):
        self.path = Path(path)
        self._arrays = np.load(self.path, allow_pickle=False)
        try:
            expected = {f"{i}_{part}_{field}" for i in range(n_folds) for part in _PARTS
                        for field in _FIELDS}
            if set(self._arrays.files) != expected:
                raise ValueError(f"{self.path} does not hold exactly {n_folds} folds")
            self.widths = [int(self._arrays[f"{i}_train_shape"][1]) for i in range(n_folds)]
        except BaseException:
            self._arrays.close()
            raise

    def __len__(self) -> int:
        return len(self.widths)

    @overload
    def __getitem__(self, index: int) -> FoldFeatures: ...

    @overload
    def __getitem__(self, index: slice) -> list[FoldFeatures]: ...

    def __getitem__(self, index: int | slice) -> FoldFeatures | list[FoldFeatures]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(f"fold {index} of {len(self)}")
        i = index % len(self)
        x_train, y_train = self._part(i, "train")
        x_val, y_val = self._part(i, "val")
        return FoldFeatures(x_train, y_train, x_val, y_val)

    def __iter__(self) -> Iterator[FoldFeatures]:
        for i in range(len(self)):
            yield self[i]  # never bound to a name here: the consumer holds the only reference

    def _part(self, i: int, name: str) -> tuple[sp.csr_matrix, np.ndarray]:
        arrays = self._arrays
        shape = tuple(int(v) for v in arrays[f"{i}_{name}_shape"])
        matrix = sp.csr_matrix((arrays[f"{i}_{name}_data"], arrays[f"{i}_{name}_indices"],
                                arrays[f"{i}_{name}_indptr"]), shape=shape)
        return matrix, arrays[f"{i}_{name}_y"]

    def close(self) -> None:
        self._arrays.close()


class FeatureBucket:
    """The feature store in the bucket: one manifest-committed ``folds.npz`` per entry.

    ``parents`` (manifest links, e.g. the dataset's) and ``run_ids`` (the ids of the task that
    builds) go into the manifests this writes, so an entry says where it came from.
    """

    def __init__(self, store: Any, parents: Sequence[dict[str, str]] = (),
                 run_ids: dict[str, Any] | None = None):
        self.store = store
        self.parents = list(parents)
        self.run_ids = run_ids

    @staticmethod
    def entry_id(dataset_key: str, feature_key: str, n_folds: int, seed: int) -> str:
        from fnlib.catalog import content_id

        return content_id("ff", dataset_key, feature_key, int(n_folds), int(seed), FORMAT)

    def fetch(self, entry_id: str, dest: Path) -> str | None:
        """Download the entry into ``dest`` (verified against its manifest); its sha256, or
        None when the bucket has no committed entry. A checksum failure raises."""
        from fnlib.storage.manifest import find_manifest_or_none

        committed = find_manifest_or_none(self.store, "features", entry_id)
        if committed is None:
            return None
        ref = committed[0].objects["folds"]
        self.store.get_file(ref, dest)
        log.info("fetched fold features %s from %s", entry_id, ref.versioned_uri)
        return ref.sha256

    def publish(self, entry_id: str, path: Path, params: dict[str, Any]) -> str | None:
        """Upload ``path`` and commit the entry's manifest; the manifest URI, or None when
        another writer stored different bytes first (this entry is then theirs)."""
        from fnlib.catalog import object_key
        from fnlib.provenance import provenance
        from fnlib.storage.manifest import Manifest, commit_manifest
        from fnlib.storage.objects import ConcurrentUpdate

        try:
            ref = self.store.put_file(object_key("features", entry_id, "folds.npz"), path,
                                     write_once=True)
        except ConcurrentUpdate as exc:
            log.warning("fold features %s: %s; using the local copy", entry_id, exc)
            return None
        manifest = Manifest(kind="features", id=entry_id, objects={"folds": ref},
                            parents=self.parents, params={**params, "format": FORMAT},
                            provenance=provenance(self.run_ids))
        return commit_manifest(self.store, manifest).versioned_uri


class FeatureCache:
    """Fold features on local disk, shared by the processes of one machine, optionally in
    front of a :class:`FeatureBucket` shared by every machine (see the module doc).

    ``stats`` counts, per lookup: ``hit`` (local), ``fetched`` (from the bucket), ``built``,
    ``rebuilt`` (a local or bucket entry was damaged) and ``uncached`` (lock timeout).
    """

    def __init__(self, directory: str | os.PathLike[str], lock_timeout: float = 3600.0,
                 bucket: FeatureBucket | None = None):
        self.directory = Path(directory)
        self.lock_timeout = float(lock_timeout)
        self.bucket = bucket
        self.stats = {"hit": 0, "fetched": 0, "built": 0, "rebuilt": 0, "uncached": 0}
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
        build: Callable[[], Iterable[FoldFeatures]],
    ) -> Sequence[FoldFeatures]:
        """The entry's fold features: local, else from the bucket, else ``build()`` (once per
        machine) and store them in both.

        ``build()`` may yield the folds lazily: they are written one at a time. What comes
        back is a :class:`StoredFolds` (one fold in memory at a time) except when the lock
        timed out, where the built folds are returned as a list without being stored."""
        path = self.path_for(dataset_key, feature_key, n_folds, seed)
        found, corrupt = self._load(path, n_folds)
        if found is not None:
            return self._done("hit", found)
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = FeatureBucket.entry_id(dataset_key, feature_key, n_folds, seed)
        refused = False
        with self._lock(path) as locked:
            if locked:  # another process may have built it while we waited
                found, corrupt_now = self._load(path, n_folds)
                if found is not None:
                    return self._done("hit", found)
                corrupt = corrupt or corrupt_now
                fetched, refused = self._fetch(entry, path, n_folds)
                if fetched is not None:
                    return self._done("fetched", fetched)
                corrupt = corrupt or refused
            if not locked:
                log.warning("feature cache lock %s busy for %ss: not caching", path,
                            self.lock_timeout)
                features = list(build())
                self._check(len(features), n_folds)
                return self._done("uncached", features)
            features = self._store(path, build(), n_folds)
            if self.bucket is not None and not refused:
                self.bucket.publish(entry, path, {"dataset_key": dataset_key,
                                                  "feature_key": feature_key,
                                                  "n_folds": int(n_folds), "seed": int(seed)})
            return self._done("rebuilt" if corrupt else "built", features)

    @staticmethod
    def _check(built: int, n_folds: int) -> None:
        if built != n_folds:
            raise InputError(f"build() must give {n_folds} FoldFeatures, got {built}")

    def _done(self, status: str, features: Sequence[FoldFeatures]) -> Sequence[FoldFeatures]:
        self.stats[status] += 1
        self.last_status = status
        return features

    @staticmethod
    def _sidecar(path: Path) -> Path:
        return path.with_name(path.name + ".sha256")

    @staticmethod
    def _tmp(path: Path) -> Path:
        return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")

    def _load(self, path: Path, n_folds: int) -> tuple[StoredFolds | None, bool]:
        """(features, corrupt): (None, False) on a miss, (None, True) on a bad entry."""
        from fnlib.storage.objects import file_sha256

        sidecar = self._sidecar(path)
        if not path.exists():
            return None, False
        if not sidecar.exists():
            log.warning("feature cache entry %s has no checksum (partial write?): rebuilding", path)
            return None, True
        try:
            expected = json.loads(sidecar.read_text(encoding="utf-8"))
            if expected.get("format") != FORMAT or expected.get("sha256") != file_sha256(path)[0]:
                log.warning("feature cache entry %s fails its checksum: rebuilding", path)
                return None, True
            return StoredFolds(path, n_folds), False
        except _CORRUPT as exc:
            log.warning("feature cache entry %s is unreadable (%s): rebuilding", path, exc)
            return None, True

    def _fetch(self, entry: str, path: Path, n_folds: int) -> tuple[StoredFolds | None, bool]:
        """(features, refused) from the bucket into the local folder."""
        from fnlib.storage.objects import ChecksumMismatch, ObjectNotFound

        if self.bucket is None:
            return None, False
        tmp = self._tmp(path)
        try:
            sha256 = self.bucket.fetch(entry, tmp)
            if sha256 is None:
                return None, False
            features = StoredFolds(tmp, n_folds)  # stays readable once moved
            os.replace(tmp, path)
            features.path = path
            self._commit(path, sha256, n_folds)
            return features, False
        except (ChecksumMismatch, ObjectNotFound) as exc:
            log.error("refusing fold features %s from the bucket: %s. Building them from the "
                      "verified training split instead; delete s3://%s/features/%s/ to let the "
                      "next run store them again", entry, exc, self.bucket.store.bucket, entry)
            return None, True
        finally:
            tmp.unlink(missing_ok=True)

    def _store(self, path: Path, features: Iterable[FoldFeatures], n_folds: int) -> StoredFolds:
        """Write ``features`` (one fold at a time) as the entry at ``path``; the entry."""
        from fnlib.storage.objects import file_sha256

        tmp = self._tmp(path)
        try:
            self._check(write_features(features, tmp), n_folds)
            with tmp.open("rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        self._commit(path, file_sha256(path)[0], n_folds)
        log.info("cached fold features %s (%d bytes)", path, path.stat().st_size)
        return StoredFolds(path, n_folds)

    def _commit(self, path: Path, sha256: str, n_folds: int) -> None:
        """Write the sidecar (atomically, last): it makes the data file a valid entry."""
        tmp = self._tmp(path)
        try:
            meta = {"format": FORMAT, "sha256": sha256, "n_folds": n_folds}
            tmp.write_text(json.dumps(meta), encoding="utf-8")
            os.replace(tmp, self._sidecar(path))
        finally:
            tmp.unlink(missing_ok=True)

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
    load_train: Callable[[], tuple[Sequence[str], Any]],
    n_folds: int = 5,
    seed: int = 0,
    cache: FeatureCache | None = None,
    dataset_key: str | None = None,
) -> Sequence[FoldFeatures]:
    """One configuration's fold features, through ``cache`` when given (``dataset_key`` then
    names the data, e.g. the dataset id or the train split's sha256).

    ``load_train()`` returns the training texts and labels; it is called only when the
    features are built, so a cache hit never reads the training split. Through a cache the
    folds are built, stored and read back one at a time (:class:`StoredFolds`); without one
    they come back as a list, all in memory.
    """
    settings = config.features if isinstance(config, ModelConfig) else config

    def build() -> Iterator[FoldFeatures]:
        texts, labels = load_train()
        return iter_fold_features(texts, labels, settings, make_folds(labels, n_folds, seed))

    if cache is None:
        return list(build())
    if dataset_key is None:
        raise InputError("a feature cache needs a dataset_key naming the data")
    return cache.get_or_build(dataset_key, settings.feature_key, n_folds, seed, build)
