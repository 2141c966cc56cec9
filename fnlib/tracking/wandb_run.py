"""Weights & Biases runs that mirror the lineage: offline without a key, S3 references as data.

``tracked_run`` opens one W&B run (several per process are fine), yields a :class:`TrackedRun`
and always finishes it. Without ``WANDB_API_KEY`` runs are written offline under
``$WANDB_DIR/wandb/offline-run-*`` (``wandb sync`` uploads them later).

Datasets and models are artifacts of S3 *references* (``s3://bucket/key?versionId=...``), never
copies. W&B's S3 handler (wandb 0.31 ``s3_handler.py``) builds
``boto3.session.Session().resource("s3", endpoint_url=$AWS_S3_ENDPOINT_URL,
region_name=$AWS_REGION)``: with its own variable unset, boto3 resolves the endpoint from
``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` and credentials from the standard chain, so a
local S3 (moto, MinIO) works. But for ``checksum=True`` it HEADs ``ObjectVersion(...).Object()``,
which drops the version id: the entry gets the etag, size and versionID of the *current*
version, not the one referenced. :meth:`TrackedRun.log_reference_artifact` therefore HEADs the
exact version itself and corrects the entry, so the manifest names the bytes actually used.
"""

from __future__ import annotations

import atexit
import importlib
import io
import logging
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qs, urlparse

from fnlib.errors import FnError, InputError
from fnlib.tracking.records import wait_for_exit_record

log = logging.getLogger(__name__)

DEFAULT_PROJECT = "fake-news"
DEFAULT_DIR = Path(".stack/wandb")
MODES = ("online", "offline", "disabled")
_MODE_ALIASES = {"dryrun": "offline", "run": "online"}
_ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_SECRET_KEY = re.compile(
    r"^(.*[_-])?(api[_-]?key|apikey|secret|secret[_-]?key|password|passwd|access[_-]?token|"
    r"auth[_-]?token|session[_-]?token|secret[_-]?access[_-]?key|credentials?)$",
    re.IGNORECASE,
)
_SECRET_ENV = ("WANDB_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID")
REDACTED = "<redacted>"
FLUSH_TIMEOUT_S = 30.0
_ALERT_LEVELS = {"INFO": logging.INFO, "WARN": logging.WARNING, "ERROR": logging.ERROR}


class TrackingError(FnError):
    """W&B is missing, or refused to record something we need recorded faithfully."""


@runtime_checkable
class ObjectRefLike(Protocol):
    """Anything naming one S3 object version, like :class:`fnlib.storage.ObjectRef`.

    Optional attributes ``key``, ``sha256``, ``size`` and ``etag`` are used when present.
    """

    @property
    def versioned_uri(self) -> str: ...


def wandb_mode(environ: Mapping[str, str] | None = None) -> str:
    """``WANDB_MODE`` if set (online/offline/disabled), else online with a key, else offline."""
    env = os.environ if environ is None else environ
    explicit = env.get("WANDB_MODE", "").strip().lower()
    if explicit:
        mode = _MODE_ALIASES.get(explicit, explicit)
        if mode not in MODES:
            raise InputError(f"WANDB_MODE={explicit!r} is not one of {', '.join(MODES)}")
        return mode
    if env.get("WANDB_DISABLED", "").strip().lower() in ("1", "true", "yes"):
        return "disabled"
    return "online" if env.get("WANDB_API_KEY", "").strip() else "offline"


@dataclass(frozen=True)
class TrackingSettings:
    """Where and how runs are recorded; every default comes from the standard W&B env vars."""

    project: str = field(default_factory=lambda: os.environ.get("WANDB_PROJECT") or DEFAULT_PROJECT)
    entity: str | None = field(default_factory=lambda: os.environ.get("WANDB_ENTITY") or None)
    dir: Path = field(default_factory=lambda: Path(os.environ.get("WANDB_DIR") or DEFAULT_DIR))
    mode: str = field(default_factory=wandb_mode)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"tracking mode {self.mode!r} is not one of {', '.join(MODES)}")
        object.__setattr__(self, "dir", Path(self.dir))

    @classmethod
    def from_env(cls, default_dir: str | Path = DEFAULT_DIR) -> TrackingSettings:
        """Settings from the environment, with ``default_dir`` when ``WANDB_DIR`` is unset."""
        return cls(dir=Path(os.environ.get("WANDB_DIR") or default_dir))


