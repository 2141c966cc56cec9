"""
### fn_dataset: build a versioned, traceable train/test dataset

Loads a raw fake-news corpus, validates it (bad input uploads nothing), scrubs source leaks
(agency datelines, URLs, class-identifying metadata), removes exact and near duplicates, makes a
stratified seeded train/test split and uploads it to the versioned bucket. The dataset id is a
content address: the same input and settings give the same id and write no new object versions.

Tasks: `ingest` (load + validate + upload raw corpus) -> `prepare` (scrub, dedupe, split,
upload splits) -> `track` (W&B dataset artifact of S3 references) -> `commit` (manifest last;
updates the `fn_dataset` Asset, which triggers tuning).

Sources: `synthetic` (generated, no path), `isot` (folder with Fake.csv + True.csv),
`liar` (folder with train/valid/test.tsv), `fakenewsnet` (folder with
{politifact,gossipcop}_{fake,real}.csv), `csv` (one file; column names in `options`).
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task
from fn_airflow.assets import DATASET_ASSET
from fn_airflow.defaults import DEFAULT_ARGS, START_DATE


def _request(params: dict):
    from fnlib.stages.dataset import DatasetRequest

    return DatasetRequest.from_params(dict(params))


@dag(
    dag_id="fn_dataset",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["fn", "data"],
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params={
        "source": Param("synthetic", type="string", title="Source",
                        enum=["synthetic", "isot", "liar", "fakenewsnet", "csv"],
                        description="Which corpus layout to read."),
        "path": Param(None, type=["null", "string"], title="Path",
                      description="File or folder of the raw corpus on the worker "
                                  "(not needed for synthetic), e.g. data/external"),
        "test_size": Param(0.2, type="number", minimum=0.05, maximum=0.5, title="Test fraction"),
        "seed": Param(42, type="integer", minimum=0, title="Seed",
                      description="Seeds the split and the synthetic generator."),
        "scrub": Param(True, type="boolean", title="Scrub source leaks",
                       description="Remove agency datelines, URLs and class-identifying metadata."),
        "dedupe": Param(True, type="boolean", title="Remove duplicates",
                        description="Drop exact and normalised-text duplicates before the split."),
        "n_docs": Param(2000, type="integer", minimum=20, maximum=2_000_000,
                        title="Synthetic documents", description="Only for source=synthetic."),
        "label_mapping": Param(None, type=["null", "object"], title="Label mapping",
                               description='Raw label -> 1 (fake) / 0 (real), e.g. LIAR '
                                           '{"true": 0, "mostly-true": 0, "half-true": 0, '
                                           '"barely-true": 1, "false": 1, "pants-fire": 1}'),
        "options": Param({}, type="object", title="Loader options",
                         description='Source-specific, e.g. csv {"text_column": "body", '
                                     '"label_column": "verdict"}; fakenewsnet '
                                     '{"collections": ["gossipcop"]}'),
    },
)
def fn_dataset():
    @task
    def ingest(**context) -> dict:
        from fn_airflow.runtime import airflow_ids, fail_fast_on_bad_input, s3_store

        from fnlib.stages import dataset

        with fail_fast_on_bad_input():
            return dataset.ingest(s3_store(), _request(context["params"]), airflow_ids(context))

    @task
    def prepare(ingested: dict, **context) -> dict:
        from fn_airflow.runtime import fail_fast_on_bad_input, s3_store

        from fnlib.stages import dataset

        with fail_fast_on_bad_input():
            return dataset.prepare(s3_store(), ingested, _request(context["params"]))

    @task
    def track(prepared: dict, **context) -> dict:
        from fn_airflow.runtime import airflow_ids, aws_env_for_sdk

        from fnlib.stages import dataset

        with aws_env_for_sdk():
            return dataset.track(prepared, _request(context["params"]), airflow_ids(context))

    @task(outlets=[DATASET_ASSET])
    def commit(prepared: dict, tracked: dict, **context) -> dict:
        from fn_airflow.runtime import airflow_ids, s3_store

        from fnlib.stages import dataset

        result = dataset.commit(s3_store(), prepared, _request(context["params"]), tracked,
                                airflow_ids(context))
        context["outlet_events"][DATASET_ASSET].extra = {
            "dataset_id": result["dataset_id"], "manifest_uri": result["manifest_uri"],
        }
        return result

    prepared = prepare(ingest())
    commit(prepared, track(prepared))


fn_dataset()
