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


# every enum a DAG form offers, and the catalog list it must equal (the catalog's lists are
# checked against the library's own tables in tests/unit/test_catalog.py)
FORM_ENUMS = {
    ("fn_dataset", "source"): "SOURCE_NAMES",
    ("fn_dataset", "split"): "SPLIT_STRATEGIES",
    ("fn_tune", "models"): "MODELS",
    ("fn_tune", "variants"): "VARIANTS",
    ("fn_tune", "grid"): "GRIDS",
    ("fn_tune", "metric"): "TUNING_METRICS",
    ("fn_train", "metric"): "GATE_METRICS",
}


def _enum(schema: dict) -> list | None:
    return schema.get("enum") or (schema.get("items") or {}).get("enum")


def test_form_enums_are_the_catalog_lists(dagbag):
    from fnlib import catalog

    found = {}
    for dag_id in DAG_FILES:
        for name, param in dagbag.get_dag(dag_id).params.items():
            if _enum(param.schema) is not None:
                found[(dag_id, name)] = tuple(_enum(param.schema))
    assert set(found) == set(FORM_ENUMS), "a form enum without a catalog list (or one gone)"
    for where, name in FORM_ENUMS.items():
        assert found[where] == getattr(catalog, name), f"{where}: not catalog.{name}"
