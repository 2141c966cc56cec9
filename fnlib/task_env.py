"""What a task body needs from the place it runs, in every task runtime.

The DAGs' task bodies import these helpers *inside* the function, so the same body runs on an
Airflow worker (``local`` runtime: S3 through the Amazon provider's ``S3Hook`` and the Airflow
AWS connection) and in the task image (``docker``/``kubernetes`` runtimes: no Airflow inside;
the container is started with ``FN_TASK_CONTAINER=1`` and exactly the AWS/W&B settings it needs
as standard environment variables, see ``fn_airflow.tasks``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

from fnlib import settings

log = logging.getLogger(__name__)

CONTAINER_FLAG = "FN_TASK_CONTAINER"
# sysexits' EX_DATAERR: the container runtimes map it to "fail now, do not retry"
EXIT_BAD_INPUT = 65
# Airflow's own convention for "skip me" (BashOperator, ExternalPythonOperator): the container
# runtimes map it to a skipped task (``skip_on_exit_code``)
EXIT_NOTHING_TO_DO = 99
AWS_PUBLIC = ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION")
AWS_SECRET = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def in_container() -> bool:
    """True inside a task container started by a container runtime."""
    return os.environ.get(CONTAINER_FLAG) == "1"


def aws_settings_from_connection(credentials: bool = True) -> dict[str, str]:
    """Endpoint and region (and, with ``credentials``, the keys) of the Airflow AWS connection,
    as the standard AWS environment variable names; empty values are left out. Call only on
    an Airflow worker."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    hook = S3Hook(aws_conn_id=settings.aws_conn_id())
    cfg = hook.conn_config
    values = {
        "AWS_ENDPOINT_URL": cfg.endpoint_url,
        "AWS_DEFAULT_REGION": cfg.region_name or hook.region_name,
    }
    if credentials:
        creds = hook.get_credentials()
        values.update({
            "AWS_ACCESS_KEY_ID": creds.access_key,
            "AWS_SECRET_ACCESS_KEY": creds.secret_key,
            "AWS_SESSION_TOKEN": creds.token,
        })
    return {k: v for k, v in values.items() if v}


def s3_store() -> Any:
    """An :class:`fnlib.storage.ObjectStore` on the bucket: via the Airflow connection on a
    worker, via the standard AWS environment inside a task container."""
    from fnlib.storage import ObjectStore

    if in_container():
        from fnlib.storage.client import make_s3_client

        client = make_s3_client()
    else:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from fnlib.storage.client import botocore_config

        hook = S3Hook(aws_conn_id=settings.aws_conn_id())
        if hook.conn_config.botocore_config is None:
            # the connection sets no `config_kwargs`: use the project's retry/timeout policy
            hook = S3Hook(aws_conn_id=settings.aws_conn_id(), config=botocore_config())
        client = hook.get_conn()
    store = ObjectStore(client, settings.bucket())
    store.ensure_bucket(create=False)
    return store


@contextlib.contextmanager
def aws_env_for_sdk() -> Iterator[None]:
    """Expose the connection's endpoint/region/credentials through the standard AWS env vars
    while a third-party SDK (wandb's S3 reference handler) runs, then restore the environment.
    Nothing is logged or persisted. Inside a container the environment already has them."""
    if in_container():
        yield
        return
    with settings.scoped_environ(aws_settings_from_connection()):
        yield


@contextlib.contextmanager
def _end_task_on(error: type[BaseException], *, exit_code: int, airflow_exception: str,
                 reason: str, logged: str, level: int, prefix_message: bool) -> Iterator[None]:
    """Turn ``error`` into a task state, its one-line reason logged first: the Airflow
    exception named ``airflow_exception`` (``airflow.sdk.exceptions``) on a worker, exit code
    ``exit_code`` in a container (the container runtimes turn it into the same state)."""
    try:
        yield
    except error as exc:
        if in_container():
            print(f"{reason}: {exc}", file=sys.stderr, flush=True)
            raise SystemExit(exit_code) from exc
        from airflow.sdk import exceptions

        log.log(level, "%s: %s", logged, exc)
        message = f"{reason}: {exc}" if prefix_message else str(exc)
        raise getattr(exceptions, airflow_exception)(message) from exc


@contextlib.contextmanager
def fail_fast_on_bad_input() -> Iterator[None]:
    """Bad input will not get better on retry: fail the task at once with fnlib's message
    (``AirflowFailException`` on a worker; exit code ``EXIT_BAD_INPUT`` in a container). The
    one-line reason is logged first, before Airflow's traceback. Storage and other transient
    errors propagate unchanged, so Airflow's retries apply."""
    from fnlib.errors import InputError

    with _end_task_on(InputError, exit_code=EXIT_BAD_INPUT, airflow_exception="AirflowFailException",
                      reason="bad input", logged="bad input (not retried)", level=logging.ERROR,
                      prefix_message=False):
        yield


@contextlib.contextmanager
def skip_when_nothing_to_do() -> Iterator[None]:
    """A scheduled stage with nothing to do yet (:class:`fnlib.errors.NothingToDo`) ends as
    *skipped* with its one-line reason logged (``AirflowSkipException`` on a worker, exit code
    ``EXIT_NOTHING_TO_DO`` in a container)."""
    from fnlib.errors import NothingToDo

    with _end_task_on(NothingToDo, exit_code=EXIT_NOTHING_TO_DO,
                      airflow_exception="AirflowSkipException", reason="nothing to do",
                      logged="nothing to do, skipping", level=logging.INFO, prefix_message=True):
        yield
