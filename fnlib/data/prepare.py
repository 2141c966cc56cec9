"""Turn a raw corpus into train/test splits with a report of everything done on the way.

Order of the stages in :func:`prepare_corpus`:

1. validate the raw input (any problem rejects the whole input: nothing is uploaded);
2. scrub source markers, URLs and metadata (:mod:`fnlib.data.scrub`); rows left blank by the
   scrub (a text that was only a link, say) are dropped and listed in the report section
   ``blank_after_scrub``; the rest of the input is kept;
3. de-duplicate and drop label conflicts (:mod:`fnlib.data.dedupe`);
4. validate again (enough rows per class must survive);
5. split into train/test, stratified and seeded (:mod:`fnlib.data.split`).

:func:`write_split_csv` / :func:`read_split_csv` serialise one split deterministically: the same
frame always gives the same bytes, so content checksums and dataset ids are stable.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fnlib.data.dedupe import dedupe as dedupe_corpus
from fnlib.data.errors import CorpusError, Problem
from fnlib.data.schema import FAKE, ID, LABEL, LABEL_NAMES, REAL, SPLIT_COLUMNS, TEXT
from fnlib.data.scrub import ScrubOptions
from fnlib.data.scrub import scrub as scrub_corpus
from fnlib.data.sources import decode_utf8, parse_csv_text
from fnlib.data.split import split_train_test
from fnlib.data.validate import ValidationLimits, validate_corpus
from fnlib.errors import InputError

log = logging.getLogger(__name__)

MAX_EXAMPLES = 10


@dataclass(frozen=True)
class PrepareOptions:
    """What :func:`prepare_corpus` does. Every field ends up in the report."""

    scrub: bool = True
    dedupe: bool = True
    test_size: float = 0.2
    seed: int = 42
    limits: ValidationLimits = field(default_factory=lambda: ValidationLimits(min_rows_per_class=10))
    scrub_options: ScrubOptions = field(default_factory=ScrubOptions)


@dataclass
class PreparedCorpus:
    """The splits (columns ``id, text, label``, sorted by id) and a JSON-serialisable report."""

    train: pd.DataFrame
    test: pd.DataFrame
    report: dict[str, Any]


def _balance(df: pd.DataFrame) -> dict[str, Any]:
    counts = {name: int((df[LABEL] == value).sum()) for value, name in LABEL_NAMES.items()}
    total = int(len(df))
    return {
        "rows": total,
        "class_counts": counts,
        "fake_ratio": round(counts[LABEL_NAMES[FAKE]] / total, 4) if total else None,
    }


def prepare_corpus(
    df: pd.DataFrame, source: str, options: PrepareOptions | None = None
) -> PreparedCorpus:
    """Validate, scrub, de-duplicate and split a corpus; see the module docstring."""
    options = options or PrepareOptions()
    report: dict[str, Any] = {
        "source": source,
        "synthetic": source == "synthetic",
        "options": asdict(options),
        "input": {"rows": int(len(df)), "columns": [str(c) for c in df.columns]},
    }
    report["validation"] = {"raw": validate_corpus(df, source, options.limits)}
    report["input"].update(_balance(df))
    corpus = df.reset_index(drop=True).copy()
    corpus[LABEL] = corpus[LABEL].astype("int64")

    if options.scrub:
        corpus, scrub_report = scrub_corpus(corpus, options.scrub_options)
        blank = ~corpus[TEXT].str.contains(r"\S", regex=True).to_numpy(dtype=bool)
        report["scrub"] = scrub_report
        report["blank_after_scrub"] = {
            "rows_dropped": int(blank.sum()),
            "example_ids": [str(i) for i in corpus.loc[blank, ID].head(MAX_EXAMPLES)],
        }
        corpus = corpus[~blank].reset_index(drop=True)
    else:
        report["scrub"] = {"skipped": True}
        report["blank_after_scrub"] = {"rows_dropped": 0, "example_ids": []}

    if options.dedupe:
        corpus, report["dedupe"] = dedupe_corpus(corpus)
    else:
        report["dedupe"] = {"skipped": True}

    report["validation"]["prepared"] = validate_corpus(
        corpus, f"{source} (after scrub and dedupe)", options.limits
    )
    train, test = split_train_test(corpus, test_size=options.test_size, seed=options.seed)
    report["split"] = {
        "test_size": options.test_size,
        "seed": options.seed,
        "stratified": True,
        "train": _balance(train),
        "test": _balance(test),
    }
    log.info(
        "prepared %s: %d input rows -> train %d, test %d",
        source, len(df), len(train), len(test),
    )  # fmt: skip
    return PreparedCorpus(train=train, test=test, report=report)


def write_split_csv(df: pd.DataFrame) -> bytes:
    """Serialise one split as UTF-8 CSV with columns ``id,text,label`` and ``\\n`` line ends.

    Strings are always quoted (so commas, quotes and newlines in texts round-trip exactly),
    labels are bare integers. Rows are written in the frame's order; the same frame always
    gives the same bytes.
    """
    missing = [c for c in SPLIT_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"cannot write split: missing column(s) {', '.join(missing)}")
    out = df.loc[:, list(SPLIT_COLUMNS)].reset_index(drop=True)
    for column in (ID, TEXT):
        not_str = ~out[column].map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        if not_str.any():
            rows = np.flatnonzero(not_str)[:10].tolist()
            raise InputError(f"cannot write split: {column} is not a string in rows {rows}")
    if not out[LABEL].isin([REAL, FAKE]).all():
        raise InputError("cannot write split: labels must be 0 or 1")
    out = out.astype({ID: object, TEXT: object, LABEL: "int64"})
    text = out.to_csv(index=False, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates cannot be stored as UTF-8
        raise InputError(f"cannot write split: text is not valid Unicode ({exc.reason})") from exc


def read_split_csv(data: bytes, name: str = "split.csv") -> pd.DataFrame:
    """Parse bytes written by :func:`write_split_csv` back into the identical frame.

    Strict: UTF-8 only, exactly the columns ``id,text,label``, labels 0 or 1. ``name`` is
    used in error messages (for example the object's URI).
    """
    text = decode_utf8(data, name, "split")
    frame = parse_csv_text(text, name, "split", SPLIT_COLUMNS)
    if list(frame.columns) != list(SPLIT_COLUMNS):
        msg = f"{name}: columns must be exactly {', '.join(SPLIT_COLUMNS)}, found {list(frame.columns)}"
        raise CorpusError("split", [Problem("columns", msg)])
    raw = frame[LABEL].str.strip()
    bad = ~raw.isin(["0", "1"]).to_numpy(dtype=bool)
    if bad.any():
        rows = tuple(int(i) for i in np.flatnonzero(bad))
        raise CorpusError("split", [Problem("label_value", f"{name}: labels must be 0 or 1", rows, LABEL)])
    frame[LABEL] = raw.astype("int64")
    frame[ID] = frame[ID].astype(str)
    frame[TEXT] = frame[TEXT].astype(str)
    return frame
