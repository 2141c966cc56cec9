"""The retraining stage, run once per retrain request.

    claim    take the oldest pending request that is not done; a conditional write of
             ``retrain-requests/claimed/<id>.json`` makes sure only one run handles it
    gate     quality-gate all feedback received so far (label set, unique ids, non-empty text,
             length and vocabulary-coverage bounds, not already training data); accepted rows
             and quarantined rows (with reasons) are written, nothing is dropped silently
    build    new dataset version = base dataset + accepted feedback. Feedback is split
             (seeded, stratified) into a train part and a holdout part; the common holdout
             (base test + feedback holdout) is the new test split, which neither the champion
             nor the challenger trains on. Lineage: parents are the base dataset and the
             feedback manifest
    challenger  the champion's config fitted on the new train split
    compare  champion vs challenger on the common holdout (``stages.train.gate``); promote only
             if better, decision recorded
    finish   ``retrain-requests/done/<id>.json`` with the outcome; the pending request is removed

With too little accepted feedback, ``build`` returns ``{"skipped": reason}`` instead of a
dataset; ``challenger`` and ``compare`` pass it on, and the outcome says why nothing was
trained. The run still succeeds: a closed request is a result, not a failure.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, TypedDict

import pandas as pd

from fnlib import catalog
from fnlib.catalog import (
    RETRAIN_PENDING,
    content_id,
    day_of_key,
    day_prefix,
    object_key,
    retrain_request_key,
)
from fnlib.data import schema
from fnlib.data.dedupe import normalised_text
from fnlib.data.prepare import read_split_csv, write_split_csv
from fnlib.data.split import split_train_test
from fnlib.errors import InputError
from fnlib.monitoring.feedback import attach_texts, gate_feedback, quarantine_summary
from fnlib.provenance import provenance
from fnlib.registry import current_champion
from fnlib.stages.common import RefDict, RunIds, StageRequest, read_split
from fnlib.stages.monitor import read_log
from fnlib.stages.train import Decision, Trained, TrainRequest, train
from fnlib.stages.train import gate as train_gate
from fnlib.storage.manifest import Manifest, commit_manifest, find_manifest, parent_link
from fnlib.storage.objects import ConcurrentUpdate, ObjectRef, ObjectStore, canonical_json

log = logging.getLogger(__name__)



@dataclass
class RetrainRequest(StageRequest):
    """The fn_retrain form: how much feedback is enough, how the challenger is trained and
    how much better it must be."""

    what = "retraining"

    min_accepted: int = 20
    holdout_fraction: float = 0.3
    promotion_margin: float = 0.0
    seed: int = 42


class Claimed(TypedDict):
    """A retrain request (as written by ``monitor.request_retrain``), claimed by this run."""

    request_id: str
    day: str
    model_id: str
    reasons: list[str]
    report: str


class Gated(TypedDict):
    feedback_id: str
    manifest: RefDict
    rows: int
    accepted: int
    quarantined: int
    quarantine_reasons: dict[str, int]
    enough: bool
    min_accepted: int
    base_dataset_id: str


class Built(TypedDict, total=False):
    """The new dataset version, or only ``skipped`` (the reason) when there is none."""

    skipped: str
    dataset_id: str
    manifest: RefDict
    base_train: int
    base_test: int
    feedback_train: int
    feedback_holdout: int
    feedback_already_known: int


class Skipped(TypedDict):
    skipped: str


def claim(store: ObjectStore, run_id: str) -> Claimed | None:
    """The oldest pending, unhandled request, claimed for ``run_id``; None if there is none.

    A request about a model that is no longer the champion is retired as superseded: the
    retrain it asked for has happened (that is how the champion changed)."""
    champion, _ = current_champion(store)
    for key in sorted(store.list_keys(RETRAIN_PENDING)):
        request = store.get_json(store.head(key))
        request_id = request["request_id"]
        if store.head(retrain_request_key("done", request_id)) is not None:
            continue
        if champion is not None and request["model_id"] != champion.model_id:
            finish(store, request, {"promoted": False, "reason": f"superseded: the champion is now "
                                    f"{champion.model_id}, not {request['model_id']}"})
            continue
        claimed_key = retrain_request_key("claimed", request_id)
        existing = store.head(claimed_key)
        if existing is not None:
            owner = store.get_json(existing).get("run_id")
            if owner == run_id:
                return request  # a retry of the run that claimed it continues
            log.info("request %s is being handled by run %s", request_id, owner)
            continue
        try:
            store.put_if_unchanged(claimed_key, canonical_json({"run_id": run_id, **request}), None)
        except ConcurrentUpdate:
            log.info("request %s was claimed by another run first", request_id)
            continue
        log.info("claimed retrain request %s (%s)", request_id, "; ".join(request["reasons"]))
        return request
    return None


def _all_days(store: ObjectStore, kind: str) -> list[str]:
    days = {day_of_key(k) for k in store.list_keys(day_prefix(kind))}
    return sorted(d for d in days if d is not None)


def gate(store: ObjectStore, request: Claimed, min_accepted: int = 20) -> Gated:
    """Quality-gate every feedback row received so far (feedback on drifted days arrives after
    the day whose report raised the request)."""
    champion, _ = current_champion(store)
    if champion is None:
        raise InputError("no champion to retrain")
    model, _ = find_manifest(store, "model", champion.model_id)
    reference = store.get_json(model.objects["reference"])
    base, _ = find_manifest(store, "dataset", champion.dataset_id)
    known_ids = pd.concat([read_split(store, base, "train")[schema.ID],
                           read_split(store, base, "test")[schema.ID]])
    feedback, parts = read_log(store, "feedback", _all_days(store, "feedback"))
    predictions, _ = read_log(store, "predictions", _all_days(store, "predictions"))
    if len(predictions):
        feedback = attach_texts(feedback, predictions)
    accepted, quarantined = gate_feedback(feedback, reference["vocabulary"]["terms"],
                                          known_ids=known_ids.tolist())
    feedback_id = content_id("fb", [p["sha256"] for p in parts], champion.model_id)
    objects = {
        "accepted": store.put_bytes(object_key("feedback", feedback_id, "accepted.csv"),
                                    write_split_csv(accepted), content_type="text/csv"),
        "quarantine": store.put_bytes(object_key("feedback", feedback_id, "quarantine.csv"),
                                      quarantined.to_csv(index=False, lineterminator="\n").encode(),
                                      content_type="text/csv"),
    }
    summary = {"rows": len(feedback), "accepted": len(accepted), "quarantined": len(quarantined),
               "quarantine_reasons": quarantine_summary(quarantined)}
    manifest = Manifest("feedback", feedback_id, objects, params={"request": request, "parts": parts},
                        metrics=summary, provenance=provenance())
    ref = commit_manifest(store, manifest)
    if len(quarantined):
        log.warning("quarantined %d feedback row(s): %s", len(quarantined), summary["quarantine_reasons"])
    return {"feedback_id": feedback_id, "manifest": ref.to_dict(), **summary,
            "enough": len(accepted) >= min_accepted, "min_accepted": min_accepted,
            "base_dataset_id": base.id}


def build(store: ObjectStore, gated: Gated, request: RetrainRequest | None = None,
          run_ids: RunIds | None = None) -> Built:
    """The new dataset version: base + accepted feedback, with a common holdout; ``skipped``
    when the gate accepted too little feedback."""
    if not gated["enough"]:
        return {"skipped": f"only {gated['accepted']} accepted feedback rows "
                           f"(< {gated['min_accepted']})"}
    request = request or RetrainRequest()
    seed, holdout_fraction = request.seed, request.holdout_fraction
    base, base_ref = find_manifest(store, "dataset", gated["base_dataset_id"])
    feedback, feedback_ref = find_manifest(store, "feedback", gated["feedback_id"])
    accepted = read_split_csv(store.get_bytes(feedback.objects["accepted"]), "accepted.csv")
    train, test = read_split(store, base, "train"), read_split(store, base, "test")
    seen = set(normalised_text(pd.concat([train[schema.TEXT], test[schema.TEXT]])))
    overlap = normalised_text(accepted[schema.TEXT]).isin(seen)
    accepted = accepted[~overlap.to_numpy()]
    fb_train, fb_holdout = split_train_test(accepted, test_size=holdout_fraction, seed=seed)
    new_train = pd.concat([train, fb_train]).sort_values(schema.ID, kind="stable")
    new_test = pd.concat([test, fb_holdout]).sort_values(schema.ID, kind="stable")
    train_bytes, test_bytes = write_split_csv(new_train), write_split_csv(new_test)
    dataset_id = catalog.dataset_id(train_bytes, test_bytes)
    objects: dict[str, ObjectRef] = {
        "train": store.put_bytes(object_key("dataset", dataset_id, "train.csv"), train_bytes,
                                 content_type="text/csv"),
        "test": store.put_bytes(object_key("dataset", dataset_id, "test.csv"), test_bytes,
                                content_type="text/csv"),
    }
    counts = {"base_train": len(train), "base_test": len(test), "feedback_train": len(fb_train),
              "feedback_holdout": len(fb_holdout), "feedback_already_known": int(overlap.sum())}
    manifest = Manifest(
        "dataset", dataset_id, objects,
        parents=[parent_link(base_ref, "dataset"), parent_link(feedback_ref, "feedback")],
        params={"source": "retrain", "base_dataset_id": base.id, "feedback_id": feedback.id,
                "seed": seed, "holdout_fraction": holdout_fraction},
        metrics={"rows": {"train": len(new_train), "test": len(new_test)}, "composition": counts},
        provenance=provenance(run_ids),
    )
    ref = commit_manifest(store, manifest)
    log.info("dataset %s = %s + feedback %s (%s)", dataset_id, base.id, feedback.id, counts)
    return {"dataset_id": dataset_id, "manifest": ref.to_dict(), **counts}


def challenger(store: ObjectStore, built: Built, request: RetrainRequest,
               run_ids: RunIds | None = None) -> Trained | Skipped:
    """Train the challenger: the champion's config on the new dataset (no F1 floor: the
    comparison with the champion decides)."""
    if built.get("skipped"):
        return {"skipped": built["skipped"]}
    champion, _ = current_champion(store)
    if champion is None:
        raise InputError("no champion to retrain")
    train_request = TrainRequest(dataset_id=built["dataset_id"], config=champion.config,
                                 seed=request.seed, f1_floor=0.0,
                                 promotion_margin=request.promotion_margin)
    return train(store, train_request, run_ids)


def compare(store: ObjectStore, trained: Trained | Skipped, request: RetrainRequest,
            run_ids: RunIds | None = None) -> Decision:
    """Champion vs challenger on the common holdout, by F1; promote only if better."""
    if "skipped" in trained:
        return {"promoted": False, "reason": trained["skipped"]}
    return train_gate(store, trained, "f1", request.promotion_margin, run_ids)


def finish(store: ObjectStore, request: Claimed, outcome: Decision | dict[str, Any],
           gated: Gated | None = None) -> dict[str, Any]:
    """Record the outcome (with the feedback gate's counts, when there was one) and retire the
    pending request (its history stays versioned)."""
    if gated is not None:
        feedback = {k: gated[k] for k in ("accepted", "quarantined", "quarantine_reasons")}
        outcome = {**outcome, "feedback": feedback}
    request_id = request["request_id"]
    ref = store.put_json(retrain_request_key("done", request_id), {"request": request, "outcome": outcome})
    store.delete(retrain_request_key("pending", request_id))
    return {"request_id": request_id, "done": ref.versioned_uri, **outcome}
