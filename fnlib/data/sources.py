"""Loaders that turn raw fake-news data sets into the corpus schema of :mod:`fnlib.data.schema`.

Every loader returns a DataFrame with ``id``, ``text``, ``label`` (1 fake / 0 real), ``source``
and ``meta_*`` metadata columns. Reading is strict on purpose, so that a bad file is rejected
with a message that says where the problem is instead of silently producing a wrong corpus:

- bytes are decoded as UTF-8 (a leading byte-order mark is tolerated); anything else raises
  :class:`~fnlib.data.errors.CorpusError` naming the file, line and byte offset;
- unparseable CSV/TSV, or a file that lacks the expected columns (often a wrong delimiter),
  raises :class:`~fnlib.data.errors.CorpusError` naming the file and the missing columns;
- a missing file or directory raises :class:`~fnlib.errors.InputError` saying what was expected;
- every cell is read as a string with no NA inference, so a headline reading "NA" stays "NA".

Ids are stable across re-reads of the same files: ``isot:fake:17`` is data row 17 (0-based,
header excluded) of ``Fake.csv``; ``liar:2635.json`` is LIAR's own statement id;
``fakenewsnet:gossipcop_fake:gossipcop-2493749932`` is the row id in ``gossipcop_fake.csv``.

This module holds the loaders of the named data sets (ISOT, LIAR, FakeNewsNet) and the registry
:data:`SOURCES`; generic layouts live in :mod:`fnlib.data.csvfile` (``csv``) and
:mod:`fnlib.data.articles` (``folders``, ``json``), shared reading helpers in
:mod:`fnlib.data.reading`.
"""

from __future__ import annotations

import csv
import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fnlib import settings
from fnlib.catalog import SOURCE_NAMES
from fnlib.data import synthetic
from fnlib.data.articles import load_folders, load_json
from fnlib.data.csvfile import load_csv
from fnlib.data.errors import CorpusError, Problem
from fnlib.data.reading import (  # noqa: F401  (re-exported: the loaders' shared helpers)
    DEFAULT_CSV_LABEL_MAP,
    decode_utf8,
    join_title,
    make_corpus,
    parse_csv_text,
    read_csv_strict,
    require_dir,
    require_file,
)
from fnlib.data.schema import FAKE, REAL
from fnlib.errors import InputError

log = logging.getLogger(__name__)

DEFAULT_LIAR_MAPPING: dict[str, int] = {
    "true": REAL,
    "mostly-true": REAL,
    "half-true": REAL,
    "barely-true": FAKE,
    "false": FAKE,
    "pants-fire": FAKE,
}
"""The common binary mapping of LIAR's six truth ratings (as used in most LIAR baselines):
``true``, ``mostly-true`` and ``half-true`` are real (0); ``barely-true``, ``false`` and
``pants-fire`` are fake (1)."""

# fmt: off
LIAR_COLUMNS = (
    "statement_id", "label", "statement", "subject", "speaker", "speaker_job", "state", "party",
    "barely_true_count", "false_count", "half_true_count", "mostly_true_count",
    "pants_on_fire_count", "context",
)
# fmt: on
LIAR_SPLITS = ("train", "valid", "test")

ISOT_FILES = {"fake": ("Fake.csv", FAKE), "true": ("True.csv", REAL)}
ISOT_COLUMNS = ("title", "text", "subject", "date")
FAKENEWSNET_COLUMNS = ("id", "news_url", "title", "tweet_ids")
FAKENEWSNET_COLLECTIONS = ("politifact", "gossipcop")


