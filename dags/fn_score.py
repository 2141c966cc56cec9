"""
### fn_score: batch-score newly arrived articles with the champion

Every hour, scores the CSV files (`id,text`) that arrived under
`incoming/day=YYYY-MM-DD/` and have not been scored yet, using the champion model (loaded only
after its sha256 matches the registry). Predictions are appended to the prediction log
`predictions/day=YYYY-MM-DD/part-<input sha256>.csv` (schema in `docs/monitoring.md`), so each
input file is scored exactly once however often this runs. Unscorable rows are written with
their reasons to `incoming-rejected/`.

With nothing to do (no champion model yet, or no incoming files) the run ends **skipped**, and
the task log says why in one line.
"""

from __future__ import annotations

from airflow.sdk import Param, dag
from fn_airflow.defaults import DEFAULT_ARGS, START_DATE
from fn_airflow.tasks import fn_task


@dag(
    dag_id="fn_score",
    description="Hourly: score newly arrived articles under incoming/ with the champion (skipped while there is nothing to score)",
    is_paused_upon_creation=False,
    schedule="@hourly",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["fn", "production"],
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params={
        "days": Param([], type="array", items={"type": "string", "format": "date"},
                      title="Only these days", description="Empty = every day with new files."),
        "keep_text": Param(True, type="boolean", title="Keep article text in the log",
                           description="Off = only the text's sha256 is logged."),
    },
)
def fn_score():
    @fn_task
    def score(run: dict | None = None) -> dict:
        from fnlib.stages import score
        from fnlib.task_env import fail_fast_on_bad_input, s3_store, skip_when_nothing_to_do

        with fail_fast_on_bad_input(), skip_when_nothing_to_do():
            return score.score(s3_store(), score.ScoreRequest.for_run(run))

    score()


fn_score()
