"""``@fn_task``: one decorator for every task body that touches data, three places to run it.

The deployment setting ``FN_TASK_RUNTIME`` chooses, for every DAG at once:

- ``local`` (default): in the worker's process, like ``@task``;
- ``docker``: in the task image, like ``@task.docker`` (the docker provider's operator);
- ``kubernetes``: as a pod, like ``@task.kubernetes`` (needs the cncf.kubernetes provider).

DAG files do not change with the runtime, so task bodies follow three rules: they import what
they use *inside* the function (in a container the body's source runs on its own), they take
only plain arguments (XCom values, plus ``run``: the Airflow facts they need, injected at run
time by :func:`run_info`; no Airflow context object), and they reach storage through
:mod:`fnlib.task_env`.

What the decorator adds around the body, in every runtime:

- ``run``: params, task identity, data interval and the extras of triggering Asset events;
- ``label="<arg>"``: names each mapped task instance after that argument's ``label`` key;
- exit codes: bad input (``fnlib.task_env.EXIT_BAD_INPUT``) fails at once, without retry;
  nothing to do yet (``EXIT_NOTHING_TO_DO``) ends the task as skipped;
- ``publish=(keys...)``: sets those keys of the result as the extra of the task's outlet
  Asset event (an event cannot be emitted from inside a container);
- docker containers are labelled with the task try they run (``fn.dag_id``, ``fn.task_id``,
  ``fn.run_id``, ``fn.map_index``, ``fn.try_number``);
- containers get exactly what they need: the bucket, the AWS endpoint/region (and, for
  ``docker``, the connection's credentials as private environment, resolved when the task
  runs, never rendered or logged), W&B settings and the image tag; nothing else from the
  worker's environment. Kubernetes pods take credentials from a Secret (``FN_K8S_SECRET``)
  or their service account, never through Airflow.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from fnlib import settings

log = logging.getLogger(__name__)

RUN_ARG = "run"
STATE_DIR = "/var/lib/fn"  # task image: feature cache and offline W&B runs (a volume)
# W&B settings a container may need; the API key travels separately (private)
WANDB_PUBLIC = ("WANDB_MODE", "WANDB_PROJECT", "WANDB_ENTITY", "WANDB_BASE_URL")
WANDB_SECRET = ("WANDB_API_KEY",)


def run_info(context: Any) -> dict[str, Any]:
    """The Airflow facts a task body may use, as plain JSON-friendly values (the shape of
    ``fnlib.stages.common.Run``): stage requests are built from it (``X.for_run(run)``) and
    ``run["run_ids"]`` is what stages record as the task's identity."""
    ti = context["ti"]
    triggered: dict[str, Any] = {}
    events = context.get("triggering_asset_events")
    for _asset, asset_events in (dict(events).items() if events else []):
        for event in asset_events:
            triggered.update(getattr(event, "extra", None) or {})
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    logical = context.get("logical_date")
    return {
        "params": dict(context["params"]),
        "run_ids": {
            "dag_id": ti.dag_id,
            "run_id": ti.run_id,
            "task_id": ti.task_id,
            "try_number": ti.try_number,
            "map_index": getattr(ti, "map_index", -1),
            "logical_date": str(logical) if logical else None,
        },
        "interval": {"start": start.isoformat() if start else None,
                     "end": end.isoformat() if end else None},
        "triggered_by": triggered,
    }


def container_env() -> dict[str, str]:
    """The non-secret environment every task container gets (known when the DAG is parsed)."""
    env = {
        "FN_TASK_CONTAINER": "1",
        "FN_TASK_IMAGE": settings.task_image(),
        "FN_BUCKET": settings.bucket(),
        "FN_STACK_DIR": STATE_DIR,
        "WANDB_DIR": STATE_DIR,
    }
    env.update({k: os.environ[k] for k in WANDB_PUBLIC if os.environ.get(k)})
    return env


def connection_env(credentials: bool = True) -> tuple[dict[str, str], dict[str, str]]:
    """``(public, secret)`` environment from the Airflow AWS connection and the worker's W&B
    key, resolved when the task runs (never at parse time, never rendered in the UI).
    ``credentials=False``: endpoint and region only, nothing secret is read."""
    from fnlib.task_env import AWS_PUBLIC, AWS_SECRET, aws_settings_from_connection

    aws = aws_settings_from_connection(credentials)
    if not credentials:
        return {k: aws[k] for k in AWS_PUBLIC if k in aws}, {}
    public = {k: aws[k] for k in AWS_PUBLIC if k in aws}
    secret = {k: aws[k] for k in AWS_SECRET if k in aws}
    secret.update({k: os.environ[k] for k in WANDB_SECRET if os.environ.get(k)})
    return public, secret


