"""Chunks of a grid: every configuration once, one feature key per chunk, balanced, labelled."""

from __future__ import annotations

import pytest

from fnlib.errors import InputError
from fnlib.models.chunking import LABEL_MAX, chunk_grid, chunk_label, cost, default_chunks
from fnlib.models.grids import default_grid, small_grid

GRID = default_grid()  # 40 configurations, 4 feature keys


@pytest.mark.parametrize("n_chunks", [1, 4, 5, 8, 13, 40, 100])
def test_chunks_cover_the_grid_once_with_one_feature_key_each(n_chunks: int) -> None:
    chunks = chunk_grid(GRID, n_chunks)
    ids = [c.config_id for chunk in chunks for c in chunk]
    assert sorted(ids) == sorted(c.config_id for c in GRID)
    assert all(len({c.feature_key for c in chunk}) == 1 for chunk in chunks)
    assert all(chunk for chunk in chunks)
    keys = {c.feature_key for c in GRID}
    assert {chunk[0].feature_key for chunk in chunks} == keys
    assert len(chunks) == min(max(n_chunks, len(keys)), len(GRID))
    assert chunk_grid(GRID, n_chunks) == chunks  # deterministic


def test_chunks_spread_the_dear_configurations() -> None:
    chunks = chunk_grid(GRID, 8)  # two chunks per feature key; 2 forests per key
    assert all(sum(c.model == "rf" for c in chunk) == 1 for chunk in chunks)
    loads = [sum(cost(c) for c in chunk) for chunk in chunks]
    assert max(loads) - min(loads) <= max(cost(c) for c in GRID)
    # extra chunks go to the keys with the most work per chunk
    uneven = [c for c in GRID if c.variant == "raw" or c.model == "nb"]
    counts: dict[str, int] = {}
    for chunk in chunk_grid(uneven, 6):
        counts[chunk[0].feature_key] = counts.get(chunk[0].feature_key, 0) + 1
    raw_keys = {c.feature_key for c in GRID if c.variant == "raw"}
    assert all(counts[k] == 2 for k in raw_keys) and sum(counts.values()) == 6


def test_labels_say_which_configurations_a_chunk_holds() -> None:
    chunks = chunk_grid(small_grid(), 2)
    label = chunk_label(chunks[0], 0, 2)
    assert label.startswith("1/2 " + chunks[0][0].features.label + ": ")
    assert all(c.label.split(" | ")[0] in label for c in chunks[0])
    assert label.endswith(f"({len(chunks[0])} configs)")
    long = chunk_label(chunk_grid(GRID, 1)[0] * 5, 0, 1)
    assert len(long) <= LABEL_MAX and ", ..." in long and long.endswith("(50 configs)")


def test_default_chunks_and_bad_input() -> None:
    assert default_chunks(4, 2) == 4 and default_chunks(2, 8) == 8 and default_chunks(0, 0) == 1
    for bad in (0, -1, 2.5, True, "4"):
        with pytest.raises(InputError, match="chunks"):
            chunk_grid(GRID, bad)
    with pytest.raises(InputError, match="empty"):
        chunk_grid([], 2)
