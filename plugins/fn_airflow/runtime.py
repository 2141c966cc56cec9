"""Task-side access to the deployment: the S3 store behind the Airflow connection, the
Airflow identity of the running task, and scoped AWS settings for the W&B SDK."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from fnlib import settings


def s3_store() -> Any:
    """An :class:`fnlib.storage.ObjectStore` on the bucket, via the Airflow AWS connection."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from fnlib.storage import ObjectStore

    hook = S3Hook(aws_conn_id=settings.aws_conn_id())
    store = ObjectStore(hook.get_conn(), settings.bucket())
    store.ensure_bucket(create=False)
    return store


def airflow_ids(context: dict[str, Any]) -> dict[str, Any]:
    """The identity of the running task instance, for manifests and W&B run grouping."""
    ti = context["ti"]
    return {
        "dag_id": ti.dag_id,
        "run_id": ti.run_id,
        "task_id": ti.task_id,
        "try_number": ti.try_number,
        "map_index": getattr(ti, "map_index", -1),
        "logical_date": str(context.get("logical_date")) if context.get("logical_date") else None,
    }


@contextlib.contextmanager
def aws_env_for_sdk() -> Iterator[None]:
    """Expose the connection's endpoint/region/credentials through the standard AWS env vars
    while a third-party SDK (wandb's S3 reference handler) runs, then restore the environment.
    Nothing is logged or persisted."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    hook = S3Hook(aws_conn_id=settings.aws_conn_id())
    creds = hook.get_credentials()
    cfg = hook.conn_config
    values = {
        "AWS_ACCESS_KEY_ID": creds.access_key,
        "AWS_SECRET_ACCESS_KEY": creds.secret_key,
        "AWS_SESSION_TOKEN": creds.token,
        "AWS_ENDPOINT_URL": cfg.endpoint_url,
        "AWS_DEFAULT_REGION": cfg.region_name or hook.region_name,
    }
    saved = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v:
                os.environ[k] = v
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def fail_fast_on_bad_input() -> Iterator[None]:
    """Bad input will not get better on retry: fail the task at once with fnlib's message.
    Storage and other transient errors propagate unchanged, so Airflow's retries apply."""
    from airflow.sdk.exceptions import AirflowFailException

    from fnlib.errors import InputError

    try:
        yield
    except InputError as exc:
        raise AirflowFailException(str(exc)) from exc
