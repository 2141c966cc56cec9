"""The record log of a W&B run (its ``.wandb`` file), read without the W&B backend.

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

The library only needs to know when a finished run's file is complete
(:func:`wait_for_exit_record`); the tests' reader of what a run logged (config, summary,
history, artifacts) builds on :func:`iter_payloads` in ``tests/wandb_records.py``.
"""

from __future__ import annotations

import logging
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

from fnlib.errors import FnError

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
