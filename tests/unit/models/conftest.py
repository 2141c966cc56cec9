"""Shared fixtures for the model tests: a small prepared SYNTHETIC training split, tiny fold
features and a comparison of fold features."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from fnlib.data.prepare import prepare_corpus
from fnlib.data.synthetic import generate
from fnlib.models.fold_tfidf import FoldFeatures
from fnlib.models.folds import build_fold_features, make_folds
from fnlib.models.specs import FeatureSettings


@pytest.fixture(scope="session")
def split() -> pd.DataFrame:
    """The training split of 600 generated documents (id, text, label)."""
    return prepare_corpus(generate(600, seed=1), "synthetic").train


@pytest.fixture(scope="session")
def test_split() -> pd.DataFrame:
    return prepare_corpus(generate(600, seed=1), "synthetic").test


@pytest.fixture(scope="session")
def texts(split: pd.DataFrame) -> list[str]:
    return split["text"].tolist()


@pytest.fixture(scope="session")
def labels(split: pd.DataFrame) -> np.ndarray:
    return split["label"].to_numpy()


@pytest.fixture(scope="session")
def tiny_features():
    """``tiny_features(seed=0, extra="")``: fold features (2 folds) of 40 tiny documents;
    another ``seed`` or ``extra`` word gives other features."""

    def build(seed: int = 0, extra: str = "") -> list[FoldFeatures]:
        texts = [f"word{i % 7} word{i % 3} common {extra}" for i in range(40)]
        labels = np.array([i % 2 for i in range(40)])
        return build_fold_features(texts, labels, FeatureSettings("raw", {"min_df": 1}),
                                   make_folds(labels, 2, seed))

    return build


@pytest.fixture(scope="session")
def same_features():
    """``same_features(a, b)``: whether two lists of fold features hold equal matrices and
    labels."""

    def same(a: list[FoldFeatures], b: list[FoldFeatures]) -> bool:
        return len(a) == len(b) and all(
            x.X_train.shape == y.X_train.shape and x.X_val.shape == y.X_val.shape
            and (x.X_train != y.X_train).nnz == 0 and (x.X_val != y.X_val).nnz == 0
            and np.array_equal(x.y_train, y.y_train) and np.array_equal(x.y_val, y.y_val)
            for x, y in zip(a, b, strict=True))

    return same


@pytest.fixture
def watched_folds():
    """``watched_folds(source, n)``: ``(folds, alive)``. ``folds`` yields ``n`` folds from the
    iterator ``source`` without binding any to a name; each time the consumer asks for the
    next fold, ``alive`` records how many folds it handed out earlier are still in memory
    (0 throughout = the consumer held one fold at a time)."""

    def watch(source: Iterator[FoldFeatures], n: int) -> tuple[Iterator[FoldFeatures], list[int]]:
        held: list[weakref.ref] = []
        alive: list[int] = []

        def handed(fold: FoldFeatures) -> FoldFeatures:
            held.append(weakref.ref(fold))
            return fold

        def folds() -> Iterator[FoldFeatures]:
            for _ in range(n):
                gc.collect()
                alive.append(sum(ref() is not None for ref in held))
                yield handed(next(source))

        return folds(), alive

    return watch
