"""Seeded, stratified train/test split that does not depend on the input's row order."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from fnlib.data.schema import ID, LABEL, LABEL_NAMES, SPLIT_COLUMNS
from fnlib.errors import InputError

log = logging.getLogger(__name__)


def _check(df: pd.DataFrame, test_size: float, seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**32:
        raise InputError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    if isinstance(test_size, bool) or not isinstance(test_size, int | float | np.floating):
        raise InputError(f"test_size must be a fraction between 0 and 1, got {test_size!r}")
    if not 0.0 < float(test_size) < 1.0 or math.isnan(float(test_size)):
        raise InputError(f"test_size must be strictly between 0 and 1, got {test_size!r}")
    missing = [c for c in SPLIT_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"cannot split: missing column(s) {', '.join(missing)}")
    if not df[ID].is_unique:
        raise InputError("cannot split: ids are not unique, so the split would depend on row order")
    counts = df[LABEL].value_counts()
    unknown = sorted(set(counts.index.tolist()) - set(LABEL_NAMES))
    if unknown:
        raise InputError(f"cannot split: labels must be 0 or 1, found {unknown}")
    # both sides of the split need at least one row of each class
    needed = max(2, math.ceil(1 / min(test_size, 1 - test_size) - 1e-9))
    for value, name in LABEL_NAMES.items():
        count = int(counts.get(value, 0))
        if count < needed:
            raise InputError(
                f"cannot split with test_size={test_size}: {count} {name} rows, at least "
                f"{needed} needed so both train and test get {name} examples"
            )


def split_train_test(
    df: pd.DataFrame, test_size: float = 0.2, seed: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``df`` into (train, test), stratified by label and seeded.

    Rows are sorted by id first, so the same documents give the same split whatever their
    order. Both results are sorted by id and hold exactly the columns ``id, text, label``.
    Raises :class:`InputError` for a bad ``test_size`` or ``seed``, or too few rows in a class.
    """
    _check(df, test_size, seed)
    ordered = df.sort_values(ID, kind="stable").reset_index(drop=True)
    ordered = ordered.loc[:, list(SPLIT_COLUMNS)]
    ordered[LABEL] = ordered[LABEL].astype("int64")
    positions = np.arange(len(ordered))
    train_pos, test_pos = train_test_split(
        positions,
        test_size=float(test_size),
        random_state=seed,
        shuffle=True,
        stratify=ordered[LABEL].to_numpy(),
    )
    train = ordered.iloc[np.sort(train_pos)].reset_index(drop=True)
    test = ordered.iloc[np.sort(test_pos)].reset_index(drop=True)
    log.info(
        "split %d rows into train %d / test %d (test_size=%s, seed=%s)",
        len(ordered),
        len(train),
        len(test),
        test_size,
        seed,
    )
    return train, test
