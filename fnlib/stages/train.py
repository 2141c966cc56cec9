"""The training stage: fit the chosen config on the full train split, evaluate, save, gate.

    train  fit one Pipeline (text variant -> vectorizer -> classifier) on the whole train
           split, evaluate on the test split (metrics, report, confusion matrix, ROC/PR
           curves, PNG plots), save it with joblib (version id + sha256), write a model card,
           log a W&B model artifact referencing the S3 object, commit the model manifest
    gate   champion/challenger: promote only if the new model beats the champion on the same
           test data by a margin (or there is no champion); record the decision either way
"""

from __future__ import annotations

import io
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from fnlib import __version__
from fnlib.data import schema
from fnlib.errors import InputError
from fnlib.provenance import provenance
from fnlib.registry import (
    GateDecision,
    champion_from_manifest,
    current_champion,
    decide,
    load_model,
    record_decision,
    set_champion,
)
from fnlib.stages.common import content_id, read_split, request_from_params, resolve
from fnlib.storage.manifest import Manifest, commit_manifest, find_manifest, object_key, parent_link
from fnlib.storage.objects import ObjectRef, ObjectStore

log = logging.getLogger(__name__)


@dataclass
class TrainRequest:
    tuning_id: str | None = None
    dataset_id: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    seed: int = 42
    f1_floor: float = 0.6
    promotion_margin: float = 0.0
    metric: str = "f1"

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.f1_floor) <= 1.0:
            raise InputError(f"f1_floor must be between 0 and 1, got {self.f1_floor}")
        if float(self.promotion_margin) < 0:
            raise InputError(f"promotion_margin must be >= 0, got {self.promotion_margin}")

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> TrainRequest:
        return request_from_params(cls, params, "training")

    @classmethod
    def for_run(cls, run: dict[str, Any]) -> TrainRequest:
        """From a DAG run: its params; without a config or tuning id, the tuning whose Asset
        event triggered the run."""
        params = dict(run["params"])
        params.pop("evaluate_on", None)  # the DAG's evaluate task reads it, not training
        if not params.get("config") and not params.get("tuning_id"):
            params["tuning_id"] = run.get("triggered_by", {}).get("tuning_id")
        return cls.from_params(params)


def _inputs(store: ObjectStore, request: TrainRequest) -> tuple[Manifest, ObjectRef, dict, list]:
    """Dataset manifest, its ref, the model config and the parent links to record."""
    parents = []
    if request.config:
        dataset, dataset_ref = resolve(store, "dataset", request.dataset_id)
        config = request.config
    else:
        tuning, tuning_ref = resolve(store, "tuning", request.tuning_id)
        dataset, dataset_ref = find_manifest(store, "dataset", tuning.params["dataset_id"])
        config = tuning.metrics["best"]["config"]
        parents.append(parent_link(tuning_ref, "tuning"))
    parents.insert(0, parent_link(dataset_ref, "dataset"))
    return dataset, dataset_ref, config, parents


def _model_card(manifest: Manifest, metrics: dict[str, Any], config_label: str,
                explanation: str = "") -> str:
    test = metrics["test"]
    rows = "\n".join(f"| {k} | {test[k]:.4f} |" for k in ("accuracy", "precision", "recall", "f1", "roc_auc")
                     if test.get(k) is not None)
    objects = "\n".join(f"- {name}: `{ref.versioned_uri}` (sha256 `{ref.sha256[:16]}`)"
                        for name, ref in sorted(manifest.objects.items()))
    parents = "\n".join(f"- {p['kind']}: `{p['uri']}`" for p in manifest.parents)
    synthetic = "\n> **Trained on SYNTHETIC data**: scores say nothing about real news.\n" \
        if manifest.params.get("synthetic") else ""
    return f"""# Model card: {manifest.id}
{synthetic}
**Config**: {config_label}
**Dataset**: {manifest.params['dataset_id']} (train {metrics['n_train']} rows, test {test['n']} rows)
**Code**: fnlib {__version__}, git {manifest.provenance.get('git_sha')}
**Made by**: {(manifest.provenance.get('airflow') or {}).get('dag_id', 'cli')} / {(manifest.provenance.get('airflow') or {}).get('run_id', '')}

## Test metrics (fake = positive class)

| metric | value |
|---|---|
{rows}

Confusion matrix [[tn, fp], [fn, tp]]: {test['confusion']}

![confusion matrix](confusion.png)
![ROC and PR curves](curves.png)

{explanation}

## Objects
{objects}

## Lineage (parents)
{parents}

## Parameters
```
{manifest.params['config']}
```
"""


