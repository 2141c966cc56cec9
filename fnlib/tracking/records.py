"""Read what a W&B run wrote to its ``.wandb`` transaction log, without the W&B backend.

Offline runs land in ``$WANDB_DIR/wandb/offline-run-<time>-<id>/run-<id>.wandb``. The file is
written by the Go ``wandb-core`` service (0.31 ships no Python writer or reader); its layout,
checked byte by byte against files written by wandb 0.31.0, is a LevelDB log with a W&B header:

* a 7-byte file header ``<4sHB``: ident ``b":W&B"``, magic ``0xBEE1``, version ``0``;
* then 32 KiB blocks counted from the start of the file (the header sits in the first block);
* each block holds chunks with a 7-byte ``<IHB`` header (crc32, data length, chunk type) and the
  data. Types: 1 full, 2 first, 3 middle, 4 last; fewer than 7 bytes left in a block are zero
  padding. The crc is IEEE crc32 (``zlib.crc32``) over the data, seeded with the crc32 of the
  type byte (not LevelDB's masked crc32c);
* the reassembled payload of each logical record is one serialized
  ``wandb.proto.wandb_internal_pb2.Record``.

Tests use the convenience readers (:func:`logged_artifacts`, :func:`run_config`,
:func:`run_summary`, :func:`history`) to assert what a run logged.
"""

from __future__ import annotations

import json
import logging
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fnlib.errors import FnError, InputError

log = logging.getLogger(__name__)

FILE_HEADER = struct.Struct("<4sHB")
FILE_IDENT = b":W&B"
FILE_MAGIC = 0xBEE1
FILE_VERSION = 0
CHUNK_HEADER = struct.Struct("<IHB")
BLOCK_SIZE = 32 * 1024
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


class RecordFormatError(FnError):
    """The file is not a W&B transaction log, or it is corrupted."""


def _type_seeds() -> dict[int, int]:
    return {t: zlib.crc32(bytes([t])) for t in (FULL, FIRST, MIDDLE, LAST)}


def iter_payloads(path: str | Path, *, warn_truncated: bool = True) -> Iterator[bytes]:
    """Yield the raw payload of every complete logical record in the log at ``path``.

    A record cut off at the end of the file (a run that is still writing or crashed) is
    dropped with a warning; a bad checksum or chunk sequence raises :class:`RecordFormatError`.
    """
    data = Path(path).read_bytes()
    if len(data) < FILE_HEADER.size:
        raise RecordFormatError(f"{path}: {len(data)} bytes, too short for a .wandb header")
    ident, magic, version = FILE_HEADER.unpack_from(data, 0)
    if ident != FILE_IDENT or magic != FILE_MAGIC:
        raise RecordFormatError(f"{path}: not a W&B transaction log (header {data[:7]!r})")
    if version != FILE_VERSION:
        raise RecordFormatError(f"{path}: unsupported .wandb format version {version}")
    seeds = _type_seeds()
    pos = FILE_HEADER.size
    pending: list[bytes] | None = None
    while pos < len(data):
        left_in_block = BLOCK_SIZE - pos % BLOCK_SIZE
        if left_in_block < CHUNK_HEADER.size:
            pos += left_in_block  # block trailer: zero padding
            continue
        if pos + CHUNK_HEADER.size > len(data):
            break
        crc, length, chunk_type = CHUNK_HEADER.unpack_from(data, pos)
        start = pos + CHUNK_HEADER.size
        if chunk_type == 0 and length == 0:
            pos += left_in_block  # zero-filled rest of a block
            continue
        if length > left_in_block - CHUNK_HEADER.size or start + length > len(data):
            if start + length > len(data):
                break  # truncated tail
            raise RecordFormatError(f"{path}: chunk at offset {pos} crosses its block")
        chunk = data[start : start + length]
        if chunk_type not in seeds:
            raise RecordFormatError(f"{path}: unknown chunk type {chunk_type} at offset {pos}")
        if zlib.crc32(chunk, seeds[chunk_type]) != crc:
            raise RecordFormatError(f"{path}: checksum mismatch in chunk at offset {pos}")
        pos = start + length
        if chunk_type == FULL:
            if pending is not None:
                raise RecordFormatError(f"{path}: unterminated record before offset {pos}")
            yield chunk
        elif chunk_type == FIRST:
            if pending is not None:
                raise RecordFormatError(f"{path}: unterminated record before offset {pos}")
            pending = [chunk]
        else:
            if pending is None:
                raise RecordFormatError(f"{path}: continuation chunk without start at {pos}")
            pending.append(chunk)
            if chunk_type == LAST:
                yield b"".join(pending)
                pending = None
    if warn_truncated and (pending is not None or pos < len(data)):
        log.warning("%s: incomplete record at the end of the file was skipped", path)


def iter_records(path: str | Path) -> Iterator[Any]:
    """Yield every ``wandb_internal_pb2.Record`` in the ``.wandb`` file at ``path``."""
    from wandb.proto import wandb_internal_pb2 as pb

    for payload in iter_payloads(path):
        record = pb.Record()
        record.ParseFromString(payload)
        yield record


