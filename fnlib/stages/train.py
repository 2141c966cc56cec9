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
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict

from fnlib import __version__
from fnlib.catalog import content_id, object_key
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
from fnlib.stages.common import RefDict, Run, RunIds, StageRequest, read_split, resolve
from fnlib.storage.manifest import (
    Manifest,
    commit_manifest,
    find_manifest,
    find_manifest_or_none,
    parent_link,
)
from fnlib.storage.objects import ObjectRef, ObjectStore

log = logging.getLogger(__name__)


@dataclass
class TrainRequest(StageRequest):
    """The fn_train form / ``fn train`` flags."""

    what = "training"

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
    def run_params(cls, run: Run | Mapping[str, Any],
                   item: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Without a config or tuning id, the tuning whose Asset event triggered the run."""
        params = dict(run["params"])
        params.pop("evaluate_on", None)  # the evaluations' targets (evaluate.targets)
        if not params.get("config") and not params.get("tuning_id"):
            params["tuning_id"] = run.get("triggered_by", {}).get("tuning_id")
        return params


class Trained(TypedDict):
    """A committed model (new, or found committed under the same content id)."""

    model_id: str
    dataset_id: str
    manifest: RefDict
    manifest_uri: str
    test: dict[str, Any]
    alert: str | None
    config_id: str


class Decision(TypedDict, total=False):
    """The champion/challenger gate's decision (``champion``, the metric's score and
    ``model_id`` are absent when there was nothing to compare)."""

    promoted: bool
    reason: str
    model_id: str
    champion: dict[str, Any] | None


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


def train(store: ObjectStore, request: TrainRequest, run_ids: RunIds | None = None) -> Trained:
    """Fit, evaluate, save and commit one model. Idempotent: a committed model is reused.
    A test F1 below the request's floor is an alert (in the log; in W&B when online)."""
    trained = _train(store, request, run_ids)
    if trained["alert"]:
        log.warning("QUALITY ALERT: %s", trained["alert"])
    return trained


def _train(store: ObjectStore, request: TrainRequest, run_ids: RunIds | None) -> Trained:
    import joblib

    from fnlib.models.evaluate import evaluate, fit_final
    from fnlib.models.plots import confusion_png, curves_png
    from fnlib.models.specs import ModelConfig
    from fnlib.tracking.wandb_run import tracked_run

    dataset, dataset_ref, config_dict, parents = _inputs(store, request)
    cfg = ModelConfig.from_dict(config_dict)
    model_id = content_id("mdl", dataset.id, cfg.config_id, int(request.seed), __version__)
    committed = find_manifest_or_none(store, "model", model_id)
    if committed is not None:
        manifest, ref = committed
        log.info("model %s already committed; reusing it", model_id)
        _log_test_metrics(model_id, manifest.metrics["test"])
        return _summary(manifest, ref, request)

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
    metrics["alert"] = alert
    synthetic = bool(dataset.params.get("source") == "synthetic")
    params = {"dataset_id": dataset.id, "config": cfg.to_dict(), "config_id": cfg.config_id,
              "seed": int(request.seed), "synthetic": synthetic, "request": asdict(request)}

    with tracked_run("train", f"train-{model_id}", group=(run_ids or {}).get("run_id") or f"cli-{model_id}",
                     config={**params, "airflow": run_ids or {}}, tags=("train", cfg.model)) as run:
        run.use_artifact(dataset_ref.versioned_uri)
        for p in parents[1:]:
            run.use_artifact(p["uri"])
        run.summary({f"test/{k}": v for k, v in summary_metrics.items() if isinstance(v, int | float)})
        confusion = test_metrics["confusion"]
        run.log_image("confusion_matrix", store.get_bytes(objects["confusion_png"]))
        run.log_image("curves", store.get_bytes(objects["curves_png"]))
        run.log_table("test/confusion_table", [["real", *confusion[0]], ["fake", *confusion[1]]],
                      columns=["actual", "predicted_real", "predicted_fake"])
        if alert:
            run.alert(f"fn model {model_id} below F1 floor", alert)
        artifact = run.log_reference_artifact(
            f"fn-model-{cfg.model}", "model", [objects["model"]], names=["model.joblib"],
            metadata={"model_id": model_id, "dataset_id": dataset.id, "config": cfg.to_dict(),
                      "metrics": summary_metrics, "parents": parents},
            aliases=[model_id],
        )
        wandb_path = run.path

    manifest = Manifest(kind="model", id=model_id, objects=objects, parents=parents, params=params,
                        metrics=metrics,
                        provenance=provenance(run_ids, wandb_run=wandb_path, wandb_artifact=artifact))
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


def _summary(manifest: Manifest, ref: ObjectRef, request: TrainRequest) -> Trained:
    return {"model_id": manifest.id, "dataset_id": manifest.params["dataset_id"],
            "manifest": ref.to_dict(), "manifest_uri": ref.versioned_uri,
            "test": manifest.metrics["test"], "alert": manifest.metrics.get("alert"),
            "config_id": manifest.params["config_id"]}


def gate(store: ObjectStore, trained: Trained, metric: str = "f1", margin: float = 0.0,
         run_ids: RunIds | None = None) -> Decision:
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
