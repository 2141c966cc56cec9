"""Storage faults: the S3 endpoint goes away mid-upload, mid-read, between data and manifest,
hangs, or is really stopped. The failing step raises a clear error, a retry succeeds, and
afterwards there is no visible partial dataset, no duplicate version and no orphaned manifest.

Faults come from a TCP proxy in front of the real moto server (``fault_proxy``) or from
stopping a moto server outright; botocore's own retries run as configured in
``fnlib.storage.client``.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import pytest

from fnlib.errors import InputError
from fnlib.stages import dataset
from fnlib.stages.dataset import DatasetRequest
from fnlib.storage.manifest import Manifest, find_manifest
from fnlib.storage.objects import ChecksumMismatch, ObjectRef, StorageError

CONTENT_PREFIXES = ("raw/", "datasets/", "models/", "tuning/")
NB = {"model": "nb", "variant": "raw", "vectorizer": {"ngram_max": 1, "min_df": 1},
      "params": {"alpha": 1.0}}


def assert_consistent(store, rel) -> dict[str, int]:
    """No duplicate versions under content-addressed prefixes; every manifest names objects
    that exist with the recorded bytes (nothing lost); folders without a manifest are
    invisible to readers. Returns counts for the report."""
    versions = rel.all_versions(store)
    duplicated = {k: v for k, v in versions.items()
                  if k.startswith(CONTENT_PREFIXES) and len(v) != 1}
    assert not duplicated, f"duplicate versions: {duplicated}"
    manifests = [k for k in versions if k.endswith("/manifest.json")]
    checked = 0
    for key in manifests:
        manifest = Manifest.from_dict(store.get_json(store.head(key)))
        for ref in manifest.objects.values():
            store.get_bytes(ref)  # exists at the recorded version with the recorded sha256
            checked += 1
    folders = {"/".join(k.split("/")[:2]) for k in versions if k.startswith(CONTENT_PREFIXES)}
    uncommitted = [f for f in folders if f"{f}/manifest.json" not in versions]
    kinds = {"raw": "raw", "datasets": "dataset", "models": "model", "tuning": "tuning"}
    for folder in uncommitted:
        prefix, object_id = folder.split("/")
        with pytest.raises(InputError, match="no .* with id"):
            find_manifest(store, kinds[prefix], object_id)
    return {"manifests": len(manifests), "objects_verified": checked,
            "uncommitted": len(uncommitted)}


def test_retry_policy_is_deliberate():
    """Standard mode (exponential backoff with jitter), 5 retries, bounded timeouts; building
    clients never alters the policy (botocore rewrites the retries dict it is given)."""
    from fnlib.storage.client import RETRY_CONFIG, botocore_config, make_s3_client

    for _ in range(2):
        client = make_s3_client("http://127.0.0.1:9", "us-east-1")
        assert RETRY_CONFIG["retries"] == {"mode": "standard", "max_attempts": 5}
        assert botocore_config().retries == {"mode": "standard", "max_attempts": 5}
        # botocore counts the first try too: 1 try + 5 retries
        assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 6}
    assert 0 < RETRY_CONFIG["connect_timeout"] <= 10 and 0 < RETRY_CONFIG["read_timeout"] <= 120
    config = botocore_config(2, read_timeout=3)
    assert config.retries == {"mode": "standard", "max_attempts": 2}
    assert config.read_timeout == 3 and config.connect_timeout == RETRY_CONFIG["connect_timeout"]


def test_botocore_retries_ride_out_a_dropped_connection(store, fault_proxy, rel):
    """A connection reset and a short outage are absorbed by botocore's standard retries."""
    proxied = rel.proxied_store(store, fault_proxy, max_attempts=5)
    fault_proxy.arm(rb"PUT /[^ ]*/blob\.bin ", "refuse", then_down_s=0.3)
    ref = proxied.put_bytes("datasets/ds-retry/blob.bin", b"x" * 50_000)
    assert fault_proxy.fired.is_set() and fault_proxy.resets >= 1
    assert store.get_bytes(ref) == b"x" * 50_000
    assert rel.all_versions(store) == {"datasets/ds-retry/blob.bin": [ref.version_id]}


