"""Shared fixtures for the data-layer tests: tiny invented corpora, never real articles."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from fnlib.data.schema import ID, LABEL, SOURCE, TEXT

_REAL_WORDS = [
    "council",
    "budget",
    "approved",
    "quarterly",
    "report",
    "committee",
    "vote",
    "statement",
]
_FAKE_WORDS = ["shocking", "secret", "hoax", "exposed", "elites", "cover", "truth", "outrage"]


def make_corpus_frame(n_per_class: int = 12, source: str = "test") -> pd.DataFrame:
    """A valid corpus with ``n_per_class`` distinct invented documents per class."""
    rows = []
    for label, words in ((0, _REAL_WORDS), (1, _FAKE_WORDS)):
        for i in range(n_per_class):
            text = " ".join(words[(i + k) % len(words)] for k in range(6)) + f" number {i}"
            rows.append({ID: f"{source}:{label}:{i:03d}", TEXT: text, LABEL: label, SOURCE: source})
    return pd.DataFrame(rows)


@pytest.fixture
def corpus_factory() -> Callable[..., pd.DataFrame]:
    """Build a valid corpus: ``corpus_factory(n_per_class=12)``."""
    return make_corpus_frame
