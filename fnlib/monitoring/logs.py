"""Prediction and feedback logs: schemas, validation and deterministic CSV.

Both logs are partitioned by UTC day, one CSV object per scoring/ingest run
(:func:`fnlib.catalog.partition_key`, e.g. ``predictions/day=2026-11-01/part-run-42.csv``).

Prediction log (:data:`PREDICTION_COLUMNS`), one row per scored article:

- ``id``            str, non-empty, unique within one part
- ``text_sha256``   lowercase hex sha256 of the UTF-8 text (always kept)
- ``text``          the text, or ``""`` when only the hash is kept (``keep_text=False``)
- ``prediction``    int, 1 = fake, 0 = real
- ``score``         float in [0, 1], the model's probability of fake
- ``model_id``      str, the model's id in the registry/manifest
- ``model_version`` str, the S3 VersionId of the model object that scored the row
- ``scored_at``     ISO-8601 UTC timestamp, written as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``
- ``day``           ``YYYY-MM-DD``, the partition (by default the UTC day of ``scored_at``;
  a backfill may set the data-interval day instead)
- ``top_terms``     str, why: the terms that contributed most to the score, largest absolute
  contribution first, as ``term:+0.412;other term:-0.130`` (contributions to the model's
  log-odds of fake; see :mod:`fnlib.models.explain`); ``""`` for models that give no
  per-prediction reasons (forests) or when explanations are off. Parts written before this
  column existed are read with it empty.

Feedback log (:data:`FEEDBACK_COLUMNS`), one row per label received from the desk:

- ``id``            str, the article id the label is for
- ``label``         str as received: ``fake``/``real``/``1``/``0`` are understood; anything else
  is kept verbatim and quarantined later by :func:`fnlib.monitoring.feedback.gate_feedback`
- ``text``          str, may be empty (the text can be recovered from the prediction log)
- ``received_at``   ISO-8601 UTC timestamp
- ``day``           ``YYYY-MM-DD`` partition

Validation collects every problem with its 0-based rows and raises one
:class:`~fnlib.data.errors.CorpusError`: nothing is ever returned or written partially.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from fnlib.catalog import FEEDBACK, LOG_KINDS, PREDICTIONS, check_day
from fnlib.data.errors import CorpusError, Problem
from fnlib.data.schema import ID, LABEL, TEXT
from fnlib.data.sources import decode_utf8, parse_csv_text
from fnlib.data.validate import FORMULA_HINT, formula_cells
from fnlib.errors import InputError

log = logging.getLogger(__name__)


TEXT_SHA256 = "text_sha256"
PREDICTION = "prediction"
SCORE = "score"
MODEL_ID = "model_id"
MODEL_VERSION = "model_version"
SCORED_AT = "scored_at"
RECEIVED_AT = "received_at"
DAY = "day"
TOP_TERMS = "top_terms"

PREDICTION_COLUMNS = (
    ID, TEXT_SHA256, TEXT, PREDICTION, SCORE, MODEL_ID, MODEL_VERSION, SCORED_AT, DAY, TOP_TERMS
)  # fmt: skip
FEEDBACK_COLUMNS = (ID, LABEL, TEXT, RECEIVED_AT, DAY)
COLUMNS = {PREDICTIONS: PREDICTION_COLUMNS, FEEDBACK: FEEDBACK_COLUMNS}
_STRINGS = {
    PREDICTIONS: (ID, TEXT_SHA256, TEXT, MODEL_ID, MODEL_VERSION, SCORED_AT, DAY, TOP_TERMS),
    FEEDBACK: (ID, LABEL, TEXT, RECEIVED_AT, DAY),
}
_TIMESTAMP = {PREDICTIONS: SCORED_AT, FEEDBACK: RECEIVED_AT}

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_SHA_RE = re.compile(r"[0-9a-f]{64}")


def text_sha256(text: str) -> str:
    """Lowercase hex sha256 of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


