"""Folds, shared fold features (equal to per-fold TfidfVectorizer and to cross_validate over the
full pipeline), and the on-disk FeatureCache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import cross_validate

from fnlib.errors import InputError
from fnlib.models import features as features_module
from fnlib.models.config import FeatureSettings, ModelConfig, build_pipeline
from fnlib.models.cv import METRICS, score_config
from fnlib.models.feature_store import FeatureCache, fold_features_for
from fnlib.models.features import (
    FoldFeatures,
    build_all_fold_features,
    build_fold_features,
    make_folds,
)
from fnlib.text import TextCleaner


def test_make_folds_stratified_seeded_and_complete(labels) -> None:
    folds = make_folds(labels, n_folds=5, seed=3)
    assert len(folds) == 5
    seen = np.concatenate([val for _, val in folds])
    assert sorted(seen.tolist()) == list(range(labels.size))
    overall = labels.mean()
    for train, val in folds:
        assert np.intersect1d(train, val).size == 0
        assert abs(labels[val].mean() - overall) < 0.02
    again = make_folds(labels, n_folds=5, seed=3)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    other = make_folds(labels, n_folds=5, seed=4)
    assert not np.array_equal(folds[0][1], other[0][1])


@pytest.mark.parametrize(
    ("labels", "n_folds", "message"),
    [
        ([0, 1] * 10, 1, "n_folds"),
        ([0, 1] * 10, True, "n_folds"),
        ([0] * 10 + [1] * 2, 5, "at least 5 documents per class"),
        ([0, 2, 1, 1], 2, "0 \\(real\\) or 1"),
        ([], 2, "non-empty"),
    ],
)
def test_make_folds_rejects(labels, n_folds, message) -> None:
    with pytest.raises(InputError, match=message):
        make_folds(labels, n_folds=n_folds)


@pytest.mark.parametrize(
    "vectorizer",
    [
        {"ngram_max": 1, "sublinear_tf": True, "min_df": 2},
        {"ngram_max": 2, "sublinear_tf": False, "min_df": 1},
        {"ngram_max": 2, "sublinear_tf": True, "min_df": 1, "max_features": 3000},
    ],
)
@pytest.mark.parametrize("variant", ["raw", "denoised"])
def test_fold_features_equal_per_fold_tfidf(texts, labels, vectorizer, variant) -> None:
    settings = FeatureSettings(variant, vectorizer)
    folds = make_folds(labels, 3, seed=0)
    shared = build_fold_features(texts, labels, settings, folds)
    cleaned = TextCleaner(variant).transform(texts)
    for fold, (train, val) in zip(shared, folds, strict=True):
        reference = TfidfVectorizer(
            ngram_range=(1, vectorizer["ngram_max"]),
            sublinear_tf=vectorizer["sublinear_tf"],
            min_df=vectorizer["min_df"],
            max_features=vectorizer.get("max_features"),
        )
        x_train = reference.fit_transform([cleaned[i] for i in train])
        x_val = reference.transform([cleaned[i] for i in val])
        for ours, theirs in ((fold.X_train, x_train), (fold.X_val, x_val)):
            assert ours.shape == theirs.shape
            # bit for bit, in the same entry order (it decides the rounding of the l2 norm)
            for part in ("data", "indices", "indptr"):
                np.testing.assert_array_equal(getattr(ours, part), getattr(theirs, part))
        np.testing.assert_array_equal(fold.y_train, labels[train])
        np.testing.assert_array_equal(fold.y_val, labels[val])


@pytest.fixture(scope="module")
def five_folds(labels):
    return make_folds(labels, 5, seed=0)


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig("nb", "denoised", {"ngram_max": 1}, {"alpha": 0.1}),
        ModelConfig("linsvm", "raw", {"ngram_max": 2}, {"C": 0.3}),
        ModelConfig("sgd", "denoised", {"ngram_max": 2}),
        ModelConfig("rf", "denoised", {"ngram_max": 1}, {"n_estimators": 30}),
        ModelConfig("logreg", "raw", {"ngram_max": 1}, {"C": 10.0}),
    ],
    ids=lambda c: c.model,
)
def test_shared_features_give_the_same_scores_as_cross_validate(
    config, texts, labels, five_folds
) -> None:
    shared = build_fold_features(texts, labels, config, five_folds)
    ours = score_config(config, shared, seed=0)
    reference = cross_validate(
        build_pipeline(config, seed=0), texts, labels, cv=five_folds, scoring=list(METRICS)
    )
    for metric in METRICS:
        per_fold = [fold[metric] for fold in ours["folds"]]
        np.testing.assert_array_equal(per_fold, reference[f"test_{metric}"])


def test_build_all_cleans_once_per_variant(texts, labels, monkeypatch) -> None:
    calls: list[str] = []
    original = TextCleaner.transform

    def counting(self, X):
        calls.append(self.variant)
        return original(self, X)

    monkeypatch.setattr(TextCleaner, "transform", counting)
    configs = [
        ModelConfig(model, variant, {"ngram_max": n})
        for model in ("nb", "logreg")
        for variant in ("raw", "denoised")
        for n in (1, 2)
    ]
    folds = make_folds(labels, 3)
    result = build_all_fold_features(texts, labels, configs, folds)
    assert sorted(calls) == ["denoised", "raw"]
    assert set(result) == {c.feature_key for c in configs}
    assert all(len(v) == 3 for v in result.values())


def test_build_rejects_misaligned_and_empty(labels) -> None:
    settings = FeatureSettings("raw")
    with pytest.raises(InputError, match="must align"):
        build_fold_features(["a b", "c d"], labels, settings, [])
    with pytest.raises(InputError, match="cannot build features"):
        build_fold_features(["the", "and"], [0, 1], FeatureSettings("denoised"), [])
    with pytest.raises(InputError, match="no terms are left"):
        build_fold_features(
            ["alpha beta", "gamma delta", "eps zeta", "eta theta"],
            [0, 1, 0, 1],
            FeatureSettings("raw", {"min_df": 3}),
            make_folds([0, 1, 0, 1], 2),
        )


# --- FeatureCache -------------------------------------------------------------------------


def _tiny_features(seed: int = 0) -> list[FoldFeatures]:
    texts = [f"word{i % 7} word{i % 3} common" for i in range(40)]
    labels = np.array([i % 2 for i in range(40)])
    return build_fold_features(
        texts, labels, FeatureSettings("raw", {"min_df": 1}), make_folds(labels, 2, seed)
    )


def _assert_same(a: list[FoldFeatures], b: list[FoldFeatures]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert (x.X_train != y.X_train).nnz == 0 and (x.X_val != y.X_val).nnz == 0
        np.testing.assert_array_equal(x.y_train, y.y_train)
        np.testing.assert_array_equal(x.y_val, y.y_val)


def test_cache_miss_then_hit(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    built = []

    def build():
        built.append(1)
        return _tiny_features()

    first = cache.get_or_build("ds-1", "feat-abc", 2, 0, build)
    assert cache.last_status == "built" and len(built) == 1
    path = tmp_path / "ds-1" / "feat-abc-k2-s0.npz"
    assert path.is_file() and Path(str(path) + ".sha256").is_file()
    second = FeatureCache(tmp_path).get_or_build("ds-1", "feat-abc", 2, 0, build)
    assert len(built) == 1
    _assert_same(first, second)
    assert second[0].X_train.format == "csr"
    # a different seed or fold count is a different entry
    cache.get_or_build("ds-1", "feat-abc", 2, 1, build)
    assert len(built) == 2 and cache.stats == {"hit": 0, "fetched": 0, "built": 2, "rebuilt": 0,
                                         "uncached": 0}


@pytest.mark.parametrize("damage", ["flip", "truncate", "no_sidecar", "bad_sidecar"])
def test_cache_rebuilds_corrupt_entries(tmp_path: Path, damage: str) -> None:
    cache = FeatureCache(tmp_path)
    cache.get_or_build("ds", "feat-x", 2, 0, _tiny_features)
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
    rebuilt = cache.get_or_build("ds", "feat-x", 2, 0, _tiny_features)
    assert cache.last_status == "rebuilt"
    _assert_same(rebuilt, _tiny_features())
    cache.get_or_build("ds", "feat-x", 2, 0, _tiny_features)
    assert cache.last_status == "hit"


def test_cache_rejects_unsafe_keys_and_bad_builds(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    for bad in ("../up", "a/b", "", ".hidden", "x" * 200):
        with pytest.raises(InputError, match="file name"):
            cache.get_or_build(bad, "feat-x", 2, 0, _tiny_features)
    with pytest.raises(InputError, match="list of 3"):
        cache.get_or_build("ds", "feat-x", 3, 0, _tiny_features)


_CHILD = """
import os, sys, time
from pathlib import Path
import numpy as np
import scipy.sparse as sp
from fnlib.models.feature_store import FeatureCache
from fnlib.models.features import FoldFeatures

