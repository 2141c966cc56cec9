"""The monitoring stage: one report per data interval, a retrain request when thresholds cross.

For ``[start, end)`` it reads the prediction-log partitions of the interval plus a look-back
window (feedback arrives after scoring) and the feedback partitions of the interval, compares
them with the reference of the model that made the predictions (``models/<id>/reference.json``),
and writes ``monitoring/day=<start day>/report.json``. The report is deterministic, so a
re-run or backfill of the same interval with the same inputs writes nothing new; if the inputs
changed (late data), the new report is written as a new version of the same key and the
replaced version is logged, never silently overwritten. When thresholds are crossed it writes a
retrain request ``retrain-requests/pending/<request-id>.json`` (content-addressed: one request
per interval, model and reasons), which ``fn_retrain``'s sensor waits for.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

import pandas as pd

from fnlib.catalog import (
    MONITORING,
    RETRAIN_PENDING,
    content_id,
    day_prefix,
    report_key,
    retrain_request_key,
)
from fnlib.errors import InputError, NothingToDo
from fnlib.monitoring.drift import DriftThresholds
from fnlib.monitoring.logs import (
    FEEDBACK_COLUMNS,
    PREDICTION_COLUMNS,
    interval_days,
    parse_utc,
    read_log_csv,
)
from fnlib.monitoring.report import monitor_interval, report_row
from fnlib.registry import current_champion
from fnlib.stages.common import RefDict, Run, RunIds, StageRequest
from fnlib.storage.manifest import find_manifest
from fnlib.storage.objects import ObjectStore, canonical_json

log = logging.getLogger(__name__)



@dataclass
class MonitorRequest(StageRequest):
    """The fn_monitor form, plus the data interval ``[start, end)`` the run covers."""

    what = "monitoring"

    start: str | None = None
    end: str | None = None
    thresholds: dict[str, Any] = field(default_factory=dict)
    lookback_days: int = 30
    min_feedback_for_retrain: int = 0

    @classmethod
    def run_params(cls, run: Run | Mapping[str, Any],
                   item: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {**run["params"], "start": run["interval"]["start"], "end": run["interval"]["end"]}


class Monitored(TypedDict):
    """One interval's outcome: its report, its status and any retrain request raised."""

    day: str
    report: RefDict
    row: dict[str, Any]
    status: str
    retrain_reasons: list[str]
    retrain_request: str | None
    model_id: str


def read_log(store: ObjectStore, kind: str, days: list[str]) -> tuple[pd.DataFrame, list[dict]]:
    """All parts of a log for ``days``, with the refs of the parts read (for the report)."""
    frames, parts = [], []
    for day in days:
        for key in sorted(store.list_keys(day_prefix(kind, day))):
            ref = store.head(key)
            frames.append(read_log_csv(store.get_bytes(ref), kind, key))
            parts.append({"key": key, "version_id": ref.version_id, "sha256": ref.sha256})
    columns = PREDICTION_COLUMNS if kind == "predictions" else FEEDBACK_COLUMNS
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(columns))
    return frame, parts


def _model_for(store: ObjectStore, predictions: pd.DataFrame, days: list[str]) -> str:
    current = predictions[predictions["day"].isin(days)] if len(predictions) else predictions
    if len(current):
        return Counter(current["model_id"]).most_common(1)[0][0]
    champion, _ = current_champion(store)
    if champion is None:
        raise NothingToDo("nothing to monitor: no predictions in the interval and no champion "
                          "model yet")
    return champion.model_id


def day_interval(start: str, end: str) -> tuple[str, str]:
    """The interval to monitor. Scheduled and backfilled runs bring a real data interval;
    a manual run's interval is empty (start == end), so it monitors the day of its start."""
    first = parse_utc(start, "interval start")
    last = parse_utc(end, "interval end")
    if last > first:
        return first.isoformat(), last.isoformat()
    day = first.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.isoformat(), (day + dt.timedelta(days=1)).isoformat()


def report(store: ObjectStore, request: MonitorRequest, run_ids: RunIds | None = None) -> Monitored:
    """The fn_monitor task: :func:`monitor` the request's interval, then :func:`track` it."""
    result = monitor(store, request.start, request.end, request.thresholds,
                     request.lookback_days, request.min_feedback_for_retrain)
    track(result, run_ids)
    return result


