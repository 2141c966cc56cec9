"""The feature store in the bucket (real S3: moto's server) behind the local cache: a second
machine fetches instead of building, every download is verified, entries are written once, and
racing writers leave one version."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from fnlib.catalog import object_key
from fnlib.models.feature_store import (
    FeatureBucket,
    FeatureCache,
    StoredFolds,
    write_features,
)
from fnlib.models.fold_tfidf import FoldFeatures
from fnlib.storage.manifest import find_manifest
from fnlib.storage.objects import ObjectRef

PARENT = {"kind": "dataset", "uri": "s3://b/datasets/ds-1/manifest.json?versionId=v",
          "sha256": "0" * 64}


def _versions(store, prefix: str = "features/") -> list[tuple[str, str]]:
    listed = store.client.list_object_versions(Bucket=store.bucket, Prefix=prefix)
    return sorted((v["Key"], v["VersionId"]) for v in listed.get("Versions", []))


def _cache(store, tmp_path: Path, machine: str) -> FeatureCache:
    return FeatureCache(tmp_path / machine, bucket=FeatureBucket(store, [PARENT]))


def _never() -> list[FoldFeatures]:
    raise AssertionError("built although the bucket holds the entry")


def test_a_second_machine_fetches_verified_features_instead_of_building(store, tmp_path,
                                                                         tiny_features,
                                                                         same_features):
    first = _cache(store, tmp_path, "a")
    built = first.get_or_build("ds-1", "feat-x", 2, 0, tiny_features)
    assert first.last_status == "built"
    entry = FeatureBucket.entry_id("ds-1", "feat-x", 2, 0)
    manifest, _ = find_manifest(store, "features", entry)
    assert manifest.parents == [PARENT]
    assert manifest.params == {"dataset_key": "ds-1", "feature_key": "feat-x", "n_folds": 2,
                               "seed": 0, "format": 1}
    assert manifest.objects["folds"].key == object_key("features", entry, "folds.npz")

    second = _cache(store, tmp_path, "b")
    fetched = second.get_or_build("ds-1", "feat-x", 2, 0, _never)
    assert second.last_status == "fetched" and same_features(built, fetched)
    local = [second.path_for("ds-1", "feat-x", 2, 0), first.path_for("ds-1", "feat-x", 2, 0)]
    assert local[0].read_bytes() == local[1].read_bytes()
    assert second.get_or_build("ds-1", "feat-x", 2, 0, _never) and second.last_status == "hit"
    # another entry (seed) is another address
    assert FeatureBucket.entry_id("ds-1", "feat-x", 2, 1) != entry
    before = _versions(store)
    _cache(store, tmp_path, "c").get_or_build("ds-1", "feat-x", 2, 0, _never)
    assert _versions(store) == before  # reading writes nothing


def test_the_bytes_depend_only_on_the_arrays(tmp_path, monkeypatch, tiny_features):
    features = tiny_features()
    write_features(features, tmp_path / "one.npz")
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.0)  # another day, another clock
    write_features(features, tmp_path / "two.npz")
    assert (tmp_path / "one.npz").read_bytes() == (tmp_path / "two.npz").read_bytes()


def test_folds_are_written_and_read_one_at_a_time(tmp_path, tiny_features, same_features,
                                                  watched_folds):
    """The writer lets go of each fold before taking the next; the stored layout (names and
    order of the arrays, which decide the bytes and so the entries' checksums) is unchanged;
    StoredFolds reads one fold per access and its iterator keeps none."""
    features = tiny_features()
    source = tiny_features()
    lazily, alive = watched_folds((source.pop(0) for _ in range(2)), 2)
    path = tmp_path / "entry.npz"
    assert write_features(lazily, path) == 2 and alive == [0, 0]
    with np.load(path) as arrays:
        assert arrays.files == [f"{i}_{part}_{field}" for i in range(2) for part in ("train", "val")
                                for field in ("data", "indices", "indptr", "shape", "y")]
    stored = StoredFolds(path, 2)
    assert len(stored) == 2 and stored.widths == [f.n_features for f in features]
    assert same_features(list(stored), features) and same_features(stored[-1:], features[1:])
    with pytest.raises(IndexError):
        stored[2]
    lazily, alive = watched_folds(iter(stored), 2)
    for fold in lazily:
        del fold
    assert alive == [0, 0]
    with pytest.raises(ValueError, match="exactly 3 folds"):
        StoredFolds(path, 3)


def test_a_tampered_entry_is_refused_and_never_overwritten(store, tmp_path, caplog, tiny_features,
                                                           same_features):
    _cache(store, tmp_path, "a").get_or_build("ds-2", "feat-x", 2, 0, tiny_features)
    entry = FeatureBucket.entry_id("ds-2", "feat-x", 2, 0)
    manifest, manifest_ref = find_manifest(store, "features", entry)
    good = manifest.objects["folds"]
    # someone replaces the data and points the manifest at it, keeping the old checksum
    other = tmp_path / "other.npz"
    write_features(tiny_features(extra="tampered"), other)
    forged = store.client.put_object(Bucket=store.bucket, Key=good.key, Body=other.read_bytes())
    manifest.objects["folds"] = ObjectRef(good.bucket, good.key, forged["VersionId"], good.sha256,
                                          good.size)
    store.put_json(manifest_ref.key, manifest.to_dict())
    before = _versions(store)

    cache = _cache(store, tmp_path, "b")
    features = cache.get_or_build("ds-2", "feat-x", 2, 0, tiny_features)
    assert cache.last_status == "rebuilt" and same_features(features, tiny_features())
    assert "refusing fold features" in caplog.text and f"features/{entry}/" in caplog.text
    assert _versions(store) == before  # the bad entry is left for a person to look at
    assert not same_features(features, tiny_features(extra="tampered"))


def test_racing_writers_leave_one_version(store, tmp_path, tiny_features, same_features):
    """Three machines miss at once, all build, all publish: one data version, one manifest."""
    n = 3
    barrier = threading.Barrier(n)
    results: dict[int, list[FoldFeatures]] = {}
    statuses: dict[int, str | None] = {}

    def machine(i: int) -> None:
        cache = _cache(store, tmp_path, f"m{i}")

        def build() -> list[FoldFeatures]:
            barrier.wait(timeout=30)  # everyone has missed the bucket before anyone writes
            return tiny_features()

        results[i] = cache.get_or_build("ds-3", "feat-x", 2, 0, build)
        statuses[i] = cache.last_status

    threads = [threading.Thread(target=machine, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert statuses == dict.fromkeys(range(n), "built")
    assert all(same_features(results[0], results[i]) for i in range(n))
    keys = [key for key, _ in _versions(store)]
    entry = FeatureBucket.entry_id("ds-3", "feat-x", 2, 0)
    assert sorted(keys) == [f"features/{entry}/folds.npz", f"features/{entry}/manifest.json"]


def test_a_writer_with_different_bytes_keeps_its_own_copy(store, tmp_path, tiny_features):
    """A machine whose floats differ (a different CPU) loses the race: written once."""
    first = _cache(store, tmp_path, "a")
    first.get_or_build("ds-4", "feat-x", 2, 0, tiny_features)
    entry = FeatureBucket.entry_id("ds-4", "feat-x", 2, 0)
    before = _versions(store)
    other = tmp_path / "other.npz"
    write_features(tiny_features(extra="different"), other)
    assert FeatureBucket(store, [PARENT]).publish(entry, other, {}) is None
    assert _versions(store) == before


@pytest.mark.parametrize("mode", ["local"])
def test_without_the_bucket_nothing_is_written(store, tmp_path, monkeypatch, mode, tiny_features):
    from fnlib import settings

    monkeypatch.setenv("FN_FEATURE_STORE", mode)
    assert settings.feature_store() == "local"
    monkeypatch.setenv("FN_FEATURE_STORE", "nowhere")
    with pytest.raises(ValueError, match="FN_FEATURE_STORE"):
        settings.feature_store()
    cache = FeatureCache(tmp_path)
    cache.get_or_build("ds-5", "feat-x", 2, 0, tiny_features)
    assert cache.last_status == "built" and _versions(store) == []
