"""What an offline W&B run logged (config, summary, history, artifacts), read from its
``.wandb`` file without the W&B backend, for the tests to assert on. The record log itself is
parsed by :mod:`fnlib.tracking.records` (its format is described there)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fnlib.errors import InputError
from fnlib.tracking.records import iter_payloads


def iter_records(path: str | Path) -> Iterator[Any]:
    """Yield every ``wandb_internal_pb2.Record`` in the ``.wandb`` file at ``path``."""
    from wandb.proto import wandb_internal_pb2 as pb

    for payload in iter_payloads(path):
        record = pb.Record()
        record.ParseFromString(payload)
        yield record


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


def _merged(location: str | Path, kind: str, include_internal: bool) -> dict[str, Any]:
    """The run's ``config`` or ``summary``: its initial value in the run record plus every
    later update, in order; W&B's own ``_wandb`` entry left out unless ``include_internal``."""
    merged: dict[str, Any] = {}
    for record in iter_records(find_run_file(location)):
        which = record.WhichOneof("record_type")
        if which == "run":
            _apply(merged, getattr(record.run, kind))
        elif which == kind:
            _apply(merged, getattr(record, kind))
    if not include_internal:
        merged.pop("_wandb", None)
    return merged


def run_config(location: str | Path, *, include_internal: bool = False) -> dict[str, Any]:
    """The run config as logged: the initial config plus every later update, in order."""
    return _merged(location, "config", include_internal)


def run_summary(location: str | Path, *, include_internal: bool = False) -> dict[str, Any]:
    """The run summary after every summary update (explicit and from ``log``), in order."""
    return _merged(location, "summary", include_internal)


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
