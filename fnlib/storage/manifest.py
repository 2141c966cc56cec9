"""Manifests: the commit record of every stage output, and the links of the lineage graph.

A manifest is a JSON object written *after* the data it describes (data first, manifest last):
a dataset whose manifest is absent is not a dataset. It records ids, object refs (URI, version
id, sha256, size), parents (the manifests of the inputs, by versioned URI and sha256), params,
metrics and provenance (code version, git sha, Airflow ids, W&B run path).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from fnlib.catalog import manifest_key
from fnlib.errors import InputError
from fnlib.storage.objects import (
    ConcurrentUpdate,
    ObjectRef,
    ObjectStore,
    canonical_json,
    parse_s3_uri,
)

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1


@dataclass
class Manifest:
    kind: str
    id: str
    objects: dict[str, ObjectRef]
    parents: list[dict[str, str]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": self.kind,
            "id": self.id,
            "objects": {name: ref.to_dict() for name, ref in sorted(self.objects.items())},
            "parents": self.parents,
            "params": self.params,
            "metrics": self.metrics,
            "provenance": self.provenance,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        missing = [k for k in ("kind", "id", "objects") if k not in data]
        if missing:
            raise InputError(f"not a manifest: missing {missing}")
        return cls(
            kind=data["kind"],
            id=data["id"],
            objects={k: ObjectRef.from_dict(v) for k, v in data["objects"].items()},
            parents=list(data.get("parents", [])),
            params=dict(data.get("params", {})),
            metrics=dict(data.get("metrics", {})),
            provenance=dict(data.get("provenance", {})),
        )


def parent_link(ref: ObjectRef, kind: str) -> dict[str, str]:
    """How a child manifest names a parent manifest: versioned URI plus its sha256."""
    return {"kind": kind, "uri": ref.versioned_uri, "sha256": ref.sha256}


def commit_manifest(store: ObjectStore, manifest: Manifest) -> ObjectRef:
    """Write the manifest last. If one is already committed for this id, keep it.

    Ids are content addresses, so an existing manifest describes the same data: re-runs keep
    the first commit (its provenance names the run that made the data) and write no version.
    The existing manifest must reference only objects that still exist with the same bytes.
    """
    key = manifest_key(manifest.kind, manifest.id)
    existing = store.head(key)
    if existing is not None:
        if _same_objects(store, existing, manifest):
            log.info("%s %s already committed at %s", manifest.kind, manifest.id, existing.versioned_uri)
            return existing
        log.warning("%s %s: committed manifest differs, writing a new version", manifest.kind, manifest.id)
    for name, ref in manifest.objects.items():
        head = store.head(ref.key, ref.version_id)
        if head is None or head.sha256 != ref.sha256:
            raise InputError(f"manifest {manifest.id}: object {name} ({ref.versioned_uri}) is missing or changed")
    # conditional write: two runs committing the same id at once (a retry racing its first
    # try, two DAG runs with the same inputs) leave one manifest version, not two
    try:
        return store.put_if_unchanged(key, canonical_json(manifest.to_dict()), existing)
    except ConcurrentUpdate:
        winner = store.head(key)
        if winner is not None and _same_objects(store, winner, manifest):
            log.info("%s %s was committed concurrently at %s; keeping it", manifest.kind,
                     manifest.id, winner.versioned_uri)
            return winner
        raise


def _same_objects(store: ObjectStore, ref: ObjectRef, manifest: Manifest) -> bool:
    current = Manifest.from_dict(store.get_json(ref))
    return {n: r.sha256 for n, r in current.objects.items()} == {
        n: r.sha256 for n, r in manifest.objects.items()
    }


def load_manifest(store: ObjectStore, uri: str, sha256: str | None = None) -> tuple[Manifest, ObjectRef]:
    """Read a manifest by URI (optionally verifying a known sha256)."""
    bucket, key, version = parse_s3_uri(uri)
    if sha256:
        ref = ObjectRef(bucket, key, version, sha256, 0)
        data = store.get_bytes(ref)
        return Manifest.from_dict(_json(data, uri)), ref
    data, ref = store.read_uri_unverified(uri)
    return Manifest.from_dict(_json(data, uri)), ref


def find_manifest(store: ObjectStore, kind: str, object_id: str) -> tuple[Manifest, ObjectRef]:
    """The committed manifest of ``kind``/``object_id``; a clear error if there is none."""
    found = find_manifest_or_none(store, kind, object_id)
    if found is None:
        key = manifest_key(kind, object_id)
        raise InputError(f"no {kind} with id {object_id!r} (s3://{store.bucket}/{key} not found)")
    return found


def find_manifest_or_none(store: ObjectStore, kind: str,
                          object_id: str) -> tuple[Manifest, ObjectRef] | None:
    """The committed manifest of ``kind``/``object_id``, or None when nothing is committed
    under that id yet (the content-addressed "already done?" check). A manifest that exists
    but does not verify is an error, as with :func:`find_manifest`."""
    key = manifest_key(kind, object_id)
    ref = store.head(key)
    if ref is None:
        return None
    manifest = Manifest.from_dict(_json(store.get_bytes(ref), ref.versioned_uri))
    if (manifest.kind, manifest.id) != (kind, object_id):
        raise InputError(
            f"{ref.versioned_uri} holds the {manifest.kind} manifest {manifest.id!r}, not the "
            f"{kind} {object_id!r}: the bucket was modified by hand, refusing to use it"
        )
    return manifest, ref


def _json(data: bytes, uri: str) -> dict[str, Any]:
    import json

    try:
        value = json.loads(data)
    except ValueError as exc:
        raise InputError(f"{uri} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InputError(f"{uri} is not a manifest object")
    return value
