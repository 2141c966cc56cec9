"""Loaders for article collections stored one document per file, or one per JSON line.

``folders``  scikit-learn's ``load_files`` layout: ``<path>/<class>/<name>.txt``, one plain-text
             article per file (for example Pérez-Rosas et al.'s ``fakeNewsDataset/{fake,legit}``).
``json``     a folder tree of JSON articles (one object per ``*.json`` file, e.g. FakeNewsNet's
             ``<site>/{Fake,Real}NewsContent/*.json``) and/or JSON Lines files (``*.jsonl``, one
             object per line), or a single ``.json`` / ``.jsonl`` file.

Labels come from class folder names mapped through ``label_map`` (:data:`DEFAULT_FOLDER_LABELS`:
fake/false -> 1, legit/real/true -> 0, plus FakeNewsNet's ``FakeNewsContent`` /
``RealNewsContent``), matched case-insensitively; for ``json`` the nearest enclosing folder
that the map knows decides. With ``label_field`` the label is read from each record instead and
mapped through ``label_map`` (default :data:`~fnlib.data.sources.DEFAULT_CSV_LABEL_MAP`).

JSON articles carry where they come from (``url``, ``source``, the site name): the fields named
by ``origin_fields`` are kept as ``meta_url`` / ``meta_source`` / ``meta_site_name`` and the
leakage scrub removes each row's own origin from its text (:mod:`fnlib.data.scrub`) and reports
whether these columns identify the class. Other top-level scalar fields become ``meta_<name>``.

Ids are stable paths: ``folders:fake/biz01.fake.txt``; ``json:BuzzFeed/FakeNewsContent/x.json``;
``json:train.jsonl:12`` (1-based line), or ``json:<id_field value>`` with ``id_field``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from fnlib.data.errors import CorpusError, Problem
from fnlib.data.reading import DEFAULT_CSV_LABEL_MAP, decode_utf8, join_title, make_corpus
from fnlib.data.schema import FAKE, META_PREFIX, REAL
from fnlib.data.split import SPLIT_COLUMN, split_name_of_file, split_values
from fnlib.errors import InputError

log = logging.getLogger(__name__)

DEFAULT_FOLDER_LABELS: dict[str, int] = {
    "fake": FAKE, "false": FAKE, "fakenewscontent": FAKE,
    "legit": REAL, "real": REAL, "true": REAL, "realnewscontent": REAL,
}
"""Class folder name (case-folded) -> label, for ``folders`` and ``json``."""

DEFAULT_ORIGIN_FIELDS: dict[str, str] = {
    "url": "url", "source": "source", "site_name": "meta_data.og.site_name",
}
"""Metadata column (without ``meta_``) -> dotted field path naming where an article comes from."""

_MAX_LISTED = 10


def _label_lookup(label_map: Mapping[str, int] | None, default: Mapping[str, int]) -> dict[str, int]:
    lookup = {str(k).strip().casefold(): v for k, v in (label_map or default).items()}
    bad = sorted({v for v in lookup.values() if v not in (REAL, FAKE)})
    if bad or not lookup:
        raise InputError(f"label_map must map names to 0 (real) or 1 (fake), got {dict(label_map or {})}")
    return lookup


def _files(directory: Path, pattern: str) -> list[Path]:
    return sorted(p for p in directory.rglob(pattern) if p.is_file() and not p.name.startswith("."))


def load_folders(
    path: str | Path, label_map: Mapping[str, int] | None = None, extension: str = ".txt"
) -> pd.DataFrame:
    """Load ``<path>/<class>/*<extension>``: one article per file, the class from its folder.

    Every sub-folder of ``path`` must be a class the map knows (anything else is an error
    naming the folder, rather than data silently left out); files at the top level are ignored
    (a README). The text is the file's content (strict UTF-8), stripped.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise InputError(f"expected a folder with one sub-folder per class (e.g. fake/, legit/) "
                         f"at {directory}, but it is not a directory")
    lookup = _label_lookup(label_map, DEFAULT_FOLDER_LABELS)
    classes = sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    unknown = [p.name for p in classes if p.name.casefold() not in lookup]
    if unknown or not classes:
        msg = (f"{directory}: class folder(s) {unknown} are not in the label map {sorted(lookup)}; "
               "pass label_map (folder name -> 1 fake / 0 real)" if unknown else
               f"{directory}: no class sub-folders found (expected e.g. fake/ and legit/)")
        raise CorpusError("folders", [Problem("label", msg)])
    ids, texts, labels, classes_of = [], [], [], []
    for folder in classes:
        files = [p for p in _files(folder, "*") if p.name.endswith(extension)]
        for file_path in files:
            rel = file_path.relative_to(directory).as_posix()
            ids.append(f"folders:{rel}")
            texts.append(decode_utf8(file_path.read_bytes(), str(file_path), "folders").strip())
            labels.append(lookup[folder.name.casefold()])
            classes_of.append(folder.name)
    if not ids:
        raise InputError(f"{directory}: no *{extension} files in {[p.name for p in classes]}")
    corpus = make_corpus(ids, texts, labels, "folders", class_folder=classes_of)
    log.info("loaded %d files from %s (%s)", len(corpus), directory, [p.name for p in classes])
    return corpus


def _field(record: Mapping[str, Any], dotted: str) -> Any:
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _scalar(value: Any) -> str:
    """A metadata value as text: lists of scalars joined with '; ', objects left out."""
    if value is None or isinstance(value, Mapping):
        return ""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value if not isinstance(v, Mapping | list))
    return str(value)


def _records(file_path: Path, name: str) -> list[tuple[str, str, Any]]:
    """(id suffix, where, parsed value) per object of a .json file or per line of a .jsonl file."""
    text = decode_utf8(file_path.read_bytes(), str(file_path), "json")
    if file_path.suffix.lower() == ".jsonl":
        out = []
        for number, line in enumerate(text.split("\n"), 1):
            if line.strip():
                where = f"{file_path}, line {number}"
                out.append((f"{name}:{number}", where, _parse(line, where)))
        return out
    return [(name, str(file_path), _parse(text, str(file_path)))]


def _parse(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CorpusError("json", [Problem("parse", f"{where}: not valid JSON ({exc})")]) from exc


def load_json(
    path: str | Path,
    text_field: str = "text",
    title_field: str | None = "title",
    label_field: str | None = None,
    label_map: Mapping[str, int] | None = None,
    id_field: str | None = None,
    split_field: str | None = None,
    origin_fields: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Load JSON articles and/or JSON Lines; see the module docstring for the layout and ids.

    ``text_field`` / ``title_field`` / ``label_field`` / ``id_field`` / ``split_field`` name
    fields (dotted paths reach into nested objects). The text is ``title + "\\n\\n" + text``.
    Without ``label_field`` the label is the nearest enclosing folder the map knows. With
    ``split_field`` (or files named ``train``/``valid``/``dev``/``test``) rows carry their
    published split in ``meta_split`` for ``split=predefined``.
    """
    root = Path(path)
    if root.is_file():
        files, base = [root], root.parent
    elif root.is_dir():
        files, base = _files(root, "*.json") + _files(root, "*.jsonl"), root
    else:
        raise InputError(f"expected a .json/.jsonl file or a folder of them at {root}, but there is none")
    if not files:
        raise InputError(f"{root}: no *.json or *.jsonl files found")
    default = DEFAULT_CSV_LABEL_MAP if label_field else DEFAULT_FOLDER_LABELS
    lookup = _label_lookup(label_map, default)
    origins = dict(DEFAULT_ORIGIN_FIELDS if origin_fields is None else origin_fields)
    used = {f for f in (text_field, title_field, label_field, id_field, split_field) if f}
    used |= set(origins.values())
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for file_path in sorted(set(files)):
        rel = file_path.relative_to(base).as_posix()
        folder_label = next((lookup[p.casefold()] for p in reversed(Path(rel).parts[:-1])
                             if p.casefold() in lookup), None)
        for suffix, where, record in _records(file_path, rel):
            if not isinstance(record, Mapping):
                problems.append(Problem("parse", f"{where}: expected a JSON object, got "
                                                 f"{type(record).__name__}"))
                continue
            text = _field(record, text_field)
            if not isinstance(text, str):
                problems.append(Problem("text", f"{where}: field {text_field!r} is missing or not "
                                                f"a string; set text_field", column=text_field))
                continue
            if label_field:
                raw = _field(record, label_field)
                label = lookup.get(str(raw).strip().casefold()) if raw is not None else None
                if label is None:
                    problems.append(Problem("label", f"{where}: {label_field}={raw!r} is not in the "
                                                     f"label map {sorted(lookup)}", column=label_field))
                    continue
            elif folder_label is None:
                problems.append(Problem("label", f"{where}: no enclosing folder is in the label map "
                                                 f"{sorted(lookup)}; set label_field or label_map"))
                continue
            else:
                label = folder_label
            title = _field(record, title_field) if title_field else None
            record_id = _scalar(_field(record, id_field)) if id_field else ""
            row = {
                "id": f"json:{record_id or suffix}",
                "title": title if isinstance(title, str) else "",
                "text": text,
                "label": label,
                SPLIT_COLUMN: _scalar(_field(record, split_field)) if split_field
                else split_name_of_file(file_path.stem),
            }
            for column, dotted in origins.items():
                row[META_PREFIX + column] = _scalar(_field(record, dotted))
            for key, value in record.items():
                if key not in used and not isinstance(value, Mapping):
                    row.setdefault(META_PREFIX + str(key).lower(), _scalar(value))
            rows.append(row)
        if len(problems) > 200:
            break
    if problems:
        raise CorpusError("json", problems[:_MAX_LISTED * 5])
    frame = pd.DataFrame(rows).fillna("")
    if split_field:
        frame[SPLIT_COLUMN] = split_values(frame[SPLIT_COLUMN], str(root), split_field)
    if not frame[SPLIT_COLUMN].astype(bool).any():
        frame = frame.drop(columns=[SPLIT_COLUMN])
    text = join_title(frame["title"].astype(str), frame["text"].astype(str))
    corpus = make_corpus(frame["id"], text, frame["label"], "json")
    for column in sorted(c for c in frame.columns if c.startswith(META_PREFIX)):
        corpus[column] = frame[column].astype(str).to_numpy()
    log.info("loaded %d JSON records from %s", len(corpus), root)
    return corpus


__all__: Sequence[str] = ("DEFAULT_FOLDER_LABELS", "DEFAULT_ORIGIN_FIELDS", "load_folders", "load_json")