def _plain(value: Any) -> Any:
    from airflow.sdk.execution_time.lazy_sequence import LazyXComSequence

    return list(value) if isinstance(value, LazyXComSequence) else value


def container_labels(context: Any) -> dict[str, str]:
    """Labels naming the task try a container runs (``docker ps --filter label=fn.task_id=...``),
    like the labels the Kubernetes operator puts on its pods."""
    ti = context["ti"]
    return {"fn.dag_id": ti.dag_id, "fn.task_id": ti.task_id, "fn.run_id": ti.run_id,
            "fn.map_index": str(getattr(ti, "map_index", -1)),
            "fn.try_number": str(ti.try_number)}


class FnTaskMixin:
    """Shared by the three runtime operators: inject ``run``, label, publish, fail fast."""

    custom_operator_name = "@fn_task"

    def _fn_init(self, *, fn_label: str | None = None, fn_publish: tuple[str, ...] = (),
                 **kwargs: Any) -> None:
        # each operator class sets ``__init__ = FnTaskMixin._fn_init``: Airflow applies
        # default_args only to an __init__ the class itself defines
        super().__init__(**kwargs)
        self.fn_label = fn_label
        self.fn_publish = tuple(fn_publish)

    def execute(self, context: Any) -> Any:
        # the outputs of a mapped task arrive as a lazy XCom sequence, which cannot be pickled
        # into a container: every runtime hands the body a plain list
        self.op_args = [_plain(v) for v in self.op_args]
        self.op_kwargs = {k: _plain(v) for k, v in self.op_kwargs.items()}
        if RUN_ARG in inspect.signature(self.python_callable).parameters:
            self.op_kwargs = {**self.op_kwargs, RUN_ARG: run_info(context)}
        if self.fn_label:
            context["fn_label"] = str(self.op_kwargs[self.fn_label].get("label", ""))
        self.fn_prepare(context)
        started = time.time()
        result = self.fn_run(context)
        # epoch seconds, so the time Airflow spends around a body can be measured from logs
        ended = time.time()
        log.info("fn task body ran from %.3f to %.3f (%.2fs)", started, ended, ended - started)
        if self.fn_publish:
            outlet = self.outlets[0]
            context["outlet_events"][outlet].extra = {k: result[k] for k in self.fn_publish}
        return result

    def fn_prepare(self, context: Any) -> None:
        """Runtime-specific set-up just before the body runs."""

    def fn_run(self, context: Any) -> Any:
        return super().execute(context)


@functools.cache
def _local_operator() -> type:
    from airflow.providers.standard.decorators.python import _PythonDecoratedOperator

    class FnLocalOperator(FnTaskMixin, _PythonDecoratedOperator):
        """Runs the body in the worker's process."""

        __init__ = FnTaskMixin._fn_init

    return FnLocalOperator


@functools.cache
def _docker_operator() -> type:
    from airflow.providers.docker.decorators.docker import _DockerDecoratedOperator
    from airflow.providers.docker.exceptions import DockerContainerFailedException
    from airflow.sdk.exceptions import AirflowFailException

    from fnlib.task_env import EXIT_BAD_INPUT

    class FnDockerOperator(FnTaskMixin, _DockerDecoratedOperator):
        """Runs the body in the task image on the worker's Docker engine."""

        __init__ = FnTaskMixin._fn_init

        def fn_prepare(self, context: Any) -> None:
            public, secret = connection_env()
            self.environment = {**self.environment, **public}
            self._private_environment = {**self._private_environment, **secret}
            self.labels = {**dict(self.labels or {}), **container_labels(context)}

        def fn_run(self, context: Any) -> Any:
            try:
                return super().fn_run(context)
            except DockerContainerFailedException as exc:
                if f"'StatusCode': {EXIT_BAD_INPUT}" in str(exc):
                    raise AirflowFailException(
                        f"bad input (not retried); see the container log above: {exc}") from exc
                raise

    return FnDockerOperator


