"""boto3 S3 clients with deliberate retry and timeout settings.

Outside Airflow the endpoint and credentials come from the standard AWS environment variables
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ...). Inside Airflow use the connection's client
(``S3Hook(aws_conn_id).get_conn()``) and pass it to :class:`fnlib.storage.ObjectStore`.
"""

from __future__ import annotations

import os
from typing import Any

RETRY_CONFIG = {
    "retries": {"mode": "standard", "max_attempts": 5},
    "connect_timeout": 5,
    "read_timeout": 60,
}


def botocore_config(
    max_attempts: int | None = None, *, connect_timeout: float | None = None,
    read_timeout: float | None = None,
) -> Any:
    """The botocore ``Config``: standard retry mode (exponential backoff with jitter, retries
    on throttling, 5xx and connection errors), bounded connect and read timeouts."""
    from botocore.config import Config

    # copy the nested dict too: botocore rewrites ``retries`` in place (max_attempts ->
    # total_max_attempts), which would change the module constant for every later client
    options = {**RETRY_CONFIG, "retries": dict(RETRY_CONFIG["retries"])}
    if max_attempts is not None:
        options["retries"] = {"mode": "standard", "max_attempts": max_attempts}
    if connect_timeout is not None:
        options["connect_timeout"] = connect_timeout
    if read_timeout is not None:
        options["read_timeout"] = read_timeout
    return Config(**options)


def make_s3_client(
    endpoint_url: str | None = None, region: str | None = None, max_attempts: int | None = None,
    *, connect_timeout: float | None = None, read_timeout: float | None = None,
) -> Any:
    import boto3

    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None,
        region_name=region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        config=botocore_config(
            max_attempts, connect_timeout=connect_timeout, read_timeout=read_timeout
        ),
    )
