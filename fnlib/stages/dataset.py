"""The dataset stage: ingest a raw corpus, prepare train/test splits, track, commit.

    ingest   load + validate the raw source; on success upload the canonical raw corpus and a
             ``raw`` manifest (bad input uploads nothing)
    prepare  scrub, de-duplicate and split the raw corpus; upload train.csv, test.csv and the
             preparation report under a content-addressed dataset id
    track    log a W&B dataset artifact made of S3 references (offline without an API key)
    commit   write the dataset manifest last: the dataset exists once its manifest does

Each function takes and returns small JSON-serialisable dicts, so Airflow passes them via XCom.
"""

from __future__ import annotations

import io
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import pandas as pd

from fnlib import catalog, settings
from fnlib.catalog import SOURCE_NAMES, SOURCES_NEEDING_PATH, SPLIT_STRATEGIES, object_key
from fnlib.data import schema
from fnlib.data.prepare import PrepareOptions, prepare_corpus, write_split_csv
from fnlib.data.sources import load_source
from fnlib.data.split import SPLIT_COLUMN, predefined_assignment
from fnlib.data.validate import ValidationLimits, validate_corpus
from fnlib.errors import InputError
from fnlib.provenance import provenance
from fnlib.stages.common import RefDict, RunIds, StageRequest
from fnlib.storage.manifest import Manifest, commit_manifest, load_manifest, parent_link
from fnlib.storage.objects import ObjectRef, ObjectStore, file_sha256

log = logging.getLogger(__name__)


@dataclass
class DatasetRequest(StageRequest):
    """What a user asks for (the fn_dataset form / ``fn dataset`` flags)."""

    what = "dataset"

    source: str = "synthetic"
    path: str | None = None
    test_size: float = 0.2
    seed: int = 42
    scrub: bool = True
    dedupe: bool = True
    split: str = "random"
    near_dedupe: bool = True
    n_docs: int = 2000
    label_mapping: dict[str, int] | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.source not in SOURCE_NAMES:
            raise InputError(f"unknown source {self.source!r}; valid sources: {', '.join(SOURCE_NAMES)}")
        if self.split not in SPLIT_STRATEGIES:
            raise InputError(f"split must be one of {', '.join(SPLIT_STRATEGIES)}, got {self.split!r}")
        if self.source in SOURCES_NEEDING_PATH and not self.path:
            raise InputError(f"source {self.source!r} needs a path to its files")
        if self.path:  # relative paths mean the data root, wherever the task runs
            self.path = str(settings.data_path(self.path))
        if not 0.0 < float(self.test_size) < 1.0:
            raise InputError(f"test_size must be between 0 and 1, got {self.test_size}")
        if self.source == "synthetic" and not 20 <= int(self.n_docs) <= 2_000_000:
            raise InputError(f"n_docs must be between 20 and 2,000,000, got {self.n_docs}")
        if self.label_mapping is not None:
            bad = {k: v for k, v in self.label_mapping.items() if v not in (0, 1)}
            if bad:
                raise InputError(f"label_mapping values must be 0 (real) or 1 (fake): {bad}")

    def split_column(self) -> str:
        """The user's name for the split column, for error messages."""
        named = self.options.get("split_column") or self.options.get("split_field")
        return str(named) if named else f"{SPLIT_COLUMN} (from the file names)"

    def loader_options(self) -> dict[str, Any]:
        opts = dict(self.options)
        if self.source == "synthetic":
            opts.setdefault("n_docs", int(self.n_docs))
            opts.setdefault("seed", int(self.seed))
        if self.label_mapping is not None:
            key = "mapping" if self.source == "liar" else "label_map"
            opts[key] = dict(self.label_mapping)
        return opts


class Ingested(TypedDict):
    raw_id: str
    manifest: RefDict
    rows: int


class Prepared(TypedDict):
    """The uploaded splits, not committed yet (the dataset manifest is written by commit)."""

    dataset_id: str
    source: str
    raw_manifest: RefDict
    objects: dict[str, RefDict]
    rows: dict[str, int]
    split: str
    dropped_from_train: dict[str, int]
    class_counts: dict[str, dict[str, int]]