def build():
    Path(sys.argv[2], f"built-{os.getpid()}").touch()
    time.sleep(0.5)
    x = sp.csr_matrix(np.eye(4))
    y = np.array([0, 1, 0, 1])
    return [FoldFeatures(x, y, x, y), FoldFeatures(x, y, x, y)]

print(len(FeatureCache(sys.argv[1]).get_or_build("ds", "feat-lock", 2, 0, build)))
"""


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


def test_cache_lock_timeout_builds_without_caching(tmp_path: Path) -> None:
    import fcntl

    cache = FeatureCache(tmp_path, lock_timeout=0.2)
    path = cache.path_for("ds", "feat-t", 2, 0)
    path.parent.mkdir(parents=True)
    with open(str(path) + ".lock", "a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        features = cache.get_or_build("ds", "feat-t", 2, 0, _tiny_features)
    assert cache.last_status == "uncached" and len(features) == 2
    assert not path.exists()


def test_fold_features_for_uses_the_cache(tmp_path: Path, texts, labels) -> None:
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
    _assert_same(first, again)
    _assert_same(first, fold_features_for(config, load_train, 3, 0))
    with pytest.raises(InputError, match="dataset_key"):
        fold_features_for(config, load_train, 3, 0, cache)


@pytest.fixture(scope="module")
def zipf_split():
    """Text whose n-gram vocabulary grows like real news: most bigrams occur once."""
    from fnlib.data.prepare import prepare_corpus
    from fnlib.data.synthetic import generate

    train = prepare_corpus(generate(400, seed=2, vocab="zipf"), "synthetic").train
    return TextCleaner("raw").transform(train["text"].tolist()), train["label"].to_numpy()


@pytest.mark.parametrize(
    ("vectorizer", "sketch_bits"),
    [
        ({"ngram_max": 2, "sublinear_tf": True, "min_df": 2}, 28),
        ({"ngram_max": 2, "sublinear_tf": False, "min_df": 3, "max_features": 5000}, 16),
    ],
    ids=["roomy", "colliding"],
)
def test_rare_ngram_pruning_keeps_features_exact(zipf_split, vectorizer, sketch_bits, monkeypatch):
    """Pruning n-grams below min_df before counting (a hashed first pass; collisions only keep
    more) leaves every fold equal to TfidfVectorizer's, bit for bit."""
    monkeypatch.setattr(features_module, "_SKETCH_MAX_BITS", sketch_bits)
    cleaned, labels = zipf_split
    settings = FeatureSettings("raw", vectorizer)
    full = features_module.count_matrix(cleaned, settings)
    pruned = features_module.count_matrix(cleaned, settings, min_df=vectorizer["min_df"])
    df = np.bincount(full.indices, minlength=full.shape[1])
    frequent = int((df >= vectorizer["min_df"]).sum())
    assert frequent <= pruned.shape[1] < full.shape[1]
    if sketch_bits == 28:  # most terms are rare; a roomy table keeps few of them
        rare = full.shape[1] - frequent
        assert rare > 3 * frequent and pruned.shape[1] - frequent < 0.2 * rare
    folds = make_folds(labels, 3, seed=1)
    shared = build_fold_features(cleaned, labels, settings, folds, precleaned=True)
    for fold, (train, val) in zip(shared, folds, strict=True):
        reference = TfidfVectorizer(
            ngram_range=(1, 2),
            sublinear_tf=vectorizer["sublinear_tf"],
            min_df=vectorizer["min_df"],
            max_features=vectorizer.get("max_features"),
        )
        x_train = reference.fit_transform([cleaned[i] for i in train])
        x_val = reference.transform([cleaned[i] for i in val])
        for ours, theirs in ((fold.X_train, x_train), (fold.X_val, x_val)):
            assert ours.shape == theirs.shape
            for part in ("data", "indices", "indptr"):
                np.testing.assert_array_equal(getattr(ours, part), getattr(theirs, part))


def test_pruning_everything_says_what_to_do() -> None:
    settings = FeatureSettings("raw", {"ngram_max": 2, "min_df": 3})
    with pytest.raises(InputError, match="min_df"):
        features_module.count_matrix(["alpha beta", "gamma delta"], settings, min_df=3)
