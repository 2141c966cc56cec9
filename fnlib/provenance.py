"""Where a result came from: code version, git sha, Airflow task identity, time."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import fnlib

AIRFLOW_KEYS = ("dag_id", "run_id", "task_id", "try_number", "map_index", "logical_date")


def git_sha() -> str | None:
    """``FN_GIT_SHA`` (baked into images) or the sha of the checkout fnlib runs from."""
    if os.environ.get("FN_GIT_SHA"):
        return os.environ["FN_GIT_SHA"]
    root = Path(fnlib.__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}-dirty" if dirty else sha


def provenance(run_ids: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A provenance record for a manifest. ``run_ids`` (dag_id/run_id/task_id/try_number...,
    ``fnlib.stages.common.RunIds``) is recorded under ``airflow``, None outside Airflow."""
    record: dict[str, Any] = {
        "package": "fnlib",
        "version": fnlib.__version__,
        "git_sha": git_sha(),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "airflow": {k: str(v) for k, v in (run_ids or {}).items() if k in AIRFLOW_KEYS and v is not None}
        or None,
    }
    record.update(extra)
    return record
