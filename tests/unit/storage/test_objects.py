"""ObjectStore against a real S3 endpoint (moto's server): versions, checksums, idempotency."""

from __future__ import annotations

import pytest

from fnlib.errors import InputError
from fnlib.storage import ChecksumMismatch, ObjectNotFound, ObjectRef, ObjectStore, StorageError
from fnlib.storage.objects import parse_s3_uri, sha256_hex


def test_put_records_version_sha_and_size(store):
    ref = store.put_bytes("datasets/x/train.csv", b"id,text,label\n1,a,0\n")
    assert ref.version_id and ref.version_id != "null"
    assert ref.sha256 == sha256_hex(b"id,text,label\n1,a,0\n")
    assert ref.size == 20
    assert ref.versioned_uri.startswith(f"s3://{store.bucket}/datasets/x/train.csv?versionId=")
    head = store.client.head_object(Bucket=store.bucket, Key=ref.key)
    assert head["VersionId"] == ref.version_id
    assert head["ServerSideEncryption"] == "AES256"
    assert head["Metadata"]["sha256"] == ref.sha256


def test_identical_reupload_writes_no_new_version(store):
    first = store.put_bytes("k/a.bin", b"same bytes")
    second = store.put_bytes("k/a.bin", b"same bytes")
    assert second.version_id == first.version_id
    assert len(store.list_versions("k/a.bin")) == 1
    third = store.put_bytes("k/a.bin", b"other bytes")
    assert third.version_id != first.version_id
    assert len(store.list_versions("k/a.bin")) == 2


def test_get_reads_the_recorded_version(store):
    old = store.put_bytes("k/b.txt", b"v1")
    store.put_bytes("k/b.txt", b"v2")
    assert store.get_bytes(old) == b"v1"


def test_checksum_mismatch_is_refused(store):
    ref = store.put_bytes("models/m/model.joblib", b"trusted")
    tampered = ObjectRef(
        ref.bucket, ref.key, ref.version_id, sha256_hex(b"something else"), ref.size
    )
    with pytest.raises(ChecksumMismatch, match="models/m/model.joblib"):
        store.get_bytes(tampered)
    # an object overwritten in the bucket is refused when read against the recorded checksum
    store.client.put_object(Bucket=store.bucket, Key=ref.key, Body=b"evil")
    latest = ObjectRef(ref.bucket, ref.key, None, ref.sha256, ref.size)
    with pytest.raises(ChecksumMismatch, match="refusing"):
        store.get_bytes(latest)


def test_missing_object_and_version(store):
    assert store.head("nope/none.json") is None
    with pytest.raises(ObjectNotFound):
        store.get_bytes(ObjectRef(store.bucket, "nope/none.json", None, "0" * 64, 0))


@pytest.mark.parametrize(
    "key", ["../etc/passwd", "/abs/key", "a//b", "a/./b", "a/../b", "", "a\nb"]
)
def test_unsafe_keys_rejected(store, key):
    with pytest.raises(InputError):
        store.put_bytes(key, b"x")
    assert store.list_keys("") == []


def test_parse_s3_uri():
    assert parse_s3_uri("s3://bkt/a/b.csv?versionId=abc%2B1") == ("bkt", "a/b.csv", "abc+1")
    assert parse_s3_uri("s3://bkt/a") == ("bkt", "a", None)
    with pytest.raises(InputError):
        parse_s3_uri("https://bkt/a")


def test_unversioned_bucket_is_refused(s3_client):
    s3_client.create_bucket(Bucket="fn-unversioned")
    with pytest.raises(StorageError, match="versioning"):
        ObjectStore(s3_client, "fn-unversioned").ensure_bucket(create=False)


def test_unreachable_endpoint_gives_clear_error():
    from fnlib.storage.client import make_s3_client

    client = make_s3_client("http://127.0.0.1:9", "us-east-1", max_attempts=1)
    with pytest.raises(StorageError, match="S3 endpoint"):
        ObjectStore(client, "fn-nowhere").ensure_bucket()


def test_versions_are_verified_refs_newest_first(store):
    first = store.put_bytes("k/v.json", b"1")
    second = store.put_bytes("k/v.json", b"2")
    store.put_bytes("k/v.json.bak", b"other key, same prefix")
    refs = list(store.versions("k/v.json"))
    assert [r.version_id for r in refs] == [second.version_id, first.version_id]
    assert [store.get_bytes(r) for r in refs] == [b"2", b"1"]
    # a version written without the sha256 record cannot be verified: it is refused
    store.client.put_object(Bucket=store.bucket, Key="k/v.json", Body=b"3")
    with pytest.raises(ChecksumMismatch):
        store.get_bytes(next(store.versions("k/v.json")))


def test_delete_keeps_the_history(store):
    ref = store.put_bytes("k/gone.json", b"x")
    store.delete("k/gone.json")
    assert store.head("k/gone.json") is None
    assert store.get_bytes(ref) == b"x"  # the version stays readable by its id
    store.delete("k/gone.json")  # deleting what is gone is not an error
    with pytest.raises(InputError):
        store.delete("../k/gone.json")


def test_only_the_storage_package_uses_the_s3_client():
    """Reads and writes go through ObjectStore (checksums, versions, conditional writes)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    files = [p for d in ("fnlib", "dags", "plugins") for p in (root / d).rglob("*.py")
             if "storage" not in p.relative_to(root).parts]
    assert [str(p.relative_to(root)) for p in files
            if re.search(r"\.client\.(get|put|delete|copy|head|list)_", p.read_text())] == []
