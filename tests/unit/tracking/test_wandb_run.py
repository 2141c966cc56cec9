"""W&B tracking against the real SDK (offline runs) and a real S3 endpoint (moto's server)."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from wandb_records import (
    find_run_file,
    history,
    iter_records,
    logged_artifacts,
    run_config,
    run_summary,
)

from fnlib.errors import InputError
from fnlib.storage import ObjectRef
from fnlib.tracking import (
    TrackingError,
    TrackingSettings,
    scrub_secrets,
    shutdown,
    tracked_run,
    wandb_mode,
)

pytest.importorskip("wandb")
boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

BUCKET = "fn-tracking-test"
MAIN = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, s3_endpoint: str) -> None:
    for name in ("WANDB_API_KEY", "WANDB_ENTITY", "WANDB_PROJECT", "AWS_S3_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb-dir"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_X_DISABLE_STATS", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def s3() -> Any:
    client = boto3.client("s3")  # endpoint from AWS_ENDPOINT_URL
    if BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return client


def put(s3: Any, key: str, data: bytes) -> ObjectRef:
    response = s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    return ObjectRef(
        BUCKET,
        key,
        response["VersionId"],
        hashlib.sha256(data).hexdigest(),
        len(data),
        response["ETag"].strip('"'),
    )


@pytest.mark.parametrize(
    ("env_vars", "expected"),
    [
        ({}, "offline"),
        ({"WANDB_API_KEY": "k" * 40}, "online"),
        ({"WANDB_API_KEY": "k" * 40, "WANDB_MODE": "offline"}, "offline"),
        ({"WANDB_API_KEY": "k" * 40, "WANDB_MODE": "disabled"}, "disabled"),
        ({"WANDB_MODE": "online"}, "online"),
        ({"WANDB_MODE": "dryrun"}, "offline"),
        ({"WANDB_DISABLED": "true"}, "disabled"),
    ],
)
def test_mode_switch(env_vars: dict[str, str], expected: str) -> None:
    assert wandb_mode(env_vars) == expected


def test_mode_from_process_env_and_bad_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_MODE")
    assert wandb_mode() == "offline"
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    assert wandb_mode() == "online"
    with pytest.raises(InputError, match="WANDB_MODE"):
        wandb_mode({"WANDB_MODE": "sometimes"})


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_DIR")
    settings = TrackingSettings.from_env(default_dir=".stack/wandb")
    assert (settings.project, settings.entity, settings.mode) == ("fake-news", None, "offline")
    assert settings.dir == Path(".stack/wandb")
    monkeypatch.setenv("WANDB_PROJECT", "p")
    monkeypatch.setenv("WANDB_ENTITY", "team")
    monkeypatch.setenv("WANDB_DIR", "/x")
    assert TrackingSettings() == TrackingSettings("p", "team", Path("/x"), "offline")


def test_dataset_artifact_of_s3_references(s3: Any, tmp_path: Path) -> None:
    train = put(s3, "datasets/ds-1/train.jsonl", b'{"id": 1, "text": "a", "label": 0}\n')
    old = put(s3, "datasets/ds-1/test.jsonl", b'{"id": 2, "text": "b", "label": 1}\n')
    put(s3, "datasets/ds-1/test.jsonl", b"a newer version that must not be referenced\n")

    with tracked_run("dataset", "build-ds-1", group="g1", tags=["t1"]) as run:
        ref = run.log_dataset_artifact(
            "fn-dataset",
            [train, old.versioned_uri],
            {"dataset_id": "ds-1", "rows": 2},
            aliases=["ds-1", "latest"],
        )
    assert ref == "fake-news/fn-dataset:ds-1"
    assert run.offline_dir is not None and run.path == str(run.offline_dir)
    assert run.offline_dir.name.startswith("offline-run-")
    assert run.offline_dir.parent == tmp_path / "wandb-dir" / "wandb"

    [art] = logged_artifacts(run.offline_dir)
    assert (art["name"], art["type"]) == ("fn-dataset", "dataset")
    assert sorted(art["aliases"]) == ["ds-1", "latest"]  # wandb-core does not keep the order
    assert art["metadata"]["dataset_id"] == "ds-1" and art["metadata"]["rows"] == 2
    assert art["metadata"]["objects"]["train.jsonl"] == {
        "uri": train.versioned_uri,
        "sha256": train.sha256,
        "size": train.size,
    }
    entries = {e["path"]: e for e in art["entries"]}
    assert set(entries) == {"train.jsonl", "test.jsonl"}
    for obj, entry in ((train, entries["train.jsonl"]), (old, entries["test.jsonl"])):
        assert entry["ref"] == obj.uri
        assert entry["digest"] == obj.etag
        assert entry["size"] == obj.size
        assert entry["extra"] == {"etag": obj.etag, "versionID": obj.version_id}


def test_bad_references_fail_early(s3: Any) -> None:
    train = put(s3, "datasets/ds-2/train.jsonl", b"x\n")
    with tracked_run("dataset", "bad-refs") as run:
        with pytest.raises(TrackingError, match="not one object"):
            run.log_reference_artifact("ds", "dataset", [f"s3://{BUCKET}/datasets/nope.jsonl"])
        with pytest.raises(InputError, match="not an s3 object URI"):
            run.log_dataset_artifact("ds", ["https://example.com/a"])
        with pytest.raises(InputError, match="unique"):
            run.log_dataset_artifact("ds", [train, train])
        with pytest.raises(InputError, match="artifact name"):
            run.log_dataset_artifact("bad name!", [train])


def test_config_summary_history_round_trip() -> None:
    config = {"model": "linear_svm", "params": {"C": 0.5, "ngram_range": [1, 2]}, "seed": 13}
    with tracked_run("tune", "cfg-1", config=config) as run:
        for step in range(3):
            run.log({"cv/f1": 0.5 + step / 10, "fold": step})
        run.update_config({"dataset_id": "ds-1"})
        run.summary({"best_f1": 0.7, "model_uri": "s3://b/k?versionId=1"})
    assert run_config(run.run_file) == {**config, "dataset_id": "ds-1"}
    summary = run_summary(run.run_file)
    assert summary["best_f1"] == 0.7 and summary["model_uri"] == "s3://b/k?versionId=1"
    assert summary["fold"] == 2
    rows = history(run.run_file)
    assert [(r["_step"], r["fold"], r["cv/f1"]) for r in rows] == [
        (0, 0, 0.5),
        (1, 1, 0.6),
        (2, 2, 0.7),
    ]


def test_tables_images_and_alerts(caplog: pytest.LogCaptureFixture) -> None:
    from fnlib.models.plots import confusion_png

    png = confusion_png([[3, 1], [0, 4]])
    with caplog.at_level(logging.WARNING, logger="fnlib.tracking.wandb_run"), \
            tracked_run("train", "verbs") as run:
        run.log_table("rows", [["real", 3, 1], ["fake", 0, 4]], columns=["actual", "r", "f"])
        run.log_table("frame", pd.DataFrame({"a": ["x", "y"], "b": ["1", "2"]}))
        run.log_image("confusion", png)
        run.alert("below floor", "F1 0.4 < 0.6")
        with pytest.raises(InputError, match="alert level"):
            run.alert("t", "x", level="LOUD")
    logged = {k: v for row in history(run.run_file) for k, v in row.items()}
    assert logged["rows"]["_type"] == "table-file" and logged["rows"]["nrows"] == 2
    assert logged["frame"]["_type"] == "table-file" and logged["frame"]["ncols"] == 2
    assert logged["confusion"]["_type"] == "image-file" and logged["confusion"]["format"] == "png"
    # offline: no W&B alert, but the warning is in the log
    assert "below floor: F1 0.4 < 0.6" in caplog.messages


def test_use_artifact_offline_records_inputs() -> None:
    with tracked_run("train", "uses") as run:
        assert run.use_artifact("fake-news/fn-dataset:ds-1", type="dataset") is None
        run.use_artifact("s3://bucket/manifests/ds-1.json?versionId=v1")
        run.use_artifact("fake-news/fn-dataset:ds-1")
    assert run_config(run.run_file)["inputs"] == [
        "fake-news/fn-dataset:ds-1",
        "s3://bucket/manifests/ds-1.json?versionId=v1",
    ]


def test_failure_finishes_with_exit_code_1() -> None:
    with pytest.raises(RuntimeError, match="boom"), tracked_run("train", "fails") as run:
        raise RuntimeError("boom")
    kinds = [r.WhichOneof("record_type") for r in iter_records(run.run_file)]
    exits = [r.exit for r in iter_records(run.run_file) if r.HasField("exit")]
    assert [e.exit_code for e in exits] == [1], (kinds, run.run_file.stat().st_size)


def test_api_key_from_env_is_never_written(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "planted-secret-123"
    monkeypatch.setenv("WANDB_API_KEY", secret)  # WANDB_MODE=offline wins
    config = {"lr": 0.1, "wandb_api_key": secret, "cmd": f"fn train --key {secret}"}
    with tracked_run("train", "secret", config=config) as run:
        assert run.mode == "offline"
        run.log({"loss": 1.0})
    assert secret.encode() not in run.run_file.read_bytes()
    for path in run.offline_dir.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    logged = run_config(run.run_file)
    assert logged == {"lr": 0.1, "wandb_api_key": "<redacted>", "cmd": "fn train --key <redacted>"}
    assert secret not in repr(logged)


def test_scrub_keeps_nlp_params() -> None:
    params = {"token_pattern": r"(?u)\b\w+\b", "tokenizer": "word", "db_password": "p"}
    assert scrub_secrets(params) == {**params, "db_password": "<redacted>"}


def test_disabled_mode_logs_nothing(s3: Any, tmp_path: Path) -> None:
    settings = TrackingSettings(project="p", dir=tmp_path / "off", mode="disabled")
    with tracked_run("train", "disabled", settings=settings) as run:
        run.log({"a": 1})
        assert run.log_dataset_artifact("ds", [put(s3, "d/x.txt", b"x")]) == "p/ds:latest"
        assert run.offline_dir is None and run.run_file is None
    assert not list((tmp_path / "off").rglob("*.wandb"))


def test_several_runs_and_timing(record_property: Any) -> None:
    durations = []
    for i in range(2):
        started = time.perf_counter()
        with tracked_run("tune", f"timing-{i}", group="grid") as run:
            run.log({"i": i})
        durations.append(time.perf_counter() - started)
    record_property("offline_init_to_finish_s", durations)
    assert find_run_file(run.offline_dir) == run.run_file
    assert max(durations) < 15


def _wandb_core_children(pid: int) -> list[str]:
    out = subprocess.run(["ps", "-eo", "ppid=,args="], capture_output=True, text=True, check=True)
    return [
        line
        for line in out.stdout.splitlines()
        if line.split(None, 1)[0] == str(pid) and "wandb-core" in line
    ]


def test_no_service_process_left_behind(tmp_path: Path) -> None:
    with tracked_run("test", "lingering"):
        pass
    assert _wandb_core_children(os.getpid())
    shutdown()
    assert not _wandb_core_children(os.getpid())

    script = (
        "from fnlib.tracking import tracked_run\n"
        "import os\n"
        "with tracked_run('test', 'child') as run:\n"
        "    run.log({'a': 1})\n"
        "print(os.getpid())\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", script],
        cwd=MAIN,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "Traceback" not in child.stderr, child.stderr
    pid = child.stdout.strip().splitlines()[-1]
    out = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True, check=True)
    assert not [a for a in out.stdout.splitlines() if "wandb-core" in a and f"--pid {pid}" in a]
