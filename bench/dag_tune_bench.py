"""Benchmark: tuning as deployed - a real ``fn_tune`` run on the local stack against
``GridSearchCV(n_jobs=<cores>)`` and the library path, on the same data, grid and folds.

For each size, in one script run:

1. a throwaway local stack (moto S3 + ``airflow standalone``, LocalExecutor, real scheduler) in
   a temporary folder; the dataset is made by ``fn_dataset``'s stage (SYNTHETIC text, by
   default with the realistic ``vocab=zipf`` vocabulary that grows like real news) and its
   training split read back from the bucket, so every approach sees exactly the same documents;
2. ``dag``: ``fn_tune`` triggered through the REST API with that dataset id (the default grid
   and chunking unless told otherwise), followed to the end. Its wall time is the DAG run's
   (start to end, as Airflow records it); *Airflow's share* is the part of that wall time in
   which no task body was running: scheduling gaps between tasks plus task start-up (process,
   DAG parse, XCom, imports) not hidden behind another task's work. Task bodies are timed by
   ``@fn_task`` (the "fn task body ran" line of each task log); the plain ``@task`` steps
   count as Airflow's. The DAG's leaderboard scores are compared with the library's;
3. the stack is stopped, then in fresh processes on the same training split and folds:
   ``library`` - the shared fold features in one process (``tune_bench.py``'s *shared*), and
   ``gridsearch`` - ``GridSearchCV(n_jobs=<cores>)`` over the same Pipelines (scikit-learn's
   way to use every core).

    python bench/dag_tune_bench.py --sizes 2000 10000
    python bench/dag_tune_bench.py --sizes 2000 --grid small --chunks 2

Goals: the DAG >= 2x faster than ``GridSearchCV(n_jobs=<cores>)`` at 10k documents and beyond;
Airflow's share < 15% of the DAG run's wall time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "bench"))

from e2e_bench import union_length  # noqa: E402
from tune_bench import run_approach  # noqa: E402

from fnlib import settings  # noqa: E402
from fnlib.local.airflow_api import AirflowClient  # noqa: E402
from fnlib.local.stack import Stack  # noqa: E402

BODY = re.compile(r"fn task body ran from ([0-9.]+) to ([0-9.]+)")


def _ts(value: str | None) -> float | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def body_intervals(stack: Stack, run_id: str) -> dict[tuple[str, int], tuple[float, float]]:
    """(task_id, map_index) -> body [start, end] from the run's task logs (last attempt)."""
    root = stack.airflow_home / "logs" / "dag_id=fn_tune" / f"run_id={run_id}"
    found: dict[tuple[str, int], tuple[float, float]] = {}
    for path in sorted(root.rglob("attempt=*.log")):
        parts = dict(p.split("=", 1) for p in path.relative_to(root).parts[:-1])
        matches = BODY.findall(path.read_text(errors="replace"))
        if matches:
            key = (parts["task_id"], int(parts.get("map_index", -1)))
            found[key] = (float(matches[-1][0]), float(matches[-1][1]))
    return found


def wait(client: AirflowClient, run_id: str, timeout: float = 6 * 3600) -> dict[str, Any]:
    """Poll the run every 5 s until it ends; a slow API answer (a loaded machine) is retried."""
    from fnlib.local.airflow_api import AirflowApiError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(5)
        try:
            run = client.run("fn_tune", run_id)
        except (AirflowApiError, OSError) as exc:
            print(f"  (API slow to answer, retrying: {exc})", flush=True)
            continue
        if run["state"] in ("success", "failed"):
            return run
    raise SystemExit(f"fn_tune run {run_id} did not finish within {timeout:.0f}s")


