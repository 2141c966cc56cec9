"""fn_tune (chunked mapped fan-out, feature store) and fn_train (fit, save, gate) with dag.test()
on moto + W&B offline; the DAG's leaderboard equals the library path's bit for bit."""

from __future__ import annotations

import math

import pytest
import wandb_records as records

from fnlib.models.specs import ModelConfig
from fnlib.registry import current_champion, load_model
from fnlib.stages.dataset import DatasetRequest, run_all
from fnlib.storage.lineage import walk_lineage
from fnlib.storage.manifest import find_manifest

pytestmark = pytest.mark.dag

TUNE_CONF = {
    "models": ["nb", "logreg"],
    "variants": ["raw", "denoised"],
    "grid": "small",
    "folds": 3,
    "chunks": 6,  # 4 feature settings: two of them get two chunks
}


def _ok(dagrun, task_id):
    tis = [ti for ti in dagrun.get_task_instances() if ti.task_id == task_id]
    assert tis and all(ti.state == "success" for ti in tis), [(t.task_id, t.state) for t in tis]
    return tis


@pytest.fixture(scope="module")
def dataset_id(clean_bucket):
    result = run_all(
        clean_bucket, DatasetRequest(source="synthetic", n_docs=500, seed=3), track_wandb=False
    )
    return result["dataset_id"]


@pytest.fixture(scope="module")
def tune_run(dagbag, dataset_id, tmp_path_factory):
    import os

    os.environ["FN_CACHE_DIR"] = str(tmp_path_factory.mktemp("dag-feature-cache"))
    dagrun = dagbag.get_dag("fn_tune").test(run_conf={**TUNE_CONF, "dataset_id": dataset_id})
    assert dagrun.state == "success"
    return dagrun


def test_tune_fans_out_one_task_per_chunk(tune_run, fn_bucket, dataset_id):
    planned = _ok(tune_run, "plan")[0].xcom_pull(task_ids="plan")
    scores = _ok(tune_run, "score")
    features = _ok(tune_run, "featurize")
    # small grid: one config per (model, feature setting); 2 variants x 2 vectorizer settings
    assert len(planned["feature_configs"]) == 4
    assert len(planned["configs"]) == 2 * 4
    assert len(scores) == len(planned["chunks"]) == TUNE_CONF["chunks"]
    assert len(features) == 4
    assert {ti.map_index for ti in scores} == set(range(len(scores)))
    for ti in scores:  # each mapped task is named after the configurations it holds
        chunk = planned["chunks"][ti.map_index]
        assert ti.rendered_map_index == chunk["label"]
        assert all(c["label"].split(" | ")[0] in chunk["label"] for c in chunk["configs"])
    held = [c["label"] for chunk in planned["chunks"] for c in chunk["configs"]]
    assert sorted(held) == sorted(c["label"] for c in planned["configs"])
    # the fold features went to the bucket's feature store, one committed entry per setting
    entries = {k.split("/")[1] for k in fn_bucket.list_keys("features/")}
    assert len(entries) == 4
    for entry in entries:
        stored, _ = find_manifest(fn_bucket, "features", entry)
        assert stored.params["dataset_key"] == dataset_id
        assert stored.provenance["airflow"]["dag_id"] == "fn_tune"
    summary = _ok(tune_run, "reduce")[0].xcom_pull(task_ids="reduce")
    manifest, _ = find_manifest(fn_bucket, "tuning", summary["tuning_id"])
    assert manifest.params["dataset_id"] == dataset_id
    assert {"leaderboard", "leaderboard_csv"} <= set(manifest.objects)
    rows = fn_bucket.get_json(manifest.objects["leaderboard"])["rows"]
    assert len(rows) == len(planned["configs"])
    assert rows[0]["config_id"] == summary["best"]["config_id"]
    means = [r["mean_f1"] for r in rows]
    assert means == sorted(means, reverse=True)
    assert [n.manifest.kind for n in walk_lineage(fn_bucket, summary["manifest_uri"])] == [
        "tuning",
        "dataset",
        "raw",
    ]


def _dag_results(tune_run) -> list[dict]:
    return [result for ti in _ok(tune_run, "score")
            for result in ti.xcom_pull(task_ids="score", map_indexes=ti.map_index)]


