"""Train/test splits: seeded and stratified (``random``), or the data set's own (``predefined``).

``random``      :func:`split_train_test`: stratified by label, seeded, independent of row order.
``predefined``  :func:`split_predefined`: the split each row was published with, carried by the
                loaders in the ``meta_split`` column (LIAR's three files, a CSV/JSON split
                column, separate files per split). Values are normalised by
                :data:`SPLIT_ALIASES`; **validation rows join train** (tuning cross-validates on
                train, so a separate validation set would go unused) and the test split is
                exactly the published one. Unknown values, a missing train or test split, or a
                split holding one class only are errors that name the file, column and values.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from fnlib.data.errors import CorpusError, Problem
from fnlib.data.schema import ID, LABEL, LABEL_NAMES, META_PREFIX, SPLIT_COLUMNS
from fnlib.errors import InputError

log = logging.getLogger(__name__)

SPLIT_COLUMN = META_PREFIX + "split"
"""The corpus column in which loaders record each row's published split."""
SPLIT_ALIASES: dict[str, str] = {
    "train": "train", "training": "train",
    "valid": "valid", "validation": "valid", "val": "valid", "dev": "valid",
    "test": "test", "testing": "test",
}
"""Accepted split values (case-folded, stripped) -> canonical name."""
TRAIN_SPLITS = ("train", "valid")


def split_name_of_file(stem: str) -> str:
    """The canonical split a file stem names (``dev`` -> ``valid``), or ``""``."""
    return SPLIT_ALIASES.get(stem.strip().casefold(), "")


def split_values(values: pd.Series, where: str, column: str) -> pd.Series:
    """Normalise split values; unknown ones raise :class:`CorpusError` naming where and column."""
    canonical = values.astype(str).str.strip().str.casefold().map(SPLIT_ALIASES)
    bad = canonical.isna().to_numpy()
    if bad.any():
        shown = sorted(set(values[bad].astype(str).tolist()))[:10]
        msg = (f"{where}: column {column!r} has unknown split value(s) {shown}; accepted: "
               f"{sorted(SPLIT_ALIASES)}")
        raise CorpusError("split", [Problem("split_value", msg, _positions(bad), column)])
    return canonical.astype(str)


def _positions(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.flatnonzero(mask))


def predefined_assignment(df: pd.DataFrame, where: str, column: str = SPLIT_COLUMN) -> pd.Series:
    """``train`` / ``test`` per row (validation rows -> ``train``), checked; see module doc.

    ``where`` (the file or folder) and ``column`` (the user's split column) go into errors.
    """
    if SPLIT_COLUMN not in df.columns:
        raise CorpusError("split", [Problem(
            "split_missing", f"{where}: split=predefined, but the data carries no split; give "
            "the split column (csv: split_column, json: split_field), files named "
            "train/valid/test, or use split=random", column=column)])
    canonical = split_values(df[SPLIT_COLUMN], where, column)
    assigned = canonical.where(canonical == "test", "train")
    check_predefined(df.assign(**{SPLIT_COLUMN: assigned}), where, column,
                     published=sorted(set(canonical)))
    return assigned


def check_predefined(df: pd.DataFrame, where: str, column: str,
                     published: list[str] | None = None) -> None:
    """Train and test must both exist and each hold both classes; else :class:`CorpusError`."""
    problems = []
    found = published or sorted(set(df[SPLIT_COLUMN]))
    for split in ("train", "test"):
        rows = df[df[SPLIT_COLUMN] == split]
        if rows.empty:
            problems.append(Problem("split_missing", f"{where}: column {column!r} has no {split} "
                                    f"rows (values found: {found})", column=column))
            continue
        classes = sorted(LABEL_NAMES[int(v)] for v in set(rows[LABEL].tolist()))
        if len(classes) < 2:
            problems.append(Problem("split_one_class", f"{where}: the {split} split of column "
                                    f"{column!r} holds only {classes} rows; both fake and real "
                                    "are needed", column=column))
    if problems:
        raise CorpusError("split", problems)


def split_predefined(df: pd.DataFrame, assignment: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test) by a ``train``/``test`` assignment aligned with ``df``; sorted by id."""
    if not df[ID].is_unique:
        raise InputError("cannot split: ids are not unique")
    frame = df.loc[:, list(SPLIT_COLUMNS)].assign(**{LABEL: df[LABEL].astype("int64")})
    is_test = (assignment.to_numpy() == "test")
    parts = [frame[~is_test], frame[is_test]]
    train, test = (p.sort_values(ID, kind="stable").reset_index(drop=True) for p in parts)
    log.info("predefined split: train %d / test %d", len(train), len(test))
    return train, test


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
