"""Tampering and secrets: modified objects are refused on load with a message naming the
object; no public ACLs; server-side encryption on every put; planted credentials and API keys
never appear in logs, XCom, manifests, W&B files or error messages.

Objects are modified where an attacker with storage access would modify them: inside the S3
server (moto's backend), under the HTTP API, so the pipeline sees exactly what a real reader of
a tampered bucket would see.
"""

from __future__ import annotations

import io
import json
import logging
import os
import uuid
from pathlib import Path

import joblib
import pytest

from fnlib.catalog import incoming_key
from fnlib.registry import current_champion, load_model
from fnlib.stages import train as train_stage
from fnlib.stages.dataset import DatasetRequest, run_all
from fnlib.stages.score import score_incoming
from fnlib.storage.lineage import walk_lineage
from fnlib.storage.manifest import find_manifest
from fnlib.storage.objects import ChecksumMismatch, ObjectNotFound

NB = {"model": "nb", "variant": "raw", "vectorizer": {"ngram_max": 1, "min_df": 1},
      "params": {"alpha": 1.0}}
PUBLIC = ("http://acs.amazonaws.com/groups/global/AllUsers",
          "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")


class Payload:
    """Unpickling this runs code: it creates the marker file."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def tamper(bucket: str, key: str, version_id: str, data: bytes, *, consistent: bool) -> None:
    """Replace the bytes of one stored object version inside the S3 server. ``consistent``
    also drops the transport checksum S3 stored with it (an attacker who rewrites the object
    and its checksum), so only the pipeline's own sha256 check stands in the way."""
    from moto.s3.models import s3_backends

    backend = s3_backends["123456789012"]["aws"]
    (stored,) = [k for k in backend.buckets[bucket].keys.getlist(key)
                 if k.version_id == version_id]
    stored.value = data
    if consistent:
        stored.checksum_algorithm = None
        stored.checksum_value = None


@pytest.fixture(scope="module")
def world(champion_bucket):
    store, ds, trained = champion_bucket("fn-rel-tamper", seed=41)
    return {"store": store, "dataset": ds, "trained": trained}


@pytest.mark.parametrize("consistent", [False, True], ids=["bytes-only", "bytes-and-checksum"])
def test_modified_model_is_refused_and_never_unpickled(world, tmp_path, consistent):
    store = world["store"]
    champion, _ = current_champion(store)
    ref = champion.model
    original = store.client.get_object(Bucket=store.bucket, Key=ref["key"],
                                       VersionId=ref["version_id"])["Body"].read()
    marker = tmp_path / "pwned"
    evil = io.BytesIO()
    joblib.dump(Payload(str(marker)), evil)
    tamper(store.bucket, ref["key"], ref["version_id"], evil.getvalue(), consistent=consistent)
    try:
        with pytest.raises(ChecksumMismatch) as refused:
            load_model(store, ref)
        assert f"{ref['key']}?versionId=" in str(refused.value)
        assert "modified" in str(refused.value) and "refusing" in str(refused.value)
        # batch scoring loads the champion the same way: it fails and writes no predictions
        store.put_bytes(incoming_key("2026-11-05", "batch"),
                        b"id,text\nn1,The council approved the budget\n")
        with pytest.raises(ChecksumMismatch, match="model.joblib"):
            score_incoming(store, days=["2026-11-05"])
        assert not store.list_keys("predictions/")
        assert not marker.exists(), "the tampered model was unpickled"
    finally:
        tamper(store.bucket, ref["key"], ref["version_id"], original, consistent=True)
    assert load_model(store, ref) is not None  # restored bytes load again


def test_modified_dataset_split_is_refused_by_training(world):
    store = world["store"]
    manifest, _ = find_manifest(store, "dataset", world["dataset"]["dataset_id"])
    train_ref = manifest.objects["train"]
    original = store.get_bytes(train_ref)
    poisoned = original.replace(b",1\n", b",0\n", 5)  # flip a few labels
    tamper(store.bucket, train_ref.key, train_ref.version_id, poisoned, consistent=True)
    try:
        request = train_stage.TrainRequest(dataset_id=manifest.id, config={**NB, "params": {
            "alpha": 0.5}}, f1_floor=0.0)
        before = set(store.list_keys("models/"))
        with pytest.raises(ChecksumMismatch) as refused:
            train_stage.train(store, request)
        assert train_ref.versioned_uri in str(refused.value)
        assert {k for k in store.list_keys("models/") if k.endswith("manifest.json")} == {
            k for k in before if k.endswith("manifest.json")}
    finally:
        tamper(store.bucket, train_ref.key, train_ref.version_id, original, consistent=True)