def test_tune_logs_one_wandb_run_per_config_in_one_group(tune_run):
    results = _dag_results(tune_run)
    planned = tune_run.get_task_instance("plan").xcom_pull(task_ids="plan")
    assert sorted(r["config_id"] for r in results) == sorted(
        ModelConfig.from_dict(c).config_id for c in planned["configs"])
    summary = tune_run.get_task_instance("reduce").xcom_pull(task_ids="reduce")
    paths = {r["wandb_run"] for r in results}
    assert len(paths) == len(results)
    for result in results:
        run_file = records.find_run_file(result["wandb_run"])
        config = records.run_config(run_file)
        assert config["config_id"] == result["config_id"]
        history = records.history(run_file)
        assert len(history) == TUNE_CONF["folds"]
        assert records.run_summary(run_file)["mean/f1"] == pytest.approx(result["mean"]["f1"])
        assert config["model_config"] == result["config"]
    assert summary["tuning_id"]


TIMINGS = ("fit_time", "score_time")


def _scores(rows: list[dict]) -> list[dict]:
    """Leaderboard rows without the timings (wall clock differs from run to run); NaN as None
    so that equal rows compare equal."""
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v)
             for k, v in row.items() if k not in TIMINGS} for row in rows]


def test_dag_leaderboard_equals_the_library_paths_bit_for_bit(tune_run, fn_bucket, tmp_path,
                                                              monkeypatch):
    """The chunked DAG, the per-configuration stage path and the pure library (no stages, no
    store, no cache) rank the same configurations with exactly the same scores."""
    from fnlib.models import feature_store
    from fnlib.models.cv import leaderboard, score_config
    from fnlib.models.folds import build_all_fold_features, make_folds
    from fnlib.stages import tune
    from fnlib.stages.common import read_split, resolve

    planned = tune_run.get_task_instance("plan").xcom_pull(task_ids="plan")
    summary = tune_run.get_task_instance("reduce").xcom_pull(task_ids="reduce")
    manifest, _ = find_manifest(fn_bucket, "tuning", summary["tuning_id"])
    dag_rows = fn_bucket.get_json(manifest.objects["leaderboard"])["rows"]
    metric, seed, folds = "f1", 42, TUNE_CONF["folds"]

    dataset, _ = resolve(fn_bucket, "dataset", None, planned["dataset_manifest"])
    train = read_split(fn_bucket, dataset, "train")
    labels = train["label"].to_numpy()
    configs = [ModelConfig.from_dict(c) for c in planned["configs"]]
    shared = build_all_fold_features(train["text"], labels, configs,
                                     make_folds(labels, folds, seed))
    library = [score_config(c, shared[c.feature_key], metric=metric, seed=seed) for c in configs]

    # one configuration per call, on a machine with an empty local cache: the fold features
    # come from the bucket's feature store (building them is made impossible)
    monkeypatch.setenv("FN_CACHE_DIR", str(tmp_path / "another-machine"))
    monkeypatch.setattr(feature_store, "iter_fold_features", _no_build)
    per_config = [tune.score(fn_bucket, planned, c) for c in planned["configs"]]

    for results in (library, per_config):
        rows = leaderboard(results, metric=metric).to_dict(orient="records")
        assert _scores(rows) == _scores(dag_rows)


def _no_build(*args, **kwargs):
    raise AssertionError("fold features were rebuilt instead of read from the feature store")


