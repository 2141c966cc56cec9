"""The tuning stage: a grid of Pipelines scored by stratified k-fold CV on the full train split.

    plan         resolve the dataset, build the grid, name the tuning run (content-addressed),
                 split the grid into chunks (:mod:`fnlib.models.chunking`)
    featurize    once per (variant, vectorizer setting): clean texts once, fit the vectorizer
                 per fold, store the fold matrices (local cache in front of the bucket's
                 feature store, :mod:`fnlib.models.feature_store`)
    score_chunk  once per chunk (configurations sharing one feature key): read the fold
                 features once, then fit/score each configuration on them, one W&B run per
                 configuration in the tuning group
    reduce       leaderboard (JSON + CSV in S3, W&B table), best config, tuning manifest

:func:`score` scores one configuration (a chunk of one). However the grid is chunked, every
configuration's result is computed the same way on the same features, so the leaderboard does
not depend on the chunking, the runtime or which worker built the features.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypedDict

import pandas as pd

from fnlib import settings
from fnlib.catalog import GRIDS, MODELS, TUNING_METRICS, VARIANTS, content_id, object_key
from fnlib.data import schema
from fnlib.errors import InputError
from fnlib.provenance import provenance
from fnlib.stages.common import RefDict, Run, RunIds, StageRequest, read_split, resolve
from fnlib.storage.manifest import (
    Manifest,
    commit_manifest,
    find_manifest_or_none,
    parent_link,
)
from fnlib.storage.objects import ObjectRef, ObjectStore

log = logging.getLogger(__name__)


@dataclass
class TuneGrid(StageRequest):
    """What is tuned and how it is scored: shared by a tuning run and a transfer table."""

    models: list[str] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)
    grid: str = "default"
    folds: int = 5
    metric: str = "f1"
    seed: int = 42

    def __post_init__(self) -> None:
        self.models = list(self.models or MODELS)
        self.variants = list(self.variants or VARIANTS)
        for name, given, known in (("model", self.models, MODELS), ("variant", self.variants, VARIANTS)):
            bad = sorted(set(given) - set(known))
            if bad:
                raise InputError(f"unknown {name}(s) {bad}; choose from {list(known)}")
        if self.grid not in GRIDS:
            raise InputError(f"grid must be one of {GRIDS}, got {self.grid!r}")
        if self.metric not in TUNING_METRICS:
            raise InputError(f"metric must be one of {list(TUNING_METRICS)}, got {self.metric!r}")
        if not 2 <= int(self.folds) <= 20:
            raise InputError(f"folds must be between 2 and 20, got {self.folds}")

    def grid_fields(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(TuneGrid)}


@dataclass
class TuneRequest(TuneGrid):
    """The fn_tune form / ``fn tune`` flags: a grid on one dataset."""

    what = "tuning"

    dataset_id: str | None = None
    chunks: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.chunks is not None and not 1 <= int(self.chunks) <= 1000:
            raise InputError(f"chunks must be between 1 and 1000 (or empty: one per worker "
                             f"slot), got {self.chunks}")

    @classmethod
    def run_params(cls, run: Run | Mapping[str, Any],
                   item: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Without a dataset id, the dataset whose Asset event triggered the run."""
        params = dict(run["params"])
        params["dataset_id"] = params.get("dataset_id") or run.get("triggered_by", {}).get(
            "dataset_id")
        return params


class Planned(TypedDict):
    """:func:`plan`'s result, handed to every featurize/score task and to reduce."""

    tuning_id: str
    dataset_id: str
    dataset_manifest: RefDict
    request: dict[str, Any]
    configs: list[dict[str, Any]]
    feature_configs: list[dict[str, Any]]
    chunks: list[Chunk]


class Chunk(TypedDict):
    label: str
    configs: list[dict[str, Any]]


class Featurized(TypedDict):
    feature_key: str
    folds: int
    n_features: list[int]


class Tuned(TypedDict):
    """The committed tuning: the best configuration and where the leaderboard is."""

    tuning_id: str
    dataset_id: str
    manifest: RefDict
    manifest_uri: str
    best: dict[str, Any]
    metric: str


def build_grid(request: TuneRequest) -> list[Any]:
    from fnlib.models.grids import default_grid, small_grid

    grid_fn = small_grid if request.grid == "small" else default_grid
    grid = grid_fn(models=tuple(request.models), variants=tuple(request.variants))
    if not grid:
        raise InputError("the grid is empty: choose at least one model and one variant")
    return grid