def run_dag(client: AirflowClient, stack: Stack, conf: dict[str, Any]) -> dict[str, Any]:
    """Trigger fn_tune, follow it; its wall time, the Airflow share and the leaderboard."""
    from fnlib.stages.common import resolve
    from fnlib.storage import ObjectStore
    from fnlib.storage.client import make_s3_client

    client.set_paused("fn_tune", False)
    t0 = time.time()
    run_id = client.trigger("fn_tune", conf)
    run = wait(client, run_id)
    seen = time.time() - t0
    if run["state"] != "success":
        raise SystemExit(f"fn_tune run {run_id} {run['state']}; logs in {stack.airflow_home}")
    tis = client.task_instances("fn_tune", run_id)
    start, end = _ts(run["start_date"]), _ts(run["end_date"])
    wall = end - start
    task_spans = [(_ts(t["start_date"]), _ts(t["end_date"])) for t in tis]
    bodies = body_intervals(stack, run_id)
    per_task: dict[str, list[float]] = {}
    for (task_id, _), (a, b) in bodies.items():
        per_task.setdefault(task_id, []).append(b - a)
    in_tasks = union_length(task_spans)
    in_bodies = union_length(list(bodies.values()))
    summary = client.xcom("fn_tune", run_id, "reduce")
    with settings.scoped_environ(stack.client_env()):
        store = ObjectStore(make_s3_client(stack.s3_url), settings.bucket())
        manifest, _ = resolve(store, "tuning", None, summary["manifest"])
        rows = store.get_json(manifest.objects["leaderboard"])["rows"]
    return {
        "wall": wall, "seen": seen, "gaps": wall - in_tasks, "airflow": wall - in_bodies,
        "n_tis": len(tis), "n_bodies": len(bodies), "per_task": per_task,
        "startup": sum(b - a for a, b in task_spans) - sum(map(sum, per_task.values())),
        "rows": rows, "run_id": run_id,
    }


def prepare(stack: Stack, n_docs: int, seed: int, vocab: str) -> tuple[str, list[str], Any]:
    """The dataset (fn_dataset's stage) and its training split, read back from the bucket."""
    from fnlib.stages import dataset
    from fnlib.stages.common import read_split, resolve
    from fnlib.storage import ObjectStore
    from fnlib.storage.client import make_s3_client

    with settings.scoped_environ(stack.client_env()):
        store = ObjectStore(make_s3_client(stack.s3_url), settings.bucket())
        request = dataset.DatasetRequest(source="synthetic", n_docs=n_docs, seed=seed,
                                         options={"vocab": vocab})
        made = dataset.run_all(store, request, track_wandb=False)
        manifest, _ = resolve(store, "dataset", made["dataset_id"])
        train = read_split(store, manifest, "train")
    return made["dataset_id"], train["text"].tolist(), train["label"].to_numpy()


def in_child(name: str, texts: list[str], labels: Any, configs: list[dict], folds: int, seed: int,
             n_jobs: int) -> dict[str, Any]:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(run_approach, name, texts, labels, configs, folds, seed,
                           n_jobs).result()


def max_diff(rows: list[dict[str, Any]], means: dict[str, dict[str, float]]) -> float:
    worst = 0.0
    for row in rows:
        for metric, value in means[row["config_id"]].items():
            theirs = row[f"mean_{metric}"]
            if not (math.isnan(theirs) and math.isnan(value)):
                worst = max(worst, abs(theirs - value))
    return worst


def one_size(args: argparse.Namespace, n_docs: int) -> dict[str, Any]:
    from fnlib.stages.tune import TuneRequest, build_grid

    request = TuneRequest(grid=args.grid, models=args.models, folds=args.folds, seed=args.seed)
    configs = [c.to_dict() for c in build_grid(request)]
    stack_dir = Path(tempfile.mkdtemp(prefix="fn-bench-dagtune-"))
    os.environ["FN_STACK_DIR"] = str(stack_dir)
    stack = Stack(stack_dir)
    try:
        t0 = time.perf_counter()
        stack.up()
        print(f"  stack up in {time.perf_counter() - t0:.0f}s ({stack_dir})", flush=True)
        dataset_id, texts, labels = prepare(stack, n_docs, args.seed, args.vocab)
        print(f"  dataset {dataset_id}: {len(texts)} training docs, mean "
              f"{sum(map(len, texts)) / len(texts):.0f} chars (SYNTHETIC, vocab={args.vocab})",
              flush=True)
        client = AirflowClient(stack.api_url, "admin", stack.admin_password() or "", timeout=120)
        client.wait_for_dag("fn_tune")
        conf = {"dataset_id": dataset_id, "grid": args.grid, "folds": args.folds,
                "seed": args.seed, "metric": "f1", "models": request.models,
                "chunks": args.chunks}
        dag = run_dag(client, stack, conf)
        print(f"  dag        done in {dag['wall']:.1f}s: Airflow's share {dag['airflow']:.1f}s "
              f"(gaps {dag['gaps']:.1f}s), task bodies "
              + ", ".join(f"{t} {sum(v):.1f}s x{len(v)}" for t, v in dag["per_task"].items()),
              flush=True)
    finally:
        stack.down()
        os.environ.pop("FN_STACK_DIR", None)
        shutil.rmtree(stack_dir, ignore_errors=True)
    runs = {"dag": dag}
    # tune_bench's "shared" approach is the library path
    for name, approach, n_jobs in (("library", "shared", 1), ("gridsearch", "gridsearch",
                                                              args.cores)):
        if name == "gridsearch" and args.skip_gridsearch:
            continue
        runs[name] = in_child(approach, texts, labels, configs, args.folds, args.seed, n_jobs)
        print(f"  {name:<10} done in {runs[name]['wall']:.1f}s", flush=True)
    return {"docs": n_docs, "train": len(texts), "configs": len(configs), "runs": runs}


