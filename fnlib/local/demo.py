"""The main job: run the pipeline through the real scheduler on the local stack."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fnlib.errors import FnError
from fnlib.local.airflow_api import AirflowClient
from fnlib.local.stack import Stack


def _task_log_tail(stack: Stack, dag_id: str, run_id: str, lines: int = 40) -> str:
    root = stack.airflow_home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
    logs = sorted(root.rglob("*.log"), key=lambda p: p.stat().st_mtime) if root.exists() else []
    if not logs:
        return "(no task log found)"
    text = logs[-1].read_text(errors="replace").splitlines()
    return f"{logs[-1]}:\n" + "\n".join(text[-lines:])


def _follow(client: AirflowClient, stack: Stack, dag_id: str, run_id: str, timeout: float,
            out: Callable[[str], None]) -> str:
    started = time.monotonic()
    run = client.wait_for_run(dag_id, run_id, timeout, progress=lambda m: out(f"  {m}"))
    out(f"{dag_id} {run['state']} in {time.monotonic() - started:.1f}s")
    if run["state"] != "success":
        raise FnError(f"{dag_id} run {run_id} {run['state']}; last task log "
                      f"{_task_log_tail(stack, dag_id, run_id)}")
    return run_id


def run_dag(client: AirflowClient, stack: Stack, dag_id: str, conf: dict[str, Any],
            timeout: float, out: Callable[[str], None]) -> str:
    client.set_paused(dag_id, False)
    run_id = client.trigger(dag_id, conf)
    out(f"triggered {dag_id} run {run_id}")
    return _follow(client, stack, dag_id, run_id, timeout, out)


def await_triggered_run(client: AirflowClient, stack: Stack, dag_id: str, known: set[str],
                        timeout: float, out: Callable[[str], None]) -> str:
    """Wait for the scheduler to start a new (Asset-triggered) run of ``dag_id``, follow it."""
    deadline = time.monotonic() + 180
    while True:
        new = [r for r in client.runs(dag_id) if r["dag_run_id"] not in known]
        if new:
            run_id = new[0]["dag_run_id"]
            out(f"{dag_id} run {run_id} started by the scheduler ({new[0].get('run_type')})")
            return _follow(client, stack, dag_id, run_id, timeout, out)
        if time.monotonic() > deadline:
            raise FnError(f"the scheduler did not start {dag_id} from its Asset within 180s")
        time.sleep(2)


def print_results(store: Any, tuning: dict[str, Any], trained: dict[str, Any],
                  decision: dict[str, Any], out: Callable[[str], None]) -> None:
    from fnlib.registry import current_champion
    from fnlib.stages.common import resolve
    from fnlib.stages.tune import read_leaderboard
    from fnlib.storage.lineage import format_lineage, walk_lineage

    manifest, _ = resolve(store, "tuning", None, tuning["manifest"])
    board = read_leaderboard(store, manifest)
    metric = tuning["metric"]
    cols = [c for c in ("config_id", "label", f"mean_{metric}", f"std_{metric}", "fit_time")
            if c in board.columns]
    out(f"LEADERBOARD {tuning['tuning_id']} ({len(board)} configurations, mean CV {metric}):")
    out(board[cols].head(10).to_string(index=False))
    out("")
    test = trained["test"]
    out(f"MODEL {trained['model_id']} test: " + "  ".join(
        f"{k}={test[k]:.4f}" for k in ("accuracy", "precision", "recall", "f1", "roc_auc")
        if test.get(k) is not None))
    if trained.get("alert"):
        out(f"  ALERT: {trained['alert']}")
    out(f"GATE: {'PROMOTED' if decision['promoted'] else 'not promoted'} - {decision['reason']}")
    champion, ref = current_champion(store)
    if champion:
        out(f"CHAMPION {champion.model_id}: f1={champion.metrics.get('f1')}  ({ref.versioned_uri})")
    out("")
    out("LINEAGE of the model:")
    out(format_lineage(walk_lineage(store, trained["manifest_uri"])))


def run_production_week(client: AirflowClient, stack: Stack, store: Any, out: Callable[[str], None],
                        days: int = 7, drift_day: int = 3, timeout: float = 1800) -> None:
    """A simulated week of production with drift from ``drift_day``: score, monitor by
    backfill, and the sensor-triggered retrain."""
    import datetime as dt

    from fnlib.catalog import RETRAIN_PENDING, retrain_request_key
    from fnlib.stages.monitor import monitoring_table
    from fnlib.stages.simulate import simulate

    first = dt.date.today() - dt.timedelta(days=days + 1)
    last = first + dt.timedelta(days=days - 1)
    out("")
    out(f"PRODUCTION WEEK {first} .. {last}: replaying held-out articles, drift (new topic words, "
        f"shorter texts) from day {drift_day}")
    sim = simulate(store, days=days, start_day=first.isoformat(), seed=1, docs_per_day=150,
                   drift_day=drift_day, drift_kinds=("topic", "length"), source="test")
    out(f"  {sum(d['articles'] for d in sim['days'])} articles and "
        f"{sum(d['feedback'] for d in sim['days'])} desk labels written under incoming/ and feedback/")
    for dag_id in ("fn_score", "fn_monitor", "fn_retrain"):
        client.wait_for_dag(dag_id)
    run_dag(client, stack, "fn_score", {}, timeout, out)
    client.set_paused("fn_monitor", False)
    known = {r["dag_run_id"] for r in client.runs("fn_monitor")}
    client.backfill("fn_monitor", f"{first}T00:00:00Z", f"{last}T00:00:00Z", max_active_runs=2)
    out(f"backfill of fn_monitor over {days} days created")
    deadline = time.monotonic() + timeout
    while True:
        runs = [r for r in client.runs("fn_monitor") if r["dag_run_id"] not in known]
        done = [r for r in runs if r["state"] in ("success", "failed")]
        if len(runs) >= days and len(done) == len(runs):
            break
        if time.monotonic() > deadline:
            raise FnError(f"fn_monitor backfill not finished after {timeout:.0f}s")
        time.sleep(3)
    failed = [r["dag_run_id"] for r in runs if r["state"] != "success"]
    out(f"fn_monitor backfill: {len(runs) - len(failed)} of {len(runs)} runs succeeded")
    if failed:
        raise FnError(f"fn_monitor runs failed: {failed}")
    table = monitoring_table(store)
    cols = ["interval_start", "n_predictions", "n_labelled", "f1", "length_psi", "oov_change",
            "fake_share", "score_psi", "status"]
    out("MONITORING:")
    out(table[cols].assign(interval_start=table["interval_start"].str[:10]).to_string(index=False))
    pending = sorted(store.list_keys(RETRAIN_PENDING))
    if not pending:
        out("no retrain requested")
        return
    request = store.get_json(store.head(pending[0]))
    out(f"retrain requested ({request['request_id']}, day {request['day']}): "
        + "; ".join(request["reasons"]))
    client.set_paused("fn_retrain", False)
    out("fn_retrain unpaused: its deferrable S3 sensor picks the request up")
    done_key = retrain_request_key("done", request["request_id"])
    while store.head(done_key) is None:
        if time.monotonic() > deadline:
            raise FnError("the retrain request was not handled in time; see the fn_retrain runs")
        time.sleep(3)
    outcome = store.get_json(store.head(done_key))["outcome"]
    out(f"RETRAIN DECISION: {'PROMOTED' if outcome['promoted'] else 'not promoted'} - "
        f"{outcome['reason']}")
    feedback = outcome.get("feedback", {})
    if feedback:
        out(f"  feedback: {feedback['accepted']} accepted, {feedback['quarantined']} quarantined "
            f"{feedback.get('quarantine_reasons') or ''}")


def run_demo(args: Any, request: Any, out: Callable[[str], None]) -> int:
    from dataclasses import asdict

    from fnlib import settings
    from fnlib.local.cluster import open_stack
    from fnlib.storage import ObjectStore
    from fnlib.storage.client import make_s3_client

    stack = open_stack(getattr(args, "executor", None))
    was_up = stack.is_up()
    shape = ("moto S3 + PostgreSQL + Redis + Airflow with two Celery workers"
             if getattr(stack, "executor", "local") == "celery"
             else "moto S3 + Airflow standalone")
    out(f"starting the local stack ({shape})..." if not was_up else "using the running local stack")
    t0 = time.monotonic()
    stack.up()
    out(f"stack ready in {time.monotonic() - t0:.1f}s: Airflow {stack.api_url}, S3 {stack.s3_url}")
    try:
        client = AirflowClient(stack.api_url, "admin", stack.admin_password() or "")
        conf = {k: v for k, v in asdict(request).items() if v is not None}
        chain = ("fn_dataset", "fn_tune", "fn_train")
        for dag_id in chain:
            client.wait_for_dag(dag_id)
            client.set_paused(dag_id, False)
        known = {d: {r["dag_run_id"] for r in client.runs(d)} for d in chain[1:]}
        run_id = run_dag(client, stack, "fn_dataset", conf, args.timeout, out)
        result = client.xcom("fn_dataset", run_id, "commit")
        tracked = client.xcom("fn_dataset", run_id, "track")
        out(f"dataset {result['dataset_id']} committed"
            + ("  (SYNTHETIC data)" if request.source == "synthetic" else ""))
        tune_run = await_triggered_run(client, stack, "fn_tune", known["fn_tune"], args.timeout, out)
        tuning = client.xcom("fn_tune", tune_run, "reduce")
        train_run = await_triggered_run(client, stack, "fn_train", known["fn_train"], args.timeout, out)
        trained = client.xcom("fn_train", train_run, "train")
        decision = client.xcom("fn_train", train_run, "gate")

        os.environ.update(stack.client_env())
        store = ObjectStore(make_s3_client(stack.s3_url), settings.bucket())
        out("")
        if request.source == "synthetic":
            out("NOTE: SYNTHETIC data - these scores say nothing about real news.")
        print_results(store, tuning, trained, decision, out)
        if not args.no_production:
            run_production_week(client, stack, store, out, timeout=args.timeout)
        out("")
        out(f"W&B runs: {stack.dir / 'wandb'}  (dataset run {tracked.get('wandb_run')})")
        if tracked.get("wandb_dir"):
            out(f"  offline; upload later with: wandb sync {stack.dir / 'wandb'}/offline-run-*")
        out(f"Airflow UI: {stack.api_url}  login: admin / {stack.admin_password()}")
        out(f"stack state and logs: {Path(stack.dir)}")
    finally:
        if not args.keep_up and not was_up:
            stopped = stack.down()
            out("stopped the local stack: " + ", ".join(stopped))
        elif args.keep_up:
            out("stack left running; stop it with: make stack-down")
    return 0
