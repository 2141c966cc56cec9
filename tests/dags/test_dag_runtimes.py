"""Every DAG under each task runtime (FN_TASK_RUNTIME = local | docker | kubernetes).

Structure: operator types, image, command/entrypoint and the environment each container gets.
Behaviour: the nothing-to-do exit code under the docker runtime, with each task body executed
by the operator's own generated command in a separate process that sees only the container's
environment (the stand-in replaces the engine call alone). Everything else about the docker
runtime runs in real containers through a Docker-API engine in tests/containers/.
"""

from __future__ import annotations

import pickle
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "registry.example/fn-task:structure-test"
PLANTED = "planted-worker-secret-3f9c1e"
# tasks that stay on the worker in every runtime: control flow and XCom reshaping
ON_WORKER = {"feature_settings", "chunks", "evaluation_targets", "claim",
             "wait_for_request"}
DAG_IDS = {"fn_dataset", "fn_tune", "fn_train", "fn_score", "fn_monitor", "fn_retrain"}
PUBLIC_ENV = {"FN_TASK_CONTAINER", "FN_TASK_IMAGE", "FN_BUCKET", "FN_STACK_DIR", "WANDB_DIR",
              "WANDB_MODE"}

pytestmark = pytest.mark.dag


@pytest.fixture(autouse=True)
def _metadata_db(airflow_db):
    """DagBag parsing records DAGs in the (temporary) metadata DB."""


def _bag(monkeypatch, runtime: str):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("FN_TASK_RUNTIME", runtime)
    monkeypatch.setenv("FN_TASK_IMAGE", IMAGE)
    monkeypatch.setenv("FN_DOCKER_NETWORK", "fn-net")
    monkeypatch.setenv("FN_K8S_SECRET", "fn-credentials")
    monkeypatch.setenv("FN_PLANTED_TOKEN", PLANTED)
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert not bag.import_errors, bag.import_errors
    assert set(bag.dag_ids) == DAG_IDS
    return bag


def _operator_class(task):
    return getattr(task, "operator_class", None) or type(task)


def _kwarg(task, name):
    """An operator argument, on a plain task or a mapped one (kept in partial_kwargs)."""
    if hasattr(task, "partial_kwargs"):
        return task.partial_kwargs[name]
    return getattr(task, name)


def _data_tasks(bag):
    for dag_id in sorted(DAG_IDS):
        for task in bag.get_dag(dag_id).tasks:
            if task.task_id not in ON_WORKER:
                yield dag_id, task


@pytest.mark.parametrize("runtime,class_name", [("local", "FnLocalOperator"),
                                                ("docker", "FnDockerOperator"),
                                                ("kubernetes", "FnKubernetesOperator")])
def test_every_data_task_uses_the_runtime_operator(monkeypatch, fn_bucket, runtime, class_name):
    bag = _bag(monkeypatch, runtime)
    seen = {(dag_id, task.task_id): _operator_class(task).__name__
            for dag_id, task in _data_tasks(bag)}
    assert len(seen) == 18, sorted(seen)
    assert set(seen.values()) == {class_name}, seen
    for dag_id in DAG_IDS:  # the worker-side tasks do not change with the runtime
        for task in bag.get_dag(dag_id).tasks:
            if task.task_id in ON_WORKER:
                assert not _operator_class(task).__name__.startswith("Fn")


@pytest.mark.parametrize("runtime", ["local", "docker", "kubernetes"])
def test_every_dag_serializes_under_each_runtime(monkeypatch, fn_bucket, runtime):
    """What the dag-processor stores for the scheduler and the UI."""
    from airflow.serialization.serialized_objects import DagSerialization

    bag = _bag(monkeypatch, runtime)
    for dag_id in sorted(DAG_IDS):
        data = DagSerialization.to_dict(bag.get_dag(dag_id))
        restored = DagSerialization.from_dict(data)
        assert set(restored.task_ids) == set(bag.get_dag(dag_id).task_ids), dag_id
        assert PLANTED not in str(data) and "AWS_SECRET_ACCESS_KEY" not in str(data), dag_id


