"""Batch scoring: score newly arrived articles with the champion and append the prediction log.

Articles arrive as CSV files (``id,text``; other columns ignored) under
``incoming/day=YYYY-MM-DD/<name>.csv``. Each file is scored once: its predictions go to
``predictions/day=YYYY-MM-DD/part-<sha256 of the input file>.csv``, so a re-run finds the part
and skips it (idempotent, no new versions). Rows that cannot be scored (missing/duplicate id,
empty text, a cell starting like a spreadsheet formula) are written with their reasons to
``incoming-rejected/day=.../part-<sha>.csv`` (formula cells defused with a leading ``'``);
nothing is dropped silently. The champion model is loaded only after its checksum matches.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from dataclasses import dataclass, field
from typing import TypedDict

import pandas as pd

from fnlib.catalog import (
    INCOMING,
    INCOMING_KEY_RE,
    day_prefix,
    part_id,
    partition_key,
    rejected_key,
)
from fnlib.data import schema
from fnlib.data.validate import formula_cells
from fnlib.errors import InputError, NothingToDo
from fnlib.models.explain import explainable_form, score_with_reasons
from fnlib.monitoring.logs import make_prediction_rows, write_log_csv
from fnlib.monitoring.reference import score_texts
from fnlib.registry import current_champion, load_model
from fnlib.stages.common import StageRequest
from fnlib.storage.objects import ObjectStore

log = logging.getLogger(__name__)



@dataclass
class ScoreRequest(StageRequest):
    """The fn_score form: which days to score (empty: every day with new files), and whether
    the prediction log keeps the article text or only its sha256."""

    what = "scoring"

    days: list[str] = field(default_factory=list)
    keep_text: bool = True


class ScoredFile(TypedDict):
    incoming: str
    predictions: str
    rows: int
    rejected: int


class Scored(TypedDict):
    model_id: str
    files: list[ScoredFile]
    scored: int
    rejected: int
    skipped: int


def _parse_incoming(data: bytes, key: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split an incoming file into scorable rows and rejected rows (with reasons)."""
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{key}: not a readable UTF-8 CSV ({exc})") from exc
    missing = [c for c in (schema.ID, schema.TEXT) if c not in frame.columns]
    if missing:
        raise InputError(f"{key}: missing column(s) {missing}; incoming files need id,text")
    frame = frame[[schema.ID, schema.TEXT]].copy()
    reasons = pd.Series("", index=frame.index)
    reasons[frame[schema.ID].str.strip() == ""] += "missing id; "
    reasons[frame[schema.ID].duplicated(keep=False) & (frame[schema.ID] != "")] += "duplicate id; "
    reasons[frame[schema.TEXT].str.strip() == ""] += "empty text; "
    for column in (schema.ID, schema.TEXT):
        reasons[formula_cells(frame[column])] += f"{column} starts like a spreadsheet formula; "
    bad = reasons != ""
    rejected = frame[bad].assign(reason=reasons[bad].str.rstrip("; "))
    for column in (schema.ID, schema.TEXT):  # the rejection report must not carry the payload
        formula = formula_cells(rejected[column])
        rejected.loc[formula, column] = "'" + rejected.loc[formula, column]
    return frame[~bad].reset_index(drop=True), rejected.reset_index(drop=True)


def pending_incoming(store: ObjectStore, days: list[str] | None = None) -> list[tuple[str, str]]:
    """(key, day) of incoming files not scored yet, oldest day first."""
    out = []
    prefixes = [day_prefix(INCOMING, d) for d in days] if days else [day_prefix(INCOMING)]
    for prefix in prefixes:
        for key in store.list_keys(prefix):
            match = INCOMING_KEY_RE.match(key)
            if not match:
                log.warning("ignoring %s: not incoming/day=YYYY-MM-DD/<name>.csv", key)
                continue
            out.append((key, match.group(1)))
    return sorted(out, key=lambda kd: (kd[1], kd[0]))


def score(store: ObjectStore, request: ScoreRequest) -> Scored:
    """The fn_score task: :func:`score_incoming` for the request's days."""
    return score_incoming(store, request.days or None, keep_text=request.keep_text)


def score_incoming(store: ObjectStore, days: list[str] | None = None,
                   keep_text: bool = True, now: dt.datetime | None = None,
                   explain: bool = True) -> Scored:
    """Score every unscored incoming file (optionally only of ``days``) with the champion.

    With ``explain`` (the default) each row's ``top_terms`` names the terms that contributed
    most to its score (linear models and NB; empty for forests)."""
    champion, _ = current_champion(store)
    if champion is None:
        raise NothingToDo("no champion model yet: train and promote one first (fn_train)")
    pending = pending_incoming(store, days)
    if not pending:
        where = f"for {', '.join(days)}" if days else "under incoming/"
        raise NothingToDo(f"no incoming articles {where} to score")
    model = form = None
    scored_at = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    summary: Scored = {"model_id": champion.model_id, "files": [], "scored": 0,
                               "rejected": 0, "skipped": 0}
    for key, day in pending:
        head = store.head(key)
        data = store.get_bytes(head) if head and head.sha256 else None
        if data is None:  # written by another tool without our checksum metadata
            data, _ = store.read_uri_unverified(f"s3://{store.bucket}/{key}")
        part = part_id(data)
        out_key = partition_key("predictions", day, part)
        if store.head(out_key) is not None:
            summary["skipped"] += 1
            continue
        rows, rejected = _parse_incoming(data, key)
        if len(rejected):
            store.put_bytes(rejected_key(day, part),
                            rejected.to_csv(index=False, lineterminator="\n").encode(),
                            content_type="text/csv")
            log.warning("%s: %d row(s) rejected, see %s", key, len(rejected),
                        rejected_key(day, part))
        if len(rows):
            if model is None:
                model = load_model(store, champion.model)
                form = explainable_form(model) if explain else None
            if form is not None:
                predictions, scores, reasons = score_with_reasons(model, rows[schema.TEXT].tolist(),
                                                                  form=form)
            else:
                predictions, scores = score_texts(model, rows[schema.TEXT].tolist())
                reasons = None
            frame = make_prediction_rows(rows[schema.ID].tolist(), rows[schema.TEXT].tolist(),
                                         predictions, scores, champion.model_id,
                                         champion.model["version_id"], scored_at,
                                         keep_text=keep_text, day=day, top_terms=reasons)
            ref = store.put_bytes(out_key, write_log_csv(frame, "predictions"), content_type="text/csv")
            summary["files"].append({"incoming": key, "predictions": ref.versioned_uri,
                                     "rows": len(rows), "rejected": len(rejected)})
        summary["scored"] += len(rows)
        summary["rejected"] += len(rejected)
    log.info("scored %d article(s) with %s (%d rejected, %d file(s) already scored)",
             summary["scored"], champion.model_id, summary["rejected"], summary["skipped"])
    return summary
