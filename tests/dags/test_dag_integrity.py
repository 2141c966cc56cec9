"""Every DAG file imports cleanly, has the house-style attributes and a matching dag_id."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"

DAG_FILES = sorted(p.stem for p in DAGS.glob("fn_*.py"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


@pytest.mark.parametrize("stem", DAG_FILES)
def test_dag_file_defines_its_dag(dagbag, stem):
    dag = dagbag.get_dag(stem)
    assert dag is not None, f"{stem}.py must define dag_id={stem!r}"
    assert dag.doc_md and dag.tags and "fn" in dag.tags
    assert dag.start_date is not None and dag.start_date.tzinfo is not None
    for name, param in dag.params.items():
        assert param.schema.get("title") or param.description, f"{stem}: param {name} needs a title"


def test_dataset_form_offers_exactly_the_library_sources_and_splits(dagbag):
    import argparse

    from fnlib.cli import build_parser
    from fnlib.data.schema import SOURCE_NAMES
    from fnlib.data.sources import SOURCES
    from fnlib.data.split import STRATEGIES

    params = dagbag.get_dag("fn_dataset").params
    assert tuple(params.get_param("source").schema["enum"]) == SOURCE_NAMES == tuple(SOURCES)
    assert tuple(params.get_param("split").schema["enum"]) == STRATEGIES
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for command in ("dataset", "demo"):
        choices = {a.dest: a.choices for a in sub.choices[command]._actions if a.choices}
        assert tuple(choices["source"]) == SOURCE_NAMES
        assert tuple(choices["split"]) == STRATEGIES