def wait_for_exit_record(path: str | Path, timeout: float = 30.0) -> bool:
    """Wait until the log at ``path`` holds the run's exit record; False on timeout.

    wandb 0.31's ``run.finish()`` returns before wandb-core has flushed and closed the file
    (the stream is closed asynchronously), so a reader right after ``finish`` can see a file
    cut at a 32 KiB block boundary. The exit record is the last record a finished run writes.
    """
    from wandb.proto import wandb_internal_pb2 as pb

    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        last = b""
        if Path(path).is_file() and Path(path).stat().st_size >= FILE_HEADER.size:
            for last in iter_payloads(path, warn_truncated=False):  # noqa: B007
                pass
        if last and pb.Record.FromString(last).WhichOneof("record_type") == "exit":
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


def find_run_file(location: str | Path) -> Path:
    """The ``run-*.wandb`` file for a ``.wandb`` path, an offline run dir or a ``WANDB_DIR``.

    For a directory holding several runs the most recently written one is returned.
    """
    path = Path(location)
    if path.is_file():
        if path.suffix != ".wandb":
            raise InputError(f"{path} is not a .wandb file")
        return path
    if not path.is_dir():
        raise InputError(f"{path} does not exist: pass a .wandb file or a W&B run directory")
    candidates = list(path.glob("run-*.wandb"))
    for pattern in ("*-run-*/run-*.wandb", "wandb/*-run-*/run-*.wandb"):
        candidates = candidates or list(path.glob(pattern))
    if not candidates:
        raise InputError(f"no run-*.wandb file under {path}: is it a WANDB_DIR or a run dir?")
    return max(candidates, key=lambda p: (p.stat().st_mtime_ns, p.name))


def _records(location: str | Path, kind: str) -> Iterator[Any]:
    for record in iter_records(find_run_file(location)):
        if record.WhichOneof("record_type") == kind:
            yield getattr(record, kind)


def _item_key(item: Any) -> list[str]:
    return list(item.nested_key) if item.nested_key else [item.key]


def _set(target: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    target[keys[-1]] = value


def _remove(target: dict[str, Any], keys: list[str]) -> None:
    for key in keys[:-1]:
        target = target.get(key, {})
    target.pop(keys[-1], None)


def _apply(target: dict[str, Any], update: Any) -> None:
    for item in update.update:
        _set(target, _item_key(item), json.loads(item.value_json))
    for item in update.remove:
        _remove(target, _item_key(item))


def run_config(location: str | Path, *, include_internal: bool = False) -> dict[str, Any]:
    """The run config as logged: the initial config plus every later update, in order.

    W&B's own ``_wandb`` bookkeeping entry is left out unless ``include_internal``.
    """
    config: dict[str, Any] = {}
    for record in iter_records(find_run_file(location)):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            _apply(config, record.run.config)
        elif kind == "config":
            _apply(config, record.config)
    if not include_internal:
        config.pop("_wandb", None)
    return config


def run_summary(location: str | Path, *, include_internal: bool = False) -> dict[str, Any]:
    """The run summary after every summary update (explicit and from ``log``), in order.

    W&B's own ``_wandb`` bookkeeping entry is left out unless ``include_internal``.
    """
    summary: dict[str, Any] = {}
    for record in iter_records(find_run_file(location)):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            _apply(summary, record.run.summary)
        elif kind == "summary":
            _apply(summary, record.summary)
    if not include_internal:
        summary.pop("_wandb", None)
    return summary


def _history_value(item: Any) -> Any:
    which = item.WhichOneof("value")
    if which is None:
        return json.loads(item.value_json) if item.value_json else None
    if which == "none":
        return None
    if which == "json":
        return json.loads(item.json)
    return getattr(item, which)


def history(location: str | Path) -> list[dict[str, Any]]:
    """One dict per logged history row (``run.log`` call), including ``_step`` etc."""
    rows: list[dict[str, Any]] = []
    for record in _records(location, "history"):
        row: dict[str, Any] = {}
        for item in record.item:
            _set(row, _item_key(item), _history_value(item))
        rows.append(row)
    return rows


def _json_or_raw(text: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def logged_artifacts(location: str | Path) -> list[dict[str, Any]]:
    """Every artifact the run logged: name, type, aliases, metadata and manifest entries.

    Each entry is ``{"path", "ref", "digest", "size", "extra"}``; ``extra`` holds the storage
    handler's details (for S3 references ``etag`` and ``versionID``).
    """
    artifacts = []
    for art in _records(location, "artifact"):
        entries = [
            {
                "path": entry.path,
                "ref": entry.ref or None,
                "digest": entry.digest,
                "size": entry.size,
                "extra": {item.key: _json_or_raw(item.value_json) for item in entry.extra},
            }
            for entry in art.manifest.contents
        ]
        artifacts.append(
            {
                "name": art.name,
                "type": art.type,
                "aliases": list(art.aliases),
                "tags": list(art.tags),
                "description": art.description or None,
                "digest": art.digest,
                "metadata": _json_or_raw(art.metadata) or {},
                "entries": entries,
            }
        )
    return artifacts


def used_artifacts(location: str | Path) -> list[dict[str, Any]]:
    """Artifacts the run declared as inputs through W&B (online runs only)."""
    return [
        {"id": use.id, "name": use.name, "type": use.type}
        for use in _records(location, "use_artifact")
    ]