def plan(store: ObjectStore, request: TuneRequest, slots: int = 1) -> Planned:
    """Resolve the dataset, build the grid and chunk it (``request.chunks``, else
    :func:`~fnlib.models.chunking.default_chunks` for ``slots`` worker slots)."""
    from fnlib.models.chunking import chunk_grid, chunk_label, default_chunks

    dataset, dataset_ref = resolve(store, "dataset", request.dataset_id)
    grid = build_grid(request)
    # labels name the mapped task instances in the Airflow UI; from_dict ignores them
    configs = [{**cfg.to_dict(), "label": cfg.label} for cfg in grid]
    # the id names what is computed, never how it is chunked: same id, same leaderboard
    tuning_id = content_id("tune", dataset.id, sorted(c.config_id for c in grid),
                           request.folds, request.seed, request.metric)
    features = sorted({cfg.feature_key: {**cfg.to_dict(), "label": cfg.features.label}
                       for cfg in grid}.items())
    n_chunks = int(request.chunks or default_chunks(len(features), slots))
    chunked = chunk_grid(grid, n_chunks)
    chunks = [{"label": chunk_label(chunk, i, len(chunked)),
               "configs": [{**c.to_dict(), "label": c.label} for c in chunk]}
              for i, chunk in enumerate(chunked)]
    log.info("tuning %s: %d configurations in %d chunks, %d feature settings, %d folds on "
             "dataset %s", tuning_id, len(configs), len(chunks), len(features), request.folds,
             dataset.id)
    return {
        "tuning_id": tuning_id,
        "dataset_id": dataset.id,
        "dataset_manifest": dataset_ref.to_dict(),
        "request": asdict(request),
        "configs": configs,
        "feature_configs": [cfg for _, cfg in features],
        "chunks": chunks,
    }


def _fold_features(store: ObjectStore, planned: Planned, config: Any,
                   run_ids: RunIds | None = None) -> Sequence[Any]:
    from fnlib.models.feature_store import FeatureBucket, FeatureCache, fold_features_for

    request = planned["request"]
    dataset_ref = ObjectRef.from_dict(planned["dataset_manifest"])
    bucket = None
    if settings.feature_store() == "bucket":
        bucket = FeatureBucket(store, [parent_link(dataset_ref, "dataset")], run_ids)

    def load_train() -> tuple[Any, Any]:
        dataset, _ = resolve(store, "dataset", None, dataset_ref.to_dict())
        train = read_split(store, dataset, "train")
        return train[schema.TEXT], train[schema.LABEL].to_numpy()

    return fold_features_for(config, load_train, int(request["folds"]), int(request["seed"]),
                             FeatureCache(settings.cache_dir(), bucket=bucket),
                             planned["dataset_id"])


def featurize(store: ObjectStore, planned: Planned, config: dict[str, Any],
              run_ids: RunIds | None = None) -> Featurized:
    """Compute (or find stored) the fold features for one feature setting."""
    from fnlib.models.feature_store import StoredFolds
    from fnlib.models.specs import ModelConfig

    cfg = ModelConfig.from_dict(config)
    folds = _fold_features(store, planned, cfg, run_ids)
    widths = folds.widths if isinstance(folds, StoredFolds) else [f.n_features for f in folds]
    return {"feature_key": cfg.feature_key, "folds": len(folds), "n_features": widths}


def score_chunk(store: ObjectStore, planned: Planned, chunk: Chunk,
                run_ids: RunIds | None = None) -> list[dict[str, Any]]:
    """Cross-validate each configuration of ``chunk`` on its shared fold features (each fold
    read once, one in memory at a time); one result and one W&B run per configuration."""
    from fnlib.models.cv import score_configs
    from fnlib.models.specs import ModelConfig

    configs = [ModelConfig.from_dict(c) for c in chunk["configs"]]
    keys = {c.feature_key for c in configs}
    if len(keys) != 1:
        raise InputError(f"a chunk must hold configurations of one feature key, got {sorted(keys)}")
    request = planned["request"]
    folds = _fold_features(store, planned, configs[0], run_ids)
    results = score_configs(configs, folds, metric=request["metric"], seed=int(request["seed"]))
    for cfg, result in zip(configs, results, strict=True):
        result["wandb_run"] = _track(planned, cfg, result, run_ids)
        log.info("%s %s: mean %s %.4f", cfg.config_id, cfg.label, request["metric"],
                 result["mean"][request["metric"]])
    return results


def score(store: ObjectStore, planned: Planned, config: dict[str, Any],
          run_ids: RunIds | None = None) -> dict[str, Any]:
    """Cross-validate one configuration (a chunk of one)."""
    return score_chunk(store, planned, {"label": "", "configs": [config]}, run_ids)[0]


