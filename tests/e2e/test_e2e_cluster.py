"""The multi-worker deployment, run for real: the cluster mode of the local stack (PostgreSQL
metadata DB, Redis broker, CeleryExecutor with two workers as separate process groups, moto
S3), driven through Airflow's REST API, then broken on purpose.

One cluster serves the whole module (the tests run in file order and build on each other):

1. the Asset chain fn_dataset -> fn_tune -> fn_train; Airflow's records show the mapped tasks
   ran on both workers, overlapping in time; the ids and objects equal an in-process run of
   the same inputs (runs are content-addressed, whatever the executor);
2. fn_score and a week of fn_monitor as a backfill created over the REST API, on Postgres;
3. SIGKILL of the worker running a mapped task: one retry on the other worker, the run
   succeeds, the bucket holds no partial object, no duplicate version, no orphan manifest;
4. Redis restarted while task messages wait in it: none is lost, the runs finish;
5. PostgreSQL stopped and started again under a running DAG run: the components that exit on
   the lost DB connection are restarted by the stack's supervisor, with no one running a
   command; the run finishes and the bucket is whole (last: it may cost a component or two).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from fnlib.catalog import KIND_PREFIX
from fnlib.local.airflow_api import AirflowClient
from fnlib.local.cluster import (
    COMPONENTS,
    WORKERS,
    Cluster,
    _healthy,
    _tree_groups,
    servers_missing,
)
from fnlib.local.demo import await_triggered_run, run_dag
from fnlib.settings import scoped_environ
from fnlib.storage import ObjectStore
from fnlib.storage.client import make_s3_client
from fnlib.storage.manifest import find_manifest, load_manifest

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]

CHAIN = ("fn_dataset", "fn_tune", "fn_train")
N_DOCS = 400
DAYS = 7
HEARTBEAT_TIMEOUT = 15  # seconds without a heartbeat before a task of a dead worker fails
# objects whose bytes record how or where a run happened, not only what it computed: same
# keys, other bytes (everything else must be byte-identical)
RUN_SPECIFIC = {("tuning", "leaderboard"): "fit and score times",
                ("tuning", "leaderboard_csv"): "fit and score times",
                ("model", "card"): "names the Airflow run and the tracking run",
                # scikit-learn's TfidfVectorizer keeps `_stop_words_id`, the memory address of
                # its stop-word list, so the pickle differs by process; the two models must
                # predict the same instead
                ("model", "model"): "pickled in another process"}


@pytest.fixture(scope="module")
def cluster():
    reason = servers_missing()
    if reason:
        pytest.skip(f"cluster mode unavailable on this machine: {reason}")
    saved = {k: os.environ.get(k) for k in ("FN_STACK_DIR", "FN_BUCKET", "FN_API_PORT")}
    # under /tmp: the postgres user must be able to reach the data folder
    folder = Path(tempfile.mkdtemp(prefix="fn-cluster-"))
    os.environ.update(FN_STACK_DIR=str(folder), FN_BUCKET=f"fn-cluster-{uuid.uuid4().hex[:8]}",
                      FN_API_PORT="0")
    c = Cluster(folder)
    c.set_overrides({"AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
                     # ... looked for every 3 s rather than 10: the kill test waits less
                     "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "3",
                     # the Asset-triggered tuning: 8 mapped configurations, not 40
                     "FN_TUNE_DEFAULTS": json.dumps({"grid": "small", "models": ["nb", "logreg"]}),
                     # W&B offline is covered by the other tiers; here it would only add a
                     # tracking process per task
                     "WANDB_MODE": "disabled"})
    started: set[int] = set()
    try:
        c.up(timeout=300)
        started.update(c.pids())
        yield c
    finally:
        started.update(_tree_groups(c.pids()))
        c.down()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        groups = set(subprocess.run(["ps", "-eo", "pgid="], capture_output=True, text=True
                                    ).stdout.split())
        shutil.rmtree(folder, ignore_errors=True)
        assert not {str(p) for p in started} & groups, "cluster processes left behind"


@pytest.fixture(scope="module")
def client(cluster):
    return AirflowClient(cluster.api_url, "admin", cluster.admin_password() or "")


@pytest.fixture(scope="module")
def store(cluster):
    with scoped_environ(cluster.client_env()):
        yield ObjectStore(make_s3_client(cluster.s3_url), os.environ["FN_BUCKET"])


@pytest.fixture(scope="module")
def chain() -> dict:
    """Results of the Asset chain, for the tests after it."""
    return {}


def _ts(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _cross_worker_overlap(tis: list[dict]) -> bool:
    by_host: dict[str, list[tuple[float, float]]] = {}
    for ti in tis:
        by_host.setdefault(ti["hostname"], []).append((_ts(ti["start_date"]), _ts(ti["end_date"])))
    first, second = (by_host.get(w, []) for w in WORKERS)
    return any(a0 < b1 and b0 < a1 for a0, a1 in first for b0, b1 in second)


def _wait(predicate, timeout: float, what: str, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


def _redis(port: int, *args: str) -> bytes:
    """One command in Redis's wire protocol; the raw reply."""
    cmd = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(cmd.encode())
        return s.recv(4096)


