"""
### fn_retrain: sensor-triggered retraining with a champion/challenger gate

Always waiting (`@continuous`, one run at a time): a **deferrable S3 sensor** watches
`retrain-requests/pending/` (written by `fn_monitor`, or by anyone: a person or another system
can request a retrain by writing a JSON there). The wait runs in the triggerer, so it costs no
worker slot. Why a sensor and not an Asset: requests may come from outside Airflow, and the
S3 object is itself the durable, versioned record of the request.

Then, once per request: `claim` (conditional write, so two runs cannot both take it; stale
requests about a former champion are retired), `gate` (quality-gate all feedback: label set,
unique ids, non-empty text, length and vocabulary-coverage bounds, not already training data;
bad rows are quarantined with reasons, never trained on), `build` (new dataset = base +
accepted feedback, lineage to both, with a common holdout neither model trains on),
`challenger` (the champion's config trained on it), `compare` (promote only if better on the
common holdout; the decision is recorded), `finish` (the request is marked done). With fewer
accepted rows than `min_accepted`, nothing is built or trained and the outcome says why.
Each task is one call into `fnlib.stages.retrain`.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task
from fn_airflow.defaults import DEFAULT_ARGS, START_DATE
from fn_airflow.sensors import S3KeyWaitSensor
from fn_airflow.tasks import fn_task

from fnlib import catalog, settings


@dag(
    dag_id="fn_retrain",
    description="Waits for retrain requests (S3 sensor), trains a challenger and promotes it only if better; unpause to retrain automatically",
    schedule="@continuous",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["fn", "production"],
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params={
        "min_accepted": Param(20, type="integer", minimum=1, title="Minimum accepted feedback",
                              description="Fewer accepted rows: no retrain, request closed."),
        "holdout_fraction": Param(0.3, type="number", minimum=0.1, maximum=0.5,
                                  title="Feedback holdout fraction"),
        "promotion_margin": Param(0.0, type="number", minimum=0, maximum=1,
                                  title="Promotion margin"),
        "seed": Param(42, type="integer", minimum=0, title="Seed"),
    },
)
def fn_retrain():
    wait = S3KeyWaitSensor(
        task_id="wait_for_request",
        bucket_name=settings.bucket(),
        bucket_key=catalog.RETRAIN_PENDING_GLOB,
        aws_conn_id=settings.aws_conn_id(),
        deferrable=True,
        poke_interval=10,
        timeout=6 * 3600,
        soft_fail=True,
    )

    @task.short_circuit
    def claim(**context) -> dict | None:
        # control flow, so it runs on the worker in every runtime: a small conditional write
        from fnlib.stages import retrain
        from fnlib.task_env import s3_store

        return retrain.claim(s3_store(), context["run_id"])

    @fn_task
    def gate(claimed: dict, run: dict | None = None) -> dict:
        from fnlib.stages import retrain
        from fnlib.task_env import s3_store

        request = retrain.RetrainRequest.for_run(run)
        return retrain.gate(s3_store(), claimed, request.min_accepted)

    @fn_task
    def build(gated: dict, run: dict | None = None) -> dict:
        from fnlib.stages import retrain
        from fnlib.task_env import s3_store

        return retrain.build(s3_store(), gated, retrain.RetrainRequest.for_run(run),
                             run["run_ids"])

    @fn_task
    def challenger(built: dict, run: dict | None = None) -> dict:
        from fnlib.stages import retrain
        from fnlib.task_env import aws_env_for_sdk, s3_store

        with aws_env_for_sdk():
            return retrain.challenger(s3_store(), built, retrain.RetrainRequest.for_run(run),
                                      run["run_ids"])

    @fn_task
    def compare(trained: dict, run: dict | None = None) -> dict:
        from fnlib.stages import retrain
        from fnlib.task_env import s3_store

        return retrain.compare(s3_store(), trained, retrain.RetrainRequest.for_run(run),
                               run["run_ids"])

    @fn_task
    def finish(claimed: dict, gated: dict, decision: dict) -> dict:
        from fnlib.stages import retrain
        from fnlib.task_env import s3_store

        return retrain.finish(s3_store(), claimed, decision, gated)

    claimed = claim()
    wait >> claimed
    gated = gate(claimed)
    decision = compare(challenger(build(gated)))
    finish(claimed, gated, decision)


fn_retrain()
