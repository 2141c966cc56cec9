"""docker-compose.yaml and the cluster mode (fnlib/local/cluster.py) share one set of Airflow
settings, docker/airflow.env: neither can drift from it, and neither sets its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fnlib.local.cluster import COMPONENTS, WORKERS, Cluster, settings_file, shared_settings

ROOT = Path(__file__).resolve().parents[2]
# what the cluster sets because of where it runs (this machine's paths and ports)
LOCATION = {"AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__CORE__PLUGINS_FOLDER", "AIRFLOW__API__HOST",
            "AIRFLOW__API__PORT", "AIRFLOW__API__BASE_URL"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def airflow_services(compose: dict) -> dict[str, dict]:
    return {name: svc for name, svc in compose["services"].items()
            if str(svc.get("image", "")).startswith("${FN_AIRFLOW_IMAGE")}


@pytest.fixture
def cluster_env(tmp_path, monkeypatch) -> dict[str, str]:
    monkeypatch.setenv("FN_STACK_DIR", str(tmp_path))
    c = Cluster(tmp_path)
    c._save(api_port=18080, s3_port=19000, pg_port=15432, redis_port=16379, jwt_secret="x")
    return c.env()


def test_the_settings_file_is_plain_key_value():
    settings = shared_settings()
    assert settings["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    for key, value in settings.items():
        assert key.isupper() and " " not in key, key
        assert "$" not in value and not value.startswith(("'", '"')), (key, value)


def test_every_airflow_service_of_compose_reads_the_settings_file(compose):
    services = airflow_services(compose)
    assert services
    for name, svc in services.items():
        assert svc.get("env_file") == str(settings_file().relative_to(ROOT)), name


def test_compose_does_not_override_a_shared_setting(compose):
    # compose's `environment:` wins over `env_file:`; a key in both would silently drift
    shared = set(shared_settings())
    for name, svc in airflow_services(compose).items():
        overlap = shared & set(svc.get("environment") or {})
        assert not overlap, f"{name} sets {sorted(overlap)} itself; change docker/airflow.env"


def test_the_cluster_uses_the_shared_settings_and_nothing_else(compose, cluster_env):
    for key, value in shared_settings().items():
        assert cluster_env.get(key) == value, key
    compose_env = set(airflow_services(compose)["scheduler"]["environment"])
    own = {k for k in cluster_env if k.startswith("AIRFLOW__")} - set(shared_settings())
    assert own - compose_env <= LOCATION, \
        f"cluster-only Airflow settings {sorted(own - compose_env - LOCATION)}: put them in " \
        f"docker/airflow.env"
    # and it sets every deployment-specific Airflow setting compose sets, for its own places
    assert {k for k in compose_env if k.startswith("AIRFLOW")} <= set(cluster_env)


def test_the_cluster_runs_the_components_compose_runs(compose):
    services = airflow_services(compose)
    commands = {name: svc.get("command") for name, svc in services.items()}
    long_running = {name for name, cmd in commands.items() if cmd != ["db", "migrate"]}
    assert long_running == set(COMPONENTS)
    assert {name for name, cmd in commands.items() if cmd == ["celery", "worker"]} == set(WORKERS)
    assert {services[w]["hostname"] for w in WORKERS} == set(WORKERS)


def test_a_local_override_applies_to_the_cluster_only(tmp_path, monkeypatch):
    monkeypatch.setenv("FN_STACK_DIR", str(tmp_path))
    c = Cluster(tmp_path)
    c._save(api_port=18080, s3_port=19000, pg_port=15432, redis_port=16379, jwt_secret="x")
    c.set_overrides({"AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "15"})
    assert c.env()["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"] == "15"
    assert shared_settings()["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"] == "60"


def test_a_stack_folder_remembers_its_executor(tmp_path, monkeypatch):
    from fnlib.local.cluster import open_stack
    from fnlib.local.stack import Stack, StackError

    monkeypatch.setenv("FN_STACK_DIR", str(tmp_path))
    assert type(open_stack(None)) is Stack  # a fresh folder: the default mode
    assert isinstance(open_stack("celery"), Cluster)
    assert isinstance(open_stack(None), Cluster)  # remembered
    assert type(open_stack("local")) is Stack  # nothing runs: switching is allowed
    # a process that looks like the stack's S3 server (its command line names moto)
    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "moto"])
    try:
        Stack(tmp_path)._save(executor="celery", s3_pid=server.pid)
        with pytest.raises(StackError, match="stop it first"):
            open_stack("local")  # a running stack of the other executor is not switched
    finally:
        server.kill()
        server.wait()
