"""The Assets that chain the DAGs: each stage's output triggers the next stage.

The URIs use the custom ``x-fn`` scheme (``x-fn://<bucket>/<prefix>/``) rather than ``s3``:
Airflow normalises other schemes through the providers' URI handlers, and loading them
imports the amazon provider's S3 hook and boto3 into every parse of the DAG files that use
these Assets; ``x-`` schemes are left as they are. The bucket and prefix are the same as in S3; the
event extras carry the exact manifest URI (``s3://...?versionId=...``).
"""

from __future__ import annotations

from airflow.sdk import Asset

from fnlib import settings

DATASET_ASSET = Asset(name="fn_dataset", uri=f"x-fn://{settings.bucket()}/datasets/", group="fn")
TUNING_ASSET = Asset(name="fn_tuning", uri=f"x-fn://{settings.bucket()}/tuning/", group="fn")
MODEL_ASSET = Asset(name="fn_model", uri=f"x-fn://{settings.bucket()}/models/", group="fn")
