"""A small versioned object store over an injected boto3 S3 client.

In Airflow the client comes from ``S3Hook(aws_conn_id=...).get_conn()``; outside Airflow from
:func:`fnlib.storage.client.make_s3_client`. Every write returns an :class:`ObjectRef` with the
S3 VersionId, sha256 and size; every read verifies the sha256 before the bytes are used.
Writes are idempotent: putting bytes identical to the current version writes nothing new.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qs, quote, urlparse

from fnlib.catalog import check_key
from fnlib.errors import FnError, InputError

log = logging.getLogger(__name__)

SHA256_META = "sha256"


class StorageError(FnError):
    """The object store could not be reached or refused an operation."""


class ObjectNotFound(StorageError):
    """The requested object (or object version) does not exist."""


class ConcurrentUpdate(StorageError):
    """A conditional write lost a race: the object changed since it was read."""


class ChecksumMismatch(StorageError):
    """The bytes read do not match the sha256 recorded for them: the object was modified."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def blocks_sha256(blocks: Iterable[bytes], copy_to: BinaryIO | None = None) -> tuple[str, int]:
    """(sha256 hex, size) of a stream of blocks, each also written to ``copy_to`` if given."""
    digest, size = hashlib.sha256(), 0
    for block in blocks:
        digest.update(block)
        if copy_to is not None:
            copy_to.write(block)
        size += len(block)
    return digest.hexdigest(), size


def file_sha256(path: str | os.PathLike[str]) -> tuple[str, int]:
    """(sha256 hex, size) of a file, read in blocks."""
    with open(path, "rb") as fh:
        return blocks_sha256(iter(lambda: fh.read(1 << 20), b""))


@dataclass(frozen=True)
class ObjectRef:
    """One immutable object version: where it is and what its bytes are."""

    bucket: str
    key: str
    version_id: str | None
    sha256: str
    size: int
    etag: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def versioned_uri(self) -> str:
        if not self.version_id:
            return self.uri
        return f"{self.uri}?versionId={quote(self.version_id, safe='')}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "uri": self.versioned_uri}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObjectRef:
        fields = {k: data.get(k) for k in ("bucket", "key", "version_id", "sha256", "size", "etag")}
        if not fields["bucket"] and data.get("uri"):
            fields["bucket"], fields["key"], fields["version_id"] = parse_s3_uri(data["uri"])
        if not fields["sha256"]:
            raise InputError(f"object reference without sha256: {data!r}")
        return cls(**fields)


