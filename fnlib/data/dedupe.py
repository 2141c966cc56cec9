"""De-duplication: the same article must not land in both the train and the test split.

Two documents are duplicates when their *normalised* texts are equal: case-folded, with
punctuation (ASCII and common typographic quotes, dashes, ellipses) and whitespace removed.
Removing whitespace rather than collapsing it also catches copies that differ only in word
breaks, and is one ``str.translate`` pass (fast). Exact copies are reported separately.

- Within a group of copies the one with the smallest id is kept, the others are dropped.
- When copies disagree on the label, the text carries no usable signal and *all* copies are
  dropped and reported as label conflicts.

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


def dedupe(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Drop exact and normalised-text duplicates and label conflicts; return frame and report.

    "First" means smallest id in string order, so the result does not depend on row order.
    The result keeps the input's row order (minus dropped rows) and a fresh index.
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
    n_labels = groups.groupby("key", sort=False)["label"].transform("nunique").to_numpy()
    conflict = n_labels > 1
    duplicate = groups["key"].duplicated(keep="first").to_numpy() & ~conflict
    exact = texts.duplicated(keep="first").to_numpy() & duplicate
    near = duplicate & ~exact

    first_id = groups.groupby("key", sort=False)["id"].transform("first").to_numpy()
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
            "exact": _pairs(groups["id"].to_numpy(), first_id, exact),
            "near": _pairs(groups["id"].to_numpy(), first_id, near),
        },
    }
    drop_sorted = duplicate | conflict
    drop = np.zeros(len(ordered), dtype=bool)
    drop[order] = drop_sorted
    out = ordered[~drop].reset_index(drop=True)
    report["rows_out"] = int(len(out))
    report["rows_dropped"] = int(drop.sum())
    log.info(
        "dedupe: %d exact and %d near duplicates, %d label-conflict rows dropped; %d -> %d rows",
        report["exact_duplicates"],
        report["near_duplicates"],
        report["label_conflicts"]["rows"],
        report["rows_in"],
        report["rows_out"],
    )
    return out, report


def _pairs(ids: np.ndarray, kept: np.ndarray, mask: np.ndarray) -> list[dict[str, str]]:
    positions = np.flatnonzero(mask)[:MAX_EXAMPLES]
    return [{"dropped": str(ids[p]), "kept": str(kept[p])} for p in positions]