def scrub_secrets(value: Any, _path: str = "") -> Any:
    """A copy of ``value`` with credential-like keys and known secret env values redacted."""
    if isinstance(value, Mapping):
        clean = {}
        for key, item in value.items():
            where = f"{_path}.{key}" if _path else str(key)
            if _SECRET_KEY.match(str(key)) and item not in (None, ""):
                log.warning("redacted credential-like entry %r before logging to W&B", where)
                clean[key] = REDACTED
            else:
                clean[key] = scrub_secrets(item, where)
        return clean
    if isinstance(value, list | tuple):
        return [scrub_secrets(item, _path) for item in value]
    if isinstance(value, str):
        for name in _SECRET_ENV:
            secret = os.environ.get(name, "")
            if len(secret) >= 8 and secret in value:
                log.warning("redacted the value of %s found in %r", name, _path or "a value")
                value = value.replace(secret, REDACTED)
    return value


def _clean(value: Mapping[str, Any]) -> dict[str, Any]:
    return scrub_secrets(dict(value))


def _import_wandb() -> Any:
    try:
        return importlib.import_module("wandb")
    except ImportError as exc:
        raise TrackingError(
            "tracking needs the wandb package: pip install 'wandb>=0.21' (or set WANDB_MODE="
            "disabled and skip tracking)"
        ) from exc


def shutdown() -> None:
    """Stop this process's W&B service (finishing open runs); safe to call more than once."""
    if "wandb" in sys.modules:
        sys.modules["wandb"].teardown()


def _register_teardown() -> None:
    """Make :func:`shutdown` the first exit hook to run (atexit is LIFO).

    wandb 0.31 registers its own hook whenever it starts a service; run after it,
    ``wandb.teardown()`` fails with "Already torn down". Run first, it unregisters wandb's.
    """
    atexit.unregister(shutdown)
    atexit.register(shutdown)


def _s3_object_name(uri: str) -> tuple[str, str, str | None]:
    parsed = urlparse(uri)
    key = parsed.path.lstrip("/")
    if parsed.scheme != "s3" or not parsed.netloc or not key:
        raise InputError(f"not an s3 object URI: {uri!r} (expected s3://bucket/key?versionId=...)")
    return parsed.netloc, key, parse_qs(parsed.query).get("versionId", [None])[0]


def _as_uri(ref: ObjectRefLike | str) -> str:
    return ref if isinstance(ref, str) else ref.versioned_uri


