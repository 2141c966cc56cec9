"""The images themselves: the Airflow image parses the six DAGs with no import errors, stand-in
bases say what they stand in for, and an image is rebuilt only when what it is built from
changes (the ``fn.inputs`` hash)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.containers

DAG_IDS = {"fn_dataset", "fn_tune", "fn_train", "fn_score", "fn_monitor", "fn_retrain"}


def test_airflow_image_lists_the_six_dags_without_import_errors(engine, airflow_image):
    # --local parses the DAG folder in the container (no scheduler or dag-processor needed)
    script = ("airflow db migrate >/dev/null 2>&1 && "
              "airflow dags list --local -o json 2>/dev/null && "
              "echo '--- import errors' && "
              "airflow dags list-import-errors --local -o json 2>/dev/null")
    done = engine.run("run", "--rm", "--network", "none", "--entrypoint", "bash",
                      airflow_image, "-c", script, timeout=600)
    listed, errors = done.stdout.decode().split("--- import errors")
    dags = json.loads(listed.strip().splitlines()[-1])
    assert {d["dag_id"] for d in dags} == DAG_IDS
    assert all(d["fileloc"].startswith("/opt/airflow/dags/") for d in dags)
    assert json.loads(errors.strip().splitlines()[-1] if errors.strip() else "[]") == []


def test_stand_in_bases_say_what_they_stand_in_for(engine, task_image, airflow_image, images):
    for image, arg in ((task_image, "task"), (airflow_image, "airflow")):
        _, real = images.specs()[arg].base()
        labels = engine.image(image)["labels"]
        if labels.get("fn.standin") != "true":
            continue  # built on the real base
        assert labels["fn.standin.for"] == real
        assert "STAND-IN" in labels["org.opencontainers.image.description"]
    python = engine.image(images.STANDIN_PYTHON)
    if python:
        version = python["labels"]["fn.python.version"]
        assert version.startswith("3.11.")  # same minor version as the real base
        assert f"Python {version}" in python["labels"]["org.opencontainers.image.description"]


def test_an_image_is_rebuilt_only_when_its_inputs_change(engine, task_image, images, capfd,
                                                          monkeypatch, tmp_path):
    before = engine.image(task_image)["id"]
    images.build(engine, ("task",))  # same inputs: nothing is built
    assert engine.image(task_image)["id"] == before
    assert "is up to date" in capfd.readouterr().err
    # the hash covers the content of the copied files, and nothing the build does not copy
    (tmp_path / "fnlib").mkdir()
    (tmp_path / "fnlib" / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(images, "ROOT", tmp_path)
    digest = images.inputs_hash(["dockerfile"], ("fnlib",))
    (tmp_path / "fnlib" / "__pycache__").mkdir()
    (tmp_path / "fnlib" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    assert images.inputs_hash(["dockerfile"], ("fnlib",)) == digest
    (tmp_path / "fnlib" / "a.py").write_text("x = 2\n")
    assert images.inputs_hash(["dockerfile"], ("fnlib",)) != digest