def report(rows: list[dict[str, Any]], cores: int) -> None:
    print(f"\nDAG-LEVEL TUNING (SYNTHETIC text; wall seconds; same train split, grid and folds; "
          f"{cores} cores)")
    print(f"{'docs':>7} {'train':>6} {'cfgs':>4} {'dag s':>7} {'library s':>9} "
          f"{'GridSearchCV s':>14} {'GS/dag':>7} {'lib/dag':>7} {'Airflow share':>13} "
          f"{'gaps s':>6} {'dag==library':>12}")
    for row in rows:
        dag, lib = row["runs"]["dag"], row["runs"]["library"]
        grid = row["runs"].get("gridsearch")
        diff = max_diff(dag["rows"], lib["means"])
        grid_wall = f"{grid['wall']:.1f}" if grid else "not run"
        grid_ratio = f"{grid['wall'] / dag['wall']:.2f}x" if grid else "-"
        print(f"{row['docs']:>7} {row['train']:>6} {row['configs']:>4} {dag['wall']:>7.1f} "
              f"{lib['wall']:>9.1f} {grid_wall:>14} {grid_ratio:>7} "
              f"{lib['wall'] / dag['wall']:>6.2f}x "
              f"{dag['airflow'] / dag['wall']:>12.1%} {dag['gaps']:>6.1f} "
              f"{'identical' if diff == 0 else f'{diff:.1e}':>12}")
    print("\nCPU seconds (library: one process; GridSearchCV: its process and joblib's workers):")
    for row in rows:
        cpu = ", ".join(f"{k} {v['cpu']:.1f}" for k, v in row["runs"].items() if "cpu" in v)
        print(f"  {row['docs']}: {cpu}")
    print("\nDAG run breakdown (task bodies summed over map indexes; start-up = task time "
          "outside bodies, summed over task instances):")
    for row in rows:
        dag = row["runs"]["dag"]
        tasks = ", ".join(f"{t} {sum(v):.1f}s" + (f" (x{len(v)})" if len(v) > 1 else "")
                          for t, v in dag["per_task"].items())
        print(f"  {row['docs']}: wall {dag['wall']:.1f}s (trigger to done as the client saw it "
              f"{dag['seen']:.1f}s); Airflow's share {dag['airflow']:.1f}s = gaps "
              f"{dag['gaps']:.1f}s + start-up not overlapped by work "
              f"{dag['airflow'] - dag['gaps']:.1f}s; {dag['n_tis']} task instances, "
              f"start-up {dag['startup']:.1f} task-s; bodies: {tasks}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000],
                        help="documents generated per size (default 2000 10000)")
    parser.add_argument("--grid", choices=("default", "small"), default="default")
    parser.add_argument("--models", type=lambda s: s.split(","), default=None,
                        help="comma-separated subset of the grid's models (default: all)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--chunks", type=int, default=None,
                        help="fn_tune's chunks param (default: the DAG's own default)")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1,
                        help="GridSearchCV's n_jobs (default: the machine's cores)")
    parser.add_argument("--vocab", choices=("zipf", "fixed"), default="zipf",
                        help="synthetic vocabulary: zipf (grows like real news, default) or "
                             "fixed (~500 words)")
    parser.add_argument("--skip-gridsearch", action="store_true")
    args = parser.parse_args(argv)
    print(f"dag_tune_bench: sizes {args.sizes}, vocab {args.vocab}, grid {args.grid}, models "
          f"{args.models or 'all'}, {args.folds} folds, chunks {args.chunks or 'default'}, "
          f"GridSearchCV n_jobs={args.cores}; Airflow parallelism "
          f"{os.environ.get('AIRFLOW__CORE__PARALLELISM', '4')}", flush=True)
    rows = []
    for n_docs in args.sizes:
        print(f"\n=== {n_docs} documents (SYNTHETIC)", flush=True)
        rows.append(one_size(args, n_docs))
        report(rows, args.cores)
    return 0


if __name__ == "__main__":
    sys.exit(main())