def load_isot(path: str | Path) -> pd.DataFrame:
    """Load the Kaggle ISOT layout: a directory with ``Fake.csv`` and ``True.csv``.

    Both files have the header ``title,text,subject,date``. The document text is
    ``title + "\\n\\n" + text`` (the title alone when the body is blank). ``subject`` and
    ``date`` become ``meta_subject`` / ``meta_date``; note that ``subject`` alone separates the
    classes in ISOT, which is why the scrub stage drops metadata.
    """
    directory = require_dir(path, "ISOT's Fake.csv and True.csv")
    parts = []
    for tag, (file_name, label) in ISOT_FILES.items():
        frame = read_csv_strict(directory / file_name, "isot", ISOT_COLUMNS)
        ids = [f"isot:{tag}:{i}" for i in range(len(frame))]
        text = join_title(frame["title"], frame["text"])
        parts.append(
            make_corpus(ids, text, label, "isot", subject=frame["subject"], date=frame["date"])
        )
    corpus = pd.concat(parts, ignore_index=True)
    log.info("loaded ISOT from %s: %d rows", directory, len(corpus))
    return corpus


def _check_liar_fields(text: str, file_path: Path) -> None:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    tabs = pd.Series(lines, dtype=object).str.count("\t")
    bad = np.flatnonzero(tabs.to_numpy() != len(LIAR_COLUMNS) - 1)
    if bad.size:
        counts = sorted({int(tabs.iloc[i]) + 1 for i in bad[:100]})
        msg = (
            f"{file_path}: expected {len(LIAR_COLUMNS)} tab-separated fields per line, found "
            f"{counts} on lines {', '.join(str(i + 1) for i in bad[:10])} (wrong delimiter?)"
        )
        raise CorpusError("liar", [Problem("columns", msg, rows=tuple(int(i) for i in bad))])


def load_liar(
    path: str | Path,
    mapping: Mapping[str, int] | None = None,
    splits: Sequence[str] = LIAR_SPLITS,
) -> pd.DataFrame:
    """Load LIAR (Wang, 2017): ``train.tsv``, ``valid.tsv``, ``test.tsv`` in ``path``.

    The files are tab-separated with no header and 14 columns (see :data:`LIAR_COLUMNS`); the
    text is the statement. ``mapping`` maps the six truth ratings to 0/1 and defaults to
    :data:`DEFAULT_LIAR_MAPPING`. Ratings missing from the mapping raise :class:`CorpusError`
    naming the rows. Metadata: ``meta_subject``, ``meta_speaker``, ``meta_party``,
    ``meta_context`` and ``meta_split`` (which LIAR file the row came from).
    """
    mapping = dict(DEFAULT_LIAR_MAPPING if mapping is None else mapping)
    unknown_splits = [s for s in splits if s not in LIAR_SPLITS]
    if unknown_splits or not splits:
        raise InputError(f"LIAR splits must be a non-empty subset of {LIAR_SPLITS}, got {splits}")
    directory = require_dir(path, "LIAR's train.tsv, valid.tsv and test.tsv")
    parts, problems = [], []
    for split in splits:
        file_path = require_file(directory / f"{split}.tsv", f"LIAR's {split} split")
        text = decode_utf8(file_path.read_bytes(), str(file_path), "liar")
        _check_liar_fields(text, file_path)
        frame = parse_csv_text(
            text,
            str(file_path),
            "liar",
            LIAR_COLUMNS,
            sep="\t",
            header=None,
            names=list(LIAR_COLUMNS),
            quoting=csv.QUOTE_NONE,
        )
        raw = frame["label"].str.strip()
        labels = raw.map(mapping)
        bad = np.flatnonzero(labels.isna().to_numpy())
        if bad.size:
            values = sorted(set(raw.iloc[bad].tolist()))[:10]
            msg = (
                f"{file_path}: label(s) {values} are not in the mapping "
                f"{sorted(mapping)}; pass a mapping that covers them"
            )
            problems.append(Problem("label", msg, rows=tuple(int(i) for i in bad), column="label"))
            continue
        parts.append(
            make_corpus(
                "liar:" + frame["statement_id"].str.strip(),
                frame["statement"],
                labels,
                "liar",
                subject=frame["subject"],
                speaker=frame["speaker"],
                party=frame["party"],
                context=frame["context"],
                split=split,
            )
        )
    if problems:
        raise CorpusError("liar", problems)
    corpus = pd.concat(parts, ignore_index=True)
    log.info("loaded LIAR %s from %s: %d rows", list(splits), directory, len(corpus))
    return corpus