class Tracked(TypedDict):
    wandb_run: str
    wandb_dir: str
    artifact: str


class Committed(TypedDict):
    dataset_id: str
    manifest: RefDict
    manifest_uri: str


def _file_checksums(path: str | None) -> list[dict[str, Any]]:
    if not path:
        return []
    root = Path(path)
    files = sorted(p for p in (root.rglob("*") if root.is_dir() else [root]) if p.is_file())
    out = []
    for p in files:
        digest, size = file_sha256(p)
        out.append({"name": str(p.relative_to(root) if root.is_dir() else p.name),
                    "sha256": digest, "size": size})
    return out


def _corpus_bytes(df: pd.DataFrame) -> bytes:
    ordered = df.sort_values(schema.ID, kind="stable")
    return ordered.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _read_corpus(data: bytes) -> pd.DataFrame:
    df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    df[schema.LABEL] = df[schema.LABEL].astype(int)
    return df


def ingest(store: ObjectStore, request: DatasetRequest, run_ids: RunIds | None = None) -> Ingested:
    """Load and validate the raw source; upload it and its manifest only if it is valid."""
    log.info("loading %s from %s", request.source, request.path or "(generated)")
    corpus = load_source(request.source, request.path, **request.loader_options())
    summary = validate_corpus(corpus, request.source, ValidationLimits())
    if request.split == "predefined":  # a bad published split is bad input: nothing is written
        predefined_assignment(corpus, request.path or request.source, request.split_column())
    data = _corpus_bytes(corpus)
    raw_id = catalog.raw_id(data)
    corpus_ref = store.put_bytes(object_key("raw", raw_id, "corpus.csv"), data, content_type="text/csv")
    manifest = Manifest(
        kind="raw",
        id=raw_id,
        objects={"corpus": corpus_ref},
        params={
            "source": request.source,
            "path": request.path,
            "loader_options": request.loader_options(),
            "files": _file_checksums(request.path),
            "synthetic": request.source == "synthetic",
        },
        metrics={"validation": summary, "rows": len(corpus)},
        provenance=provenance(run_ids),
    )
    ref = commit_manifest(store, manifest)
    log.info("raw corpus %s: %d rows -> %s", raw_id, len(corpus), ref.versioned_uri)
    return {"raw_id": raw_id, "manifest": ref.to_dict(), "rows": len(corpus)}


def prepare(store: ObjectStore, ingested: Ingested, request: DatasetRequest) -> Prepared:
    """Scrub, de-duplicate and split the ingested corpus; upload the splits (data first)."""
    raw_ref = ObjectRef.from_dict(ingested["manifest"])
    raw_manifest, _ = load_manifest(store, raw_ref.versioned_uri, raw_ref.sha256)
    corpus = _read_corpus(store.get_bytes(raw_manifest.objects["corpus"]))
    options = PrepareOptions(
        scrub=bool(request.scrub), dedupe=bool(request.dedupe), split=request.split,
        near_dedupe=bool(request.near_dedupe), test_size=float(request.test_size),
        seed=int(request.seed),
    )
    prepared = prepare_corpus(corpus, request.source, options, origin=request.path,
                              split_column=request.split_column())
    report = prepared.report
    train_bytes = write_split_csv(prepared.train)
    test_bytes = write_split_csv(prepared.test)
    dataset_id = catalog.dataset_id(train_bytes, test_bytes)
    objects = {
        "train": store.put_bytes(object_key("dataset", dataset_id, "train.csv"), train_bytes, content_type="text/csv"),
        "test": store.put_bytes(object_key("dataset", dataset_id, "test.csv"), test_bytes, content_type="text/csv"),
        "report": store.put_json(object_key("dataset", dataset_id, "report.json"), prepared.report),
    }
    log.info("dataset %s: train %d rows, test %d rows", dataset_id, len(prepared.train), len(prepared.test))
    return {
        "dataset_id": dataset_id,
        "source": request.source,
        "raw_manifest": raw_ref.to_dict(),
        "objects": {name: ref.to_dict() for name, ref in objects.items()},
        "rows": {"train": len(prepared.train), "test": len(prepared.test)},
        "split": request.split,
        "dropped_from_train": {
            "duplicates_of_test": report.get("dedupe", {}).get("cross_split", {}).get("train_rows_dropped", 0),
            "near_duplicates_of_test": report["near_duplicates_across_split"].get("train_rows_dropped", 0),
        },
        "class_counts": {
            split: {schema.LABEL_NAMES[int(k)]: int(v) for k, v in frame[schema.LABEL].value_counts().items()}
            for split, frame in (("train", prepared.train), ("test", prepared.test))
        },
    }