def test_docker_runtime_image_command_and_environment(monkeypatch, fn_bucket):
    bag = _bag(monkeypatch, "docker")
    for dag_id, task in _data_tasks(bag):
        where = f"{dag_id}.{task.task_id}"
        assert _kwarg(task, "image") == IMAGE, where
        # the image's entrypoint is the `fn` CLI; the decorator's command needs a plain exec
        assert _kwarg(task, "entrypoint") == ["/usr/bin/env"], where
        assert _kwarg(task, "network_mode") == "fn-net", where
        env = _kwarg(task, "environment")
        assert set(env) == PUBLIC_ENV, where
        assert env["FN_TASK_CONTAINER"] == "1" and env["FN_TASK_IMAGE"] == IMAGE
        assert env["FN_BUCKET"] == fn_bucket.bucket
        assert PLANTED not in repr(env) and "testing" not in repr(env), where
        mounts = _kwarg(task, "mounts")
        assert [m["Target"] for m in mounts] == ["/var/lib/fn"], where
    op = bag.get_dag("fn_train").get_task("train")
    command = op.generate_command()
    assert command.startswith("bash -cx") and "/tmp/script.py /tmp/script.in" in command


def test_docker_credentials_travel_privately_at_run_time(monkeypatch, fn_bucket):
    from types import SimpleNamespace

    bag = _bag(monkeypatch, "docker")
    op = bag.get_dag("fn_train").get_task("train")
    ti = SimpleNamespace(dag_id="fn_train", task_id="train", run_id="manual__1", map_index=-1,
                         try_number=2)
    op.fn_prepare({"ti": ti})
    # the container is labelled with the task try it runs
    assert op.labels == {"fn.dag_id": "fn_train", "fn.task_id": "train",
                         "fn.run_id": "manual__1", "fn.map_index": "-1", "fn.try_number": "2"}
    assert op.environment["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert op.environment["AWS_DEFAULT_REGION"] == "us-east-1"
    # credentials: only in the private environment (never rendered, never in the UI)
    assert "AWS_SECRET_ACCESS_KEY" not in op.environment
    assert op._private_environment["AWS_ACCESS_KEY_ID"] == "testing"
    assert op._private_environment["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert "AWS_SECRET_ACCESS_KEY" not in op.template_fields


def test_kubernetes_runtime_pod_spec(monkeypatch, fn_bucket):
    bag = _bag(monkeypatch, "kubernetes")
    for dag_id, task in _data_tasks(bag):
        where = f"{dag_id}.{task.task_id}"
        assert _kwarg(task, "image") == IMAGE, where
        assert _kwarg(task, "namespace") == "airflow", where
        names = {v.name for v in _kwarg(task, "env_vars")}
        assert names == PUBLIC_ENV, where
        assert PLANTED not in repr(_kwarg(task, "env_vars")), where
        [source] = _kwarg(task, "env_from")
        assert source.secret_ref.name == "fn-credentials", where
    op = bag.get_dag("fn_score").get_task("score")
    cmds = op._generate_cmds()
    assert cmds[:2] == ["bash", "-cx"] and "python /tmp/script.py" in cmds[2]
    op.fn_prepare({})  # endpoint and region only: credentials come from the Secret
    added = {v.name for v in op.env_vars} - PUBLIC_ENV
    assert added == {"AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"}


def test_worker_store_gets_the_retry_policy_unless_the_connection_sets_one(monkeypatch,
                                                                         fn_bucket):
    import json
    import os

    from fnlib.task_env import s3_store

    # botocore counts the first attempt too: max_attempts=N retries -> N + 1 attempts in all
    retries = s3_store().client.meta.config.retries
    assert retries["mode"] == "standard" and retries["total_max_attempts"] == 6
    conn = json.loads(os.environ["AIRFLOW_CONN_AWS_DEFAULT"])
    conn["extra"]["config_kwargs"] = {"retries": {"mode": "adaptive", "max_attempts": 3}}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(conn))
    retries = s3_store().client.meta.config.retries
    assert retries["mode"] == "adaptive" and retries["total_max_attempts"] == 4


@pytest.mark.parametrize("exit_code,outcome", [(65, "fail"), (1, "retry"), (99, "skip")])
def test_kubernetes_bad_input_exit_code_fails_without_retry(monkeypatch, fn_bucket, tmp_path,
                                                            exit_code, outcome):
    """A pod that exits with fnlib's bad-input code fails the task at once, one that exits
    with the nothing-to-do code is skipped; other failures stay retryable. (The cluster is
    unreachable here: clean-up calls are best-effort.)"""
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowSkipException,
    )
    from kubernetes.client import models as k8s

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: none\n"
        "clusters: [{name: none, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: none, user: {}}]\n"
        "contexts: [{name: none, context: {cluster: none, user: none}}]\n")
    op = _bag(monkeypatch, "kubernetes").get_dag("fn_score").get_task("score")
    op.in_cluster, op.config_file, op.on_finish_action = False, str(kubeconfig), "keep_pod"
    terminated = k8s.V1ContainerState(terminated=k8s.V1ContainerStateTerminated(
        exit_code=exit_code, reason="Error"))
    remote = k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name="fn-score-x", namespace="airflow"),
        status=k8s.V1PodStatus(phase="Failed", container_statuses=[k8s.V1ContainerStatus(
            name=op.base_container_name, state=terminated, image=IMAGE, image_id="",
            ready=False, restart_count=0)]))
    with pytest.raises(AirflowException) as raised:
        op.cleanup(remote, remote)
    assert isinstance(raised.value, AirflowFailException) is (outcome == "fail")
    assert isinstance(raised.value, AirflowSkipException) is (outcome == "skip")
    assert "fn-score-x" in str(raised.value)


