"""Shared fixtures for the model tests: a small prepared SYNTHETIC training split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fnlib.data.prepare import prepare_corpus
from fnlib.data.synthetic import generate


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