def _queued_messages(cluster: Cluster) -> int:
    """Task messages waiting in the broker's ``default`` queue."""
    reply = _redis(cluster.state()["redis_port"], "LLEN", "default")
    assert reply.startswith(b":"), reply
    return int(reply[1:].strip())


def _worker_ready(cluster: Cluster, worker: str) -> bool:
    return " ready." in (cluster.dir / f"{worker}.log").read_text(errors="replace")


def _restart_workers(cluster: Cluster, workers) -> None:
    for worker in workers:
        cluster.start_component(worker)
    _wait(lambda: all(_worker_ready(cluster, w) for w in workers), 120, "workers ready")


def _audit_bucket(store: ObjectStore) -> None:
    """No duplicate versions under the content-addressed prefixes, every committed manifest's
    objects present at the recorded version and sha256, and no object outside a manifest."""
    versions: dict[str, list[str]] = {}
    for page in store.client.get_paginator("list_object_versions").paginate(Bucket=store.bucket):
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
            versions.setdefault(entry["Key"], []).append(entry["VersionId"])
    # every stage output's prefix; feedback/ also receives the desk labels (inputs, no manifest)
    prefixes = tuple(f"{p}/" for kind, p in KIND_PREFIX.items() if kind != "feedback")
    addressed = [k for k in versions if k.startswith(prefixes)]
    duplicated = {k: len(versions[k]) for k in addressed if len(versions[k]) != 1}
    assert not duplicated, f"objects with more than one version: {duplicated}"
    referenced = set()
    for key in addressed:
        if not key.endswith("/manifest.json"):
            continue
        manifest, ref = load_manifest(store, f"s3://{store.bucket}/{key}")
        referenced.add(key)
        for name, obj in manifest.objects.items():
            head = store.head(obj.key, obj.version_id)
            assert head is not None and head.sha256 == obj.sha256, f"{key}: {name} missing/changed"
            referenced.add(obj.key)
    # the gate's decision is recorded beside a committed model, after its manifest
    referenced |= {k for k in addressed if k.endswith("/decision.json")
                   and k.rsplit("/", 1)[0] + "/manifest.json" in referenced}
    orphans = sorted(set(addressed) - referenced)
    assert not orphans, f"objects no committed manifest references (partial writes?): {orphans}"


