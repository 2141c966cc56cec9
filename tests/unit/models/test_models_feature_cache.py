"""The local FeatureCache: miss then hit, damaged entries rebuilt, one build per machine
under a file lock, and fold_features_for reading the training data only to build."""

from __future__ import annotations

from pathlib import Path

import pytest

from fnlib.errors import InputError
from fnlib.models.feature_store import FeatureCache, fold_features_for
from fnlib.models.specs import ModelConfig

_CHILD = """
import os, sys, time
from pathlib import Path
import numpy as np
import scipy.sparse as sp
from fnlib.models.feature_store import FeatureCache
from fnlib.models.fold_tfidf import FoldFeatures

def build():
    Path(sys.argv[2], f"built-{os.getpid()}").touch()
    time.sleep(0.5)
    x = sp.csr_matrix(np.eye(4))
    y = np.array([0, 1, 0, 1])
    return [FoldFeatures(x, y, x, y), FoldFeatures(x, y, x, y)]

print(len(FeatureCache(sys.argv[1]).get_or_build("ds", "feat-lock", 2, 0, build)))
"""


def test_cache_miss_then_hit(tmp_path: Path, tiny_features, same_features) -> None:
    cache = FeatureCache(tmp_path)
    built = []

    def build():
        built.append(1)
        return tiny_features()

    first = cache.get_or_build("ds-1", "feat-abc", 2, 0, build)
    assert cache.last_status == "built" and len(built) == 1
    path = tmp_path / "ds-1" / "feat-abc-k2-s0.npz"
    assert path.is_file() and Path(str(path) + ".sha256").is_file()
    second = FeatureCache(tmp_path).get_or_build("ds-1", "feat-abc", 2, 0, build)
    assert len(built) == 1
    assert same_features(first, second)
    assert second[0].X_train.format == "csr"
    # a different seed or fold count is a different entry
    cache.get_or_build("ds-1", "feat-abc", 2, 1, build)
    assert len(built) == 2 and cache.stats == {"hit": 0, "fetched": 0, "built": 2, "rebuilt": 0,
                                         "uncached": 0}


@pytest.mark.parametrize("damage", ["flip", "truncate", "no_sidecar", "bad_sidecar"])
def test_cache_rebuilds_corrupt_entries(tmp_path: Path, damage: str, tiny_features,
                                        same_features) -> None:
    cache = FeatureCache(tmp_path)
    cache.get_or_build("ds", "feat-x", 2, 0, tiny_features)
    path = cache.path_for("ds", "feat-x", 2, 0)
    sidecar = Path(str(path) + ".sha256")
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(bytes(data[: len(data) // 3]))
    elif damage == "no_sidecar":
        sidecar.unlink()
    else:
        sidecar.write_text("{not json", encoding="utf-8")
    rebuilt = cache.get_or_build("ds", "feat-x", 2, 0, tiny_features)
    assert cache.last_status == "rebuilt"
    assert same_features(rebuilt, tiny_features())
    cache.get_or_build("ds", "feat-x", 2, 0, tiny_features)
    assert cache.last_status == "hit"


def test_cache_rejects_unsafe_keys_and_bad_builds(tmp_path: Path, tiny_features) -> None:
    cache = FeatureCache(tmp_path)
    for bad in ("../up", "a/b", "", ".hidden", "x" * 200):
        with pytest.raises(InputError, match="file name"):
            cache.get_or_build(bad, "feat-x", 2, 0, tiny_features)
    with pytest.raises(InputError, match="give 3 FoldFeatures, got 2"):
        cache.get_or_build("ds", "feat-x", 3, 0, tiny_features)


def test_cache_lock_lets_one_process_build(tmp_path: Path) -> None:
    """Three separate processes (as three mapped tasks would be) ask for one entry at once."""
    import subprocess
    import sys

    markers = tmp_path / "markers"
    markers.mkdir()
    procs = [
        subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path / "cache"), str(markers)],
                         stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    results = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert results == ["2", "2", "2"]
    assert len(list(markers.iterdir())) == 1


def test_cache_lock_timeout_builds_without_caching(tmp_path: Path, tiny_features) -> None:
    import fcntl

    cache = FeatureCache(tmp_path, lock_timeout=0.2)
    path = cache.path_for("ds", "feat-t", 2, 0)
    path.parent.mkdir(parents=True)
    with open(str(path) + ".lock", "a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        features = cache.get_or_build("ds", "feat-t", 2, 0, tiny_features)
    assert cache.last_status == "uncached" and len(features) == 2
    assert not path.exists()


def test_fold_features_for_uses_the_cache(tmp_path: Path, texts, labels, same_features) -> None:
    config = ModelConfig("nb", "denoised")
    cache = FeatureCache(tmp_path)
    loads = []

    def load_train():
        loads.append(1)
        return texts, labels

    first = fold_features_for(config, load_train, 3, 0, cache, "train-sha")
    again = fold_features_for(ModelConfig("logreg", "denoised"), load_train, 3, 0, cache,
                              "train-sha")
    assert cache.stats["built"] == 1 and cache.stats["hit"] == 1
    assert len(loads) == 1  # a hit never reads the training data
    assert same_features(first, again)
    assert same_features(first, fold_features_for(config, load_train, 3, 0))
    with pytest.raises(InputError, match="dataset_key"):
        fold_features_for(config, load_train, 3, 0, cache)
