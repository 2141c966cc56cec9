"""The catalog: every name, bucket key and id rule of the project, in one module.

DAG files import it at parse time, so it uses the standard library only (a test imports it in
a fresh interpreter and checks that pandas, scikit-learn, boto3 and wandb stay unloaded).

- **Names** the forms, the ``fn`` command and the library share: model families, text
  variants, source layouts, split strategies, grid sizes, tuning and gate metrics. The
  library's own tables (model builders, source loaders, computed metrics) are tested to match.
- **The bucket layout** (one versioned bucket, ``FN_BUCKET``): the folders of committed
  outputs (``raw/``, ``datasets/``, ...), the champion pointer, the retrain-request queue and
  the day-partitioned production folders, as constants and small key functions.
- **Ids**: every id is a content address, ``<prefix>-<hex digits of a sha256>``, minted by
  :func:`make_id`; the rules below say what each kind of id hashes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any

from fnlib.errors import InputError

# -- names ---------------------------------------------------------------------------------

MODELS = ("nb", "linsvm", "sgd", "rf", "logreg")
"""Model families: naive Bayes, linear SVM, SGD, random forest, logistic regression."""
VARIANTS = ("raw", "denoised")
"""Text variants a model may be trained on (:mod:`fnlib.text.clean`)."""
SOURCE_NAMES = ("synthetic", "isot", "liar", "fakenewsnet", "csv", "folders", "json")
"""Every source layout, in the order forms and ``fn dataset --help`` show them; the loaders are
``fnlib.data.sources.SOURCES``. ``synthetic`` is generated and takes no path."""
SOURCES_NEEDING_PATH = tuple(s for s in SOURCE_NAMES if s != "synthetic")
SPLIT_STRATEGIES = ("random", "predefined")
"""``random``: stratified and seeded; ``predefined``: the data set's published split."""
EVALUATION_SPLITS = ("test", "all")
"""What an evaluation scores: a dataset's test split, or all of it (train + test)."""
GRIDS = ("default", "small")
"""Grid sizes of a tuning run (``small``: one configuration per model and feature setting)."""
TUNING_METRICS = ("f1", "accuracy", "precision", "recall", "roc_auc")
"""What cross-validation computes per fold, and what a tuning run may select by."""
GATE_METRICS = ("f1", "accuracy", "roc_auc")
"""Test metrics the champion/challenger gate may compare."""

# -- the bucket layout ---------------------------------------------------------------------

MANIFEST_NAME = "manifest.json"
KIND_PREFIX = {
    "raw": "raw", "dataset": "datasets", "tuning": "tuning", "model": "models", "feedback": "feedback",
    "evaluation": "evaluations", "transfer": "transfers",
    "features": "features",
}
"""Manifest kind -> the folder its outputs live in (``<folder>/<id>/<name>``)."""

CHAMPION_KEY = "registry/champion.json"
"""The champion pointer; its object versions are the promotion history."""

RETRAIN_STATES = ("pending", "claimed", "done")
RETRAIN_PENDING = "retrain-requests/pending/"
RETRAIN_CLAIMED = "retrain-requests/claimed/"
RETRAIN_DONE = "retrain-requests/done/"
RETRAIN_PENDING_GLOB = RETRAIN_PENDING + "*.json"
"""What ``fn_retrain``'s sensor waits for (an S3 key with a wildcard)."""

INCOMING = "incoming"
"""Articles to score: ``incoming/day=YYYY-MM-DD/<name>.csv``."""
INCOMING_REJECTED = "incoming-rejected"
"""Rows that could not be scored, with reasons: ``incoming-rejected/day=.../part-<sha>.csv``."""
PREDICTIONS = "predictions"
FEEDBACK = "feedback"
LOG_KINDS = (PREDICTIONS, FEEDBACK)
"""The two logs, one CSV part per run and day: ``<kind>/day=YYYY-MM-DD/part-<part>.csv``."""
MONITORING = "monitoring"
"""One report per monitored interval: ``monitoring/day=YYYY-MM-DD/report.json``."""

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/=+]*$")
_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PART_RE = re.compile(r"[a-z0-9-]{1,128}")
_NAME_RE = re.compile(r"[A-Za-z0-9._-]+")
INCOMING_KEY_RE = re.compile(r"^incoming/day=(\d{4}-\d{2}-\d{2})/[A-Za-z0-9._-]+\.csv$")


def check_key(key: str) -> str:
    """Reject keys that could escape their prefix or confuse tools (``..``, absolute, control)."""
    if not key or len(key) > 1024 or not _KEY_RE.match(key):
        raise InputError(f"invalid object key {key!r}: use letters, digits and ._-/=+ only")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise InputError(f"invalid object key {key!r}: empty, '.' or '..' path segments")
    return key


def check_day(day: str) -> str:
    """Return ``day`` if it is a real calendar date written ``YYYY-MM-DD``; raise otherwise."""
    if isinstance(day, str) and _DAY_RE.fullmatch(day):
        try:
            dt.date.fromisoformat(day)
        except ValueError:
            pass
        else:
            return day
    raise InputError(f"day must be a date written YYYY-MM-DD (e.g. 2026-11-01), got {day!r}")