def train(store: ObjectStore, request: TrainRequest, airflow: dict | None = None) -> dict[str, Any]:
    """Fit, evaluate, save and commit one model. Idempotent: a committed model is reused."""
    import joblib

    from fnlib.models.config import ModelConfig
    from fnlib.models.evaluate import evaluate, fit_final
    from fnlib.models.plots import confusion_png, curves_png
    from fnlib.tracking.wandb_run import tracked_run

    dataset, dataset_ref, config_dict, parents = _inputs(store, request)
    cfg = ModelConfig.from_dict(config_dict)
    model_id = content_id("mdl", dataset.id, cfg.config_id, int(request.seed), __version__)
    try:
        manifest, ref = find_manifest(store, "model", model_id)
        log.info("model %s already committed; reusing it", model_id)
        _log_test_metrics(model_id, manifest.metrics["test"])
        return _summary(manifest, ref, request)
    except InputError:
        pass

    train_df = read_split(store, dataset, "train")
    test_df = read_split(store, dataset, "test")
    log.info("fitting %s on %d documents", cfg.label, len(train_df))
    pipeline = fit_final(cfg, train_df, seed=int(request.seed))
    test_metrics = evaluate(pipeline, test_df[schema.TEXT], test_df[schema.LABEL].to_numpy())
    from fnlib.monitoring.reference import build_reference, score_texts

    test_predictions, test_scores = score_texts(pipeline, test_df[schema.TEXT].tolist())
    reference = build_reference(train_df[schema.TEXT].tolist(), test_df[schema.TEXT].tolist(),
                                test_scores, pipeline, test_predictions=test_predictions)
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer, compress=3)
    objects = {
        "model": store.put_bytes(object_key("model", model_id, "model.joblib"), buffer.getvalue()),
        "metrics": store.put_json(object_key("model", model_id, "metrics.json"), test_metrics),
        "reference": store.put_json(object_key("model", model_id, "reference.json"), reference),
        "confusion_png": store.put_bytes(object_key("model", model_id, "confusion.png"),
                                         confusion_png(test_metrics["confusion"]), content_type="image/png"),
        "curves_png": store.put_bytes(object_key("model", model_id, "curves.png"),
                                      curves_png(test_metrics["curves"]), content_type="image/png"),
    }
    summary_metrics = {k: test_metrics.get(k) for k in ("accuracy", "precision", "recall", "f1", "roc_auc", "n")}
    summary_metrics["confusion"] = test_metrics["confusion"]
    metrics = {"test": summary_metrics, "n_train": len(train_df)}
    _log_test_metrics(model_id, summary_metrics)
    alert = None
    if test_metrics["f1"] < float(request.f1_floor):
        alert = f"test F1 {test_metrics['f1']:.4f} is below the floor {request.f1_floor}"
        log.warning("model %s: %s", model_id, alert)
    metrics["alert"] = alert
    synthetic = bool(dataset.params.get("source") == "synthetic")
    params = {"dataset_id": dataset.id, "config": cfg.to_dict(), "config_id": cfg.config_id,
              "seed": int(request.seed), "synthetic": synthetic, "request": asdict(request)}

    with tracked_run("train", f"train-{model_id}", group=(airflow or {}).get("run_id") or f"cli-{model_id}",
                     config={**params, "airflow": airflow or {}}, tags=("train", cfg.model)) as run:
        import wandb

        run.use_artifact(dataset_ref.versioned_uri)
        for p in parents[1:]:
            run.use_artifact(p["uri"])
        run.summary({f"test/{k}": v for k, v in summary_metrics.items() if isinstance(v, int | float)})
        confusion = test_metrics["confusion"]
        run.run.log({
            "confusion_matrix": _png_image(store, objects["confusion_png"]),
            "curves": _png_image(store, objects["curves_png"]),
            "test/confusion_table": wandb.Table(columns=["actual", "predicted_real", "predicted_fake"],
                                                data=[["real", *confusion[0]], ["fake", *confusion[1]]]),
        })
        if alert and run.mode == "online":
            run.run.alert(title=f"fn model {model_id} below F1 floor", text=alert)
        artifact = run.log_reference_artifact(
            f"fn-model-{cfg.model}", "model", [objects["model"]], names=["model.joblib"],
            metadata={"model_id": model_id, "dataset_id": dataset.id, "config": cfg.to_dict(),
                      "metrics": summary_metrics, "parents": parents},
            aliases=[model_id],
        )
        wandb_path = run.path

    manifest = Manifest(kind="model", id=model_id, objects=objects, parents=parents, params=params,
                        metrics=metrics,
                        provenance=provenance(airflow, wandb_run=wandb_path, wandb_artifact=artifact))
    from fnlib.models.card import explanation_section

    card = _model_card(manifest, metrics, cfg.label, explanation_section(pipeline))
    manifest.objects["card"] = store.put_bytes(object_key("model", model_id, "card.md"), card.encode(),
                                               content_type="text/markdown")
    ref = commit_manifest(store, manifest)
    return _summary(manifest, ref, request)


