"""Evaluations and transfer tables on a real S3 endpoint (moto) with W&B offline: the
evaluation manifest's lineage, idempotency, the transfer table's files, W&B table and cards,
and the per-prediction reasons batch scoring writes to the prediction log.
SYNTHETIC data (two generator seeds stand in for two domains)."""

from __future__ import annotations

import io
import uuid

import pandas as pd
import pytest
import wandb_records as records

from fnlib.errors import InputError
from fnlib.stages import train
from fnlib.stages.common import read_split
from fnlib.stages.dataset import DatasetRequest, run_all
from fnlib.stages.evaluate import EvaluateRequest, evaluate_model, evaluation_id
from fnlib.stages.transfer import TransferRequest, transfer
from fnlib.storage import ObjectStore
from fnlib.storage.lineage import walk_lineage
from fnlib.storage.manifest import find_manifest
from fnlib.storage.objects import ChecksumMismatch


@pytest.fixture(scope="module")
def world(moto_endpoint):
    """One bucket with two synthetic datasets and an NB model trained on the first."""
    from fnlib.storage.client import make_s3_client

    store = ObjectStore(make_s3_client(moto_endpoint, "us-east-1"), f"fn-ev-{uuid.uuid4().hex[:10]}")
    store.ensure_bucket(create=True)
    datasets = [run_all(store, DatasetRequest(source="synthetic", n_docs=240, seed=seed),
                        track_wandb=False)["dataset_id"] for seed in (1, 2)]
    trained = train.train(store, train.TrainRequest(dataset_id=datasets[0], config={"model": "nb"},
                                                    f1_floor=0.0))
    return store, datasets, trained


def test_evaluation_is_an_object_with_lineage_to_model_and_dataset(world):
    store, (ds_a, ds_b), trained = world
    result = evaluate_model(store, EvaluateRequest(model=trained["model_id"], dataset_id=ds_b))
    assert result["evaluation_id"] == evaluation_id(trained["model_id"], ds_b, "test")
    manifest, ref = find_manifest(store, "evaluation", result["evaluation_id"])
    assert {p["kind"] for p in manifest.parents} == {"model", "dataset"}
    assert manifest.metrics["in_domain"] is False and 0 <= manifest.metrics["f1"] <= 1
    report = store.get_json(manifest.objects["metrics"])
    assert report["n"] == manifest.metrics["n"] and report["confusion"] == manifest.metrics["confusion"]
    nodes = walk_lineage(store, ref.versioned_uri)
    found = {(n.manifest.kind, n.manifest.id) for n in nodes}
    assert ("model", trained["model_id"]) in found and ("dataset", ds_b) in found
    assert ("dataset", ds_a) in found  # through the model
    assert sum(1 for kind, _ in found if kind == "raw") == 2
    # logged to W&B: the metrics in the summary, both inputs in the config
    run_dir = manifest.provenance["wandb_run"]
    summary = records.run_summary(run_dir)
    assert summary["eval/f1"] == pytest.approx(manifest.metrics["f1"])
    assert {p["uri"] for p in manifest.parents} <= set(records.run_config(run_dir)["inputs"])
    # the same request again finds the committed evaluation: no new object versions
    versions = len(store.list_versions(manifest.objects["metrics"].key))
    again = evaluate_model(store, EvaluateRequest(model=trained["model_id"], dataset_id=ds_b))
    assert again["manifest_uri"] == result["manifest_uri"]
    assert len(store.list_versions(manifest.objects["metrics"].key)) == versions


def test_lineage_detects_a_modified_parent(world):
    store, (ds_a, _), trained = world
    result = evaluate_model(store, EvaluateRequest(model=trained["model_id"], dataset_id=ds_a,
                                                   split="all"), track=False)
    assert result["metrics"]["in_domain"] and result["metrics"]["in_sample"]
    manifest, _ = find_manifest(store, "evaluation", result["evaluation_id"])
    dataset, _ = find_manifest(store, "dataset", ds_a)
    assert result["metrics"]["n"] == sum(len(read_split(store, dataset, s)) for s in ("train", "test"))
    # an evaluation record whose model parent does not hash to what it names is refused
    manifest.parents = [dict(p, sha256="0" * 64) if p["kind"] == "model" else p
                        for p in manifest.parents]
    forged = store.put_json(f"evaluations/{manifest.id}/forged.json", manifest.to_dict())
    with pytest.raises(ChecksumMismatch):
        walk_lineage(store, forged.versioned_uri)


def test_evaluate_refuses_bad_requests(world):
    store, (ds_a, _), _ = world
    with pytest.raises(InputError, match="split must be one of"):
        EvaluateRequest(model="champion", dataset_id=ds_a, split="valid")
    with pytest.raises(InputError, match="mdl-"):
        EvaluateRequest(model="ds-123", dataset_id=ds_a)
    with pytest.raises(InputError, match="no model with id"):
        evaluate_model(store, EvaluateRequest(model="mdl-0000000000000000", dataset_id=ds_a))