def load_fakenewsnet(
    path: str | Path, collections: Sequence[str] = FAKENEWSNET_COLLECTIONS
) -> pd.DataFrame:
    """Load FakeNewsNet CSVs: ``{collection}_{fake,real}.csv`` for each requested collection.

    Header ``id,news_url,title,tweet_ids``. The text is the title only; the URL goes to
    ``meta_url`` (it names the publisher, i.e. the source, not the claim) and the collection to
    ``meta_collection``. A missing file for a requested collection raises :class:`InputError`.
    """
    unknown = [c for c in collections if c not in FAKENEWSNET_COLLECTIONS]
    if unknown or not collections:
        raise InputError(
            f"FakeNewsNet collections must be a non-empty subset of {FAKENEWSNET_COLLECTIONS}, "
            f"got {list(collections)}"
        )
    directory = require_dir(path, "FakeNewsNet's {collection}_{fake,real}.csv files")
    expected = [directory / f"{c}_{kind}.csv" for c in collections for kind in ("fake", "real")]
    missing = [p.name for p in expected if not p.is_file()]
    if missing:
        raise InputError(
            f"FakeNewsNet collections {list(collections)} need {', '.join(missing)} in "
            f"{directory}; add the files or request only the collections present"
        )
    parts = []
    for file_path in expected:
        stem = file_path.stem
        frame = read_csv_strict(file_path, "fakenewsnet", FAKENEWSNET_COLUMNS)
        label = FAKE if stem.endswith("_fake") else REAL
        collection = stem.rsplit("_", 1)[0]
        ids = f"fakenewsnet:{stem}:" + frame["id"].str.strip()
        parts.append(
            make_corpus(
                ids,
                frame["title"].str.strip(),
                label,
                "fakenewsnet",
                url=frame["news_url"],
                collection=collection,
            )
        )
    corpus = pd.concat(parts, ignore_index=True)
    log.info("loaded FakeNewsNet %s from %s: %d rows", list(collections), directory, len(corpus))
    return corpus


def _load_synthetic(path: str | Path | None = None, **options: Any) -> pd.DataFrame:
    if path is not None:
        raise InputError("the synthetic source generates its data and takes no path")
    return synthetic.generate(**options)


SOURCES: dict[str, Callable[..., pd.DataFrame]] = {
    "synthetic": _load_synthetic,
    "isot": load_isot,
    "liar": load_liar,
    "fakenewsnet": load_fakenewsnet,
    "csv": load_csv,
    "folders": load_folders,
    "json": load_json,
}
"""Source name -> loader. Every loader takes the data path first (``synthetic`` takes none).
The names are :data:`fnlib.catalog.SOURCE_NAMES` (the one list the CLI and forms use)."""
if tuple(SOURCES) != SOURCE_NAMES:  # pragma: no cover - a programming error, caught on import
    raise RuntimeError(f"SOURCES {tuple(SOURCES)} must equal catalog.SOURCE_NAMES {SOURCE_NAMES}")


def load_source(name: str, path: str | Path | None = None, **options: Any) -> pd.DataFrame:
    """Load the source called ``name`` from ``path`` with loader-specific ``options``."""
    loader = SOURCES.get(name)
    if loader is None:
        raise InputError(f"unknown source {name!r}; valid sources: {', '.join(sorted(SOURCES))}")
    target = synthetic.generate if name == "synthetic" else loader
    accepted = [p for p in inspect.signature(target).parameters if p != "path"]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise InputError(
            f"source {name!r} does not take option(s) {unknown}; it accepts {accepted}"
        )
    if name == "synthetic":
        return loader(path, **options)
    if path is None:
        raise InputError(f"source {name!r} needs a path to its data")
    return loader(settings.data_path(path), **options)
