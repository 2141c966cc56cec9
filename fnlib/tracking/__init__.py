"""W&B tracking that mirrors the lineage, and a reader for what offline runs recorded.

``wandb`` itself is imported lazily, inside :func:`tracked_run` and the record readers.
"""

from fnlib.tracking.records import (
    RecordFormatError,
    find_run_file,
    history,
    iter_records,
    logged_artifacts,
    run_config,
    run_summary,
    used_artifacts,
)
from fnlib.tracking.wandb_run import (
    ObjectRefLike,
    TrackedRun,
    TrackingError,
    TrackingSettings,
    scrub_secrets,
    shutdown,
    tracked_run,
    wandb_mode,
)

__all__ = [
    "ObjectRefLike",
    "RecordFormatError",
    "TrackedRun",
    "TrackingError",
    "TrackingSettings",
    "find_run_file",
    "history",
    "iter_records",
    "logged_artifacts",
    "run_config",
    "run_summary",
    "scrub_secrets",
    "shutdown",
    "tracked_run",
    "used_artifacts",
    "wandb_mode",
]