def test_train_saves_model_and_promotes_first_champion(dagbag, tune_run, fn_bucket):
    summary = tune_run.get_task_instance("reduce").xcom_pull(task_ids="reduce")
    dagrun = dagbag.get_dag("fn_train").test(
        run_conf={"tuning_id": summary["tuning_id"], "f1_floor": 0.5}
    )
    assert dagrun.state == "success"
    trained = _ok(dagrun, "train")[0].xcom_pull(task_ids="train")
    decision = _ok(dagrun, "gate")[0].xcom_pull(task_ids="gate")
    manifest, _ = find_manifest(fn_bucket, "model", trained["model_id"])
    assert {"model", "metrics", "confusion_png", "curves_png", "card"} <= set(manifest.objects)
    assert fn_bucket.get_bytes(manifest.objects["confusion_png"]).startswith(b"\x89PNG")
    assert manifest.params["config_id"] == summary["best"]["config_id"]
    assert 0.5 < manifest.metrics["test"]["f1"] <= 1.0
    card = fn_bucket.get_bytes(manifest.objects["card"]).decode()
    assert trained["model_id"] in card and "SYNTHETIC" in card
    model = load_model(fn_bucket, manifest.objects["model"])
    assert model.predict(["a short test article about the senate budget"]).shape == (1,)
    kinds = [n.manifest.kind for n in walk_lineage(fn_bucket, trained["manifest_uri"])]
    assert kinds == ["model", "dataset", "raw", "tuning"]  # the shared dataset is listed once
    assert decision["promoted"] is True and decision["reason"] == "no champion yet"
    champion, _ = current_champion(fn_bucket)
    assert champion.model_id == trained["model_id"]
    # W&B: a model artifact referencing the exact S3 version of model.joblib
    run_file = records.find_run_file(manifest.provenance["wandb_run"])
    models = [a for a in records.logged_artifacts(run_file) if a["type"] == "model"]
    assert len(models) == 1
    art = models[0]
    entry = art["entries"][0]
    assert entry["extra"]["versionID"] == manifest.objects["model"].version_id
    # re-running trains nothing new and the same model is already the champion
    again = dagbag.get_dag("fn_train").test(
        run_conf={"tuning_id": summary["tuning_id"], "f1_floor": 0.5}
    )
    assert (
        again.get_task_instance("train").xcom_pull(task_ids="train")["model_id"]
        == trained["model_id"]
    )
    assert again.get_task_instance("gate").xcom_pull(task_ids="gate")["promoted"] is False
    assert len(fn_bucket.list_versions(manifest.objects["model"].key)) == 1


def test_train_evaluates_the_model_on_each_listed_dataset(dagbag, tune_run, fn_bucket, dataset_id):
    summary = tune_run.get_task_instance("reduce").xcom_pull(task_ids="reduce")
    other = run_all(fn_bucket, DatasetRequest(source="synthetic", n_docs=200, seed=4),
                    track_wandb=False)["dataset_id"]
    dagrun = dagbag.get_dag("fn_train").test(
        run_conf={"tuning_id": summary["tuning_id"], "f1_floor": 0.5,
                  "evaluate_on": [dataset_id, other]}
    )
    assert dagrun.state == "success"
    trained = dagrun.get_task_instance("train").xcom_pull(task_ids="train")
    tis = _ok(dagrun, "evaluate")
    assert sorted(ti.rendered_map_index for ti in tis) == sorted([dataset_id, other])
    for ti in tis:
        result = ti.xcom_pull(task_ids="evaluate", map_indexes=ti.map_index)
        manifest, _ = find_manifest(fn_bucket, "evaluation", result["evaluation_id"])
        assert manifest.params["model_id"] == trained["model_id"]
        assert {p["kind"] for p in manifest.parents} == {"model", "dataset"}
        assert manifest.provenance["airflow"]["dag_id"] == "fn_train"
        assert manifest.metrics["in_domain"] is (manifest.params["dataset_id"] == dataset_id)
        if manifest.metrics["in_domain"]:  # the same test split as training: the same F1
            assert manifest.metrics["f1"] == pytest.approx(trained["test"]["f1"])


def test_worse_challenger_is_rejected_and_recorded(dagbag, tune_run, fn_bucket, dataset_id):
    champion_before, _ = current_champion(fn_bucket)
    weak = {
        "model": "nb",
        "variant": "raw",
        "vectorizer": {"ngram_max": 1, "sublinear_tf": False, "min_df": 1, "max_features": 5},
        "params": {"alpha": 1.0},
    }
    dagrun = dagbag.get_dag("fn_train").test(
        run_conf={"dataset_id": dataset_id, "config": weak, "f1_floor": 0.0}
    )
    assert dagrun.state == "success"
    decision = dagrun.get_task_instance("gate").xcom_pull(task_ids="gate")
    assert decision["promoted"] is False
    assert current_champion(fn_bucket)[0].model_id == champion_before.model_id
    recorded = fn_bucket.get_json(fn_bucket.head(f"models/{decision['model_id']}/decision.json"))
    assert (
        recorded["promote"] is False
        and recorded["champion"]["model_id"] == champion_before.model_id
    )
