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


@pytest.mark.parametrize("name", ["MODELS", "VARIANTS", "SOURCE_NAMES", "SPLIT_STRATEGIES",
                                  "GRIDS", "TUNING_METRICS", "GATE_METRICS"])
def test_lists_are_tuples_without_repeats(name):
    value = getattr(catalog, name)
    assert isinstance(value, tuple) and len(set(value)) == len(value) > 0
