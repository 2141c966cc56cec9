"""Deployment settings read from the environment, in one place.

| variable            | default          | meaning                                              |
|---------------------|------------------|------------------------------------------------------|
| ``FN_BUCKET``       | ``fn-artifacts`` | versioned bucket holding datasets, models, manifests |
| ``FN_AWS_CONN_ID``  | ``aws_default``  | Airflow connection used by the DAGs for S3           |
| ``FN_STACK_DIR``    | ``./.stack``     | state folder of the local stack (pids, logs, W&B)    |
| ``WANDB_DIR``       | ``$FN_STACK_DIR``| where offline W&B runs are written                   |
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_BUCKET = "fn-artifacts"


def bucket() -> str:
    return os.environ.get("FN_BUCKET", DEFAULT_BUCKET)


def aws_conn_id() -> str:
    return os.environ.get("FN_AWS_CONN_ID", "aws_default")


def stack_dir() -> Path:
    return Path(os.environ.get("FN_STACK_DIR", ".stack")).resolve()


def wandb_dir() -> Path:
    return Path(os.environ.get("WANDB_DIR") or stack_dir()).resolve()


def cache_dir() -> Path:
    """Feature cache (an accelerator, not lineage): ``FN_CACHE_DIR`` or ``<stack>/cache``."""
    return Path(os.environ.get("FN_CACHE_DIR") or stack_dir() / "cache").resolve()
