"""End to end on a real scheduler: the local stack (moto S3 + Airflow standalone with
LocalExecutor, parallelism > 1), fn_dataset triggered over the REST API, and the Asset chain
running fn_tune and fn_train by itself. Everything is stopped by PID afterwards."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import uuid

import pytest

from fnlib.local.airflow_api import AirflowClient
from fnlib.local.demo import await_triggered_run, run_dag
from fnlib.local.stack import Stack
from fnlib.registry import current_champion
from fnlib.storage import ObjectStore
from fnlib.storage.client import make_s3_client
from fnlib.storage.lineage import walk_lineage

pytestmark = pytest.mark.e2e

CHAIN = ("fn_dataset", "fn_tune", "fn_train")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    saved = {
        k: os.environ.get(k)
        for k in ("FN_STACK_DIR", "FN_BUCKET", "AIRFLOW__CORE__PARALLELISM", "FN_API_PORT")
    }
    os.environ["FN_STACK_DIR"] = str(tmp_path_factory.mktemp("stack"))
    os.environ["FN_BUCKET"] = f"fn-e2e-{uuid.uuid4().hex[:8]}"
    os.environ["AIRFLOW__CORE__PARALLELISM"] = "4"
    os.environ["FN_API_PORT"] = "0"
    s = Stack.default()
    try:
        s.up(timeout=240)
        yield s
    finally:
        pids = [s.state().get("airflow_pid"), s.state().get("s3_pid")]
        s.down()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        leftover = subprocess.run(
            ["ps", "-eo", "pgid="], capture_output=True, text=True
        ).stdout.split()
        assert not {str(p) for p in pids if p} & set(leftover), "stack processes left behind"


def test_asset_chain_runs_tune_and_train_by_itself(stack, monkeypatch):
    client = AirflowClient(stack.api_url, "admin", stack.admin_password() or "")
    log = []
    for dag_id in CHAIN:
        client.wait_for_dag(dag_id)
        client.set_paused(dag_id, False)
    known = {d: {r["dag_run_id"] for r in client.runs(d)} for d in CHAIN[1:]}
    run_dag(client, stack, "fn_dataset", {"source": "synthetic", "n_docs": 600}, 600, log.append)
    tune_run = await_triggered_run(client, stack, "fn_tune", known["fn_tune"], 900, log.append)
    train_run = await_triggered_run(client, stack, "fn_train", known["fn_train"], 600, log.append)

    runs = {d: client.runs(d)[0] for d in CHAIN[1:]}
    assert runs["fn_tune"]["run_type"] == "asset_triggered"
    assert runs["fn_train"]["run_type"] == "asset_triggered"

    # mapped tuning tasks ran in parallel processes: overlapping execution windows, several pids
    scores = [ti for ti in client.task_instances("fn_tune", tune_run) if ti["task_id"] == "score"]
    assert len(scores) > 1 and all(ti["state"] == "success" for ti in scores)
    # each mapped instance is named after the configurations it holds (fn_task label=)
    assert all(re.search(r"^\d+/\d+ .+: .+ \(\d+ configs?\)$", ti.get("rendered_map_index") or "")
               for ti in scores), scores[0]
    windows = sorted(
        (dt.datetime.fromisoformat(t["start_date"]), dt.datetime.fromisoformat(t["end_date"]))
        for t in scores
    )
    overlaps = sum(1 for a, b in zip(windows, windows[1:], strict=False) if b[0] < a[1])
    assert overlaps >= 1, "mapped score tasks never overlapped: no parallelism"
    assert len({t.get("pid") for t in scores if t.get("pid")}) > 1

    trained = client.xcom("fn_train", train_run, "train")
    for key, value in stack.client_env().items():  # undone after the test: later tests
        monkeypatch.setenv(key, value)               # use the session's S3 endpoint
    store = ObjectStore(make_s3_client(stack.s3_url), os.environ["FN_BUCKET"])
    kinds = [n.manifest.kind for n in walk_lineage(store, trained["manifest_uri"])]
    assert kinds == ["model", "dataset", "raw", "tuning"]
    champion, _ = current_champion(store)
    assert champion is not None and champion.model_id == trained["model_id"]