def test_modified_parent_manifest_breaks_the_lineage_walk(world):
    store = world["store"]
    dataset, dataset_ref = find_manifest(store, "dataset", world["dataset"]["dataset_id"])
    raw_uri = dataset.parents[0]["uri"]
    raw, raw_ref = find_manifest(store, "raw", raw_uri.split("/")[4])
    original = store.get_bytes(raw_ref)
    forged = original.replace(b'"synthetic": true', b'"synthetic": false')
    assert forged != original
    tamper(store.bucket, raw_ref.key, raw_ref.version_id, forged, consistent=True)
    try:
        with pytest.raises(ChecksumMismatch, match=r"raw/raw-[0-9a-f]+/manifest\.json"):
            walk_lineage(store, dataset_ref.versioned_uri)
    finally:
        tamper(store.bucket, raw_ref.key, raw_ref.version_id, original, consistent=True)
    assert [n.manifest.kind for n in walk_lineage(store, dataset_ref.versioned_uri)] == [
        "dataset", "raw"]


def test_overwriting_or_deleting_through_the_api_cannot_swap_the_model(world):
    """In a versioned bucket a put makes a new version: readers keep the pinned one. Deleting
    the pinned version is detected, never silently replaced by the newest bytes."""
    store = world["store"]
    ref = current_champion(store)[0].model
    store.client.put_object(Bucket=store.bucket, Key=ref["key"], Body=b"replacement")
    assert load_model(store, ref) is not None
    store.client.delete_object(Bucket=store.bucket, Key=ref["key"], VersionId=ref["version_id"])
    with pytest.raises(ObjectNotFound, match=ref["key"]):
        load_model(store, ref)


def test_modified_old_champion_version_is_refused_by_the_history(store):
    """The promotion history is read like any other object: a pointer version modified in
    the bucket is refused, not shown as if it had been promoted."""
    from fnlib.catalog import CHAMPION_KEY
    from fnlib.registry import Champion, champion_history, set_champion

    def pointer(model_id: str) -> Champion:
        return Champion(model_id=model_id, manifest={}, model={}, metrics={"f1": 0.9},
                        dataset_id="ds-1", config={}, reason="test")

    first = set_champion(store, pointer("mdl-first"), None)
    set_champion(store, pointer("mdl-second"), store.head(CHAMPION_KEY))
    assert [c.model_id for c in champion_history(store)] == ["mdl-second", "mdl-first"]
    forged = json.dumps({**json.loads(store.get_bytes(first)), "model_id": "mdl-forged"}).encode()
    tamper(store.bucket, CHAMPION_KEY, first.version_id, forged, consistent=True)
    with pytest.raises(ChecksumMismatch, match=CHAMPION_KEY):
        champion_history(store)


def _object_versions(store):
    paginator = store.client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=store.bucket):
        for entry in page.get("Versions", []):
            yield entry["Key"], entry["VersionId"]


def test_every_put_requests_encryption_and_no_acl(moto_endpoint, tmp_path, monkeypatch):
    """Watch every S3 call the pipeline's client makes while a whole production cycle runs
    (dataset, tuning-free training, promotion, simulated traffic, scoring, monitoring)."""
    from fnlib.stages.monitor import monitor
    from fnlib.stages.simulate import simulate
    from fnlib.storage import ObjectStore
    from fnlib.storage.client import make_s3_client

    client = make_s3_client(moto_endpoint, "us-east-1")
    calls: list[tuple[str, dict]] = []
    client.meta.events.register("provide-client-params.s3.*",
                                lambda params, model, **_: calls.append((model.name, params)))
    store = ObjectStore(client, f"fn-rel-sse-{uuid.uuid4().hex[:8]}")
    store.ensure_bucket(create=True)
    ds = run_all(store, DatasetRequest(source="synthetic", n_docs=200, seed=42), track_wandb=False)
    trained = train_stage.train(store, train_stage.TrainRequest(
        dataset_id=ds["dataset_id"], config=NB, f1_floor=0.0))
    train_stage.gate(store, trained)
    simulate(store, days=1, start_day="2026-11-06", seed=1, docs_per_day=40, source="test")
    score_incoming(store)
    monitor(store, "2026-11-06T00:00:00+00:00", "2026-11-06T00:00:00+00:00")

    puts = [params for name, params in calls if name == "PutObject"]
    assert len(puts) >= 15
    for params in puts:
        assert params.get("ServerSideEncryption") == "AES256", params["Key"]
        assert "ACL" not in params and "GrantRead" not in params, params["Key"]
        assert params.get("Metadata", {}).get("sha256"), params["Key"]
    names = {name for name, _ in calls}
    assert not names & {"PutObjectAcl", "PutBucketAcl", "PutBucketPolicy", "CopyObject",
                        "CreateMultipartUpload"}, names
    # and what the server holds: every version encrypted, no public grant anywhere
    versions = list(_object_versions(store))
    assert len(versions) == len(puts)
    for key, version in versions:
        head = client.head_object(Bucket=store.bucket, Key=key, VersionId=version)
        assert head.get("ServerSideEncryption") == "AES256", key
        grants = client.get_object_acl(Bucket=store.bucket, Key=key, VersionId=version)["Grants"]
        assert not [g for g in grants if g["Grantee"].get("URI") in PUBLIC], key
    bucket_grants = client.get_bucket_acl(Bucket=store.bucket)["Grants"]
    assert not [g for g in bucket_grants if g["Grantee"].get("URI") in PUBLIC]


