"""Cross-domain transfer: train on each dataset, test on every dataset, one square table.

For each dataset: the tuning grid is run (or its committed tuning reused: tuning ids are
content addresses) and the best configuration is trained with the training stage (no
promotion gate: transfer models are for measurement). Then every model is evaluated on every
dataset's test split with the evaluation stage, so each cell is an evaluation object with its
own manifest. The table (rows: trained on, columns: tested on; F1 and accuracy) is written to
``transfers/<tr-id>/`` as ``table.csv`` and ``heatmap.png``, logged to W&B as a table, and
added to the model card of every model involved (a new version of its ``card.md``). The
transfer manifest's parents are the evaluations; its objects include the card versions.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from fnlib.catalog import content_id, object_key
from fnlib.errors import InputError
from fnlib.provenance import provenance
from fnlib.stages.common import RunIds
from fnlib.stages.tune import TuneGrid, TuneRequest
from fnlib.storage.manifest import (
    Manifest,
    commit_manifest,
    find_manifest,
    find_manifest_or_none,
    parent_link,
)
from fnlib.storage.objects import ObjectRef, ObjectStore

log = logging.getLogger(__name__)

COLUMNS = ("trained_on", "tested_on", "model_id", "f1", "accuracy", "precision", "recall",
           "roc_auc", "n", "in_domain", "evaluation_id")


@dataclass
class TransferRequest(TuneGrid):
    """The datasets of the table (and optional display names), tuned with one grid."""

    what = "transfer"

    datasets: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.datasets = list(dict.fromkeys(self.datasets))
        if len(self.datasets) < 2:
            raise InputError("a transfer table needs at least two datasets (ds-a,ds-b,...)")
        unknown = sorted(set(self.names) - set(self.datasets))
        if unknown:
            raise InputError(f"names given for datasets not in the table: {unknown}")
        labels = [self.label(d) for d in self.datasets]
        if len(set(labels)) != len(labels):
            raise InputError(f"dataset names must be distinct, got {labels}")

    def label(self, dataset_id: str) -> str:
        return self.names.get(dataset_id) or dataset_id

    def tune_request(self, dataset_id: str) -> TuneRequest:
        return TuneRequest(dataset_id=dataset_id, **self.grid_fields())


def ensure_tuned(store: ObjectStore, request: TuneRequest) -> str:
    """The tuning id of a ``TuneRequest``: committed already (ids are content addresses), or
    run here in-process, as ``fn tune`` runs it."""
    from fnlib.stages import tune

    planned = tune.plan(store, request)
    if find_manifest_or_none(store, "tuning", planned["tuning_id"]) is not None:
        log.info("dataset %s: reusing tuning %s", planned["dataset_id"], planned["tuning_id"])
        return planned["tuning_id"]
    for cfg in planned["feature_configs"]:
        tune.featurize(store, planned, cfg)
    results = [r for chunk in planned["chunks"] for r in tune.score_chunk(store, planned, chunk)]
    return tune.reduce(store, planned, results)["tuning_id"]


def transfer(store: ObjectStore, request: TransferRequest,
             run_ids: RunIds | None = None) -> dict[str, Any]:
    """Tune, train and cross-evaluate (see the module docstring). Idempotent per input."""
    from fnlib.stages import train
    from fnlib.stages.evaluate import EvaluateRequest, evaluate_model

    for dataset_id in request.datasets:  # fail before any work on a typo
        find_manifest(store, "dataset", dataset_id)
    models: dict[str, str] = {}
    for dataset_id in request.datasets:
        tuning_id = ensure_tuned(store, request.tune_request(dataset_id))
        trained = train.train(store, train.TrainRequest(tuning_id=tuning_id, seed=request.seed,
                                                        f1_floor=0.0), run_ids)
        models[dataset_id] = trained["model_id"]
        log.info("transfer: %s trained on %s", trained["model_id"], dataset_id)
    evaluations = []
    for model_id in models.values():
        for tested_on in request.datasets:
            evaluations.append(evaluate_model(store, EvaluateRequest(
                model=model_id, dataset_id=tested_on, split="test"), run_ids))
    rows = [{"trained_on": request.label(e["trained_on"]), "tested_on": request.label(e["dataset_id"]),
             "model_id": e["model_id"], **{k: e["metrics"].get(k) for k in COLUMNS[3:9]},
             "in_domain": e["metrics"]["in_domain"], "evaluation_id": e["evaluation_id"]}
            for e in evaluations]
    transfer_id = content_id("tr", [(e["model_id"], e["dataset_id"]) for e in evaluations],
                             request.names)
    committed = find_manifest_or_none(store, "transfer", transfer_id)
    if committed is not None:
        log.info("transfer %s already committed; reusing it", transfer_id)
        return summary(*committed)
    return _commit(store, transfer_id, request, rows, evaluations, run_ids)


def _commit(store: ObjectStore, transfer_id: str, request: TransferRequest, rows: list[dict],
            evaluations: list[dict], run_ids: RunIds | None) -> dict[str, Any]:
    from fnlib.models.card import transfer_section, with_section
    from fnlib.models.plots import transfer_png

    table = pd.DataFrame(rows, columns=list(COLUMNS))
    labels = [request.label(d) for d in request.datasets]
    cells = {(r["trained_on"], r["tested_on"]): r for r in rows}
    panels = {metric: [[cells[(t, s)][metric] for s in labels] for t in labels]
              for metric in ("f1", "accuracy")}
    objects = {
        "table": store.put_bytes(object_key("transfer", transfer_id, "table.csv"),
                                 table.to_csv(index=False, lineterminator="\n").encode(),
                                 content_type="text/csv"),
        "heatmap": store.put_bytes(object_key("transfer", transfer_id, "heatmap.png"),
                                   transfer_png(labels, labels, panels, f"transfer {transfer_id}"),
                                   content_type="image/png"),
    }
    for model_id in sorted({r["model_id"] for r in rows}):
        key = object_key("model", model_id, "card.md")
        current = store.head(key)
        if current is None:
            raise InputError(f"model {model_id} has no card.md: was it trained by fnlib?")
        card = with_section(store.get_bytes(current).decode(), transfer_id,
                            transfer_section(transfer_id, model_id, rows))
        objects[f"card-{model_id}"] = store.put_bytes(key, card.encode(), content_type="text/markdown")
    wandb_path = _track(transfer_id, table, store, objects["heatmap"], request, run_ids)
    parents = [parent_link(ObjectRef.from_dict(e["manifest"]), "evaluation") for e in evaluations]
    manifest = Manifest(kind="transfer", id=transfer_id, objects=objects, parents=parents,
                        params={"request": asdict(request), "datasets": request.datasets,
                                "labels": labels},
                        metrics={"rows": rows}, provenance=provenance(run_ids, wandb_run=wandb_path))
    ref = commit_manifest(store, manifest)
    return summary(manifest, ref)


def _track(transfer_id: str, table: pd.DataFrame, store: ObjectStore, heatmap: ObjectRef,
           request: TransferRequest, run_ids: RunIds | None) -> str:
    from fnlib.tracking.wandb_run import tracked_run

    with tracked_run("transfer", f"transfer-{transfer_id}",
                     group=(run_ids or {}).get("run_id") or f"cli-{transfer_id}",
                     config={"transfer_id": transfer_id, "request": asdict(request),
                             "airflow": run_ids or {}}, tags=("transfer",)) as run:
        run.log_table("transfer_table", table.astype(str))
        run.log_image("transfer_heatmap", store.get_bytes(heatmap))
        return run.path


def summary(manifest: Manifest, ref: ObjectRef) -> dict[str, Any]:
    return {"transfer_id": manifest.id, "rows": manifest.metrics["rows"],
            "labels": manifest.params["labels"], "manifest": ref.to_dict(),
            "manifest_uri": ref.versioned_uri,
            "objects": {k: v.versioned_uri for k, v in manifest.objects.items()}}


def format_table(result: dict[str, Any], metric: str = "f1") -> str:
    """The square table of one metric as text (rows: trained on, columns: tested on)."""
    frame = pd.DataFrame(result["rows"]).pivot(index="trained_on", columns="tested_on", values=metric)
    labels = result["labels"]
    return frame.reindex(index=labels, columns=labels).to_string(float_format=lambda v: f"{v:.3f}")
