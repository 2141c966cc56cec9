"""
### fn_tune: grid search as a mapped fan-out over the full train split

Triggered by the `fn_dataset` Asset (tunes the dataset that was just committed) or by hand with
a `dataset_id`. Builds the grid (models x text variants x vectorizer settings x a few
hyperparameters) and scores every configuration with stratified k-fold CV on the **whole**
train split.

Work shared by configurations is done once: `featurize` runs once per (text variant,
vectorizer setting), cleaning the texts once and fitting the vectorizer once per fold, and
stores the fold features (content-addressed in the bucket's feature store, with a local cache
in front, so a worker on any machine reuses them). The grid is then split into **chunks** of
configurations that share one feature setting: each mapped `score` task (named after the
configurations it holds) reads its fold features once and fits the classifiers of its chunk,
so the run pays a task start-up per chunk, not per configuration. The number of chunks is the
`chunks` param; empty = one per worker slot this run may use (at least one per feature
setting). Every configuration is still its own W&B run in the tuning group and its own
leaderboard row, and the leaderboard does not depend on the chunking. `reduce` writes the
leaderboard (JSON + CSV in S3, a W&B table) and the tuning manifest, and updates the
`fn_tuning` Asset, which triggers training. An Asset-triggered run uses this form's
defaults; a deployment sets them with `FN_TUNE_DEFAULTS` (e.g. `{"grid": "small"}`).

**Reading the mapped task names.** A `score` task is named after its chunk, e.g.
`2/8 raw 1-2gram sub min_df=2: nb alpha=0.1, logreg C=1 (2 configs)`: chunk number, the
feature setting its configurations share, then each configuration's model and hyperparameters
(the first always, others when not at their default). A `featurize` task is named after its
feature setting. In a feature setting: the text variant (`raw` or `denoised`), the n-gram range
(`1gram` = unigrams, `1-2gram` = uni+bigrams), `sub` = sublinear term frequency (1 + log tf)
and `min_df` = minimum document frequency. Airflow renders a name when its task starts, so
tasks still waiting show only their index (0, 1, ...).
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task
from fn_airflow.assets import DATASET_ASSET, TUNING_ASSET
from fn_airflow.defaults import DEFAULT_ARGS, START_DATE, TUNE_MAX_ACTIVE, worker_slots
from fn_airflow.tasks import fn_task

from fnlib import catalog, settings

# the form's defaults, which Asset-triggered runs use; a deployment may shrink or grow them
DEFAULTS = {"models": list(catalog.MODELS), "variants": list(catalog.VARIANTS), "grid": "default", "folds": 5, "metric": "f1",
            **settings.tune_defaults()}


@dag(
    dag_id="fn_tune",
    description="Grid search over models and text variants as mapped tasks; runs when fn_dataset commits a dataset",
    is_paused_upon_creation=False,
    schedule=DATASET_ASSET,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["fn", "models"],
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params={
        "dataset_id": Param(None, type=["null", "string"], title="Dataset id",
                            description="ds-... to tune on; empty = the dataset whose Asset "
                                        "event triggered this run."),
        "models": Param(DEFAULTS["models"], type="array", items={"type": "string", "enum": list(catalog.MODELS)},
                        title="Models", description="Classifiers in the grid."),
        "variants": Param(DEFAULTS["variants"], type="array", items={"type": "string", "enum": list(catalog.VARIANTS)},
                          title="Text variants", description="raw and/or denoised text."),
        "grid": Param(DEFAULTS["grid"], type="string", enum=list(catalog.GRIDS), title="Grid size",
                      description="small = one configuration per model and feature setting."),
        "folds": Param(DEFAULTS["folds"], type="integer", minimum=2, maximum=20, title="CV folds"),
        "metric": Param(DEFAULTS["metric"], type="string", enum=list(catalog.TUNING_METRICS),
                        title="Selection metric"),
        "seed": Param(42, type="integer", minimum=0, title="Seed"),
        "chunks": Param(None, type=["null", "integer"], minimum=1, maximum=1000,
                        title="Chunks of configurations",
                        description="How many mapped scoring tasks the grid is split into "
                                    "(each holds configurations of one feature setting); "
                                    "empty = one per worker slot this run may use, at least "
                                    "one per feature setting. The results do not depend on it."),
    },
)
def fn_tune():
    @fn_task
    def plan(slots: int, run: dict | None = None) -> dict:
        from fnlib.stages import tune
        from fnlib.task_env import fail_fast_on_bad_input, s3_store

        with fail_fast_on_bad_input():
            return tune.plan(s3_store(), tune.TuneRequest.for_run(run), slots=slots)

    @task
    def feature_settings(planned: dict) -> list:
        return planned["feature_configs"]

    @task
    def chunks(planned: dict) -> list:
        return planned["chunks"]

    @fn_task(label="config", max_active_tis_per_dagrun=TUNE_MAX_ACTIVE)
    def featurize(planned: dict, config: dict, run: dict | None = None) -> dict:
        from fnlib.stages import tune
        from fnlib.task_env import s3_store

        return tune.featurize(s3_store(), planned, config, run["run_ids"])

    @fn_task(label="chunk", max_active_tis_per_dagrun=TUNE_MAX_ACTIVE)
    def score(planned: dict, chunk: dict, run: dict | None = None) -> list:
        from fnlib.stages import tune
        from fnlib.task_env import s3_store

        return tune.score_chunk(s3_store(), planned, chunk, run["run_ids"])

    @fn_task(outlets=[TUNING_ASSET], publish=("tuning_id", "dataset_id", "manifest_uri"))
    def reduce(planned: dict, results: list, run: dict | None = None) -> dict:
        from fnlib.stages import tune
        from fnlib.task_env import s3_store

        return tune.reduce(s3_store(), planned, list(results), run["run_ids"])

    planned = plan(worker_slots())
    features = featurize.partial(planned=planned).expand(config=feature_settings(planned))
    scores = score.partial(planned=planned).expand(chunk=chunks(planned))
    features >> scores
    reduce(planned, scores)


fn_tune()
