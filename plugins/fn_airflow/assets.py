"""The Assets that chain the DAGs: each stage's output triggers the next stage."""

from __future__ import annotations

from airflow.sdk import Asset

from fnlib import settings

DATASET_ASSET = Asset(name="fn_dataset", uri=f"s3://{settings.bucket()}/datasets/", group="fn")
TUNING_ASSET = Asset(name="fn_tuning", uri=f"s3://{settings.bucket()}/tuning/", group="fn")
MODEL_ASSET = Asset(name="fn_model", uri=f"s3://{settings.bucket()}/models/", group="fn")
