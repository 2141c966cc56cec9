"""Any delimited file with a header (``csv``), given which columns hold what.

A path may be one file, or a folder of split files (``train.csv``, ``valid.csv``/``dev.csv``,
``test.csv``) whose names become each row's published split (``meta_split``). In one file,
``split_column`` names the column holding the split (values: :data:`~fnlib.data.split.SPLIT_ALIASES`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from fnlib.data.errors import CorpusError, Problem
from fnlib.data.reading import (
    DEFAULT_CSV_LABEL_MAP,
    join_title,
    make_corpus,
    read_csv_strict,
    require_file,
)
from fnlib.data.schema import FAKE, META_PREFIX, REAL
from fnlib.data.split import split_name_of_file, split_values
from fnlib.errors import InputError

log = logging.getLogger(__name__)


def _meta_name(column: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in column.strip().lower()).strip("_")
    return META_PREFIX + (cleaned or "column")


def load_csv(
    path: str | Path,
    text_column: str = "text",
    label_column: str = "label",
    id_column: str | None = None,
    label_map: Mapping[str, int] | None = None,
    title_column: str | None = None,
    split_column: str | None = None,
) -> pd.DataFrame:
    """Load any comma-separated file with a header (or a folder of split files, see above).

    ``label_map`` maps raw label strings to 1 (fake) / 0 (real); keys and cells are compared
    after stripping and case-folding. It defaults to :data:`DEFAULT_CSV_LABEL_MAP`. Ids are
    ``csv:<id_column value>`` or, without an id column, ``csv:<0-based data row>`` (with split
    files: ``csv:<file stem>:<row>``). With ``title_column`` the text is
    ``title + "\n\n" + text``. ``split_column``'s values go to ``meta_split``. All other
    columns are kept as ``meta_<name>`` (lower-cased, non-alphanumerics replaced by ``_``).
    """
    target = Path(path)
    if not target.is_dir():
        return _load_one(require_file(target, "a CSV file"), text_column, label_column,
                         id_column, label_map, title_column, split_column, "")
    files = sorted(p for p in target.glob("*.csv") if split_name_of_file(p.stem))
    if not files:
        raise InputError(f"{target} is a directory: give a CSV file, or a folder of split files "
                         "(train.csv, valid.csv or dev.csv, test.csv)")
    if split_column:
        raise InputError(f"{target}: split files name the split; drop split_column "
                         f"({split_column!r}) or give one CSV file")
    parts = [_load_one(f, text_column, label_column, id_column, label_map, title_column,
                       None, f.stem) for f in files]
    corpus = pd.concat(parts, ignore_index=True).fillna("")
    log.info("loaded CSV split files %s: %d rows", [f.name for f in files], len(corpus))
    return corpus


def _load_one(file_path: Path, text_column: str, label_column: str, id_column: str | None,
              label_map: Mapping[str, int] | None, title_column: str | None,
              split_column: str | None, split_file: str) -> pd.DataFrame:
    used = [c for c in (text_column, label_column, id_column, title_column, split_column) if c]
    frame = read_csv_strict(file_path, "csv", used)
    lookup = {
        str(k).strip().casefold(): int(v) for k, v in (label_map or DEFAULT_CSV_LABEL_MAP).items()
    }
    bad_values = sorted(set(lookup.values()) - {REAL, FAKE})
    if bad_values:
        raise InputError(f"label_map values must be 0 (real) or 1 (fake), got {bad_values}")
    raw = frame[label_column].str.strip().str.casefold()
    labels = raw.map(lookup)
    bad = np.flatnonzero(labels.isna().to_numpy())
    if bad.size:
        values = sorted(set(frame[label_column].iloc[bad].tolist()))[:10]
        msg = f"{file_path}: label(s) {values} are not in the label map {sorted(lookup)}"
        raise CorpusError("csv", [Problem("label", msg, tuple(int(i) for i in bad), label_column)])
    prefix = f"csv:{split_file}:" if split_file else "csv:"
    if id_column:
        ids = prefix + frame[id_column].str.strip()
    else:
        ids = pd.Series([f"{prefix}{i}" for i in range(len(frame))], dtype=object)
    text = frame[text_column]
    if title_column:
        text = join_title(frame[title_column], text)
    meta: dict[str, pd.Series] = {}
    if split_column:
        meta["split"] = split_values(frame[split_column], str(file_path), split_column)
    elif split_file:
        meta["split"] = pd.Series(split_name_of_file(split_file), index=frame.index)
    for column in frame.columns:
        if column not in used:
            name = base = _meta_name(str(column))[len(META_PREFIX) :]
            suffix = 2
            while name in meta:  # "Outlet Name" and "outlet_name" both become outlet_name
                name, suffix = f"{base}_{suffix}", suffix + 1
            meta[name] = frame[column]
    corpus = make_corpus(ids, text, labels, "csv", **meta)
    log.info("loaded CSV %s: %d rows", file_path, len(corpus))
    return corpus
