"""Shared fixtures: a real S3 endpoint (moto's server on loopback), W&B offline, and an
isolated Airflow home. Airflow reads its configuration at import time, so the environment is
set here, before any test module imports airflow."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"

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
