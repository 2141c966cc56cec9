"""Manifests and lineage on a real S3 endpoint."""

from __future__ import annotations

import pytest

from fnlib.catalog import object_key
from fnlib.errors import InputError
from fnlib.storage.lineage import format_lineage, walk_lineage
from fnlib.storage.manifest import (
    Manifest,
    commit_manifest,
    find_manifest,
    find_manifest_or_none,
    parent_link,
)


def _raw(store, payload=b"raw corpus"):
    ref = store.put_bytes(object_key("raw", "raw-1", "corpus.csv"), payload)
    return commit_manifest(
        store, Manifest("raw", "raw-1", {"corpus": ref}, params={"source": "csv"})
    )


def test_commit_is_idempotent(store):
    first = _raw(store)
    again = _raw(store)
    assert again.version_id == first.version_id
    assert len(store.list_versions(first.key)) == 1


def test_commit_refuses_missing_objects(store):
    ref = store.put_bytes("raw/raw-2/corpus.csv", b"x")
    store.client.put_object(Bucket=store.bucket, Key=ref.key, Body=b"changed")
    from fnlib.storage.objects import ObjectRef

    stale = ObjectRef(ref.bucket, ref.key, None, ref.sha256, ref.size)
    with pytest.raises(InputError, match="missing or changed"):
        commit_manifest(store, Manifest("raw", "raw-2", {"corpus": stale}))
    assert store.head("raw/raw-2/manifest.json") is None


def test_lineage_walks_to_raw(store):
    raw_ref = _raw(store)
    split = store.put_bytes(object_key("dataset", "ds-1", "train.csv"), b"id,text,label\n")
    ds_ref = commit_manifest(
        store,
        Manifest(
            "dataset",
            "ds-1",
            {"train": split},
            parents=[parent_link(raw_ref, "raw")],
            provenance={"version": "0.1.0", "airflow": {"dag_id": "fn_dataset", "run_id": "r1"}},
        ),
    )
    nodes = walk_lineage(store, ds_ref.versioned_uri)
    assert [(n.depth, n.manifest.kind, n.manifest.id) for n in nodes] == [
        (0, "dataset", "ds-1"),
        (1, "raw", "raw-1"),
    ]
    text = format_lineage(nodes)
    assert "fn_dataset/r1" in text and raw_ref.versioned_uri in text and split.versioned_uri in text
    manifest, _ = find_manifest(store, "dataset", "ds-1")
    assert manifest.parents[0]["sha256"] == raw_ref.sha256


def test_lineage_detects_tampered_parent(store):
    raw_ref = _raw(store)
    split = store.put_bytes("datasets/ds-2/train.csv", b"x")
    ds_ref = commit_manifest(
        store, Manifest("dataset", "ds-2", {"train": split}, parents=[parent_link(raw_ref, "raw")])
    )
    # rewrite the parent manifest's exact version is impossible; a forged link is refused
    from fnlib.storage import ChecksumMismatch
    from fnlib.storage.manifest import Manifest as M
    from fnlib.storage.manifest import load_manifest

    manifest, _ = load_manifest(store, ds_ref.versioned_uri)
    forged = M.from_dict(
        {
            **manifest.to_dict(),
            "id": "ds-3",
            "parents": [{**manifest.parents[0], "sha256": "0" * 64}],
        }
    )
    forged_ref = commit_manifest(store, forged)
    with pytest.raises(ChecksumMismatch):
        walk_lineage(store, forged_ref.versioned_uri)


def test_unknown_dataset_id(store):
    with pytest.raises(InputError, match="no dataset with id 'ds-missing'"):
        find_manifest(store, "dataset", "ds-missing")


def test_find_manifest_or_none_is_none_only_for_absent_ids(store):
    assert find_manifest_or_none(store, "raw", "raw-absent") is None
    ref = _raw(store)
    manifest, found = find_manifest_or_none(store, "raw", "raw-1")
    assert (manifest.kind, manifest.id, found.version_id) == ("raw", "raw-1", ref.version_id)
    # a manifest under the wrong id is tampering, not "not there yet"
    store.put_bytes(object_key("raw", "raw-2", "manifest.json"), store.get_bytes(ref))
    with pytest.raises(InputError, match="modified by hand"):
        find_manifest_or_none(store, "raw", "raw-2")
