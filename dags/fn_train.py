"""
### fn_train: fit the chosen configuration, evaluate, save, and gate promotion

Triggered by the `fn_tuning` Asset (trains the best configuration of that tuning run) or by
hand with a `tuning_id`, or a `dataset_id` plus an explicit `config`.

`train` fits one scikit-learn Pipeline (text variant -> vectorizer -> classifier) on the full
train split, evaluates it on the test split (accuracy, precision, recall, F1, ROC-AUC,
classification report, confusion matrix and ROC/PR curves as PNGs), saves it with joblib to
S3 (version id + sha256), writes a model card, logs a W&B model artifact referencing the S3
object, and commits the model manifest. A test F1 below `f1_floor` raises an alert (W&B alert
online; a warning in this task's log always) and blocks promotion.

`evaluate` (one mapped instance per dataset id in `evaluate_on`, none by default) scores the
new model on each listed dataset's test split: an evaluation object with its own manifest
(parents: the model and the dataset), logged to W&B. Use it to see how a model does on another
domain; `fn transfer` builds the whole square table.

`gate` compares the new model with the champion **on the same test data** and promotes it only
if it is better by more than `promotion_margin` (or there is no champion). The decision and
both scores are recorded either way; the champion pointer is updated with a conditional write.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task
from fn_airflow.assets import MODEL_ASSET, TUNING_ASSET
from fn_airflow.defaults import DEFAULT_ARGS, START_DATE
from fn_airflow.tasks import fn_task

from fnlib import catalog


@dag(
    dag_id="fn_train",
    description="Fit the best tuned config, evaluate on the test split, save the model, champion/challenger gate; runs after fn_tune",
    is_paused_upon_creation=False,
    schedule=TUNING_ASSET,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["fn", "models"],
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params={
        "tuning_id": Param(None, type=["null", "string"], title="Tuning id",
                           description="tune-... whose best config to train; empty = the one "
                                       "that triggered this run."),
        "dataset_id": Param(None, type=["null", "string"], title="Dataset id",
                            description="Only with an explicit config."),
        "config": Param({}, type="object", title="Explicit config",
                        description='Skip tuning, e.g. {"model": "logreg", "variant": "denoised", '
                                    '"vectorizer": {"ngram_max": 2}, "params": {"C": 4}}'),
        "seed": Param(42, type="integer", minimum=0, title="Seed"),
        "f1_floor": Param(0.6, type="number", minimum=0, maximum=1, title="F1 floor",
                          description="Alert and block promotion below this test F1."),
        "promotion_margin": Param(0.0, type="number", minimum=0, maximum=1,
                                  title="Promotion margin",
                                  description="The challenger must beat the champion by more."),
        "metric": Param("f1", type="string", enum=list(catalog.GATE_METRICS),
                        title="Gate metric"),
        "evaluate_on": Param([], type="array", items={"type": "string"},
                             title="Also evaluate on",
                             description="ds-... ids whose test split the new model is scored "
                                         "on (cross-domain evaluations)."),
    },
)
def fn_train():
    @fn_task(outlets=[MODEL_ASSET], publish=("model_id", "manifest_uri"))
    def train(run: dict | None = None) -> dict:
        from fnlib.stages import train as stage
        from fnlib.task_env import aws_env_for_sdk, fail_fast_on_bad_input, s3_store

        with fail_fast_on_bad_input(), aws_env_for_sdk():
            return stage.train(s3_store(), stage.TrainRequest.for_run(run), run["run_ids"])

    @fn_task
    def gate(trained: dict, run: dict | None = None) -> dict:
        from fnlib.stages import train as stage
        from fnlib.task_env import s3_store

        request = stage.TrainRequest.for_run(run)
        return stage.gate(s3_store(), trained, request.metric, request.promotion_margin,
                          run["run_ids"])

    @task
    def evaluation_targets(trained: dict, params: dict | None = None) -> list:
        from fnlib.stages import evaluate as stage

        return stage.targets(trained, params)

    @fn_task(label="target", max_active_tis_per_dagrun=2)
    def evaluate(target: dict, run: dict | None = None) -> dict:
        from fnlib.stages import evaluate as stage
        from fnlib.task_env import aws_env_for_sdk, fail_fast_on_bad_input, s3_store

        with fail_fast_on_bad_input(), aws_env_for_sdk():
            return stage.evaluate_model(s3_store(), stage.EvaluateRequest.for_run(run, target),
                                        run["run_ids"])

    trained = train()
    gate(trained)
    evaluate.expand(target=evaluation_targets(trained))


fn_train()
