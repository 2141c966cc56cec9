"""Shared fixtures: a real S3 endpoint (moto's server on loopback), W&B offline, an isolated
Airflow home, and the DAG-tier fixtures (migrated metadata DB, AWS connection, DagBag).
Airflow reads its configuration at import time, so the environment is set here, before any
test module imports airflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
DAGS = ROOT / "dags"

_home = Path(tempfile.mkdtemp(prefix="fn-test-airflow-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_home}/airflow.db",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "WANDB_X_DISABLE_STATS": "true",
        "WANDB_DIR": str(_home / "wandb"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
)
os.environ.pop("WANDB_API_KEY", None)
(_home / "wandb").mkdir(exist_ok=True)


@pytest.fixture(scope="session")
def moto_endpoint():
    """A real HTTP S3 endpoint with versioning, on 127.0.0.1 and a free port."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    os.environ["AWS_ENDPOINT_URL"] = url
    yield url
    server.stop()


@pytest.fixture
def s3_client(moto_endpoint):
    from fnlib.storage.client import make_s3_client

    return make_s3_client(moto_endpoint, "us-east-1")


@pytest.fixture
def store(s3_client):
    """An ObjectStore on a fresh versioned bucket."""
    from fnlib.storage import ObjectStore

    s = ObjectStore(s3_client, f"fn-test-{uuid.uuid4().hex[:12]}")
    s.ensure_bucket(create=True)
    return s


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data sets not available: {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def airflow_db():
    """Migrate the (temporary) SQLite metadata DB once per session."""
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run(
        [str(airflow), "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
        timeout=300,
    )
    return os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


@pytest.fixture(scope="session")
def fn_bucket(moto_endpoint):
    """The AWS connection points at moto; FN_BUCKET names a fresh versioned bucket."""
    from fnlib.storage import ObjectStore
    from fnlib.storage.client import make_s3_client

    bucket = f"fn-dag-{uuid.uuid4().hex[:10]}"
    os.environ["FN_BUCKET"] = bucket
    os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps(
        {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {"endpoint_url": moto_endpoint, "region_name": "us-east-1"},
        }
    )
    store = ObjectStore(make_s3_client(moto_endpoint, "us-east-1"), bucket)
    store.ensure_bucket(create=True)
    return store


@pytest.fixture(scope="session")
def dagbag(airflow_db, fn_bucket):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    bag.pristine_params = {dag_id: snapshot_params(dag) for dag_id, dag in bag.dags.items()}
    bag.reset_params = lambda: reset_params(bag)
    return bag


def snapshot_params(dag) -> dict:
    """Deep copies of a DAG's params and of each of its tasks' params."""
    import copy

    return {"dag": copy.deepcopy(dag.params),
            "tasks": {t.task_id: copy.deepcopy(t.params) for t in dag.tasks}}


def reset_params(bag) -> None:
    """Give every DAG of ``bag`` its declared params back. ``dag.test()`` runs tasks in this
    process and merges the run conf into the tasks' params objects, so a key passed to one run
    would otherwise become the default of every later run of that DAG in the session."""
    import copy

    for dag_id, saved in bag.pristine_params.items():
        dag = bag.dags[dag_id]
        dag.params = copy.deepcopy(saved["dag"])
        for task in dag.tasks:
            task.params = copy.deepcopy(saved["tasks"][task.task_id])


@pytest.fixture(autouse=True)
def _declared_dag_params(request):
    yield
    if "dagbag" in request.fixturenames:
        reset_params(request.getfixturevalue("dagbag"))


def wipe(store, prefixes=("registry/", "incoming/", "predictions/", "feedback/", "monitoring/",
                          "retrain-requests/")) -> None:
    """Delete every version under ``prefixes``: each test module starts with no champion."""
    response = store.client.list_object_versions(Bucket=store.bucket)
    for entry in response.get("Versions", []) + response.get("DeleteMarkers", []):
        if entry["Key"].startswith(prefixes):
            store.client.delete_object(Bucket=store.bucket, Key=entry["Key"],
                                       VersionId=entry["VersionId"])


@pytest.fixture(scope="module")
def clean_bucket(fn_bucket):
    wipe(fn_bucket)
    return fn_bucket
