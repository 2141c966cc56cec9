"""A deferrable S3 key sensor whose S3 code loads when the task runs, not when the DAG parses.

The amazon provider's ``S3KeySensor`` imports ``S3Hook`` (and with it boto3) at module level,
which the dag-processor would pay on every parse of ``fn_retrain``. This sensor has the same
behaviour for the case the pipeline uses (a wildcard key, deferrable): a first check on the
worker, then the wait in the triggerer through the provider's ``S3KeyTrigger``; ``timeout``
and ``soft_fail`` work as for every Airflow sensor.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator


class S3KeyWaitSensor(BaseSensorOperator):
    """Waits until an object matching the wildcard ``bucket_key`` exists in ``bucket_name``."""

    template_fields = ("bucket_name", "bucket_key")
    ui_color = "#f0eee4"

    def __init__(self, *, bucket_name: str, bucket_key: str, aws_conn_id: str,
                 deferrable: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bucket_name = bucket_name
        self.bucket_key = bucket_key
        self.aws_conn_id = aws_conn_id
        self.deferrable = deferrable

    def poke(self, context: Any) -> bool:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        hook = S3Hook(aws_conn_id=self.aws_conn_id)
        prefix = re.split(r"[\[*?]", self.bucket_key, maxsplit=1)[0]
        self.log.info("Poking for s3://%s/%s", self.bucket_name, self.bucket_key)
        return any(fnmatch.fnmatch(meta["Key"], self.bucket_key)
                   for meta in hook.iter_file_metadata(prefix, self.bucket_name))

    def execute(self, context: Any) -> None:
        if not self.deferrable:
            super().execute(context)
        elif not self.poke(context):
            self._defer()

    def _defer(self) -> None:
        from airflow.providers.amazon.aws.triggers.s3 import S3KeyTrigger

        self.defer(
            timeout=timedelta(seconds=self.timeout),
            trigger=S3KeyTrigger(bucket_name=self.bucket_name, bucket_key=self.bucket_key,
                                 wildcard_match=True, aws_conn_id=self.aws_conn_id,
                                 poke_interval=self.poke_interval),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> None:
        """Resumed from the trigger: a match was found, or the trigger reports an error."""
        if event.get("status") == "error":
            from airflow.sdk.exceptions import AirflowException

            raise AirflowException(event.get("message", "S3 key trigger failed"))