def parse_utc(value: datetime | str, what: str = "timestamp") -> datetime:
    """Parse a time-zone-aware ISO-8601 timestamp (or datetime) into a UTC datetime."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise InputError(
                f"{what} {value!r} is not an ISO-8601 timestamp; use e.g. 2026-11-01T06:00:00Z"
            ) from exc
    else:
        raise InputError(f"{what} must be a datetime or an ISO-8601 string, got {value!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError(f"{what} {value!r} has no time zone; give UTC, e.g. 2026-11-01T06:00:00Z")
    return moment.astimezone(UTC)


def to_utc_iso(value: datetime | str, what: str = "timestamp") -> str:
    """Canonical UTC form ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` of a time-zone-aware timestamp."""
    moment = parse_utc(value, what)
    fraction = f".{moment.microsecond:06d}" if moment.microsecond else ""
    return f"{moment:%Y-%m-%dT%H:%M:%S}{fraction}Z"


def _check_kind(kind: str) -> str:
    if kind not in LOG_KINDS:
        raise InputError(f"log kind must be one of {', '.join(LOG_KINDS)}, got {kind!r}")
    return kind


def interval_days(start: datetime | str, end: datetime | str) -> list[str]:
    """The UTC days (``YYYY-MM-DD``) that overlap the half-open interval ``[start, end)``."""
    first, last = parse_utc(start, "interval start"), parse_utc(end, "interval end")
    if last <= first:
        raise InputError(f"interval end {end!r} must be after its start {start!r}")
    day, final = first.date(), (last - timedelta(microseconds=1)).date()
    days = []
    while day <= final:
        days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def _is_binary(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip() in ("0", "1")
    if isinstance(value, bool | np.bool_):
        return False
    return isinstance(value, int | float | np.integer | np.floating) and value in (0, 1)


def _as_score(value: Any) -> float:
    if isinstance(value, bool | np.bool_):
        return float("nan")
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return float("nan")
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    return float("nan")


def _is_timestamp(value: Any) -> bool:
    try:
        parse_utc(value)
    except InputError:
        return False
    return True


def _is_day(value: Any) -> bool:
    try:
        check_day(value)
    except InputError:
        return False
    return True


def _mask(series: pd.Series, predicate: Any) -> np.ndarray:
    return series.map(predicate).to_numpy(dtype=bool)


def _problems(frame: pd.DataFrame, kind: str, name: str, unique_ids: bool) -> list[Problem]:
    columns = COLUMNS[kind]
    found = [str(c) for c in frame.columns]
    if found != list(columns):
        missing = [c for c in columns if c not in found]
        extra = [c for c in found if c not in columns]
        detail = f"missing {missing}, unexpected {extra}" if missing or extra else "wrong order"
        return [
            Problem("columns", f"{name}: columns must be exactly {', '.join(columns)} ({detail})")
        ]
    is_str = {c: _mask(frame[c], lambda v: isinstance(v, str)) for c in _STRINGS[kind]}
    text = {c: frame[c].where(is_str[c], "").astype(str) for c in _STRINGS[kind]}
    stamp = _TIMESTAMP[kind]
    rules: list[tuple[str, str, np.ndarray, str]] = [
        ("type", c, ~is_str[c], f"{c} must be a string") for c in _STRINGS[kind]
    ]
    formula_columns = (ID, TEXT, LABEL) if kind == FEEDBACK else (ID, TEXT, MODEL_ID)
    rules += [
        ("formula_injection", c, formula_cells(frame[c]), f"{c}: {FORMULA_HINT}")
        for c in formula_columns
    ]
    rules += [
        ("timestamp", stamp, is_str[stamp] & ~_mask(text[stamp], _is_timestamp),
         f"{stamp} must be an ISO-8601 timestamp with a time zone, e.g. 2026-11-01T06:00:00Z"),
        ("day", DAY, is_str[DAY] & ~_mask(text[DAY], _is_day), "day must be written YYYY-MM-DD"),
    ]  # fmt: skip
    if kind == PREDICTIONS:
        ids, hashes, texts = text[ID], text[TEXT_SHA256], text[TEXT]
        hash_ok = _mask(hashes, lambda h: bool(_SHA_RE.fullmatch(h)))
        kept = is_str[TEXT] & hash_ok & (texts != "").to_numpy(dtype=bool)
        mismatch = kept & (texts.map(text_sha256) != hashes).to_numpy(dtype=bool)
        duplicate = is_str[ID] & ids.duplicated(keep=False).to_numpy(dtype=bool) & unique_ids
        scores = frame[SCORE].map(_as_score).to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            bad_score = ~(np.isfinite(scores) & (scores >= 0) & (scores <= 1))
        rules += [
            ("id", ID, is_str[ID] & (ids.str.strip() == "").to_numpy(dtype=bool), "id is empty"),
            ("id_duplicate", ID, duplicate, "id appears more than once in one prediction log"),
            ("text_sha256", TEXT_SHA256, is_str[TEXT_SHA256] & ~hash_ok,
             "text_sha256 must be 64 lowercase hex digits"),
            ("text_sha256_mismatch", TEXT_SHA256, mismatch, "text_sha256 does not match the text"),
            ("prediction", PREDICTION, ~_mask(frame[PREDICTION], _is_binary),
             "prediction must be 0 (real) or 1 (fake)"),
            ("score", SCORE, bad_score, "score must be a number between 0 and 1 (probability of fake)"),
        ]  # fmt: skip
        rules += [
            (c, c, is_str[c] & (text[c].str.strip() == "").to_numpy(dtype=bool), f"{c} is empty")
            for c in (MODEL_ID, MODEL_VERSION)
        ]
    return [
        Problem(check, f"{name}: {message}", tuple(int(i) for i in np.flatnonzero(mask)), column)
        for check, column, mask, message in rules
        if mask.any()
    ]


def _coerce(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    out = frame.loc[:, list(COLUMNS[kind])].reset_index(drop=True).copy()
    for column in _STRINGS[kind]:
        out[column] = out[column].astype(object)
    stamp = _TIMESTAMP[kind]
    out[stamp] = [to_utc_iso(v) for v in out[stamp]]
    out[DAY] = out[DAY].astype(object)
    if kind == PREDICTIONS:
        out[PREDICTION] = [int(float(v)) for v in out[PREDICTION]]
        out[PREDICTION] = out[PREDICTION].astype("int64")
        out[SCORE] = out[SCORE].map(_as_score).astype("float64")
    return out


def validate_log_frame(
    frame: pd.DataFrame, kind: str, name: str = "log", *, unique_ids: bool = True
) -> pd.DataFrame:
    """Check ``frame`` against the ``kind`` schema and return it with canonical types.

    Raises :class:`CorpusError` listing every problem (rows are 0-based positions).
    ``unique_ids=False`` allows an id in several prediction rows (several parts read together,
    an article scored twice); one part always has unique ids.
    """
    _check_kind(kind)
    problems = _problems(frame, kind, name, unique_ids)
    if problems:
        raise CorpusError(f"{kind} log", problems)
    return _coerce(frame, kind)


def make_prediction_rows(
    ids: Sequence[str],
    texts: Sequence[str],
    predictions: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    model_id: str,
    model_version: str,
    scored_at: datetime | str,
    keep_text: bool = True,
    *,
    day: str | None = None,
    top_terms: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Prediction-log rows for one scoring run (see the module docstring for the schema).

    ``day`` defaults to the UTC day of ``scored_at``; a backfill passes its data-interval day.
    With ``keep_text=False`` only ``text_sha256`` identifies the text. ``top_terms`` (one
    string per row, see :func:`fnlib.models.explain.format_terms`) defaults to empty.
    """
    top_terms = [""] * len(ids) if top_terms is None else list(top_terms)
    lengths = {len(ids), len(texts), len(predictions), len(scores), len(top_terms)}
    if len(lengths) != 1:
        raise InputError(
            f"ids, texts, predictions, scores and top_terms must have equal lengths, got "
            f"{len(ids)}, {len(texts)}, {len(predictions)}, {len(scores)}, {len(top_terms)}"
        )
    not_str = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if not_str:
        raise CorpusError(
            f"{PREDICTIONS} log", [Problem("type", "text must be a string", tuple(not_str), TEXT)]
        )
    stamp = to_utc_iso(scored_at, "scored_at")
    frame = pd.DataFrame(
        {
            ID: list(ids),
            TEXT_SHA256: [text_sha256(t) for t in texts],
            TEXT: list(texts) if keep_text else [""] * len(texts),
            PREDICTION: list(np.asarray(predictions).tolist()),
            SCORE: list(np.asarray(scores).tolist()),
            MODEL_ID: model_id,
            MODEL_VERSION: model_version,
            SCORED_AT: stamp,
            DAY: check_day(day) if day is not None else stamp[:10],
            TOP_TERMS: top_terms,
        },
        columns=list(PREDICTION_COLUMNS),
    )
    return validate_log_frame(frame, PREDICTIONS, "prediction rows")


def make_feedback_rows(
    ids: Sequence[str],
    labels: Sequence[Any],
    received_at: datetime | str,
    texts: Sequence[str] | None = None,
    *,
    day: str | None = None,
) -> pd.DataFrame:
    """Feedback-log rows as received; integer labels are stored as ``"0"``/``"1"``.

    Labels are NOT judged here (that is the quality gate's job); ``None`` becomes ``""``.
    """
    texts = [""] * len(ids) if texts is None else list(texts)
    if not len(ids) == len(labels) == len(texts):
        raise InputError(
            f"ids, labels and texts must have equal lengths, got {len(ids)}, {len(labels)}, {len(texts)}"
        )
    stamp = to_utc_iso(received_at, "received_at")

    def as_text(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
            return str(int(value))
        return value

    frame = pd.DataFrame(
        {
            ID: list(ids),
            LABEL: [as_text(v) for v in labels],
            TEXT: texts,
            RECEIVED_AT: stamp,
            DAY: check_day(day) if day is not None else stamp[:10],
        },
        columns=list(FEEDBACK_COLUMNS),
    )
    return validate_log_frame(frame, FEEDBACK, "feedback rows")


def write_log_csv(df: pd.DataFrame, kind: str) -> bytes:
    """Serialise a validated log as UTF-8 CSV: strings quoted, numbers bare, ``\\n`` line ends.

    Rows are written in the frame's order; the same frame always gives the same bytes.
    """
    out = validate_log_frame(df, kind, f"{kind} log to write")
    text = out.to_csv(index=False, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"cannot write {kind} log: text is not valid Unicode ({exc.reason})"
        ) from exc


def read_log_csv(data: bytes, kind: str, name: str = "log.csv") -> pd.DataFrame:
    """Parse bytes written by :func:`write_log_csv` back into the identical frame (strict).

    ``name`` (e.g. the object's URI) is used in error messages.
    """
    _check_kind(kind)
    source = f"{kind} log"
    text = decode_utf8(data, name, source)
    required = [c for c in COLUMNS[kind] if c != TOP_TERMS]
    frame = parse_csv_text(text, name, source, required)
    if kind == PREDICTIONS and TOP_TERMS not in frame.columns and list(frame.columns) == required:
        frame[TOP_TERMS] = ""  # a part written before the column existed
    out = validate_log_frame(frame, kind, name)
    log.debug("read %d %s rows from %s", len(out), kind, name)
    return out