def test_no_code_path_sets_an_acl():
    root = Path(__file__).resolve().parents[2]
    sources = [p for d in ("fnlib", "dags", "plugins") for p in (root / d).rglob("*.py")]
    assert len(sources) > 20
    for path in sources:
        text = path.read_text()
        for needle in ("ACL=", "public-read", "GrantRead", "put_object_acl", "put_bucket_acl"):
            assert needle not in text, f"{path.relative_to(root)} uses {needle}"


AWS_KEY_ID = "AKIAPLANTED" + "7Q2X9Z4W1V"
AWS_SECRET = "planted-aws-secret-" + uuid.uuid4().hex
WANDB_KEY = ("planted" + uuid.uuid4().hex + "0" * 40)[:40]
SECRETS = (AWS_KEY_ID, AWS_SECRET, WANDB_KEY)


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_planted_secrets_never_leak(run_dag, fn_bucket, moto_endpoint, tmp_path, monkeypatch,
                                    caplog, capfd):
    """Credentials in the Airflow connection, the AWS env and a W&B API key; a successful and
    a failing fn_dataset run, failing storage calls; then grep every log line, XCom value, object version in
    the bucket, W&B file and error message for them."""
    from fnlib.storage import ObjectStore
    from fnlib.storage.client import make_s3_client
    from fnlib.tracking.wandb_run import scrub_secrets

    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({
        "conn_type": "aws", "login": AWS_KEY_ID, "password": AWS_SECRET,
        "extra": {"endpoint_url": moto_endpoint, "region_name": "us-east-1"}}))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("WANDB_API_KEY", WANDB_KEY)  # WANDB_MODE=offline keeps it offline
    wandb_root = Path(os.environ["WANDB_DIR"])
    runs_before = set(wandb_root.rglob("*"))
    caplog.set_level(logging.INFO)
    bad = tmp_path / "bad.csv"
    bad.write_text("id,text,label\na,=1+1,fake\n")
    runs = [run_dag("fn_dataset", run_conf=conf) for conf in (
        {"source": "synthetic", "n_docs": 220, "seed": 99},
        {"source": "csv", "path": str(bad)},
    )]
    assert [r.state for r in runs] == ["success", "failed"]

    errors = []
    store = ObjectStore(make_s3_client("http://127.0.0.1:9", "us-east-1", max_attempts=1,
                                       connect_timeout=1), fn_bucket.bucket)
    for attempt in (lambda: store.head("x/y"), lambda: store.ensure_bucket()):
        try:
            attempt()
        except Exception as exc:  # noqa: BLE001 - the message is what is checked
            errors.append(f"{type(exc).__name__}: {exc}")
    assert len(errors) == 2 and all("S3 endpoint" in e for e in errors), errors

    xcoms = [json.dumps(ti.xcom_pull(task_ids=ti.task_id), default=str)
             for run in runs for ti in run.get_task_instances() if ti.state == "success"]
    assert len(xcoms) == 4  # the good run's four tasks; the failed run pushed nothing
    objects = [fn_bucket.client.get_object(Bucket=fn_bucket.bucket, Key=k, VersionId=v)[
        "Body"].read().decode("utf-8", "replace") for k, v in _object_versions(fn_bucket)]
    wandb_files = [p for p in set(wandb_root.rglob("*")) - runs_before if p.is_file()]
    assert any(p.suffix == ".wandb" for p in wandb_files)
    captured = capfd.readouterr()
    haystacks = {
        "log records": "\n".join(r.getMessage() for r in caplog.records),
        "stdout/stderr": captured.out + captured.err,
        "XCom": "\n".join(xcoms),
        "bucket objects": "\n".join(objects),
        "W&B files": "\n".join(p.read_bytes().decode("utf-8", "replace") for p in wandb_files),
        "error messages": "\n".join(errors),
    }
    # dag.test() writes no task log files: the tasks' log lines go through logging, so they
    # are among the log records searched (the e2e run on the real scheduler has the files)
    empty = [where for where, text in haystacks.items() if not text.strip()]
    assert not empty, f"nothing to search in {empty}: the search would prove nothing there"
    # the tasks' own log lines are among what was searched: the good run's writes and the
    # failed task's error (with its rows)
    assert "wrote s3://" in haystacks["log records"]
    assert "formula_injection" in haystacks["log records"] + haystacks["stdout/stderr"]
    leaked = {where: _leaks(text) for where, text in haystacks.items() if _leaks(text)}
    assert not leaked, f"planted secrets found in {leaked}"
    assert scrub_secrets({"password": AWS_SECRET, "note": f"key {WANDB_KEY}"}) == {
        "password": "<redacted>", "note": "key <redacted>"}
