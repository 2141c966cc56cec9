"""Strict reading helpers shared by the loaders: UTF-8 decoding, CSV parsing, the corpus frame.

Every cell is read as a string with no NA inference; bad bytes, unparseable files and missing
columns raise :class:`~fnlib.data.errors.CorpusError` naming the file (and line or column).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from fnlib.data.errors import CorpusError, Problem
from fnlib.data.schema import FAKE, ID, LABEL, META_PREFIX, REAL, SOURCE, TEXT
from fnlib.errors import InputError

DEFAULT_CSV_LABEL_MAP: dict[str, int] = {"fake": FAKE, "real": REAL, "1": FAKE, "0": REAL}
"""Default raw-label mapping of :func:`load_csv`. Keys are matched after stripping whitespace
and case-folding, so ``"FAKE"``, ``" Real "`` and ``"1"`` all work. Anything else is rejected:
``true``/``false`` are deliberately absent because data sets disagree on what they mean."""



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


def require_dir(path: str | Path, what: str) -> Path:
    directory = Path(path)
    if not directory.is_dir():
        raise InputError(f"expected a directory holding {what}, but {directory} is not a directory")
    return directory


def require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise InputError(f"expected {what} at {path}, but there is no such file")
    return path


def read_csv_strict(
    path: Path, source: str, required: Sequence[str], **read_options: Any
) -> pd.DataFrame:
    """Read a delimited text file strictly: UTF-8, every cell a string, required columns present."""
    text = decode_utf8(require_file(path, "a data file").read_bytes(), str(path), source)
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


def make_corpus(ids: Iterable[str], texts: Any, labels: Any, source: str, **meta: Any) -> pd.DataFrame:
    frame = pd.DataFrame({ID: list(ids), TEXT: texts, LABEL: labels})
    frame[ID] = frame[ID].astype(str)
    frame[TEXT] = frame[TEXT].astype(str)
    frame[LABEL] = frame[LABEL].astype("int64")
    frame[SOURCE] = source
    for name, values in meta.items():
        frame[META_PREFIX + name] = values
    return frame.reset_index(drop=True)


def join_title(title: pd.Series, body: pd.Series) -> pd.Series:
    """``title + "\\n\\n" + body``, or just the non-blank one of the two."""
    title = title.str.strip()
    body = body.str.strip()
    joined = title + "\n\n" + body
    joined = joined.where(body != "", title)
    return joined.where(title != "", body)
