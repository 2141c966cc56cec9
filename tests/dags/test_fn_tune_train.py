"""fn_tune (mapped fan-out) and fn_train (fit, save, gate) with dag.test() on moto + W&B offline."""

from __future__ import annotations

import pytest

from fnlib.registry import current_champion, load_model
from fnlib.stages.dataset import DatasetRequest, run_all
from fnlib.storage.lineage import walk_lineage
from fnlib.storage.manifest import find_manifest
from fnlib.tracking import records

pytestmark = pytest.mark.dag

TUNE_CONF = {
    "models": ["nb", "logreg"],
    "variants": ["raw", "denoised"],
    "grid": "small",
    "folds": 3,
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
def tune_run(dagbag, dataset_id):
    dagrun = dagbag.get_dag("fn_tune").test(run_conf={**TUNE_CONF, "dataset_id": dataset_id})
    assert dagrun.state == "success"
    return dagrun


def test_tune_fans_out_one_task_per_config(tune_run, fn_bucket, dataset_id):
    planned = _ok(tune_run, "plan")[0].xcom_pull(task_ids="plan")
    scores = _ok(tune_run, "score")
    features = _ok(tune_run, "featurize")
    # small grid: one config per (model, feature setting); 2 variants x 2 vectorizer settings
    assert len(planned["feature_configs"]) == 4
    assert len(scores) == len(planned["configs"]) == 2 * 4
    assert len(features) == 4
    assert {ti.map_index for ti in scores} == set(range(len(scores)))
    assert all(ti.rendered_map_index for ti in scores), "mapped tasks need readable names"
    summary = _ok(tune_run, "reduce")[0].xcom_pull(task_ids="reduce")
    manifest, _ = find_manifest(fn_bucket, "tuning", summary["tuning_id"])
    assert manifest.params["dataset_id"] == dataset_id
    assert {"leaderboard", "leaderboard_csv"} <= set(manifest.objects)
    rows = fn_bucket.get_json(manifest.objects["leaderboard"])["rows"]
    assert len(rows) == len(scores)
    assert rows[0]["config_id"] == summary["best"]["config_id"]
    means = [r["mean_f1"] for r in rows]
    assert means == sorted(means, reverse=True)
    assert [n.manifest.kind for n in walk_lineage(fn_bucket, summary["manifest_uri"])] == [
        "tuning",
        "dataset",
        "raw",
    ]


def test_tune_logs_one_wandb_run_per_config_in_one_group(tune_run):
    results = [
        ti.xcom_pull(task_ids="score", map_indexes=ti.map_index) for ti in _ok(tune_run, "score")
    ]
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
    assert summary["tuning_id"]


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