def test_unknown_runtime_is_refused(monkeypatch):
    from fnlib import settings

    monkeypatch.setenv("FN_TASK_RUNTIME", "lambda")
    with pytest.raises(ValueError, match="FN_TASK_RUNTIME='lambda' is not one of"):
        settings.task_runtime()


@pytest.fixture
def engine(monkeypatch, tmp_path):
    """Stand-in for the Docker engine call: runs the operator's entrypoint + command in a new
    process whose environment is exactly the container's (the state volume mapped to a temp
    folder), and returns the pickled result the way DockerOperator retrieves it."""
    from airflow.providers.docker.exceptions import (
        DockerContainerFailedException,
        DockerContainerFailedSkipException,
    )
    from airflow.providers.docker.operators.docker import DockerOperator

    seen: list[dict] = []
    state = tmp_path / "state"
    state.mkdir()
    # the task image has no Airflow: make `import airflow` fail in the stand-in's processes too
    no_airflow = tmp_path / "image-site" / "airflow"
    no_airflow.mkdir(parents=True)
    (no_airflow / "__init__.py").write_text(
        'raise ModuleNotFoundError("airflow is not installed in the task image")\n')

    def run_container(self, context):
        env = {k: v.decode() if isinstance(v, bytes) else str(v)
               for k, v in {**self.environment, **self._private_environment}.items()}
        seen.append({"task_id": self.task_id, "env": dict(env)})
        env = {k: str(state) if v == "/var/lib/fn" else v for k, v in env.items()}
        env["PATH"] = f"{Path(sys.executable).parent}:/usr/bin:/bin"
        env["PYTHONPATH"] = str(no_airflow.parent)
        done = subprocess.run([*self.entrypoint, *shlex.split(self.command)], env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)
        seen[-1]["stderr"] = done.stderr
        if done.returncode in self.skip_on_exit_code:  # as DockerOperator does
            raise DockerContainerFailedSkipException(
                f"Docker container returned exit code {done.returncode}. Skipping.",
                logs=done.stderr.splitlines())
        if done.returncode:
            raise DockerContainerFailedException(
                f"Docker container failed: {{'StatusCode': {done.returncode}}}\n"
                + done.stderr[-3000:],
                logs=done.stderr.splitlines())
        with open(self.retrieve_output_path, "rb") as out:
            return pickle.load(out)

    monkeypatch.setattr(DockerOperator, "execute", run_container)
    return seen


def test_nothing_to_do_in_a_container_ends_skipped(monkeypatch, clean_bucket, airflow_db,
                                                   engine):
    """fn_score with no champion: the container exits with the nothing-to-do code, which the
    docker runtime maps to a skipped task, its reason in the container log."""
    dag = _bag(monkeypatch, "docker").get_dag("fn_score")
    assert dag.get_task("score").skip_on_exit_code == [99]
    dagrun = dag.test()
    assert dagrun.get_task_instance("score").state == "skipped"
    assert [s["task_id"] for s in engine] == ["score"]
    assert "nothing to do: no champion model yet" in engine[0]["stderr"]