class TrackedRun:
    """A thin, typed view of one W&B run; ``.run`` is the underlying ``wandb.Run``."""

    def __init__(self, run: Any, settings: TrackingSettings) -> None:
        self.run = run
        self.settings = settings
        self.mode = settings.mode
        self.run_id: str = run.id
        self.project: str = settings.project
        self.run_file: Path | None = None
        self.offline_dir: Path | None = None
        if self.mode != "disabled":
            self.run_file = Path(run.settings.sync_file)
        if self.mode == "offline":
            self.offline_dir = Path(run.settings.sync_dir)
        self._inputs: list[str] = []
        self._s3: Any = None

    @property
    def path(self) -> str:
        """``entity/project/run_id`` online; the ``offline-run-*`` directory offline."""
        if self.offline_dir is not None:
            return str(self.offline_dir)
        if self.mode == "disabled":
            return f"disabled/{self.project}/{self.run_id}"
        return str(self.run.path)

    @property
    def url(self) -> str | None:
        return self.run.url if self.mode == "online" else None

    def log(self, data: Mapping[str, Any], step: int | None = None) -> None:
        """Append one history row."""
        self.run.log(dict(data), step=step)

    def log_table(self, name: str, data: Any, columns: Sequence[str] | None = None) -> None:
        """Log a table as one history row: a pandas DataFrame, or ``rows`` (lists) with
        ``columns``."""
        wandb = _import_wandb()
        if hasattr(data, "columns"):
            table = wandb.Table(dataframe=data)
        else:
            table = wandb.Table(columns=list(columns or []), data=[list(row) for row in data])
        self.run.log({name: table})

    def log_image(self, name: str, png: bytes | str | Path) -> None:
        """Log an image (PNG bytes, or a file path) as one history row."""
        from PIL import Image

        wandb = _import_wandb()
        image = Image.open(io.BytesIO(png) if isinstance(png, bytes) else Path(png))
        self.run.log({name: wandb.Image(image)})

    def alert(self, title: str, text: str, level: str = "WARN") -> None:
        """Raise an alert: a line in the log always (a warning, or an error for ``ERROR``),
        and a W&B alert too when online. ``level``: INFO, WARN or ERROR."""
        if level not in _ALERT_LEVELS:
            raise InputError(f"alert level must be one of {sorted(_ALERT_LEVELS)}, got {level!r}")
        log.log(max(_ALERT_LEVELS[level], logging.WARNING), "%s: %s", title, text)
        if self.mode == "online":
            wandb = _import_wandb()
            self.run.alert(title=title, text=text, level=getattr(wandb.AlertLevel, level))

    def summary(self, data: Mapping[str, Any]) -> None:
        """Set final values (metrics, ids) on the run summary."""
        self.run.summary.update(_clean(data))

    def update_config(self, data: Mapping[str, Any]) -> None:
        """Add entries to the run config (credentials are redacted)."""
        self.run.config.update(_clean(data), allow_val_change=True)

    def use_artifact(self, ref: str, type: str | None = None) -> Any | None:
        """Declare an input: a W&B artifact ref (``[entity/]project/name:alias``) or S3 URI.

        Every input is also recorded in the run config under ``inputs``, so offline runs
        (where ``wandb`` refuses ``use_artifact``) keep their lineage. Online, W&B artifact
        refs are linked with ``run.use_artifact`` and the artifact is returned.
        """
        ref = scrub_secrets(ref, "input reference")
        if ref not in self._inputs:
            self._inputs.append(ref)
            self.run.config.update({"inputs": list(self._inputs)}, allow_val_change=True)
        if self.mode != "online" or ref.startswith("s3://"):
            log.info("recorded input %s in config (mode %s)", ref, self.mode)
            return None
        return self.run.use_artifact(ref, type=type)

    def log_dataset_artifact(
        self,
        name: str,
        refs: Sequence[ObjectRefLike | str],
        metadata: Mapping[str, Any] | None = None,
        aliases: Sequence[str] = (),
        type: str = "dataset",
    ) -> str:
        """Log a dataset artifact made of S3 references; see :meth:`log_reference_artifact`."""
        return self.log_reference_artifact(name, type, refs, metadata=metadata, aliases=aliases)

    def log_reference_artifact(
        self,
        name: str,
        type: str,
        refs: Sequence[ObjectRefLike | str],
        *,
        names: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        aliases: Sequence[str] = (),
        description: str | None = None,
    ) -> str:
        """Log an artifact whose entries reference exact S3 object versions.

        Each entry is named by ``names`` (default: the key's last segment) and carries the
        object's etag, size and versionID. ``metadata`` gains an ``objects`` map (uri,
        sha256, size per entry) unless it has one. Returns ``[entity/]project/name:alias``
        with the first alias given (else ``latest``), usable with :meth:`use_artifact`.
        """
        if not _ARTIFACT_NAME.match(name):
            raise InputError(f"artifact name {name!r}: use letters, digits, '-', '_', '.'")
        if not refs:
            raise InputError(f"artifact {name!r} needs at least one object reference")
        uris = [_as_uri(ref) for ref in refs]
        parsed = [_s3_object_name(uri) for uri in uris]
        entry_names = list(names) if names else [PurePosixPath(key).name for _, key, _ in parsed]
        if len(entry_names) != len(uris) or len(set(entry_names)) != len(entry_names):
            raise InputError(
                f"artifact {name!r}: entry names {entry_names} must be unique, one per ref"
            )
        meta = dict(metadata or {})
        meta.setdefault(
            "objects", {n: _describe(r) for n, r in zip(entry_names, refs, strict=True)}
        )
        meta = _clean(meta)
        alias_list = list(dict.fromkeys(aliases))
        result = f"{self._entity_prefix()}{name}:{alias_list[0] if alias_list else 'latest'}"
        if self.mode == "disabled":
            log.info("tracking disabled: artifact %s not logged", result)
            return result

        wandb = _import_wandb()
        artifact = wandb.Artifact(name, type=type, description=description, metadata=meta)
        for entry_name, uri, ref, (bucket, key, version) in zip(
            entry_names, uris, refs, parsed, strict=True
        ):
            if not version:
                log.warning("%s has no versionId: W&B records whatever version is current", uri)
            entries = artifact.add_reference(uri, name=entry_name, checksum=True)
            if len(entries) != 1 or entries[0].ref != f"s3://{bucket}/{key}":
                raise TrackingError(
                    f"W&B resolved {uri} to {len(entries)} entries ({[e.ref for e in entries]}),"
                    " not one object: does the object (and its current version) exist?"
                )
            self._pin_version(entries[0], bucket, key, version)
            expected = getattr(ref, "etag", None)
            if expected and expected != entries[0].digest:
                raise TrackingError(
                    f"{uri}: S3 reports etag {entries[0].digest}, the reference says {expected}"
                )
        self.run.log_artifact(artifact, aliases=alias_list or None)
        log.info("logged %s artifact %s with %d S3 references", type, result, len(uris))
        return result

    def _entity_prefix(self) -> str:
        entity = self.settings.entity or (self.run.entity if self.mode == "online" else "")
        return f"{entity}/{self.project}/" if entity else f"{self.project}/"

    def _pin_version(self, entry: Any, bucket: str, key: str, version: str | None) -> None:
        """Make ``entry`` describe exactly ``version`` (wandb 0.31 HEADs the current one)."""
        if not version or entry.extra.get("versionID") == version:
            return
        if self._s3 is None:
            import boto3

            # Same endpoint/region resolution as wandb's S3Handler.init_boto.
            self._s3 = boto3.session.Session().client(
                "s3",
                endpoint_url=os.getenv("AWS_S3_ENDPOINT_URL") or None,
                region_name=os.getenv("AWS_REGION") or None,
            )
        head = self._s3.head_object(Bucket=bucket, Key=key, VersionId=version)
        etag = str(head["ETag"]).strip('"')
        was = entry.extra.get("versionID")
        log.info("s3://%s/%s: pinned W&B entry from version %s to %s", bucket, key, was, version)
        entry.digest = etag
        entry.size = int(head["ContentLength"])
        entry.extra = {**entry.extra, "etag": etag, "versionID": version}