def _reference_run(cluster: Cluster, store: ObjectStore, ids: dict) -> dict:
    """The same inputs run in this process (no Airflow) into a fresh bucket; returns the ids
    and manifests."""
    from fnlib.stages import train as train_stage
    from fnlib.stages import tune as tune_stage
    from fnlib.stages.dataset import DatasetRequest, run_all

    dataset, _ = find_manifest(store, "dataset", ids["dataset_id"])
    tuning, _ = find_manifest(store, "tuning", ids["tuning_id"])
    model, _ = find_manifest(store, "model", ids["model_id"])
    with scoped_environ({**cluster.client_env(), "WANDB_MODE": "disabled"}):
        ref = ObjectStore(make_s3_client(cluster.s3_url), f"fn-ref-{uuid.uuid4().hex[:8]}")
        ref.ensure_bucket(create=True)
        ds = run_all(ref, DatasetRequest(**dataset.params), track_wandb=False)
        planned = tune_stage.plan(ref, tune_stage.TuneRequest(**tuning.params["request"]))
        for cfg in planned["feature_configs"]:
            tune_stage.featurize(ref, planned, cfg)
        results = [r for chunk in planned["chunks"]
                   for r in tune_stage.score_chunk(ref, planned, chunk)]
        tuned = tune_stage.reduce(ref, planned, results)
        trained = train_stage.train(ref, train_stage.TrainRequest(**model.params["request"]))
        manifests = {kind: find_manifest(ref, kind, object_id)[0] for kind, object_id in
                     (("dataset", ds["dataset_id"]), ("tuning", tuned["tuning_id"]),
                      ("model", trained["model_id"]))}
    return {"dataset_id": ds["dataset_id"], "tuning_id": tuned["tuning_id"],
            "model_id": trained["model_id"], "manifests": manifests, "store": ref}


def test_asset_chain_runs_on_both_workers_and_matches_an_in_process_run(cluster, client, store,
                                                                        chain):
    log: list[str] = []
    for dag_id in CHAIN:
        client.wait_for_dag(dag_id)
        client.set_paused(dag_id, False)
    known = {d: {r["dag_run_id"] for r in client.runs(d)} for d in CHAIN[1:]}
    t0 = time.monotonic()
    ds_run = run_dag(client, cluster, "fn_dataset", {"source": "synthetic", "n_docs": N_DOCS},
                     600, log.append)
    tune_run = await_triggered_run(client, cluster, "fn_tune", known["fn_tune"], 900, log.append)
    train_run = await_triggered_run(client, cluster, "fn_train", known["fn_train"], 600, log.append)
    chain["wall"] = time.monotonic() - t0
    assert client.runs("fn_tune")[0]["run_type"] == "asset_triggered"
    assert client.runs("fn_train")[0]["run_type"] == "asset_triggered"

    # Airflow's records: the mapped tasks ran on both workers, overlapping in time
    scores = [ti for ti in client.task_instances("fn_tune", tune_run) if ti["task_id"] == "score"]
    assert len(scores) >= 4 and all(ti["state"] == "success" for ti in scores)
    hosts = {ti["hostname"] for ti in scores}
    assert hosts == set(WORKERS), f"mapped tasks ran on {hosts}"
    assert _cross_worker_overlap(scores), "no two mapped tasks on different workers overlapped"

    ids = {"dataset_id": client.xcom("fn_dataset", ds_run, "commit")["dataset_id"],
           "tuning_id": client.xcom("fn_tune", tune_run, "reduce")["tuning_id"],
           "model_id": client.xcom("fn_train", train_run, "train")["model_id"]}
    chain.update(ids)

    # the same inputs in one process give the same ids and the same objects
    ref = _reference_run(cluster, store, ids)
    assert {k: ref[k] for k in ids} == ids
    for kind, object_id in (("dataset", ids["dataset_id"]), ("tuning", ids["tuning_id"]),
                            ("model", ids["model_id"])):
        ours, _ = find_manifest(store, kind, object_id)
        theirs = ref["manifests"][kind]
        assert ours.objects.keys() == theirs.objects.keys()
        for name, obj in ours.objects.items():
            assert obj.key == theirs.objects[name].key
            if (kind, name) not in RUN_SPECIFIC:
                assert obj.sha256 == theirs.objects[name].sha256, f"{kind} {name} differs"
        assert [p["uri"].split("?")[0].split("/", 3)[3] for p in ours.parents] == \
               [p["uri"].split("?")[0].split("/", 3)[3] for p in theirs.parents]
    _assert_same_predictions(cluster, store, ref["store"], ids["model_id"], ids["dataset_id"])


