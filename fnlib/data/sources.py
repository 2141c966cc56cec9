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
"""

from __future__ import annotations

import csv
import inspect
import io
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fnlib.data import synthetic
from fnlib.data.errors import CorpusError, Problem
from fnlib.data.schema import FAKE, ID, LABEL, META_PREFIX, REAL, SOURCE, TEXT
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

DEFAULT_CSV_LABEL_MAP: dict[str, int] = {"fake": FAKE, "real": REAL, "1": FAKE, "0": REAL}
"""Default raw-label mapping of :func:`load_csv`. Keys are matched after stripping whitespace
and case-folding, so ``"FAKE"``, ``" Real "`` and ``"1"`` all work. Anything else is rejected:
``true``/``false`` are deliberately absent because data sets disagree on what they mean."""

ISOT_FILES = {"fake": ("Fake.csv", FAKE), "true": ("True.csv", REAL)}
ISOT_COLUMNS = ("title", "text", "subject", "date")
FAKENEWSNET_COLUMNS = ("id", "news_url", "title", "tweet_ids")
FAKENEWSNET_COLLECTIONS = ("politifact", "gossipcop")


def decode_utf8(data: bytes, name: str, source: str) -> str:
    """Decode ``data`` strictly as UTF-8, dropping a leading byte-order mark.

    Raises :class:`CorpusError` naming ``name``, the 1-based line and the byte offset of the
    first invalid byte, so the user can find and fix it (for example re-save as UTF-8).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 4].hex(" ")
        msg = (
            f"{name}: non-UTF-8 bytes ({bad}) at line {line}, byte offset {exc.start}; "
            "re-save the file as UTF-8"
        )
        raise CorpusError(source, [Problem("encoding", msg)]) from exc
    return text.removeprefix("\ufeff")


def _require_dir(path: str | Path, what: str) -> Path:
    directory = Path(path)
    if not directory.is_dir():
        raise InputError(f"expected a directory holding {what}, but {directory} is not a directory")
    return directory


def _require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise InputError(f"expected {what} at {path}, but there is no such file")
    return path


def read_csv_strict(
    path: Path, source: str, required: Sequence[str], **read_options: Any
) -> pd.DataFrame:
    """Read a delimited text file strictly: UTF-8, every cell a string, required columns present."""
    text = decode_utf8(_require_file(path, "a data file").read_bytes(), str(path), source)
    return parse_csv_text(text, str(path), source, required, **read_options)


def parse_csv_text(
    text: str, name: str, source: str, required: Sequence[str], **read_options: Any
) -> pd.DataFrame:
    """Parse decoded CSV/TSV ``text`` (named ``name`` in errors) with every cell as a string."""
    options: dict[str, Any] = {"dtype": str, "keep_default_na": False, "na_filter": False}
    options.update(read_options)
    try:
        frame = pd.read_csv(io.StringIO(text), **options)
    except (pd.errors.ParserError, csv.Error) as exc:
        raise CorpusError(source, [Problem("parse", f"{name}: cannot parse: {exc}")]) from exc
    except pd.errors.EmptyDataError as exc:
        raise CorpusError(source, [Problem("parse", f"{name}: the file is empty")]) from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = ", ".join(str(c) for c in frame.columns)
        hint = " (wrong delimiter?)" if len(frame.columns) == 1 else ""
        msg = f"{name}: missing column(s) {', '.join(missing)}; found: {found}{hint}"
        raise CorpusError(source, [Problem("columns", msg)])
    return frame


def _corpus(ids: Iterable[str], texts: Any, labels: Any, source: str, **meta: Any) -> pd.DataFrame:
    frame = pd.DataFrame({ID: list(ids), TEXT: texts, LABEL: labels})
    frame[ID] = frame[ID].astype(str)
    frame[TEXT] = frame[TEXT].astype(str)
    frame[LABEL] = frame[LABEL].astype("int64")
    frame[SOURCE] = source
    for name, values in meta.items():
        frame[META_PREFIX + name] = values
    return frame.reset_index(drop=True)


