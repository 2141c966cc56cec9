"""W&B tracking that mirrors the lineage.

``wandb`` itself is imported lazily, inside :func:`tracked_run` and the record log reader
(:mod:`fnlib.tracking.records`, which tells when a finished run's file is complete).
"""

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
    "TrackedRun",
    "TrackingError",
    "TrackingSettings",
    "scrub_secrets",
    "shutdown",
    "tracked_run",
    "wandb_mode",
]