def _assert_same_predictions(cluster: Cluster, ours: ObjectStore, theirs: ObjectStore,
                             model_id: str, dataset_id: str) -> None:
    import numpy as np

    from fnlib.registry import load_model
    from fnlib.stages.common import read_split

    with scoped_environ(cluster.client_env()):
        dataset, _ = find_manifest(ours, "dataset", dataset_id)
        texts = read_split(ours, dataset, "test")["text"].tolist()
        probas = [load_model(s, find_manifest(s, "model", model_id)[0].objects["model"])
                  .predict_proba(texts) for s in (ours, theirs)]
    np.testing.assert_allclose(probas[0], probas[1], rtol=1e-9, atol=1e-12)


def test_score_and_a_week_of_monitoring_backfilled_on_postgres(cluster, client, store, chain):
    from fnlib.stages.monitor import monitoring_table
    from fnlib.stages.simulate import simulate

    assert chain.get("model_id"), "needs the Asset chain's model"
    first = dt.date.today() - dt.timedelta(days=DAYS + 1)
    last = first + dt.timedelta(days=DAYS - 1)
    with scoped_environ(cluster.client_env()):
        simulate(store, days=DAYS, start_day=first.isoformat(), seed=1, docs_per_day=60,
                 drift_day=3, drift_kinds=("topic", "length"), source="test")
    for dag_id in ("fn_score", "fn_monitor"):
        client.wait_for_dag(dag_id)
    run_dag(client, cluster, "fn_score", {}, 300, lambda m: None)
    client.set_paused("fn_monitor", False)
    backfill = client.backfill("fn_monitor", f"{first}T00:00:00Z", f"{last}T00:00:00Z",
                               max_active_runs=4)
    done = _wait(lambda: client.get_backfill(backfill["id"]).get("completed_at"), 420,
                 "the fn_monitor backfill to complete", every=2)
    assert done
    runs = [r for r in client.runs("fn_monitor") if r["run_type"] == "backfill"]
    assert len(runs) == DAYS and all(r["state"] == "success" for r in runs), \
        [(r["dag_run_id"], r["state"]) for r in runs]
    with scoped_environ(cluster.client_env()):
        table = monitoring_table(store)
    days = {str(d)[:10] for d in table["interval_start"]}
    assert {str(first + dt.timedelta(days=i)) for i in range(DAYS)} <= days


def test_sigkill_of_a_worker_costs_one_retry_on_the_other(cluster, client, store, chain):
    assert chain.get("dataset_id"), "needs the Asset chain's dataset"
    client.set_paused("fn_train", True)  # the new tuning's Asset event trains nothing now
    run_id = client.trigger("fn_tune", {"dataset_id": chain["dataset_id"], "grid": "small",
                                        "models": ["nb"], "folds": 3})

    def running_mapped():
        for ti in client.task_instances("fn_tune", run_id):
            if ti["map_index"] >= 0 and ti["state"] == "running" and ti.get("hostname"):
                return ti
        return None

    victim_ti = _wait(running_mapped, 300, "a mapped task to run", every=0.3)
    victim = victim_ti["hostname"]
    survivor = next(w for w in WORKERS if w != victim)
    cluster.kill_component(victim)  # the worker, its pool and the task runners below it
    killed_at = time.monotonic()

    run = client.wait_for_run("fn_tune", run_id, timeout=400)
    assert run["state"] == "success"
    # every retried task instance had its first try on the killed worker (which may have
    # held two), and its second, successful one on the survivor; nothing else was retried
    retried = [ti for ti in client.task_instances("fn_tune", run_id) if ti["try_number"] > 1]
    assert (victim_ti["task_id"], victim_ti["map_index"]) in \
        {(ti["task_id"], ti["map_index"]) for ti in retried}
    for ti in retried:
        tries = client.task_tries("fn_tune", run_id, ti["task_id"], ti["map_index"])
        summary = [(t["try_number"], t["hostname"], t["state"]) for t in tries]
        assert len(tries) == 2, summary
        assert tries[0]["hostname"] == victim and tries[0]["state"] != "success", summary
        assert tries[1]["hostname"] == survivor and tries[1]["state"] == "success", summary
    chain["kill_recovery_s"] = time.monotonic() - killed_at
    with scoped_environ(cluster.client_env()):
        _audit_bucket(store)  # the dead worker is restarted by the next test


