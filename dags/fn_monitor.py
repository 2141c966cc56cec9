"""
### fn_monitor: daily performance and drift report, retrain requests

For one data interval (a day): performance on the labelled feedback received (accuracy, F1,
confusion), input drift against the model's training reference (text-length PSI,
out-of-vocabulary rate, prediction mix, score PSI), and volume. Writes
`monitoring/day=YYYY-MM-DD/report.json`, logs the day to W&B (one run per interval in the
`fn_monitor` group: a time series across days), and when thresholds are crossed writes a
retrain request under `retrain-requests/pending/`, which `fn_retrain`'s sensor waits for.

Idempotent per interval and safe to backfill (`airflow backfill create --dag-id fn_monitor
--from-date ... --to-date ...`): the report depends only on the interval's inputs, so a
re-run with the same inputs writes nothing new; changed inputs give a new, logged version.
`catchup` is off on purpose: history is filled with explicit backfills. Each run covers the
data interval [day, next day); a manual trigger covers the day that ended before it.
With nothing to monitor yet (no predictions in the interval and no champion model) the run
ends **skipped**, and the task log says why in one line.

Backfill from the UI: **Trigger** -> **Backfill**, pick the date range, **Run Backfill**.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, Param, dag
from fn_airflow.defaults import DEFAULT_ARGS, START_DATE
from fn_airflow.tasks import fn_task


@dag(
    dag_id="fn_monitor",
    description="Daily: performance and drift report for one day, retrain requests (skipped while there is nothing to monitor); backfill past days",
    is_paused_upon_creation=False,
    # a real data interval [day, next day), so each run (and each backfilled run) monitors
    # exactly one day; Airflow 3's plain "@daily" would give runs without an interval
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=4,
    tags=["fn", "production"],
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params={
        "thresholds": Param({}, type="object", title="Thresholds",
                            description='Overrides, e.g. {"psi_alert": 0.3, "min_volume": 50}; '
                                        "defaults and meaning in docs/monitoring.md"),
        "lookback_days": Param(30, type="integer", minimum=0, maximum=365,
                               title="Prediction look-back (days)",
                               description="Feedback is joined to predictions this far back."),
        "min_feedback_for_retrain": Param(0, type="integer", minimum=0,
                                          title="Retrain on feedback volume",
                                          description="Request a retrain when this many labelled "
                                                      "articles arrive in a day (0 = off)."),
    },
)
def fn_monitor():
    @fn_task
    def report(run: dict | None = None) -> dict:
        from fnlib.stages import monitor
        from fnlib.task_env import fail_fast_on_bad_input, s3_store, skip_when_nothing_to_do

        with fail_fast_on_bad_input(), skip_when_nothing_to_do():
            return monitor.report(s3_store(), monitor.MonitorRequest.for_run(run), run["run_ids"])

    report()


fn_monitor()
