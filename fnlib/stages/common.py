"""Helpers shared by the stages: resolving inputs and reading verified splits."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd

from fnlib.data.prepare import read_split_csv
from fnlib.errors import InputError
from fnlib.storage.manifest import Manifest, find_manifest, load_manifest
from fnlib.storage.objects import ObjectRef, ObjectStore


def content_id(prefix: str, *parts: Any) -> str:
    """A short, stable id from JSON-serialisable parts (same inputs, same id)."""
    payload = json.dumps(parts, sort_keys=True, default=str).encode()
    return f"{prefix}-{hashlib.sha256(payload).hexdigest()[:16]}"


def request_from_params(cls: Any, params: dict[str, Any], what: str) -> Any:
    """A request dataclass from a DAG's params: unknown names are refused (a typo in a form or
    a conf must not be ignored silently), empty values fall back to the defaults."""
    known = set(cls.__dataclass_fields__)
    unknown = sorted(set(params) - known)
    if unknown:
        raise InputError(f"unknown {what} parameters {unknown}; known: {sorted(known)}")
    return cls(**{k: v for k, v in params.items() if v not in (None, "", {})})


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