def kind_folder(kind: str) -> str:
    """The folder of a manifest kind, with its slash (``models/``), for listing."""
    if kind not in KIND_PREFIX:
        raise InputError(f"unknown manifest kind {kind!r}; known: {sorted(KIND_PREFIX)}")
    return f"{KIND_PREFIX[kind]}/"


def object_key(kind: str, object_id: str, name: str) -> str:
    """``<folder>/<id>/<name>``, e.g. ``datasets/ds-.../train.csv``."""
    return check_key(f"{kind_folder(kind)}{object_id}/{name}")


def manifest_key(kind: str, object_id: str) -> str:
    return object_key(kind, object_id, MANIFEST_NAME)


def retrain_request_key(state: str, request_id: str) -> str:
    """``retrain-requests/<pending|claimed|done>/<request id>.json``."""
    if state not in RETRAIN_STATES:
        raise InputError(f"retrain request state must be one of {RETRAIN_STATES}, got {state!r}")
    return check_key(f"retrain-requests/{state}/{request_id}.json")


def day_prefix(folder: str, day: str | None = None) -> str:
    """``<folder>/day=<day>/``, or ``<folder>/`` for every day."""
    return f"{folder}/" if day is None else f"{folder}/day={check_day(day)}/"


def day_of_key(key: str) -> str | None:
    """The day of a day-partitioned key (``predictions/day=2026-11-01/...`` -> ``2026-11-01``);
    None for other keys (``feedback/`` also holds the feedback manifests' folders)."""
    parts = key.split("/")
    return parts[1].removeprefix("day=") if len(parts) > 2 and parts[1].startswith("day=") else None


def incoming_key(day: str, name: str) -> str:
    if not _NAME_RE.fullmatch(name):
        raise InputError(f"invalid incoming file name {name!r}")
    return f"{day_prefix(INCOMING, day)}{name}.csv"


def partition_key(kind: str, day: str, part: str) -> str:
    """Object key of one log part, e.g. ``predictions/day=2026-11-01/part-<part>.csv``.

    ``part`` must match ``[a-z0-9-]{1,128}`` (no dots or slashes, so no path traversal).
    """
    if kind not in LOG_KINDS:
        raise InputError(f"log kind must be one of {', '.join(LOG_KINDS)}, got {kind!r}")
    check_day(day)
    if not isinstance(part, str) or not _PART_RE.fullmatch(part):
        raise InputError(
            f"log part must be 1-128 characters of a-z, 0-9 and '-', got {part!r}; "
            "derive it from the run id, e.g. re.sub('[^a-z0-9-]', '-', run_id.lower())"
        )
    return f"{day_prefix(kind, day)}part-{part}.csv"


def rejected_key(day: str, part: str) -> str:
    """Where the unscorable rows of one incoming file go."""
    return check_key(f"{day_prefix(INCOMING_REJECTED, day)}{part}.csv")


def report_key(day: str) -> str:
    return f"{day_prefix(MONITORING, day)}report.json"

# -- ids -----------------------------------------------------------------------------------

ID_PREFIX = {
    "raw": "raw", "dataset": "ds", "tuning": "tune", "model": "mdl", "evaluation": "ev",
    "transfer": "tr", "features": "ff", "feedback": "fb",
}
"""Manifest kind -> the prefix of its ids (``fn lineage ds-...`` finds the kind by it)."""


def make_id(prefix: str, content: bytes, digits: int = 16) -> str:
    """``<prefix>-<the first digits of sha256(content) in hex>``: how every id is minted."""
    return f"{prefix}-{hashlib.sha256(content).hexdigest()[:digits]}"


def content_id(prefix: str, *parts: Any) -> str:
    """The id of JSON-serialisable parts (same inputs, same id): tuning runs, models,
    evaluations, transfer tables, fold features, feedback batches, retrain requests."""
    return make_id(prefix, json.dumps(parts, sort_keys=True, default=str).encode())


def settings_id(prefix: str, settings: Any) -> str:
    """``<prefix>-<12 hex>`` of canonical compact JSON: model configurations (``cfg-``) and
    feature settings (``feat-``)."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return make_id(prefix, text.encode("utf-8"), digits=12)


def raw_id(corpus: bytes) -> str:
    """A raw corpus: the sha256 of its canonical CSV bytes."""
    return make_id(ID_PREFIX["raw"], corpus)


def dataset_id(train: bytes, test: bytes) -> str:
    """A dataset: the sha256 of its two split files."""
    return make_id(ID_PREFIX["dataset"], train + b"\x00" + test)


def part_id(data: bytes) -> str:
    """A log part named after the file it was made from (scoring one incoming file)."""
    return make_id("part", data)


def kind_of_id(object_id: str) -> str | None:
    """The manifest kind an id names, by its prefix (None if it has none of them)."""
    return next((kind for kind, prefix in ID_PREFIX.items()
                 if object_id.startswith(f"{prefix}-")), None)
