"""split_train_test: stratified, seeded, independent of row order, strict about its inputs."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from fnlib.data.schema import SPLIT_COLUMNS
from fnlib.data.split import split_train_test
from fnlib.errors import InputError

Factory = Callable[..., pd.DataFrame]


def test_stratified_disjoint_and_shaped(corpus_factory: Factory) -> None:
    df = corpus_factory(20)
    df["meta_x"] = "dropped"
    train, test = split_train_test(df, test_size=0.25, seed=1)
    assert tuple(train.columns) == SPLIT_COLUMNS and tuple(test.columns) == SPLIT_COLUMNS
    assert len(test) == 10 and len(train) == 30
    assert test["label"].value_counts().to_dict() == {0: 5, 1: 5}
    assert set(train["id"]).isdisjoint(test["id"])
    assert set(train["id"]) | set(test["id"]) == set(df["id"])
    assert train["id"].is_monotonic_increasing and test["id"].is_monotonic_increasing
    assert train.index.tolist() == list(range(len(train)))


def test_deterministic_and_order_independent(corpus_factory: Factory) -> None:
    df = corpus_factory(20)
    train, test = split_train_test(df, seed=7)
    shuffled = df.sample(frac=1, random_state=3)
    train2, test2 = split_train_test(shuffled, seed=7)
    pd.testing.assert_frame_equal(train, train2)
    pd.testing.assert_frame_equal(test, test2)
    _, other = split_train_test(df, seed=8)
    assert set(other["id"]) != set(test["id"])


@pytest.mark.parametrize("test_size", [0, 1, 1.0, -0.1, 1.5, float("nan"), "0.2", True, None])
def test_bad_test_size(corpus_factory: Factory, test_size: object) -> None:
    with pytest.raises(InputError, match="test_size"):
        split_train_test(corpus_factory(10), test_size=test_size)  # type: ignore[arg-type]


def test_too_few_rows_per_class(corpus_factory: Factory) -> None:
    df = corpus_factory(4)
    with pytest.raises(InputError, match="4 real rows, at least 5 needed"):
        split_train_test(df, test_size=0.2)
    train, test = split_train_test(df, test_size=0.5)
    assert test["label"].value_counts().to_dict() == {0: 2, 1: 2}
    with pytest.raises(InputError, match="missing column"):
        split_train_test(df.drop(columns=["text"]))
    with pytest.raises(InputError, match="ids are not unique"):
        split_train_test(df.assign(id="same"), test_size=0.5)


@pytest.mark.parametrize("seed", [None, -1, 2**32, 1.5, True])
def test_bad_seed(corpus_factory: Factory, seed: object) -> None:
    with pytest.raises(InputError, match="seed"):
        split_train_test(corpus_factory(10), seed=seed)  # type: ignore[arg-type]