def _describe(ref: ObjectRefLike | str) -> dict[str, Any]:
    info: dict[str, Any] = {"uri": _as_uri(ref)}
    for attr in ("sha256", "size"):
        if getattr(ref, attr, None) is not None:
            info[attr] = getattr(ref, attr)
    return info


@contextmanager
def tracked_run(
    job_type: str,
    name: str,
    group: str | None = None,
    config: Mapping[str, Any] | None = None,
    tags: Sequence[str] = (),
    settings: TrackingSettings | None = None,
    notes: str | None = None,
) -> Iterator[TrackedRun]:
    """Open a W&B run for one job, yield it, and always finish it (exit code 1 on error).

    Sets ``WANDB_SILENT`` and ``WANDB_X_DISABLE_STATS`` (no system-stats process) unless the
    environment already sets them, and stops the W&B service at interpreter exit.
    """
    wandb = _import_wandb()
    settings = settings or TrackingSettings()
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ.setdefault("WANDB_X_DISABLE_STATS", "true")
    settings.dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    run = wandb.init(
        project=settings.project,
        entity=settings.entity,
        dir=str(settings.dir),
        mode=settings.mode,
        job_type=job_type,
        name=name,
        group=group,
        notes=notes,
        tags=list(tags),
        config=_clean(config or {}),
        reinit="create_new",
    )
    _register_teardown()
    tracked = TrackedRun(run, settings)
    elapsed = time.perf_counter() - started
    log.info("W&B %s run %s (%s) started in %.2fs", settings.mode, name, tracked.path, elapsed)
    exit_code = 0
    try:
        yield tracked
    except BaseException:
        exit_code = 1
        raise
    finally:
        run.finish(exit_code=exit_code)
        _wait_until_written(tracked, failing=exit_code != 0)
        elapsed = time.perf_counter() - started
        log.info("W&B run %s finished (exit %d), %.2fs in all", tracked.path, exit_code, elapsed)


def _wait_until_written(tracked: TrackedRun, failing: bool) -> None:
    """Return only once the run's ``.wandb`` file is complete (see ``wait_for_exit_record``)."""
    if tracked.run_file is None or (tracked.mode == "online" and not tracked.run_file.exists()):
        return
    if wait_for_exit_record(tracked.run_file, timeout=FLUSH_TIMEOUT_S):
        return
    message = (
        f"W&B did not finish writing {tracked.run_file} within {FLUSH_TIMEOUT_S:.0f}s; "
        "the offline run may be incomplete (check the wandb-core logs in its logs/ folder)"
    )
    if failing:
        log.error(message)  # do not mask the exception that is already propagating
    else:
        raise TrackingError(message)
