"""The catalog: parse-safe (standard library only), and its lists are what the library supports."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
import pytest

from fnlib import catalog

HEAVY = ("pandas", "numpy", "sklearn", "scipy", "boto3", "botocore", "wandb", "joblib")


def test_importing_the_catalog_loads_no_heavy_module():
    """DAG files import the catalog at parse time: a fresh interpreter must stay light."""
    code = ("import json, sys; import fnlib.catalog; "
            f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert json.loads(out.stdout) == []


def test_models_are_the_model_builders():
    from fnlib.models.specs import PARAM_SPECS, ModelConfig
    from fnlib.models.zoo import build_classifier

    assert tuple(PARAM_SPECS) == catalog.MODELS
    for model in catalog.MODELS:
        assert build_classifier(ModelConfig(model), probabilities=True) is not None


def test_variants_are_the_text_cleaners():
    from fnlib.text.clean import TextCleaner

    texts = ["Breaking: the Senate VOTED 52-48 on http://x.example today"]
    cleaned = {v: TextCleaner(variant=v).fit_transform(texts)[0] for v in catalog.VARIANTS}
    assert len(set(cleaned.values())) == len(catalog.VARIANTS)  # each variant does something else


def test_sources_are_the_loaders():
    from fnlib.data.sources import SOURCES

    assert tuple(SOURCES) == catalog.SOURCE_NAMES
    assert set(catalog.SOURCES_NEEDING_PATH) == set(catalog.SOURCE_NAMES) - {"synthetic"}


def test_split_strategies_are_what_preparation_does():
    from fnlib.data.prepare import PrepareOptions, prepare_corpus
    from fnlib.data.split import SPLIT_COLUMN
    from fnlib.data.synthetic import generate

    corpus = generate(n_docs=200, seed=1)
    corpus[SPLIT_COLUMN] = np.where(np.arange(len(corpus)) % 5 == 0, "test", "train")
    for strategy in catalog.SPLIT_STRATEGIES:
        prepared = prepare_corpus(corpus, "synthetic", PrepareOptions(split=strategy))
        assert prepared.report["split"]["strategy"] == strategy


def test_grids_are_what_tuning_builds():
    from fnlib.stages.tune import TuneRequest, build_grid

    sizes = {g: len(build_grid(TuneRequest(models=["nb"], variants=["raw"], grid=g)))
             for g in catalog.GRIDS}
    assert len(set(sizes.values())) == len(catalog.GRIDS), sizes


def test_metrics_are_what_cross_validation_and_evaluation_compute():
    from fnlib.models.cv import classification_metrics

    y = np.array([0, 1, 1, 0])
    computed = classification_metrics(y, np.array([0, 1, 0, 0]), np.array([0.1, 0.9, 0.4, 0.2]))
    assert tuple(computed) == catalog.TUNING_METRICS
    assert set(catalog.GATE_METRICS) <= set(computed)


def test_cli_offers_the_catalog_names():
    from fnlib.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for command in ("dataset", "demo"):
        choices = {a.dest: a.choices for a in sub.choices[command]._actions if a.choices}
        assert tuple(choices["source"]) == catalog.SOURCE_NAMES
        assert tuple(choices["split"]) == catalog.SPLIT_STRATEGIES
    choices = {a.dest: a.choices for a in sub.choices["tune"]._actions if a.choices}
    assert tuple(choices["grid"]) == catalog.GRIDS
    assert tuple(choices["metric"]) == catalog.TUNING_METRICS
    choices = {a.dest: a.choices for a in sub.choices["evaluate"]._actions if a.choices}
    assert tuple(choices["split"]) == catalog.EVALUATION_SPLITS


@pytest.mark.parametrize("name", ["MODELS", "VARIANTS", "SOURCE_NAMES", "SPLIT_STRATEGIES",
                                  "EVALUATION_SPLITS",
                                  "GRIDS", "TUNING_METRICS", "GATE_METRICS"])
def test_lists_are_tuples_without_repeats(name):
    value = getattr(catalog, name)
    assert isinstance(value, tuple) and len(set(value)) == len(value) > 0


def test_the_bucket_layout():
    assert catalog.object_key("dataset", "ds-1", "train.csv") == "datasets/ds-1/train.csv"
    assert catalog.manifest_key("model", "mdl-1") == "models/mdl-1/manifest.json"
    assert catalog.kind_folder("features") == "features/"
    assert catalog.CHAMPION_KEY == "registry/champion.json"
    assert catalog.retrain_request_key("claimed", "rtr-1") == "retrain-requests/claimed/rtr-1.json"
    assert catalog.RETRAIN_PENDING_GLOB == "retrain-requests/pending/*.json"
    assert catalog.incoming_key("2026-11-01", "batch") == "incoming/day=2026-11-01/batch.csv"
    assert catalog.INCOMING_KEY_RE.match("incoming/day=2026-11-01/batch.csv").group(1) == "2026-11-01"
    assert catalog.partition_key("predictions", "2026-11-01", "x1") == "predictions/day=2026-11-01/part-x1.csv"
    assert catalog.rejected_key("2026-11-01", "part-ab") == "incoming-rejected/day=2026-11-01/part-ab.csv"
    assert catalog.report_key("2026-11-01") == "monitoring/day=2026-11-01/report.json"
    assert catalog.day_prefix("feedback") == "feedback/"
    assert catalog.day_of_key("feedback/day=2026-11-01/part-a.csv") == "2026-11-01"
    assert catalog.day_of_key("feedback/fb-1/accepted.csv") is None


@pytest.mark.parametrize("call", [
    lambda: catalog.object_key("nope", "x", "y"),
    lambda: catalog.object_key("dataset", "../registry", "x"),
    lambda: catalog.retrain_request_key("lost", "rtr-1"),
    lambda: catalog.incoming_key("2026-11-01", "../x"),
    lambda: catalog.incoming_key("2026-02-30", "x"),
    lambda: catalog.partition_key("feedback", "2026-11-01", "../x"),
])
def test_bad_keys_are_refused(call):
    from fnlib.errors import InputError

    with pytest.raises(InputError):
        call()


def _key_literals(path):
    """String literals (and f-string heads) in ``path`` that start like a bucket key."""
    import ast

    folders = {*catalog.KIND_PREFIX.values(), "registry", "retrain-requests", catalog.INCOMING,
               catalog.INCOMING_REJECTED, *catalog.LOG_KINDS, catalog.MONITORING}
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)}
    for node in ast.walk(tree):
        head = node.values[0] if isinstance(node, ast.JoinedStr) and node.values else node
        if (isinstance(head, ast.Constant) and isinstance(head.value, str)
                and id(head) not in docstrings and "/" in head.value
                and head.value.split("/")[0] in folders):
            yield node.lineno, head.value


def test_keys_are_built_only_by_the_catalog():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    files = [p for d in ("fnlib", "dags", "plugins") for p in (root / d).rglob("*.py")]
    found = [f"{p.relative_to(root)}:{line}: {text!r}" for p in files
             if p.name != "catalog.py" for line, text in _key_literals(p)]
    assert found == []


def test_library_ids_are_stable():
    """The ids the library mints through its own types (configurations, fold features)."""
    from fnlib.models.feature_store import FeatureBucket
    from fnlib.models.specs import FeatureSettings, ModelConfig

    assert FeatureSettings("raw").feature_key == "feat-056649df7788"
    config = ModelConfig("logreg", "denoised", params={"C": 2})
    assert (config.config_id, config.feature_key) == ("cfg-00386c2a9b01", "feat-d26e0c8a55ae")
    assert ModelConfig("rf").config_id == "cfg-4f63bce35596"
    assert FeatureBucket.entry_id("ds-1", "feat-abc", 5, 42) == "ff-b9dd14babbd24d50"


def test_dataset_stage_ids_are_stable(store):
    """The raw corpus and dataset ids of a small synthetic build (ingest and prepare)."""
    from fnlib.stages.dataset import DatasetRequest, ingest, prepare

    request = DatasetRequest(n_docs=60, seed=1)
    ingested = ingest(store, request)
    assert ingested["raw_id"] == "raw-abc0670a8b69ece5"
    assert prepare(store, ingested, request)["dataset_id"] == "ds-c2f12bad9d0f5827"


# Ids are content addresses that existing buckets hold: these were computed by the code that
# minted each kind of id before the rules moved into the catalog, and must never change.
PINNED_IDS = [
    (lambda: catalog.content_id("tune", "ds-0123456789abcdef", ["cfg-aaa", "cfg-bbb"], 5, 42, "f1"),
     "tune-dce7cd0c4f9cae2c"),
    (lambda: catalog.content_id("rtr", "2026-11-01", "mdl-x", ["a", "b"]), "rtr-c2f0c6ed8d4620b5"),
    (lambda: catalog.content_id("mdl", "ds-1", "cfg-2", 42, "0.1.0"), "mdl-f4d5a7b11e2e89f4"),
    (lambda: catalog.content_id("ev", "mdl-1", "ds-1", "test"), "ev-81087744d0bd5ddb"),
    (lambda: catalog.content_id("fb", ["ab" * 32], "mdl-1"), "fb-8c4ad86e973bdf51"),
    (lambda: catalog.content_id("tr", [("mdl-1", "ds-1"), ("mdl-2", "ds-2")], ["a", "b"]),
     "tr-26188de0548a1e3f"),
    (lambda: catalog.raw_id(b"id,text,label\n1,hello world,0\n"), "raw-222b28efcd8664c3"),
    (lambda: catalog.dataset_id(b"id,text,label\n1,a,0\n", b"id,text,label\n2,b,1\n"),
     "ds-46eda58bb252e1cc"),
    (lambda: catalog.part_id(b"id,text,label\n1,hello world,0\n"), "part-222b28efcd8664c3"),
    (lambda: catalog.settings_id("cfg", {"x": 1.5, "y": None}), "cfg-be748b681541"),
]


@pytest.mark.parametrize(("mint", "expected"), PINNED_IDS, ids=[e for _, e in PINNED_IDS])
def test_ids_are_stable(mint, expected):
    assert mint() == expected


def test_every_id_kind_is_known_by_its_prefix():
    assert set(catalog.ID_PREFIX) == set(catalog.KIND_PREFIX)
    assert catalog.kind_of_id("ds-46eda58bb252e1cc") == "dataset"
    assert catalog.kind_of_id("tune-dce7cd0c4f9cae2c") == "tuning"
    assert catalog.kind_of_id("s3://bucket/key") is None
