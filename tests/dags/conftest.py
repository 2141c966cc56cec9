"""DAG-tier fixtures: a migrated Airflow metadata DB and the AWS connection on moto."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"


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

    return DagBag(dag_folder=str(DAGS))


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