@functools.cache
def _kubernetes_operator() -> type:
    from airflow.providers.cncf.kubernetes.decorators.kubernetes import (
        _KubernetesDecoratedOperator,
    )
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowSkipException,
    )
    from kubernetes.client import models as k8s

    from fnlib.task_env import EXIT_BAD_INPUT, EXIT_NOTHING_TO_DO

    class FnKubernetesOperator(FnTaskMixin, _KubernetesDecoratedOperator):
        """Runs the body as a pod of the task image."""

        __init__ = FnTaskMixin._fn_init

        def fn_prepare(self, context: Any) -> None:
            public, _ = connection_env(credentials=False)  # keys: the pod's Secret / IRSA
            self.env_vars = [*self.env_vars,
                             *(k8s.V1EnvVar(name=k, value=v) for k, v in public.items())]

        def cleanup(self, pod: Any, remote_pod: Any, *args: Any, **kwargs: Any) -> None:
            try:
                super().cleanup(pod, remote_pod, *args, **kwargs)
            except AirflowException as exc:
                # decided by the pod's exit code even when a clean-up call failed
                code = _exit_code(remote_pod, self.base_container_name)
                if code == EXIT_BAD_INPUT:
                    raise AirflowFailException(
                        f"bad input (not retried); see the pod log above: {exc}") from exc
                if code == EXIT_NOTHING_TO_DO and not isinstance(exc, AirflowSkipException):
                    raise AirflowSkipException(
                        f"nothing to do; see the pod log above (pod clean-up: {exc})") from exc
                raise

    return FnKubernetesOperator


def _exit_code(remote_pod: Any, container: str) -> int | None:
    """Exit code of a pod's ``container`` once it terminated, else None."""
    statuses = (remote_pod.status.container_statuses or []) if remote_pod and remote_pod.status \
        else []
    for status in statuses:
        if status.name == container and status.state and status.state.terminated:
            return status.state.terminated.exit_code
    return None


_OPERATORS: dict[str, Callable[[], type]] = {
    "local": _local_operator,
    "docker": _docker_operator,
    "kubernetes": _kubernetes_operator,
}


def runtime_kwargs(runtime: str) -> dict[str, Any]:
    """Operator arguments of a runtime, from the deployment settings."""
    from fnlib.task_env import EXIT_NOTHING_TO_DO

    if runtime == "docker":
        from docker.types import Mount

        return {
            "image": settings.task_image(),
            # the image's entrypoint is the `fn` CLI; the decorator runs its own command
            "entrypoint": ["/usr/bin/env"],
            "python_command": "python3",
            "expect_airflow": False,
            "docker_url": settings.docker_url(),
            "network_mode": settings.docker_network(),
            "mount_tmp_dir": False,
            "auto_remove": "success",
            "skip_on_exit_code": EXIT_NOTHING_TO_DO,
            "mounts": [Mount(target=STATE_DIR, source=settings.docker_cache_volume(),
                             type="volume")],
            "environment": container_env(),
        }
    if runtime == "kubernetes":
        from kubernetes.client import models as k8s

        kwargs: dict[str, Any] = {
            "image": settings.task_image(),
            "namespace": settings.k8s_namespace(),
            "env_vars": [k8s.V1EnvVar(name=k, value=v) for k, v in container_env().items()],
            "get_logs": True,
            "on_finish_action": "delete_pod",
            "skip_on_exit_code": EXIT_NOTHING_TO_DO,
        }
        if settings.k8s_secret():
            kwargs["env_from"] = [k8s.V1EnvFromSource(
                secret_ref=k8s.V1SecretEnvSource(name=settings.k8s_secret()))]
        if settings.k8s_cache_pvc():
            kwargs["volumes"] = [k8s.V1Volume(
                name="fn-state", persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(
                    claim_name=settings.k8s_cache_pvc()))]
            kwargs["volume_mounts"] = [k8s.V1VolumeMount(name="fn-state", mount_path=STATE_DIR)]
        return kwargs
    return {}


def fn_task(python_callable: Callable | None = None, *, label: str | None = None,
            publish: tuple[str, ...] = (), **kwargs: Any) -> Any:
    """``@task`` for data-touching bodies, run where ``FN_TASK_RUNTIME`` says.

    ``label``: name of the argument whose ``label`` names each mapped instance.
    ``publish``: result keys set as the extra of the outlet Asset event (needs ``outlets``).
    Other keyword arguments go to the operator, as with ``@task``.
    """
    from airflow.sdk.bases.decorator import task_decorator_factory

    runtime = settings.task_runtime()
    if label:
        kwargs.setdefault("map_index_template", "{{ fn_label }}")
    if publish and not kwargs.get("outlets"):
        raise ValueError("publish= needs an outlet Asset (outlets=[...])")
    return task_decorator_factory(
        python_callable=python_callable,
        decorated_operator_class=_OPERATORS[runtime](),
        fn_label=label,
        fn_publish=tuple(publish),
        **runtime_kwargs(runtime),
        **kwargs,
    )
