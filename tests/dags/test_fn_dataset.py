"""fn_dataset run with dag.test() against a real S3 endpoint and W&B offline."""

from __future__ import annotations

import io

import pandas as pd
import pytest
import wandb_records as records

from fnlib.storage.lineage import walk_lineage
from fnlib.storage.manifest import find_manifest
from fnlib.storage.objects import ObjectRef

pytestmark = pytest.mark.dag


def _xcom(dagrun, task_id):
    ti = dagrun.get_task_instance(task_id)
    assert ti.state == "success", f"{task_id} ended {ti.state}"
    return ti.xcom_pull(task_ids=task_id)


@pytest.fixture(scope="module")
def dataset_run(dagbag, fn_bucket):
    dag = dagbag.get_dag("fn_dataset")
    dagrun = dag.test(run_conf={"source": "synthetic", "n_docs": 400, "seed": 7})
    assert dagrun.state == "success"
    return dagrun


def test_objects_and_manifest(dataset_run, fn_bucket):
    store = fn_bucket
    result = _xcom(dataset_run, "commit")
    manifest, ref = find_manifest(store, "dataset", result["dataset_id"])
    assert result["manifest_uri"] == ref.versioned_uri
    assert set(manifest.objects) == {"train", "test", "report"}
    frames = {}
    for name in ("train", "test"):
        obj = manifest.objects[name]
        assert obj.version_id and obj.sha256 and obj.size > 0
        frames[name] = pd.read_csv(io.BytesIO(store.get_bytes(obj)), keep_default_na=False)
        assert list(frames[name].columns) == ["id", "text", "label"]
    assert not set(frames["train"]["text"]) & set(frames["test"]["text"])
    prov = manifest.provenance
    assert prov["airflow"]["dag_id"] == "fn_dataset" and prov["airflow"]["task_id"] == "commit"
    assert prov["wandb_run"]
    assert manifest.params["source"] == "synthetic" and manifest.params["seed"] == 7
    nodes = walk_lineage(store, ref.versioned_uri)
    assert [n.manifest.kind for n in nodes] == ["dataset", "raw"]
    assert nodes[1].manifest.params["synthetic"] is True


def test_wandb_offline_run_recorded_s3_references(dataset_run, fn_bucket):
    tracked = _xcom(dataset_run, "track")
    prepared = _xcom(dataset_run, "prepare")
    run_file = records.find_run_file(tracked["wandb_dir"])
    artifacts = records.logged_artifacts(run_file)
    assert len(artifacts) == 1
    art = artifacts[0]
    assert art["type"] == "dataset"
    refs = {e["ref"]: e for e in art["entries"]}
    for obj in prepared["objects"].values():
        ref = ObjectRef.from_dict(obj)
        entry = refs.get(ref.versioned_uri) or refs.get(ref.uri)
        assert entry is not None, f"{ref.versioned_uri} not in {sorted(refs)}"
        assert entry["extra"].get("versionID") == ref.version_id
        assert entry["extra"].get("etag")
    assert art["metadata"]["dataset_id"] == prepared["dataset_id"]


def test_rerun_is_idempotent(dataset_run, dagbag, fn_bucket):
    store = fn_bucket
    first = _xcom(dataset_run, "commit")
    before = {k: len(store.list_versions(k)) for k in store.list_keys("")}
    again = dagbag.get_dag("fn_dataset").test(
        run_conf={"source": "synthetic", "n_docs": 400, "seed": 7}
    )
    assert again.state == "success"
    second = _xcom(again, "commit")
    assert second["dataset_id"] == first["dataset_id"]
    assert second["manifest_uri"] == first["manifest_uri"]
    after = {k: len(store.list_versions(k)) for k in store.list_keys("")}
    assert after == before


def test_bad_input_uploads_nothing(dagbag, fn_bucket, tmp_path):
    store = fn_bucket
    (tmp_path / "bad.csv").write_text("text,label\nhello world,fake\n   ,real\nsome text,maybe\n")
    before = set(store.list_keys(""))
    dagrun = dagbag.get_dag("fn_dataset").test(
        run_conf={"source": "csv", "path": str(tmp_path / "bad.csv")}
    )
    assert dagrun.state == "failed"
    assert dagrun.get_task_instance("ingest").state == "failed"
    assert set(store.list_keys("")) == before


def test_predefined_split_from_the_form(dagbag, fn_bucket, tmp_path):
    store = fn_bucket
    rows = ["id,text,label,part"]
    for split, n in (("train", 24), ("dev", 4), ("test", 8)):
        words = ("council budget vote report", "shocking hoax secret elites")
        rows += [f"{split}{i},{words[i % 2]} {split} {i},{i % 2},{split}" for i in range(n)]
    (tmp_path / "news.csv").write_text("\n".join(rows) + "\n")
    dagrun = dagbag.get_dag("fn_dataset").test(run_conf={
        "source": "csv", "path": str(tmp_path / "news.csv"), "split": "predefined",
        "near_dedupe": False, "options": {"id_column": "id", "split_column": "part"}})
    assert dagrun.state == "success"
    manifest, _ = find_manifest(store, "dataset", _xcom(dagrun, "commit")["dataset_id"])
    assert manifest.params["split"] == "predefined" and manifest.params["near_dedupe"] is False
    test = pd.read_csv(io.BytesIO(store.get_bytes(manifest.objects["test"])))
    assert sorted(test["id"]) == sorted(f"csv:test{i}" for i in range(8))