def test_transfer_table_csv_heatmap_wandb_and_cards(world):
    store, (ds_a, ds_b), _ = world
    request = TransferRequest(datasets=[ds_a, ds_b], names={ds_a: "seed1", ds_b: "seed2"},
                              models=["nb"], variants=["raw"], grid="small", folds=2)
    result = transfer(store, request)
    rows = pd.read_csv(io.BytesIO(store.get_bytes(
        find_manifest(store, "transfer", result["transfer_id"])[0].objects["table"])))
    assert len(rows) == 4
    assert set(zip(rows["trained_on"], rows["tested_on"], strict=True)) == {
        (a, b) for a in ("seed1", "seed2") for b in ("seed1", "seed2")}
    assert (rows["in_domain"] == (rows["trained_on"] == rows["tested_on"])).all()
    manifest, ref = find_manifest(store, "transfer", result["transfer_id"])
    assert store.get_bytes(manifest.objects["heatmap"])[:8] == b"\x89PNG\r\n\x1a\n"
    # every cell is an evaluation object; the lineage reaches both datasets through them
    assert sorted(p["kind"] for p in manifest.parents) == ["evaluation"] * 4
    kinds = {n.manifest.kind for n in walk_lineage(store, ref.versioned_uri)}
    assert {"evaluation", "model", "dataset", "tuning", "raw"} <= kinds
    # in-domain cells equal the model's own test metrics
    for row in rows[rows["in_domain"]].itertuples():
        model, _ = find_manifest(store, "model", row.model_id)
        assert row.f1 == pytest.approx(model.metrics["test"]["f1"])
    # the model cards show the table (a new card version, recorded in the transfer manifest)
    for model_id in set(rows["model_id"]):
        card = store.get_bytes(manifest.objects[f"card-{model_id}"]).decode()
        assert f"## Cross-domain transfer ({result['transfer_id']})" in card
        assert "(this model)" in card and "## Why a text is flagged" in card
    table = next(r["transfer_table"] for r in records.history(manifest.provenance["wandb_run"])
                 if "transfer_table" in r)
    assert table["_type"] == "table-file" and table["nrows"] == 4
    # re-running finds everything committed: same manifest, the card gets no second section
    again = transfer(store, request)
    assert again["manifest_uri"] == result["manifest_uri"]
    card = store.get_bytes(store.head(manifest.objects[f"card-{rows['model_id'][0]}"].key)).decode()
    assert card.count("## Cross-domain transfer") == 1


def test_batch_scoring_logs_each_predictions_top_terms(world):
    from fnlib.catalog import incoming_key
    from fnlib.models.explain import explain_texts, format_terms, parse_terms
    from fnlib.monitoring.logs import PREDICTION_COLUMNS, TOP_TERMS, read_log_csv
    from fnlib.registry import load_model, promote
    from fnlib.stages.score import score_incoming

    store, (_, ds_b), trained = world
    promote(store, trained["model_id"], "scoring test")
    dataset, _ = find_manifest(store, "dataset", ds_b)
    texts = read_split(store, dataset, "test")["text"].tolist()[:25]
    frame = pd.DataFrame({"id": [f"a{i}" for i in range(len(texts))], "text": texts})
    store.put_bytes(incoming_key("2026-11-02", "batch"), frame.to_csv(index=False).encode())
    summary = score_incoming(store, days=["2026-11-02"])
    assert summary["scored"] == len(texts)
    part = store.list_keys("predictions/day=2026-11-02/")[0]
    log = read_log_csv(store.get_bytes(store.head(part)), "predictions", part)
    model = load_model(store, find_manifest(store, "model", trained["model_id"])[0].objects["model"])
    expected = [format_terms(e.terms) for e in explain_texts(model, texts, k=3)]
    assert log[TOP_TERMS].tolist() == expected
    assert all(len(parse_terms(v)) == 3 for v in expected)
    # a part written before the column existed still reads, with the column empty
    old = log.drop(columns=TOP_TERMS).to_csv(index=False, lineterminator="\n").encode()
    back = read_log_csv(old, "predictions", "old-part.csv")
    assert tuple(back.columns) == PREDICTION_COLUMNS and (back[TOP_TERMS] == "").all()


def test_cli_evaluate_lineage_and_explain(world, monkeypatch, moto_endpoint, capsys):
    import re

    from fnlib.cli import main

    store, (_, ds_b), trained = world
    monkeypatch.setenv("FN_BUCKET", store.bucket)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    assert main(["evaluate", "--model", trained["model_id"], "--dataset", ds_b, "--no-wandb"]) == 0
    out = capsys.readouterr().out
    ev_id = re.search(r"evaluation (ev-[0-9a-f]{16})", out).group(1)
    assert f"trained on {trained['dataset_id']}" in out and "f1=" in out
    assert main(["lineage", ev_id]) == 0
    lineage = capsys.readouterr().out
    assert lineage.startswith(f"evaluation {ev_id}") and f"model {trained['model_id']}" in lineage
    assert main(["explain", "--model", trained["model_id"], "--top", "4",
                 "the senator said the budget vote was rigged by aliens"]) == 0
    out = capsys.readouterr().out
    score = float(re.search(r"log-odds of fake ([+-][0-9.]+)", out).group(1))
    parts = [float(v) for v in re.findall(r"^  ([+-][0-9.]+)  ", out, flags=re.M)]
    intercept = float(re.search(r"= intercept ([+-][0-9.]+)", out).group(1))
    assert len(parts) == 5  # four terms and the rest
    assert intercept + sum(parts) == pytest.approx(score, abs=1e-3)
