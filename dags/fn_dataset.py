"""
### fn_dataset: build a versioned, traceable train/test dataset

Loads a raw fake-news corpus, validates it (bad input uploads nothing), scrubs source leaks
(agency datelines, URLs, class-identifying metadata), removes exact and normalised duplicates,
splits train/test (stratified and seeded, or the data set's published split), drops train texts
that nearly duplicate a test text, and uploads the splits to the versioned bucket. The dataset id is a
content address: the same input and settings give the same id and write no new object versions.

Tasks: `ingest` (load + validate + upload raw corpus) -> `prepare` (scrub, dedupe, split,
upload splits) -> `track` (W&B dataset artifact of S3 references) -> `commit` (manifest last;
updates the `fn_dataset` Asset, which triggers tuning).

Relative paths resolve against the data root (`FN_DATA_DIR`, default the project folder), the
same for the form and the `fn` CLI; errors name the absolute path that was tried.

Sources: `synthetic` (generated, no path), `isot` (folder with Fake.csv + True.csv),
`liar` (folder with train/valid/test.tsv), `fakenewsnet` (folder with
{politifact,gossipcop}_{fake,real}.csv), `csv` (one file, or train/valid/test.csv; column names
in `options`), `folders` (one sub-folder of .txt articles per class, e.g. fake/ legit/), `json`
(JSON articles under class folders such as FakeNewsContent/RealNewsContent, or JSON Lines with
`options` {"label_field": ...}).

Split: `random` (stratified, seeded) or `predefined` (the data set's own: LIAR's files, split
files, or `options` {"split_column": ...} / {"split_field": ...}); validation rows join train.
"""

from __future__ import annotations

from airflow.sdk import Param, dag
from fn_airflow.assets import DATASET_ASSET
from fn_airflow.defaults import DEFAULT_ARGS, START_DATE
from fn_airflow.tasks import fn_task

from fnlib import catalog


@dag(
    dag_id="fn_dataset",
    description="Build a versioned, traceable train/test dataset from a raw corpus (start here: Trigger, fill the form)",
    is_paused_upon_creation=False,
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["fn", "data"],
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params={
        "source": Param("synthetic", type="string", title="Source",
                        enum=list(catalog.SOURCE_NAMES),
                        description="Which corpus layout to read."),
        "path": Param(None, type=["null", "string"], title="Path",
                      description="File or folder of the raw corpus (not needed for "
                                  "synthetic), e.g. data/external. Relative paths resolve "
                                  "against the data root FN_DATA_DIR (default: the project "
                                  "folder)."),
        "test_size": Param(0.2, type="number", minimum=0.05, maximum=0.5, title="Test fraction",
                           description="Share of the articles held out (stratified by label, "
                                       "seeded) to evaluate the final model; tuning uses only "
                                       "the rest."),
        "seed": Param(42, type="integer", minimum=0, title="Seed",
                      description="Seeds the split and the synthetic generator."),
        "scrub": Param(True, type="boolean", title="Scrub source leaks",
                       description="Remove agency datelines, URLs and class-identifying metadata."),
        "dedupe": Param(True, type="boolean", title="Remove duplicates",
                        description="Drop exact and normalised-text duplicates before the split."),
        "split": Param("random", type="string", enum=list(catalog.SPLIT_STRATEGIES), title="Split",
                       description="random: stratified, seeded (Test fraction); predefined: the "
                                   "data set's own split (LIAR's files, train/valid/test files, "
                                   "a split column); validation rows join train."),
        "near_dedupe": Param(True, type="boolean", title="Drop near-duplicates of test",
                             description="Drop train texts whose word set is >= 80% like a "
                                         "test text's (reposts with a changed word)."),
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
    @fn_task
    def ingest(run: dict | None = None) -> dict:
        from fnlib.stages import dataset
        from fnlib.task_env import fail_fast_on_bad_input, s3_store

        with fail_fast_on_bad_input():
            return dataset.ingest(s3_store(), dataset.DatasetRequest.for_run(run), run["run_ids"])

    @fn_task
    def prepare(ingested: dict, run: dict | None = None) -> dict:
        from fnlib.stages import dataset
        from fnlib.task_env import fail_fast_on_bad_input, s3_store

        with fail_fast_on_bad_input():
            return dataset.prepare(s3_store(), ingested, dataset.DatasetRequest.for_run(run))

    @fn_task
    def track(prepared: dict, run: dict | None = None) -> dict:
        from fnlib.stages import dataset
        from fnlib.task_env import aws_env_for_sdk

        with aws_env_for_sdk():
            return dataset.track(prepared, dataset.DatasetRequest.for_run(run), run["run_ids"])

    @fn_task(outlets=[DATASET_ASSET], publish=("dataset_id", "manifest_uri"))
    def commit(prepared: dict, tracked: dict, run: dict | None = None) -> dict:
        from fnlib.stages import dataset
        from fnlib.task_env import s3_store

        return dataset.commit(s3_store(), prepared, dataset.DatasetRequest.for_run(run), tracked,
                              run["run_ids"])

    prepared = prepare(ingest())
    commit(prepared, track(prepared))


fn_dataset()
