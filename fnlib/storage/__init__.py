"""Versioned object storage over an injected boto3 S3 client, manifests and lineage."""

from fnlib.storage.objects import (
    ChecksumMismatch,
    ConcurrentUpdate,
    ObjectNotFound,
    ObjectRef,
    ObjectStore,
    StorageError,
    parse_s3_uri,
)

__all__ = [
    "ChecksumMismatch",
    "ConcurrentUpdate",
    "ObjectNotFound",
    "ObjectRef",
    "ObjectStore",
    "StorageError",
    "parse_s3_uri",
]
