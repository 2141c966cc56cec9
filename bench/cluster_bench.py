"""Benchmark: the same pipeline on the local stack (LocalExecutor) and on its cluster mode
(CeleryExecutor, PostgreSQL, Redis, two workers), one after the other in one run.

For each executor: a throwaway stack in its own state folder and bucket; start-up; the Asset
chain fn_dataset -> fn_tune -> fn_train (SYNTHETIC corpus); fn_score over a simulated week;
a 7-day fn_monitor backfill created over the REST API. Printed side by side:

- wall time of each stage as the client sees it (trigger or previous stage's end -> run end);
- per DAG: compute (union of task intervals) and overhead (the rest of the run's wall time:
  queueing, task start-up, the scheduler loop), median queued -> started latency;
- scheduling gaps: the Asset trigger latency (producer's last task end -> consumer's first
  task start) and the median gap between dependent tasks in a run.

Both executors have four task slots (LocalExecutor parallelism 4; two workers x concurrency 2).

    python bench/cluster_bench.py [--n-docs 600] [--grid small|default] [--models nb,logreg]
                                  [--only local|celery] [--keep-stack-dirs]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "bench"))

from e2e_bench import _ts, split_run  # noqa: E402

from fnlib.local.airflow_api import AirflowClient  # noqa: E402
from fnlib.local.cluster import Cluster, servers_missing  # noqa: E402
from fnlib.local.demo import await_triggered_run, run_dag  # noqa: E402
from fnlib.local.stack import Stack  # noqa: E402
from fnlib.settings import scoped_environ  # noqa: E402

CHAIN = ("fn_dataset", "fn_tune", "fn_train")
DAGS = (*CHAIN, "fn_score", "fn_monitor")
DAYS = 7


def run_pipeline(stack: Stack, n_docs: int) -> dict[str, Any]:
    """Start the stack, run the chain, scoring and the backfill; return timings and records."""
    from fnlib.stages.simulate import simulate
    from fnlib.storage import ObjectStore
    from fnlib.storage.client import make_s3_client

    quiet = lambda _m: None  # noqa: E731
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    stack.up(timeout=400)
    timings["start-up"] = time.monotonic() - t0
    client = AirflowClient(stack.api_url, "admin", stack.admin_password() or "", timeout=120)
    for dag_id in DAGS:
        client.wait_for_dag(dag_id)
    for dag_id in CHAIN:
        client.set_paused(dag_id, False)
    known = {d: {r["dag_run_id"] for r in client.runs(d)} for d in CHAIN}
    t = time.monotonic()
    run_ids = {"fn_dataset": run_dag(client, stack, "fn_dataset",
                                     {"source": "synthetic", "n_docs": n_docs}, 1800, quiet)}
    timings["fn_dataset"] = time.monotonic() - t
    for dag_id in CHAIN[1:]:
        t = time.monotonic()
        run_ids[dag_id] = await_triggered_run(client, stack, dag_id, known[dag_id], 3600, quiet)
        timings[dag_id] = time.monotonic() - t
    first = dt.date.today() - dt.timedelta(days=DAYS + 1)
    last = first + dt.timedelta(days=DAYS - 1)
    with scoped_environ(stack.client_env()):
        store = ObjectStore(make_s3_client(stack.s3_url), os.environ["FN_BUCKET"])
        simulate(store, days=DAYS, start_day=first.isoformat(), seed=1, docs_per_day=150,
                 drift_day=3, drift_kinds=("topic", "length"), source="test")
    t = time.monotonic()
    run_ids["fn_score"] = run_dag(client, stack, "fn_score", {}, 1800, quiet)
    timings["fn_score"] = time.monotonic() - t
    client.set_paused("fn_monitor", False)
    t = time.monotonic()
    backfill = client.backfill("fn_monitor", f"{first}T00:00:00Z", f"{last}T00:00:00Z",
                               max_active_runs=4)
    while not client.get_backfill(backfill["id"]).get("completed_at"):
        if time.monotonic() - t > 1800:
            raise RuntimeError("fn_monitor backfill not finished after 30 min")
        time.sleep(2)
    timings["fn_monitor backfill (7 days)"] = time.monotonic() - t
    timings["total"] = time.monotonic() - t0
    records = {}
    for dag_id in DAGS:
        runs = client.runs(dag_id)
        if dag_id == "fn_monitor":
            runs = [r for r in runs if r["run_type"] == "backfill"]
        else:
            runs = [r for r in runs if r["dag_run_id"] == run_ids[dag_id]]
        records[dag_id] = [(r, client.task_instances(dag_id, r["dag_run_id"])) for r in runs]
    return {"timings": timings, "records": records}


def dependent_gaps(tis: list[dict[str, Any]]) -> list[float]:
    """For each task instance, the time from the latest end of the tasks that ended before it
    started to its start: how long a ready task waited for the scheduler and a slot."""
    spans = sorted((_ts(t["start_date"]), _ts(t["end_date"])) for t in tis
                   if t.get("start_date") and t.get("end_date"))
    gaps = []
    for start, _ in spans:
        before = [end for _, end in spans if end <= start]
        if before:
            gaps.append(start - max(before))
    return gaps


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"timings": result["timings"], "dags": {}}
    firsts, lasts = {}, {}
    for dag_id, runs in result["records"].items():
        rows = [split_run(r, tis) for r, tis in runs]
        gaps = [g for _, tis in runs for g in dependent_gaps(tis)]
        waits = [r["queue_median"] for r in rows if r["queue_median"] is not None]
        hosts = {t.get("hostname") for _, tis in runs for t in tis if t.get("hostname")}
        out["dags"][dag_id] = {
            "runs": len(rows), "wall": sum(r["wall"] for r in rows),
            "compute": sum(r["compute"] for r in rows),
            "overhead": sum(r["overhead"] for r in rows),
            "queue_median": statistics.median(waits) if waits else None,
            "gap_median": statistics.median(gaps) if gaps else None,
            "tis": sum(r["n_tis"] for r in rows), "hosts": len(hosts),
        }
        if rows:
            firsts[dag_id] = min(r["first_task"] for r in rows if r["first_task"])
            lasts[dag_id] = max(r["last_task"] for r in rows if r["last_task"])
    out["asset_latency"] = {f"{a} -> {b}": firsts[b] - lasts[a]
                            for a, b in zip(CHAIN, CHAIN[1:], strict=False)
                            if a in lasts and b in firsts}
    return out


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def report(results: dict[str, dict[str, Any]]) -> None:
    names = list(results)
    ratio = len(names) == 2
    print(f"\n{'stage (client wall, s)':<32}" + "".join(f"{n:>12}" for n in names)
          + (f"{'celery/local':>14}" if ratio else ""))
    for stage in results[names[0]]["timings"]:
        vals = [results[n]["timings"].get(stage) for n in names]
        line = f"{stage:<32}" + "".join(f"{_fmt(v):>12}" for v in vals)
        if ratio and all(vals) and vals[0]:
            line += f"{vals[1] / vals[0]:>14.2f}"
        print(line)
    print(f"\n{'per DAG':<14}{'executor':>9}{'runs':>6}{'tasks':>7}{'hosts':>7}{'wall s':>9}"
          f"{'compute s':>11}{'overhead s':>12}{'overhead':>10}{'queued->start':>15}"
          f"{'ready->start':>14}")
    for dag_id in DAGS:
        for n in names:
            d = results[n]["dags"].get(dag_id)
            if not d:
                continue
            share = d["overhead"] / d["wall"] if d["wall"] else 0
            print(f"{dag_id:<14}{n:>9}{d['runs']:>6}{d['tis']:>7}{d['hosts']:>7}{d['wall']:>9.1f}"
                  f"{d['compute']:>11.1f}{d['overhead']:>12.1f}{share:>10.0%}"
                  f"{_fmt(d['queue_median']):>15}{_fmt(d['gap_median']):>14}")
    print("(queued->start: median per run of the wait from queued to running; ready->start: "
          "median wait of a task after the last task that ended before it)")
    for n in names:
        lat = results[n]["asset_latency"]
        print(f"Asset trigger latency ({n}): " + ", ".join(f"{k} {v:.1f}s" for k, v in lat.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-docs", type=int, default=600, help="SYNTHETIC corpus size")
    parser.add_argument("--grid", default="small", choices=["small", "default"])
    parser.add_argument("--models", default="nb,logreg", help="models of the Asset-triggered tuning")
    parser.add_argument("--only", choices=["local", "celery"])
    parser.add_argument("--keep-stack-dirs", action="store_true")
    args = parser.parse_args(argv)
    executors = [args.only] if args.only else ["local", "celery"]
    if "celery" in executors and servers_missing():
        print(f"cluster mode unavailable: {servers_missing()}")
        return 1
    print(f"SYNTHETIC corpus of {args.n_docs} documents; tuning grid {args.grid} of "
          f"{args.models}; load average {os.getloadavg()[0]:.1f} at start", flush=True)
    results = {}
    for executor in executors:
        folder = Path(tempfile.mkdtemp(prefix=f"fn-bench-{executor}-"))
        env = {"FN_STACK_DIR": str(folder), "FN_BUCKET": f"fn-bench-{uuid.uuid4().hex[:8]}",
               "FN_API_PORT": "0",
               "FN_TUNE_DEFAULTS": json.dumps({"grid": args.grid,
                                               "models": args.models.split(",")}),
               "AIRFLOW__CORE__PARALLELISM": "4"}
        with scoped_environ(env):
            stack = Cluster(folder) if executor == "celery" else Stack(folder)
            try:
                print(f"{executor}: running in {folder}", flush=True)
                results[executor] = summarise(run_pipeline(stack, args.n_docs))
                print(f"{executor}: done in {results[executor]['timings']['total']:.1f}s",
                      flush=True)
            finally:
                stack.down()
                if not args.keep_stack_dirs:
                    shutil.rmtree(folder, ignore_errors=True)
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