def track(result: Monitored, run_ids: RunIds | None = None) -> str:
    """Log one monitored interval to W&B: a run per interval in the ``fn_monitor`` group, so
    the group is a time series across days. Returns the run's path."""
    from fnlib.tracking.wandb_run import tracked_run

    with tracked_run("monitor", f"monitor-{result['day']}", group="fn_monitor",
                     config={"day": result["day"], "model_id": result["model_id"],
                             "airflow": run_ids or {}}, tags=("monitor",)) as tracked:
        row = {k: v for k, v in result["row"].items() if isinstance(v, int | float)}
        tracked.log({**row, "day": result["day"]})
        tracked.summary({"status": result["status"], "retrain_reasons": result["retrain_reasons"]})
        return tracked.path


def monitor(store: ObjectStore, start: str, end: str, thresholds: dict[str, Any] | None = None,
            lookback_days: int = 30, min_feedback_for_retrain: int = 0) -> Monitored:
    """Write the interval's report (idempotently) and, if needed, a retrain request."""
    start, end = day_interval(start, end)
    days = interval_days(start, end)
    first = dt.date.fromisoformat(days[0])
    window = [(first - dt.timedelta(days=n)).isoformat() for n in range(lookback_days, 0, -1)] + days
    predictions, prediction_parts = read_log(store, "predictions", window)
    feedback, feedback_parts = read_log(store, "feedback", days)
    model_id = _model_for(store, predictions, days)
    model, _ = find_manifest(store, "model", model_id)
    if "reference" not in model.objects:
        raise InputError(f"model {model_id} has no monitoring reference (retrain it with fn_train)")
    reference = store.get_json(model.objects["reference"])
    limits = DriftThresholds.from_dict(thresholds)
    report = monitor_interval(predictions, feedback, reference, limits,
                              float(model.metrics["test"]["f1"]), start, end)
    reasons = list(report["retrain_reasons"])
    labelled = int(report["performance"]["n_labelled"])
    if min_feedback_for_retrain and labelled >= min_feedback_for_retrain:
        reasons.append(f"{labelled} new labelled articles (>= {min_feedback_for_retrain})")
    document = {"report": report, "model_id": model_id, "thresholds": limits.to_dict(),
                "inputs": {"predictions": prediction_parts, "feedback": feedback_parts},
                "retrain_reasons": reasons}
    key = report_key(days[0])
    previous = store.head(key)
    ref = store.put_bytes(key, canonical_json(document), content_type="application/json")
    if previous is not None and previous.version_id != ref.version_id:
        log.warning("report for %s changed (inputs differ): version %s replaces %s",
                    days[0], ref.version_id, previous.version_id)
    request = None
    if reasons:
        request = request_retrain(store, days[0], model_id, reasons, ref.versioned_uri)
    return {"day": days[0], "report": ref.to_dict(), "row": report_row(report),
            "status": report["status"], "retrain_reasons": reasons, "retrain_request": request,
            "model_id": model_id}


def request_retrain(store: ObjectStore, day: str, model_id: str, reasons: list[str],
                    report_uri: str) -> str:
    """Write a retrain request once per (interval, model, reasons); returns its id.

    While a request about the same model is still pending, no second one is opened: the
    retrain it triggers uses all feedback received by then anyway."""
    request_id = content_id("rtr", day, model_id, sorted(reasons))
    if store.head(retrain_request_key("done", request_id)) is not None:
        log.info("retrain request %s was already handled", request_id)
        return request_id
    for key in sorted(store.list_keys(RETRAIN_PENDING)):
        pending = store.get_json(store.head(key))
        if pending.get("model_id") == model_id:
            if pending["request_id"] != request_id:
                log.warning("retrain for %s already requested (%s); not opening another for %s: %s",
                            model_id, pending["request_id"], day, "; ".join(reasons))
            return pending["request_id"]
    store.put_json(retrain_request_key("pending", request_id), {
        "request_id": request_id, "day": day, "model_id": model_id, "reasons": reasons,
        "report": report_uri})
    log.warning("RETRAIN REQUESTED (%s) for %s: %s", request_id, day, "; ".join(reasons))
    return request_id


def monitoring_table(store: ObjectStore) -> pd.DataFrame:
    """One row per monitored interval (latest report version), oldest first."""
    rows = []
    for key in sorted(store.list_keys(day_prefix(MONITORING))):
        if key.endswith("/report.json"):
            document = store.get_json(store.head(key))
            rows.append({**report_row(document["report"]), "model_id": document["model_id"],
                         "retrain": "; ".join(document.get("retrain_reasons", []))})
    return pd.DataFrame(rows)