def test_endpoint_lost_mid_upload_then_retry(store, fault_proxy, rel):
    """prepare loses the endpoint while uploading test.csv (train.csv is already written)."""
    request = DatasetRequest(source="synthetic", n_docs=300, seed=21)
    ingested = dataset.ingest(store, request)
    proxied = rel.proxied_store(store, fault_proxy)
    fault_proxy.arm(rb"PUT /[^ ]*/datasets/[^ ]*/test\.csv ", "cut_upload", after=2_000,
                    then_down_s=30)
    with pytest.raises(StorageError) as failure:
        dataset.prepare(proxied, ingested, request)
    assert "test.csv" in str(failure.value) and "S3 endpoint" in str(failure.value)
    assert fault_proxy.fired.is_set()
    keys = store.list_keys("datasets/")
    assert keys and all(k.endswith("/train.csv") for k in keys), keys  # a partial upload
    counts = assert_consistent(store, rel)  # ...that no reader can see
    assert counts["uncommitted"] == 1

    fault_proxy.up()  # the endpoint is back: the task's retry runs the same step again
    prepared = dataset.prepare(proxied, ingested, request)
    committed = dataset.commit(proxied, prepared, request)
    assert keys[0].split("/")[1] == committed["dataset_id"]  # the same content address
    assert assert_consistent(store, rel) == {"manifests": 2, "objects_verified": 4,
                                             "uncommitted": 0}


def test_endpoint_lost_mid_read_is_a_clear_transient_error(store, fault_proxy, rel):
    """Training loses the endpoint while streaming train.csv: a StorageError naming the
    object (not a checksum failure, not a raw urllib3 error); the retried task succeeds."""
    from fnlib.stages import train as train_stage

    ds = dataset.run_all(store, DatasetRequest(source="synthetic", n_docs=300, seed=22),
                         track_wandb=False)
    proxied = rel.proxied_store(store, fault_proxy)
    fault_proxy.arm(rb"GET /[^ ]*/train\.csv\?versionId=", "cut_download", after=4_000)
    request = train_stage.TrainRequest(dataset_id=ds["dataset_id"], config=NB, f1_floor=0.0)
    with pytest.raises(StorageError) as failure:
        train_stage.train(proxied, request)
    message = str(failure.value)
    assert not isinstance(failure.value, ChecksumMismatch)
    assert "interrupted" in message and "train.csv?versionId=" in message, message
    assert not store.list_keys("models/")
    trained = train_stage.train(proxied, request)  # the retry
    assert trained["model_id"].startswith("mdl-")
    assert assert_consistent(store, rel)["uncommitted"] == 0


def test_endpoint_lost_between_data_and_manifest(store, fault_proxy, rel):
    """All data written, then the endpoint goes away as the manifest is put: the dataset does
    not exist for readers; the retried commit writes exactly one manifest version."""
    request = DatasetRequest(source="synthetic", n_docs=300, seed=23)
    prepared = dataset.prepare(store, dataset.ingest(store, request), request)
    proxied = rel.proxied_store(store, fault_proxy)
    fault_proxy.arm(rb"PUT /[^ ]*/datasets/[^ ]*/manifest\.json ", "refuse", then_down_s=30)
    with pytest.raises(StorageError, match="manifest.json"):
        dataset.commit(proxied, prepared, request)
    with pytest.raises(InputError, match="no dataset with id"):
        find_manifest(store, "dataset", prepared["dataset_id"])
    assert assert_consistent(store, rel)["uncommitted"] == 1

    fault_proxy.up()
    first = dataset.commit(proxied, prepared, request)
    again = dataset.commit(proxied, prepared, request)  # a second retry changes nothing
    assert first["manifest_uri"] == again["manifest_uri"]
    assert len(store.list_versions(f"datasets/{prepared['dataset_id']}/manifest.json")) == 1
    assert assert_consistent(store, rel)["uncommitted"] == 0