def parse_s3_uri(uri: str) -> tuple[str, str, str | None]:
    """Split ``s3://bucket/key?versionId=...`` into (bucket, key, version_id)."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise InputError(f"not an s3 URI: {uri!r} (expected s3://bucket/key[?versionId=...])")
    version = parse_qs(parsed.query).get("versionId", [None])[0]
    return parsed.netloc, check_key(parsed.path.lstrip("/")), version


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class ObjectStore:
    """Versioned, checksummed object I/O on one bucket."""

    def __init__(self, client: Any, bucket: str, *, encryption: str = "AES256"):
        if len(bucket) < 3:
            raise InputError(f"invalid bucket name {bucket!r}: at least 3 characters")
        self.client = client
        self.bucket = bucket
        self.encryption = encryption

    # -- bucket -----------------------------------------------------------------------------
    def ensure_bucket(self, create: bool = False) -> None:
        """Check the bucket exists with versioning on; ``create`` makes it (local stacks)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _error_code(exc) not in ("404", "NoSuchBucket", "NotFound") or not create:
                raise StorageError(
                    f"bucket {self.bucket!r} is not accessible ({_error_code(exc)}): create it "
                    "with versioning enabled or fix the AWS connection"
                ) from exc
            self.client.create_bucket(Bucket=self.bucket)
            log.info("created bucket %s", self.bucket)
        except BotoCoreError as exc:
            raise StorageError(f"cannot reach the S3 endpoint for {self.bucket!r}: {exc}") from exc
        status = self.client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        if status != "Enabled":
            if not create:
                raise StorageError(
                    f"bucket {self.bucket!r} has versioning {status or 'off'}: enable it "
                    "(aws s3api put-bucket-versioning --versioning-configuration Status=Enabled)"
                )
            self.client.put_bucket_versioning(
                Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"}
            )

    # -- writes -----------------------------------------------------------------------------
    def put_bytes(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> ObjectRef:
        """Write ``data`` at ``key`` unless the current version already holds the same bytes.

        A first write is conditional (``If-None-Match: *``): two writers racing to create the
        same content-addressed object leave one version; the loser gets the winner's ref if the
        bytes are the same, :class:`ConcurrentUpdate` if they differ.
        """
        return self._put(key, data, sha256_hex(data), len(data), content_type)

    def put_file(
        self, key: str, path: str | os.PathLike[str], *,
        content_type: str = "application/octet-stream", write_once: bool = False,
    ) -> ObjectRef:
        """:meth:`put_bytes` for a file, streamed from disk (objects too large to hold twice
        in memory). ``write_once``: never add a version to an existing key; different bytes
        already there raise :class:`ConcurrentUpdate`."""
        digest, size = file_sha256(path)
        with open(path, "rb") as body:
            return self._put(key, body, digest, size, content_type, write_once)

    def _put(self, key: str, body: Any, digest: str, size: int, content_type: str,
             write_once: bool = False) -> ObjectRef:
        from botocore.exceptions import ClientError

        check_key(key)
        current = self.head(key)
        if current is not None and current.sha256 == digest and current.size == size:
            log.info("unchanged, kept %s", current.versioned_uri)
            return current
        if current is not None and write_once:
            raise ConcurrentUpdate(
                f"{current.versioned_uri} already holds different bytes (sha256 "
                f"{current.sha256[:12]}) and is written once"
            )
        condition = {"IfNoneMatch": "*"} if current is None else {}
        try:
            response = self._call(
                "put_object",
                key,
                raw=True,
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                ServerSideEncryption=self.encryption,
                Metadata={SHA256_META: digest},
                **condition,
            )
        except ClientError as exc:
            if _error_code(exc) not in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise self._wrap(exc, "put_object", key) from exc
            winner = self.head(key)
            if winner is not None and winner.sha256 == digest and winner.size == size:
                log.info("written concurrently with the same bytes, kept %s", winner.versioned_uri)
                return winner
            raise ConcurrentUpdate(
                f"s3://{self.bucket}/{key} was created by another writer with different bytes "
                "while this one was writing; re-run the step"
            ) from exc
        version = response.get("VersionId")
        if not version or version == "null":
            raise StorageError(
                f"s3://{self.bucket}/{key} was written without a version id: enable versioning"
            )
        ref = ObjectRef(self.bucket, key, version, digest, size, response.get("ETag", "").strip('"'))
        log.info("wrote %s (%d bytes, sha256 %s)", ref.versioned_uri, ref.size, digest[:12])
        return ref

    def put_if_unchanged(
        self, key: str, data: bytes, expected: ObjectRef | None,
        *, content_type: str = "application/json",
    ) -> ObjectRef:
        """Compare-and-swap: write only if ``key`` is still at ``expected`` (None: absent).

        Uses S3 conditional writes (If-Match on the ETag, If-None-Match ``*``), so two writers
        racing on a pointer cannot both win; the loser gets :class:`ConcurrentUpdate`.
        """
        from botocore.exceptions import ClientError

        check_key(key)
        digest = sha256_hex(data)
        condition = {"IfMatch": f'"{expected.etag}"'} if expected else {"IfNoneMatch": "*"}
        try:
            response = self._call(
                "put_object", key, raw=True, Bucket=self.bucket, Key=key, Body=data,
                ContentType=content_type, ServerSideEncryption=self.encryption,
                Metadata={SHA256_META: digest}, **condition,
            )
        except ClientError as exc:
            if _error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise ConcurrentUpdate(
                    f"s3://{self.bucket}/{key} changed since it was read; re-read and retry"
                ) from exc
            raise self._wrap(exc, "put_object", key) from exc
        return ObjectRef(self.bucket, key, response.get("VersionId"), digest, len(data),
                         response.get("ETag", "").strip('"'))

    def put_json(self, key: str, obj: Any) -> ObjectRef:
        return self.put_bytes(key, canonical_json(obj), content_type="application/json")

    def delete(self, key: str) -> None:
        """Retire ``key``: a delete marker becomes its current version. The bucket is
        versioned, so every version written stays readable by its version id. Deleting a key
        that is already gone does nothing."""
        self._call("delete_object", key, Bucket=self.bucket, Key=check_key(key))

    # -- reads ------------------------------------------------------------------------------
    def head(self, key: str, version_id: str | None = None) -> ObjectRef | None:
        """The current (or given) version of ``key`` as a ref, or None if there is none."""
        from botocore.exceptions import ClientError

        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": check_key(key)}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            response = self._call("head_object", key, raw=True, **kwargs)
        except ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound", "NoSuchVersion"):
                return None
            raise self._wrap(exc, "head_object", key) from exc
        return ObjectRef(
            self.bucket,
            key,
            response.get("VersionId"),
            response.get("Metadata", {}).get(SHA256_META, ""),
            int(response.get("ContentLength", 0)),
            response.get("ETag", "").strip('"'),
        )

    def get_bytes(self, ref: ObjectRef) -> bytes:
        """Read exactly the version ``ref`` names and verify its sha256."""
        kwargs: dict[str, Any] = {"Bucket": ref.bucket, "Key": check_key(ref.key)}
        if ref.version_id:
            kwargs["VersionId"] = ref.version_id
        response = self._call("get_object", ref.key, **kwargs)
        data = self._read_body(response, ref.versioned_uri)
        digest = sha256_hex(data)
        if digest != ref.sha256:
            raise ChecksumMismatch(
                f"{ref.versioned_uri}: sha256 {digest} does not match the recorded {ref.sha256}; "
                "the object was modified after it was written, refusing to use it"
            )
        return data

    def get_file(self, ref: ObjectRef, path: str | os.PathLike[str]) -> None:
        """Stream exactly the version ``ref`` names into ``path`` and verify its sha256; on a
        mismatch ``path`` is removed and :class:`ChecksumMismatch` raised."""
        from botocore.exceptions import BotoCoreError

        kwargs: dict[str, Any] = {"Bucket": ref.bucket, "Key": check_key(ref.key)}
        if ref.version_id:
            kwargs["VersionId"] = ref.version_id
        response = self._call("get_object", ref.key, **kwargs)
        try:
            with open(path, "wb") as out:
                digest, size = blocks_sha256(response["Body"].iter_chunks(1 << 20), out)
        except (BotoCoreError, OSError) as exc:
            Path(path).unlink(missing_ok=True)
            raise StorageError(
                f"reading {ref.versioned_uri} was interrupted: {exc} (retry the task)"
            ) from exc
        if digest != ref.sha256:
            Path(path).unlink(missing_ok=True)
            raise ChecksumMismatch(
                f"{ref.versioned_uri}: sha256 {digest} ({size} bytes) does not match "
                f"the recorded {ref.sha256}; the object was modified after it was written, "
                "refusing to use it"
            )

    def get_json(self, ref: ObjectRef) -> Any:
        return json.loads(self.get_bytes(ref))

    def read_uri_unverified(self, uri: str) -> tuple[bytes, ObjectRef]:
        """Read an object by URI when no checksum is known yet (manifests named by a user).

        The returned ref carries the sha256 computed from the bytes read, so callers can
        record it; content integrity is then checked against what the manifest records.
        """
        bucket, key, version = parse_s3_uri(uri)
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version:
            kwargs["VersionId"] = version
        response = self._call("get_object", key, **kwargs)
        data = self._read_body(response, uri)
        ref = ObjectRef(
            bucket, key, response.get("VersionId") or version, sha256_hex(data), len(data),
            response.get("ETag", "").strip('"'),
        )
        return data, ref

    def list_versions(self, key: str) -> list[dict[str, Any]]:
        """All versions of exactly ``key`` (newest first)."""
        response = self._call(
            "list_object_versions", key, Bucket=self.bucket, Prefix=check_key(key)
        )
        return [v for v in response.get("Versions", []) if v["Key"] == key]

    def versions(self, key: str) -> Iterator[ObjectRef]:
        """Every version of exactly ``key``, newest first, as refs carrying the sha256
        recorded when each was written: :meth:`get_bytes` reads one verified, like any ref."""
        for version in self.list_versions(key):
            ref = self.head(key, version["VersionId"])
            if ref is not None:
                yield ref

    def list_keys(self, prefix: str) -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        keys: list[str] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return keys

    # -- error mapping ----------------------------------------------------------------------
    @staticmethod
    def _read_body(response: dict[str, Any], where: str) -> bytes:
        """Read a GetObject body completely, mapping transport faults to clear errors.

        botocore retries the request, not the streaming of its body: a connection cut while
        reading surfaces here. A short read is a transient :class:`StorageError` (retry the
        task), not a modified object; a transport checksum that does not match the bytes is a
        :class:`ChecksumMismatch` naming the object.
        """
        from botocore.exceptions import BotoCoreError, FlexibleChecksumError

        try:
            data = response["Body"].read()
        except FlexibleChecksumError as exc:
            raise ChecksumMismatch(
                f"{where}: the bytes read do not match the checksum stored with the object "
                f"({exc}); the object was modified after it was written, refusing to use it"
            ) from exc
        except (BotoCoreError, OSError) as exc:
            raise StorageError(
                f"reading {where} was interrupted: {exc} (is the S3 endpoint up? retry the task)"
            ) from exc
        expected = response.get("ContentLength")
        if expected is not None and len(data) != int(expected):
            raise StorageError(
                f"reading {where} was interrupted: got {len(data)} of {expected} bytes "
                "(retry the task)"
            )
        return data

    def _call(self, op: str, key: str, raw: bool = False, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, op)(**kwargs)
        except ClientError as exc:
            if raw:
                raise
            raise self._wrap(exc, op, key) from exc
        except BotoCoreError as exc:
            raise StorageError(
                f"{op} s3://{kwargs.get('Bucket', self.bucket)}/{key} failed: {exc} "
                "(is the S3 endpoint up and the AWS connection right?)"
            ) from exc

    def _wrap(self, exc: Exception, op: str, key: str) -> StorageError:
        code = _error_code(exc)
        where = f"s3://{self.bucket}/{key}"
        if code in ("404", "NoSuchKey", "NotFound", "NoSuchVersion", "NoSuchBucket"):
            return ObjectNotFound(f"{where}: not found ({code})")
        return StorageError(f"{op} {where} failed: {code or exc}")


def canonical_json(obj: Any) -> bytes:
    """Deterministic JSON bytes: same object, same bytes, same sha256."""
    return (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
