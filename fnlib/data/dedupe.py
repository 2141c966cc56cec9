"""De-duplication: the same article must not land in both the train and the test split.

Two documents are duplicates when their *normalised* texts are equal: case-folded, with
punctuation (ASCII and common typographic quotes, dashes, ellipses) and whitespace removed.
Removing whitespace rather than collapsing it also catches copies that differ only in word
breaks, and is one ``str.translate`` pass (fast). Exact copies are reported separately.

- Within a group of copies the one with the smallest id is kept, the others are dropped.
- When copies disagree on the label, the text carries no usable signal and *all* copies are
  dropped and reported as label conflicts.

With a predefined split (``protected`` = the published test rows) the test split is never
changed: a train row that duplicates a test row is dropped from train (reported under
``cross_split``), duplicates within test are kept, and the rules above apply among train rows.

Groups are found by hashing the normalised text (``pandas.util.hash_pandas_object``, 64 bit);
the chance of a false match is negligible (about n^2 / 2^65, ~1e-9 for 200k documents).
"""

from __future__ import annotations

import logging
import string
from typing import Any

import numpy as np
import pandas as pd

from fnlib.data.schema import ID, LABEL, TEXT

log = logging.getLogger(__name__)

MAX_EXAMPLES = 5
_PUNCTUATION = string.punctuation + "\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00ab\u00bb\u00b4"
_WHITESPACE = string.whitespace + "\x85\xa0\u2009\u200a\u200b\u202f\u2028\u2029\u3000"
_DELETE = str.maketrans("", "", _PUNCTUATION + _WHITESPACE)


def _normalise(text: str) -> str:
    return text.casefold().translate(_DELETE)


def normalised_text(texts: pd.Series) -> pd.Series:
    """The text used to compare documents: case-folded, no punctuation, no whitespace."""
    return texts.astype(str).map(_normalise)


def dedupe(
    df: pd.DataFrame, protected: np.ndarray | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Drop exact and normalised-text duplicates and label conflicts; return frame and report.

    "First" means smallest id in string order, so the result does not depend on row order.
    The result keeps the input's row order (minus dropped rows) and a fresh index.
    ``protected`` (a boolean mask aligned with ``df``) marks rows that are never dropped; rows
    duplicating a protected row are (see the module docstring).
    """
    ordered = df.reset_index(drop=True)
    order = np.argsort(ordered[ID].astype(str).to_numpy(), kind="stable")
    by_id = ordered.iloc[order]
    texts = by_id[TEXT].astype(str).reset_index(drop=True)
    normalised = normalised_text(texts)
    # texts that normalise to nothing (e.g. only punctuation) are compared exactly instead
    normalised = normalised.where(normalised != "", "\x00" + texts)
    keys = pd.util.hash_pandas_object(normalised, index=False).to_numpy()
    del normalised

    groups = pd.DataFrame(
        {"key": keys, "label": by_id[LABEL].to_numpy(), "id": by_id[ID].to_numpy()}
    )
    kept_ids = groups["id"].to_numpy()
    shielded = np.zeros(len(groups), dtype=bool)
    cross = np.zeros(len(groups), dtype=bool)
    report_cross: dict[str, Any] | None = None
    if protected is not None:
        shielded = np.asarray(protected, dtype=bool)[order]
        protected_keys = groups.loc[shielded, ["key", "label", "id"]].drop_duplicates("key")
        cross = ~shielded & groups["key"].isin(protected_keys["key"]).to_numpy()
        match = groups.loc[cross, ["key", "label", "id"]].merge(
            protected_keys, on="key", suffixes=("", "_test"), how="left")
        report_cross = {
            "train_rows_dropped": int(cross.sum()),
            "label_differs": int((match["label"] != match["label_test"]).sum()),
            "examples": [{"dropped": str(r.id), "test": str(r.id_test)}
                         for r in match.head(MAX_EXAMPLES).itertuples()],
        }
    rest = ~shielded & ~cross  # the rows the usual rules apply to
    sub = groups[rest]
    conflict = np.zeros(len(groups), dtype=bool)
    duplicate = np.zeros(len(groups), dtype=bool)
    conflict[rest] = sub.groupby("key", sort=False)["label"].transform("nunique").to_numpy() > 1
    duplicate[rest] = sub["key"].duplicated(keep="first").to_numpy()
    duplicate &= ~conflict
    exact = np.zeros(len(groups), dtype=bool)
    exact[rest] = texts[rest].duplicated(keep="first").to_numpy()
    exact &= duplicate
    near = duplicate & ~exact

    first = sub.groupby("key", sort=False)["id"].transform("first").to_numpy()
    kept_ids = kept_ids.copy()
    kept_ids[rest] = first
    conflict_groups = groups[conflict].groupby("key", sort=False)["id"].apply(list)
    report = {
        "rows_in": int(len(ordered)),
        "exact_duplicates": int(exact.sum()),
        "near_duplicates": int(near.sum()),
        "label_conflicts": {
            "groups": int(len(conflict_groups)),
            "rows": int(conflict.sum()),
            "examples": [
                [str(i) for i in ids[:MAX_EXAMPLES]] for ids in conflict_groups.iloc[:MAX_EXAMPLES]
            ],
        },
        "examples": {
            "exact": _pairs(groups["id"].to_numpy(), kept_ids, exact),
            "near": _pairs(groups["id"].to_numpy(), kept_ids, near),
        },
    }
    if report_cross is not None:
        report["cross_split"] = report_cross
    drop_sorted = duplicate | conflict | cross
    drop = np.zeros(len(ordered), dtype=bool)
    drop[order] = drop_sorted
    out = ordered[~drop].reset_index(drop=True)
    report["rows_out"] = int(len(out))
    report["rows_dropped"] = int(drop.sum())
    log.info(
        "dedupe: %d exact and %d near duplicates, %d label-conflict rows, %d train rows "
        "duplicating test dropped; %d -> %d rows",
        report["exact_duplicates"],
        report["near_duplicates"],
        report["label_conflicts"]["rows"],
        int(cross.sum()),
        report["rows_in"],
        report["rows_out"],
    )
    return out, report


def _pairs(ids: np.ndarray, kept: np.ndarray, mask: np.ndarray) -> list[dict[str, str]]:
    positions = np.flatnonzero(mask)[:MAX_EXAMPLES]
    return [{"dropped": str(ids[p]), "kept": str(kept[p])} for p in positions]
