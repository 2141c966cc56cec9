"""Settings every fn DAG shares: one start date, one retry policy, the tuning fan-out's width."""

from __future__ import annotations

import pendulum

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")
# Transient faults (S3 endpoint, metadata DB) get two retries; bad input fails at once
# (fnlib.task_env.fail_fast_on_bad_input).
DEFAULT_ARGS = {"retries": 2, "retry_delay": pendulum.duration(seconds=10)}

# mapped tuning tasks (featurize, score) running at once in one fn_tune run
TUNE_MAX_ACTIVE = 4


def worker_slots() -> int:
    """Task slots one fn_tune run can use at once: Airflow's ``[core] parallelism`` (the
    executor's slots), capped by :data:`TUNE_MAX_ACTIVE`. Read when the DAG is parsed."""
    from airflow.sdk.configuration import conf

    return max(1, min(conf.getint("core", "parallelism", fallback=TUNE_MAX_ACTIVE),
                      TUNE_MAX_ACTIVE))