def _join_title(title: pd.Series, body: pd.Series) -> pd.Series:
    """``title + "\\n\\n" + body``, or just the non-blank one of the two."""
    title = title.str.strip()
    body = body.str.strip()
    joined = title + "\n\n" + body
    joined = joined.where(body != "", title)
    return joined.where(title != "", body)


def load_isot(path: str | Path) -> pd.DataFrame:
    """Load the Kaggle ISOT layout: a directory with ``Fake.csv`` and ``True.csv``.

    Both files have the header ``title,text,subject,date``. The document text is
    ``title + "\\n\\n" + text`` (the title alone when the body is blank). ``subject`` and
    ``date`` become ``meta_subject`` / ``meta_date``; note that ``subject`` alone separates the
    classes in ISOT, which is why the scrub stage drops metadata.
    """
    directory = _require_dir(path, "ISOT's Fake.csv and True.csv")
    parts = []
    for tag, (file_name, label) in ISOT_FILES.items():
        frame = read_csv_strict(directory / file_name, "isot", ISOT_COLUMNS)
        ids = [f"isot:{tag}:{i}" for i in range(len(frame))]
        text = _join_title(frame["title"], frame["text"])
        parts.append(
            _corpus(ids, text, label, "isot", subject=frame["subject"], date=frame["date"])
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
    directory = _require_dir(path, "LIAR's train.tsv, valid.tsv and test.tsv")
    parts, problems = [], []
    for split in splits:
        file_path = _require_file(directory / f"{split}.tsv", f"LIAR's {split} split")
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
            _corpus(
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
    directory = _require_dir(path, "FakeNewsNet's {collection}_{fake,real}.csv files")
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
            _corpus(
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
) -> pd.DataFrame:
    """Load any comma-separated file with a header, given which columns hold what.

    ``label_map`` maps raw label strings to 1 (fake) / 0 (real); keys and cells are compared
    after stripping and case-folding. It defaults to :data:`DEFAULT_CSV_LABEL_MAP`. Ids are
    ``csv:<id_column value>`` or, without an id column, ``csv:<0-based data row>``. With
    ``title_column`` the text is ``title + "\\n\\n" + text``. All other columns are kept as
    ``meta_<name>`` (lower-cased, non-alphanumerics replaced by ``_``).
    """
    file_path = Path(path)
    if file_path.is_dir():
        raise InputError(f"expected a CSV file, but {file_path} is a directory")
    used = [c for c in (text_column, label_column, id_column, title_column) if c]
    frame = read_csv_strict(_require_file(file_path, "a CSV file"), "csv", used)
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
    if id_column:
        ids = "csv:" + frame[id_column].str.strip()
    else:
        ids = pd.Series([f"csv:{i}" for i in range(len(frame))], dtype=object)
    text = frame[text_column]
    if title_column:
        text = _join_title(frame[title_column], text)
    meta: dict[str, pd.Series] = {}
    for column in frame.columns:
        if column not in used:
            name = base = _meta_name(str(column))[len(META_PREFIX) :]
            suffix = 2
            while name in meta:  # "Outlet Name" and "outlet_name" both become outlet_name
                name, suffix = f"{base}_{suffix}", suffix + 1
            meta[name] = frame[column]
    corpus = _corpus(ids, text, labels, "csv", **meta)
    log.info("loaded CSV %s: %d rows", file_path, len(corpus))
    return corpus


def _load_synthetic(path: str | Path | None = None, **options: Any) -> pd.DataFrame:
    if path is not None:
        raise InputError("the synthetic source generates its data and takes no path")
    return synthetic.generate(**options)


SOURCES: dict[str, Callable[..., pd.DataFrame]] = {
    "isot": load_isot,
    "liar": load_liar,
    "fakenewsnet": load_fakenewsnet,
    "csv": load_csv,
    "synthetic": _load_synthetic,
}
"""Source name -> loader. Every loader takes the data path first (``synthetic`` takes none)."""


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
    return loader(path, **options)