def test_hung_endpoint_times_out_instead_of_hanging(store, fault_proxy, rel):
    proxied = rel.proxied_store(store, fault_proxy, max_attempts=2, read_timeout=1)
    fault_proxy.stall()
    started = time.monotonic()
    with pytest.raises(StorageError, match="timeout"):
        proxied.head("datasets/ds-x/manifest.json")
    assert time.monotonic() - started < 10
    fault_proxy.up()
    assert proxied.head("datasets/ds-x/manifest.json") is None


def test_moto_server_stopped_and_restarted(rel):
    """A real outage: the S3 server process stops between two steps, and comes back."""
    from moto.server import ThreadedMotoServer

    from fnlib.storage import ObjectStore
    from fnlib.storage.client import make_s3_client

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    store = ObjectStore(make_s3_client(f"http://{host}:{port}", "us-east-1", max_attempts=2,
                                       connect_timeout=1), f"fn-rel-stop-{uuid.uuid4().hex[:8]}")
    store.ensure_bucket(create=True)
    request = DatasetRequest(source="synthetic", n_docs=300, seed=24)
    ingested = dataset.ingest(store, request)
    server.stop()
    try:
        started = time.monotonic()
        with pytest.raises(StorageError, match="is the S3 endpoint up"):
            dataset.prepare(store, ingested, request)
        assert time.monotonic() - started < 15
    finally:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
    try:
        result = dataset.commit(store, dataset.prepare(store, ingested, request), request)
        assert find_manifest(store, "dataset", result["dataset_id"])[0].id == result["dataset_id"]
        assert assert_consistent(store, rel) == {"manifests": 2, "objects_verified": 4,
                                                 "uncommitted": 0}
    finally:
        server.stop()


@pytest.fixture
def fast_retries(dagbag, run_dag):
    """fn_dataset with a 3 s retry delay (the DAG's policy is 2 retries, 10 s apart): longer
    than the proxy's 2 s outage, so Airflow's retry finds the endpoint back."""
    dag = dagbag.get_dag("fn_dataset")
    saved = {t.task_id: t.retry_delay for t in dag.tasks}
    for t in dag.tasks:
        t.retry_delay = dt.timedelta(seconds=3)
    yield lambda **kwargs: run_dag("fn_dataset", **kwargs)
    for t in dag.tasks:
        t.retry_delay = saved[t.task_id]


def test_airflow_retry_recovers_from_an_outage_mid_upload(fast_retries, fn_bucket, fault_proxy,
                                                          monkeypatch, rel):
    """fn_dataset through a proxy that cuts the test.csv upload and stays down for 2 s:
    prepare fails its first try, Airflow retries it, the run succeeds, nothing is duplicated."""
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({
        "conn_type": "aws", "login": "testing", "password": "testing",
        "extra": {"endpoint_url": fault_proxy.url, "region_name": "us-east-1",
                  # no client-side retries: the cut must surface as a failed try, whatever
                  # the machine's load does to botocore's backoff timing
                  "config_kwargs": {"retries": {"mode": "standard", "max_attempts": 0},
                                    "connect_timeout": 2, "read_timeout": 20}},
    }))
    fault_proxy.arm(rb"PUT /[^ ]*/datasets/[^ ]*/test\.csv ", "cut_upload", after=2_000,
                    then_down_s=2)
    run = fast_retries(run_conf={"source": "synthetic", "n_docs": 260, "seed": 4242})
    assert fault_proxy.fired.is_set(), "the fault never happened"
    assert run.state == "success"
    prepare = run.get_task_instance("prepare")
    assert prepare.state == "success" and prepare.try_number >= 2, prepare.try_number
    result = run.get_task_instance("commit").xcom_pull(task_ids="commit")
    manifest, _ = find_manifest(fn_bucket, "dataset", result["dataset_id"])
    for ref in manifest.objects.values():
        assert len(fn_bucket.list_versions(ref.key)) == 1
        fn_bucket.get_bytes(ObjectRef.from_dict(ref.to_dict()))
    assert manifest.provenance["airflow"]["task_id"] == "commit"
