"""Benchmark: the main job (``fn demo``) end to end on the real scheduler, by stage.

Starts a throwaway local stack (moto S3 + ``airflow standalone``) in its own state folder, runs
``fn demo --keep-up`` (fn_dataset -> fn_tune -> fn_train through Assets, then the production
week: fn_score, a 7-day fn_monitor backfill, the sensor-triggered fn_retrain), then reads every
DAG run's task instances from the Airflow REST API and splits each run's wall time into

compute   the union of its task instances' [start, end] intervals (what the tasks ran for);
overhead  the rest of the run's wall time: scheduling latency before, between and after tasks
          (queueing, task start-up in a fresh process, the scheduler loop).

It also reports each task's summed duration (mapped tasks summed over their map indexes, with
the count) and the median queued -> started latency. The stack is always stopped at the end.
Takes ~6-8 minutes on a 2-core machine.

    python bench/e2e_bench.py [--source synthetic] [--demo-args "..."] [--keep-stack-dir]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from fnlib.local.airflow_api import AirflowClient  # noqa: E402
from fnlib.local.stack import Stack  # noqa: E402

ORDER = ("fn_dataset", "fn_tune", "fn_train", "fn_score", "fn_monitor", "fn_retrain")


def _ts(value: str | None) -> float | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def union_length(intervals: list[tuple[float, float]]) -> float:
    """Total length covered by the intervals (overlaps counted once)."""
    total, end = 0.0, None
    start = None
    for a, b in sorted(intervals):
        if end is None or a > end:
            if end is not None:
                total += end - start
            start, end = a, b
        else:
            end = max(end, b)
    if end is not None:
        total += end - start
    return total


def split_run(run: dict[str, Any], tis: list[dict[str, Any]]) -> dict[str, Any]:
    """Wall, compute (union of task intervals) and overhead of one DAG run."""
    intervals = []
    per_task: dict[str, list[float]] = {}
    queue_waits = []
    for ti in tis:
        start, end = _ts(ti.get("start_date")), _ts(ti.get("end_date"))
        if start is None or end is None:
            continue
        intervals.append((start, end))
        per_task.setdefault(ti["task_id"], []).append(end - start)
        queued = _ts(ti.get("queued_when"))
        if queued is not None and start >= queued:
            queue_waits.append(start - queued)
    run_start = _ts(run.get("start_date"))
    run_end = _ts(run.get("end_date"))
    if run_start is None or run_end is None:
        wall = (max(b for _, b in intervals) - min(a for a, _ in intervals)) if intervals else 0.0
    else:
        wall = run_end - run_start
    compute = union_length(intervals)
    return {
        "first_task": min((a for a, _ in intervals), default=None),
        "last_task": max((b for _, b in intervals), default=None),
        "min_task": min((b - a for a, b in intervals), default=None),
        "wall": wall,
        "compute": compute,
        "overhead": max(wall - compute, 0.0),
        "tasks": {k: (sum(v), len(v)) for k, v in per_task.items()},
        "queue_median": statistics.median(queue_waits) if queue_waits else None,
        "n_tis": len(intervals),
        "start": run_start,
        "end": run_end,
        "run_type": run.get("run_type"),
        "state": run.get("state"),
    }


def collect(client: AirflowClient) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for dag_id in ORDER:
        try:
            runs = client.runs(dag_id)
        except Exception as exc:  # noqa: BLE001 - a DAG may be absent; report and go on
            print(f"  {dag_id}: cannot list runs ({exc})")
            continue
        rows = [split_run(r, client.task_instances(dag_id, r["dag_run_id"])) for r in runs]
        unfinished = [r for r in rows if r["state"] not in ("success", "failed")]
        if unfinished:  # e.g. fn_retrain's next run, waiting in its sensor
            print(f"  {dag_id}: {len(unfinished)} unfinished run(s) left out")
        rows = [r for r in rows if r["state"] in ("success", "failed")]
        out[dag_id] = sorted(rows, key=lambda r: r["start"] or 0.0)
    return out


def report(by_dag: dict[str, list[dict[str, Any]]], demo_wall: float) -> None:
    print(f"\nfn demo wall time (stack start to end of the production week; stop excluded): {demo_wall:.1f}s")
    header = f"{'DAG run':<24} {'runs':>4} {'wall s':>8} {'compute s':>10} {'overhead s':>11}"
    print(f"\n{header} {'overhead %':>10} {'median queued->start s':>23}")
    totals = [0.0, 0.0, 0.0]
    for dag_id, runs in by_dag.items():
        if not runs:
            continue
        wall = sum(r["wall"] for r in runs)
        compute = sum(r["compute"] for r in runs)
        overhead = sum(r["overhead"] for r in runs)
        waits = [r["queue_median"] for r in runs if r["queue_median"] is not None]
        wait = f"{statistics.median(waits):.1f}" if waits else "-"
        totals = [totals[0] + wall, totals[1] + compute, totals[2] + overhead]
        share = overhead / wall if wall else 0.0
        print(f"{dag_id:<24} {len(runs):>4} {wall:>8.1f} {compute:>10.1f} {overhead:>11.1f} "
              f"{share:>10.0%} {wait:>23}")
    wall, compute, overhead = totals
    print(f"{'all DAG runs (summed)':<24} {'':>4} {wall:>8.1f} {compute:>10.1f} {overhead:>11.1f} "
          f"{overhead / wall if wall else 0:>10.0%}")
    print("(fn_monitor backfill runs overlap (max_active_runs=2): their summed wall exceeds "
          "the elapsed time)")
    chain = [(by_dag.get(d) or [None])[0] for d in ("fn_dataset", "fn_tune", "fn_train")]
    if all(chain):
        gaps = [chain[i + 1]["first_task"] - chain[i]["last_task"] for i in range(2)]
        print(f"Asset trigger latency (last task of the producer -> first task of the consumer): "
              f"fn_dataset -> fn_tune {gaps[0]:.1f}s, fn_tune -> fn_train {gaps[1]:.1f}s")
    shortest = [r["min_task"] for runs in by_dag.values() for r in runs if r["min_task"]]
    if shortest:
        print(f"shortest task instance: {min(shortest):.2f}s (a floor for the fixed cost of a task: "
              f"process start, DAG parse, API calls - counted as compute above)")
    print("\ntask durations (summed over map indexes):")
    for dag_id, runs in by_dag.items():
        if dag_id not in ("fn_dataset", "fn_tune", "fn_train", "fn_score", "fn_retrain"):
            continue
        for i, run in enumerate(runs):
            tasks = ", ".join(
                f"{t} {s:.1f}s" + (f" (x{n})" if n > 1 else "") for t, (s, n) in run["tasks"].items()
            )
            print(f"  {dag_id}[{i}] {run['state']}: {tasks}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", default="synthetic")
    parser.add_argument("--demo-args", default="", help="extra arguments for `fn demo`")
    parser.add_argument("--keep-stack-dir", action="store_true",
                        help="keep the stack's state folder (logs, DB) afterwards")
    args = parser.parse_args(argv)

    stack_dir = Path(tempfile.mkdtemp(prefix="fn-bench-stack-"))
    env = dict(os.environ, FN_STACK_DIR=str(stack_dir))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    stack = Stack(stack_dir)
    fn = shutil.which("fn", path=env["PATH"]) or "fn"
    cmd = [fn, "demo", "--source", args.source, "--keep-up", *shlex.split(args.demo_args)]
    print(f"running: FN_STACK_DIR={stack_dir} {' '.join(cmd)}", flush=True)
    status = 1
    try:
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, cwd=PROJECT, capture_output=True, text=True)
        demo_wall = time.perf_counter() - t0
        for line in proc.stdout.splitlines():
            if line.startswith(("stack ready", "fn_", "dataset ", "MODEL", "GATE", "RETRAIN",
                                "fn_monitor backfill")):
                print(f"  | {line}")
        if proc.returncode != 0:
            print(proc.stdout[-3000:])
            print(proc.stderr[-3000:])
            print(f"fn demo failed with exit code {proc.returncode}")
        client = AirflowClient(stack.api_url, "admin", stack.admin_password() or "")
        report(collect(client), demo_wall)
        status = proc.returncode
    finally:
        stopped = stack.down()
        print(f"\nstopped the stack: {', '.join(stopped) or 'nothing was running'}")
        if not args.keep_stack_dir:
            shutil.rmtree(stack_dir, ignore_errors=True)
        else:
            print(f"stack state kept in {stack_dir}")
    return status


if __name__ == "__main__":
    sys.exit(main())
