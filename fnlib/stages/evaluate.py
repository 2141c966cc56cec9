"""The evaluation stage: score any committed model on any committed dataset's split.

An evaluation is a first-class object: ``evaluations/<ev-id>/`` holds ``metrics.json`` (the
full :func:`fnlib.models.evaluate.evaluate` report: metrics, confusion matrix, classification
report, ROC/PR curves) and ``confusion.png``, committed by a manifest whose parents are the
model and the dataset manifests, so ``fn lineage ev-...`` walks back to both raw corpora. The
id is a content address of (model id, dataset id, split): evaluating the same model on the same
data again finds the committed evaluation and writes nothing. Metrics are logged to W&B (one
run per evaluation, inputs recorded as S3 references).

``split``: ``test`` (the dataset's held-out split) or ``all`` (train + test). ``all`` on the
model's own training dataset is in-sample and flagged as such in the metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

import pandas as pd

from fnlib import __version__
from fnlib.catalog import EVALUATION_SPLITS, content_id, object_key
from fnlib.data import schema
from fnlib.errors import InputError
from fnlib.provenance import provenance
from fnlib.registry import current_champion, load_model
from fnlib.stages.common import RefDict, Run, RunIds, StageRequest, read_split
from fnlib.storage.manifest import (
    Manifest,
    commit_manifest,
    find_manifest,
    find_manifest_or_none,
    parent_link,
)
from fnlib.storage.objects import ObjectRef, ObjectStore

log = logging.getLogger(__name__)

SUMMARY_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "n")


@dataclass
class EvaluateRequest(StageRequest):
    """One model on one dataset split (``fn evaluate``; fn_train's mapped ``evaluate``)."""

    what = "evaluation"

    model: str = "champion"
    dataset_id: str | None = None
    split: str = "test"

    def __post_init__(self) -> None:
        if self.split not in EVALUATION_SPLITS:
            raise InputError(f"split must be one of {list(EVALUATION_SPLITS)}, got {self.split!r}")
        if not self.dataset_id:
            raise InputError("no dataset given: pass a dataset id (ds-...) to evaluate on")
        if not (self.model == "champion" or str(self.model).startswith("mdl-")):
            raise InputError(f"model must be a model id (mdl-...) or 'champion', got {self.model!r}")

    @classmethod
    def run_params(cls, run: Run | Mapping[str, Any],
                   item: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """From the mapped task's target (:func:`targets`), not the run's (training) params."""
        return {k: v for k, v in (item or {}).items() if k != "label"}


class Target(TypedDict):
    """One mapped evaluation: a model on a dataset; ``label`` names the task instance."""

    model: str
    dataset_id: str
    label: str


class Evaluation(TypedDict):
    evaluation_id: str
    model_id: str
    dataset_id: str
    split: str
    trained_on: str | None
    metrics: dict[str, Any]
    manifest: RefDict
    manifest_uri: str


def targets(trained: Mapping[str, Any], params: Mapping[str, Any] | None) -> list[Target]:
    """The evaluations a training run asks for: the new model on each dataset of the run's
    ``evaluate_on`` param."""
    return [{"model": trained["model_id"], "dataset_id": dataset_id, "label": dataset_id}
            for dataset_id in (params or {}).get("evaluate_on") or []]


def resolve_model(store: ObjectStore, model: str) -> tuple[Manifest, ObjectRef]:
    """A model manifest by id, or the current champion's."""
    if model == "champion":
        champion, _ = current_champion(store)
        if champion is None:
            raise InputError("no champion model: train and promote one first, or give mdl-...")
        model = champion.model_id
    return find_manifest(store, "model", model)


def evaluation_id(model_id: str, dataset_id: str, split: str) -> str:
    return content_id("ev", model_id, dataset_id, split)


def _frame(store: ObjectStore, dataset: Manifest, split: str) -> pd.DataFrame:
    if split == "test":
        return read_split(store, dataset, "test")
    return pd.concat([read_split(store, dataset, "train"), read_split(store, dataset, "test")],
                     ignore_index=True)


def evaluate_model(store: ObjectStore, request: EvaluateRequest, run_ids: RunIds | None = None,
                   track: bool = True) -> Evaluation:
    """Evaluate one model on one dataset split; idempotent (see the module docstring)."""
    model_manifest, model_ref = resolve_model(store, request.model)
    dataset, dataset_ref = find_manifest(store, "dataset", str(request.dataset_id))
    ev_id = evaluation_id(model_manifest.id, dataset.id, request.split)
    committed = find_manifest_or_none(store, "evaluation", ev_id)
    if committed is not None:
        log.info("evaluation %s already committed; reusing it", ev_id)
        return summary(*committed)

    from fnlib.models.evaluate import evaluate
    from fnlib.models.plots import confusion_png

    frame = _frame(store, dataset, request.split)
    model = load_model(store, model_manifest.objects["model"])
    report = evaluate(model, frame[schema.TEXT], frame[schema.LABEL].to_numpy())
    trained_on = model_manifest.params.get("dataset_id")
    in_domain = trained_on == dataset.id
    report["in_sample"] = in_domain and request.split == "all"
    objects = {
        "metrics": store.put_json(object_key("evaluation", ev_id, "metrics.json"), report),
        "confusion_png": store.put_bytes(
            object_key("evaluation", ev_id, "confusion.png"),
            confusion_png(report["confusion"], f"{model_manifest.id} on {dataset.id}"),
            content_type="image/png"),
    }
    metrics = {k: report.get(k) for k in SUMMARY_METRICS}
    metrics.update(confusion=report["confusion"], in_domain=in_domain, in_sample=report["in_sample"])
    params = {"model_id": model_manifest.id, "dataset_id": dataset.id, "split": request.split,
              "trained_on": trained_on, "config": model_manifest.params.get("config"),
              "synthetic": bool(dataset.params.get("source") == "synthetic"
                                or model_manifest.params.get("synthetic"))}
    parents = [parent_link(model_ref, "model"), parent_link(dataset_ref, "dataset")]
    wandb_path = None
    if track:
        wandb_path = _track(ev_id, params, metrics, parents, run_ids)
    manifest = Manifest(kind="evaluation", id=ev_id, objects=objects, parents=parents,
                        params=params, metrics=metrics,
                        provenance=provenance(run_ids, wandb_run=wandb_path))
    ref = commit_manifest(store, manifest)
    log.info("evaluation %s: %s on %s/%s accuracy %.4f F1 %.4f", ev_id, model_manifest.id,
             dataset.id, request.split, metrics["accuracy"], metrics["f1"])
    return summary(manifest, ref)


def _track(ev_id: str, params: dict[str, Any], metrics: dict[str, Any], parents: list[dict],
           run_ids: RunIds | None) -> str:
    from fnlib.tracking.wandb_run import tracked_run

    group = (run_ids or {}).get("run_id") or f"cli-{ev_id}"
    with tracked_run("evaluate", f"evaluate-{ev_id}", group=group,
                     config={**params, "evaluation_id": ev_id, "fnlib": __version__,
                             "airflow": run_ids or {}},
                     tags=("evaluate",)) as run:
        for parent in parents:
            run.use_artifact(parent["uri"])
        run.summary({f"eval/{k}": v for k, v in metrics.items()
                     if isinstance(v, int | float) and not isinstance(v, bool)})
        return run.path


def summary(manifest: Manifest, ref: ObjectRef) -> Evaluation:
    return {"evaluation_id": manifest.id, "model_id": manifest.params["model_id"],
            "dataset_id": manifest.params["dataset_id"], "split": manifest.params["split"],
            "trained_on": manifest.params.get("trained_on"),
            "metrics": manifest.metrics, "manifest": ref.to_dict(),
            "manifest_uri": ref.versioned_uri}
