"""The request base, the run's types and helpers shared by the stages: resolving inputs and
reading verified splits."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Self, TypedDict

import pandas as pd

from fnlib.data.prepare import read_split_csv
from fnlib.errors import InputError
from fnlib.storage.manifest import Manifest, find_manifest, load_manifest
from fnlib.storage.objects import ObjectRef, ObjectStore

RefDict = dict[str, Any]
"""An object reference as it crosses XCom: :meth:`fnlib.storage.ObjectRef.to_dict`."""


class RunIds(TypedDict, total=False):
    """Who ran a stage: the Airflow task try (``fn_airflow.tasks.run_info``), or nothing for
    the CLI. Manifests record it as provenance (under ``airflow``), W&B runs in their config."""

    dag_id: str
    run_id: str
    task_id: str
    try_number: int
    map_index: int
    logical_date: str | None


class Run(TypedDict):
    """What a DAG task body is given as ``run`` (``fn_airflow.tasks.run_info``)."""

    params: dict[str, Any]
    run_ids: RunIds
    interval: dict[str, str | None]
    triggered_by: dict[str, Any]


_TYPES: dict[str, type | tuple[type, ...]] = {
    "int": int, "float": float, "bool": bool, "str": str, "list": (list, tuple), "dict": dict,
}


def _typed(cls: Any, name: str, hint: str, value: Any) -> Any:
    """``value`` as the field's declared type (``int``, ``float | None``, ``list[str]``, ...):
    numbers may be given as text (a conf, a query string); anything else of the wrong type is
    an InputError naming the field."""
    options = [h.strip() for h in hint.split("|")]
    if value is None and "None" in options:
        return None
    base = next((o.split("[")[0] for o in options if o != "None"), "Any")
    if base not in _TYPES:
        return value
    if base in ("int", "float"):
        try:
            number = float(value) if isinstance(value, int | float | str) \
                and not isinstance(value, bool) else None
            if number is not None and (base == "float" or number == int(number)):
                return number if base == "float" else int(number)
        except (ValueError, OverflowError):
            pass
    elif isinstance(value, _TYPES[base]):
        return list(value) if base == "list" else value
    raise InputError(f"{cls.what} parameter {name!r} must be {hint.replace(' | None', '')}"
                     f"{' or empty' if 'None' in options else ''}, got {value!r}")


class StageRequest:
    """What a stage is asked to do: a dataclass of typed fields, built the same way from a DAG
    run (:meth:`for_run`), a params dict (:meth:`from_params`: the form, a conf, the CLI) or
    directly. Subclasses set ``what`` (for messages) and may add what comes from the run
    itself (:meth:`run_params`: the triggering Asset event, the data interval)."""

    what: ClassVar[str] = "stage"

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Self:
        """Unknown names are refused (a typo in a form or a conf must not be ignored
        silently), empty values fall back to the defaults, values are checked against the
        field types (an InputError names the bad field)."""
        hints = {f.name: str(f.type) for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(params) - set(hints))
        if unknown:
            raise InputError(f"unknown {cls.what} parameters {unknown}; known: {sorted(hints)}")
        return cls(**{k: _typed(cls, k, hints[k], v) for k, v in params.items()
                      if v not in (None, "", {})})

    @classmethod
    def for_run(cls, run: Run | Mapping[str, Any],
                item: Mapping[str, Any] | None = None) -> Self:
        """The request of a DAG run: its params plus what the run itself brings; ``item`` is
        the input of a mapped task instance, for stages that are mapped."""
        return cls.from_params(cls.run_params(run, item))

    @classmethod
    def run_params(cls, run: Run | Mapping[str, Any],
                   item: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The params :meth:`for_run` builds the request from (default: the run's params)."""
        return dict(run["params"])


def resolve(store: ObjectStore, kind: str, object_id: str | None,
            manifest_ref: dict[str, Any] | None = None) -> tuple[Manifest, ObjectRef]:
    """A committed manifest by id, or by a ref dict carried through XCom."""
    if manifest_ref:
        ref = ObjectRef.from_dict(manifest_ref)
        return load_manifest(store, ref.versioned_uri, ref.sha256)
    if not object_id:
        raise InputError(f"no {kind} given: pass a {kind}_id or trigger from the {kind} Asset")
    return find_manifest(store, kind, object_id)


def read_split(store: ObjectStore, dataset: Manifest, split: str) -> pd.DataFrame:
    if split not in dataset.objects:
        raise InputError(f"dataset {dataset.id} has no {split!r} split")
    return read_split_csv(store.get_bytes(dataset.objects[split]), f"{dataset.id}/{split}.csv")