def track(prepared: Prepared, request: DatasetRequest, run_ids: RunIds | None = None) -> Tracked:
    """Log the dataset to W&B as an artifact of S3 references; returns the run path."""
    from fnlib.tracking.wandb_run import tracked_run

    dataset_id = prepared["dataset_id"]
    group = (run_ids or {}).get("run_id") or f"cli-{dataset_id}"
    config = {"dataset_id": dataset_id, "request": asdict(request), "airflow": run_ids or {}}
    with tracked_run("dataset", f"dataset-{dataset_id}", group=str(group), config=config,
                     tags=("dataset", request.source)) as run:
        refs = {name: ObjectRef.from_dict(r) for name, r in prepared["objects"].items()}
        run.summary({"rows_train": prepared["rows"]["train"], "rows_test": prepared["rows"]["test"]})
        artifact = run.log_reference_artifact(
            name=f"fn-dataset-{request.source}",
            type="dataset",
            refs=list(refs.values()),
            names=[f"{name}.{'json' if name == 'report' else 'csv'}" for name in refs],
            metadata={
                "dataset_id": dataset_id,
                "synthetic": request.source == "synthetic",
                "raw_manifest": prepared["raw_manifest"]["uri"],
                "objects": {n: {"uri": r.versioned_uri, "version_id": r.version_id, "sha256": r.sha256}
                            for n, r in refs.items()},
                "class_counts": prepared["class_counts"],
            },
            aliases=[dataset_id, request.source],
        )
        return {"wandb_run": run.path, "wandb_dir": str(run.offline_dir or ""), "artifact": artifact}


def commit(store: ObjectStore, prepared: Prepared, request: DatasetRequest,
           tracked: Tracked | None = None, run_ids: RunIds | None = None) -> Committed:
    """Write the dataset manifest (the commit). Idempotent: an existing commit is kept."""
    raw_ref = ObjectRef.from_dict(prepared["raw_manifest"])
    manifest = Manifest(
        kind="dataset",
        id=prepared["dataset_id"],
        objects={n: ObjectRef.from_dict(r) for n, r in prepared["objects"].items()},
        parents=[parent_link(raw_ref, "raw")],
        params=asdict(request),
        metrics={"rows": prepared["rows"], "class_counts": prepared["class_counts"],
                 "split": prepared.get("split", "random"),
                 "dropped_from_train": prepared.get("dropped_from_train", {})},
        provenance=provenance(run_ids, wandb_run=(tracked or {}).get("wandb_run")),
    )
    ref = commit_manifest(store, manifest)
    return {"dataset_id": manifest.id, "manifest": ref.to_dict(), "manifest_uri": ref.versioned_uri}


def run_all(store: ObjectStore, request: DatasetRequest, run_ids: RunIds | None = None,
            track_wandb: bool = True) -> dict[str, Any]:
    """All four steps in one process (the ``fn dataset`` command)."""
    ingested = ingest(store, request, run_ids)
    prepared = prepare(store, ingested, request)
    tracked = track(prepared, request, run_ids) if track_wandb else None
    return {**commit(store, prepared, request, tracked, run_ids), "tracked": tracked,
            "rows": prepared["rows"]}
