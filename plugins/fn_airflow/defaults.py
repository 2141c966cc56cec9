"""Settings every fn DAG shares: one start date and one retry policy."""

from __future__ import annotations

import pendulum

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")
# Transient faults (S3 endpoint, metadata DB) get two retries; bad input fails at once
# (fnlib.task_env.fail_fast_on_bad_input).
DEFAULT_ARGS = {"retries": 2, "retry_delay": pendulum.duration(seconds=10)}