def _track(planned: Planned, cfg: Any, result: dict[str, Any],
           run_ids: RunIds | None) -> str:
    """One W&B run for one configuration's result, in the tuning group; its path."""
    from fnlib.tracking.wandb_run import tracked_run

    request = planned["request"]
    with tracked_run("tune", f"{planned['tuning_id']}-{cfg.config_id}",
                     group=planned["tuning_id"],
                     config={"model_config": cfg.to_dict(), "config_id": cfg.config_id,
                             "dataset_id": planned["dataset_id"], "folds": request["folds"],
                             "metric": request["metric"], "airflow": run_ids or {}},
                     tags=("tune", cfg.model, cfg.variant)) as run:
        run.use_artifact(ObjectRef.from_dict(planned["dataset_manifest"]).versioned_uri)
        for i, fold in enumerate(result["folds"]):
            run.log({f"fold/{k}": v for k, v in fold.items()}, step=i)
        run.summary({**{f"mean/{k}": v for k, v in result["mean"].items()},
                     **{f"std/{k}": v for k, v in result["std"].items()},
                     "fit_time": result["fit_time"], "score_time": result["score_time"]})
        return run.path


def flatten(results: list[Any]) -> list[dict[str, Any]]:
    """Per-configuration results from a mix of chunk outputs (lists) and single results."""
    flat: list[dict[str, Any]] = []
    for item in results:
        flat.extend(item if isinstance(item, list) else [item])
    return flat


def reduce(store: ObjectStore, planned: Planned, results: list[Any],
           run_ids: RunIds | None = None) -> Tuned:
    """Leaderboard, best config and the tuning manifest (written last)."""
    from fnlib.models.cv import leaderboard
    from fnlib.tracking.wandb_run import tracked_run

    tuning_id = planned["tuning_id"]
    committed = find_manifest_or_none(store, "tuning", tuning_id)
    if committed is not None:
        log.info("tuning %s already committed; keeping it", tuning_id)
        return _summary(*committed)
    results = flatten(list(results))
    if len(results) != len(planned["configs"]):
        raise InputError(f"expected {len(planned['configs'])} results, got {len(results)}")
    metric = planned["request"]["metric"]
    board = leaderboard(results, metric=metric)
    csv_bytes = board.to_csv(index=False, lineterminator="\n").encode()
    records = board.to_dict(orient="records")
    best = results_by_id(results)[records[0]["config_id"]]
    objects = {
        "leaderboard_csv": store.put_bytes(object_key("tuning", tuning_id, "leaderboard.csv"),
                                           csv_bytes, content_type="text/csv"),
        "leaderboard": store.put_json(object_key("tuning", tuning_id, "leaderboard.json"),
                                      {"metric": metric, "rows": records}),
    }
    with tracked_run("tune-summary", f"{tuning_id}-leaderboard", group=tuning_id,
                     config={"tuning_id": tuning_id, "dataset_id": planned["dataset_id"],
                             "request": planned["request"], "airflow": run_ids or {}},
                     tags=("tune",)) as run:
        run.log_table("leaderboard", board.astype(str))
        run.summary({f"best/{metric}": best["mean"][metric], "best/config_id": best["config_id"]})
        wandb_path = run.path
    dataset_ref = ObjectRef.from_dict(planned["dataset_manifest"])
    manifest = Manifest(
        kind="tuning",
        id=tuning_id,
        objects=objects,
        parents=[parent_link(dataset_ref, "dataset")],
        params={"request": planned["request"], "dataset_id": planned["dataset_id"],
                "configs": planned["configs"]},
        metrics={"metric": metric, "best": {"config": best["config"], "config_id": best["config_id"],
                                            "mean": best["mean"], "std": best["std"]},
                 "n_configs": len(results)},
        provenance=provenance(run_ids, wandb_run=wandb_path,
                              config_runs={r["config_id"]: r.get("wandb_run") for r in results}),
    )
    ref = commit_manifest(store, manifest)
    return _summary(manifest, ref)


def results_by_id(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["config_id"]: r for r in results}


def _summary(manifest: Manifest, ref: ObjectRef) -> Tuned:
    return {"tuning_id": manifest.id, "dataset_id": manifest.params["dataset_id"],
            "manifest": ref.to_dict(), "manifest_uri": ref.versioned_uri,
            "best": manifest.metrics["best"], "metric": manifest.metrics["metric"]}


def read_leaderboard(store: ObjectStore, manifest: Manifest) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(store.get_bytes(manifest.objects["leaderboard_csv"])))