def _log_test_metrics(model_id: str, metrics: dict[str, Any]) -> None:
    """The test metrics, one per line, where a person reads them: the task log."""
    log.info("model %s: test metrics on %s held-out articles", model_id, metrics.get("n"))
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        if metrics.get(name) is not None:
            log.info("  test %-9s = %.4f", name, metrics[name])
    (tn, fp), (fn, tp) = metrics["confusion"]
    log.info("  confusion: real->real %d, real->fake %d, fake->real %d, fake->fake %d",
             tn, fp, fn, tp)


def _png_image(store: ObjectStore, ref: ObjectRef) -> Any:
    import wandb
    from PIL import Image

    return wandb.Image(Image.open(io.BytesIO(store.get_bytes(ref))))


def _summary(manifest: Manifest, ref: ObjectRef, request: TrainRequest) -> dict[str, Any]:
    return {"model_id": manifest.id, "dataset_id": manifest.params["dataset_id"],
            "manifest": ref.to_dict(), "manifest_uri": ref.versioned_uri,
            "test": manifest.metrics["test"], "alert": manifest.metrics.get("alert"),
            "config_id": manifest.params["config_id"]}


def gate(store: ObjectStore, trained: dict[str, Any], metric: str = "f1", margin: float = 0.0,
         airflow: dict | None = None) -> dict[str, Any]:
    """Champion/challenger on the challenger's test data; record the decision either way."""
    challenger, challenger_ref = resolve(store, "model", None, trained["manifest"])
    score = challenger.metrics["test"].get(metric)
    if score is None:
        raise InputError(f"model {challenger.id} has no test {metric!r} to compare")
    champion, champion_ref = current_champion(store)
    if champion is not None and champion.model_id == challenger.id:
        return {"promoted": False, "reason": "already the champion", "model_id": challenger.id}
    champion_score = None
    champion_info = None
    if champion is not None:
        if champion.dataset_id == challenger.params["dataset_id"]:
            champion_score = champion.metrics.get(metric)
        else:
            from fnlib.models.evaluate import evaluate

            dataset, _ = find_manifest(store, "dataset", challenger.params["dataset_id"])
            test_df = read_split(store, dataset, "test")
            model = load_model(store, champion.model)
            champion_score = evaluate(model, test_df[schema.TEXT], test_df[schema.LABEL].to_numpy())[metric]
        champion_info = {"model_id": champion.model_id, metric: champion_score}
    promote, reason = decide(metric, float(score), champion_score, float(margin))
    if promote and challenger.metrics.get("alert"):
        promote, reason = False, f"not promoted: {challenger.metrics['alert']}"
    decision = GateDecision(promote=promote, reason=reason, metric=metric,
                            margin=float(margin),
                            challenger={"model_id": challenger.id, metric: score,
                                        "dataset_id": challenger.params["dataset_id"]},
                            champion=champion_info)
    record_decision(store, challenger.id, decision)
    if promote:
        set_champion(store, champion_from_manifest(challenger, challenger_ref, reason, champion),
                     champion_ref)
    log.info("gate for %s: %s (%s)", challenger.id, "PROMOTED" if promote else "kept champion", reason)
    return {"promoted": promote, "reason": reason, "model_id": challenger.id,
            "champion": champion_info, metric: score}