def test_redis_restart_loses_no_queued_task(cluster, client, store, chain):
    first = dt.date.today() - dt.timedelta(days=DAYS + 1)
    for worker in WORKERS:  # no consumer: the scheduler's messages wait in Redis
        cluster.stop_component(worker)
    runs = [("fn_score", client.trigger("fn_score", {}))]
    backfill = client.backfill("fn_monitor", f"{first}T00:00:00Z",
                               f"{first + dt.timedelta(days=2)}T00:00:00Z", max_active_runs=3)
    waiting = _wait(lambda: (n := _queued_messages(cluster)) >= 4 and n, 180,
                    "four task messages in the broker")
    port = cluster.state()["redis_port"]
    cluster.stop_redis()
    cluster.start_redis()
    # the scheduler keeps sending to the address it started with
    assert cluster.state()["redis_port"] == port, "the broker came back on another port"
    assert _queued_messages(cluster) == waiting, "messages lost in the broker restart"
    _restart_workers(cluster, WORKERS)
    for dag_id, run_id in runs:
        assert client.wait_for_run(dag_id, run_id, timeout=300)["state"] == "success"
    assert _wait(lambda: client.get_backfill(backfill["id"]).get("completed_at"), 300,
                 "the second backfill")
    reruns = [r for r in client.runs("fn_monitor") if r["run_type"] == "backfill"
              and r["logical_date"][:10] <= str(first + dt.timedelta(days=2))]
    assert len(reruns) == 3 and all(r["state"] == "success" for r in reruns), reruns


def test_postgres_outage_is_recovered_without_an_operator(cluster, client, store, chain):
    assert chain.get("dataset_id"), "needs the Asset chain's dataset"
    assert all(cluster.status()["airflow"]["processes"][c]["running"] for c in COMPONENTS)
    before = cluster.procs()
    run_id = client.trigger("fn_tune", {"dataset_id": chain["dataset_id"], "grid": "small",
                                        "models": ["nb"], "folds": 3})
    _wait(lambda: any(ti["state"] == "running" for ti in client.task_instances("fn_tune", run_id)),
          300, "a task of the run to start", every=0.5)
    port = cluster.state()["pg_port"]
    cluster.stop_postgres()
    time.sleep(8)  # every DB call of every component fails meanwhile
    cluster.start_postgres()
    assert cluster.state()["pg_port"] == port, "the metadata DB came back on another port"
    # nobody runs `fn stack up`: the supervisor brings back what exited, the rest reconnects
    url = f"{cluster.api_url}/api/v2/monitor/health"
    _wait(lambda: _healthy(url) and cluster.is_up(), 150, "a healthy cluster again", every=2)
    # which components exit depends on what each was doing when the DB went away (observed:
    # the dag-processor and the triggerer, sometimes the scheduler; docs/deploy.md)
    restarted = sorted(c for c in COMPONENTS if cluster.procs()[c] != before[c])
    print(f"restarted by the supervisor after the outage: {restarted}")
    run = client.wait_for_run("fn_tune", run_id, timeout=300)
    assert run["state"] == "success", (run, restarted)
    with scoped_environ(cluster.client_env()):
        _audit_bucket(store)
