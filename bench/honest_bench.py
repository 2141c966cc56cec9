"""Honest accuracy: published test splits, cross-validated article sets, cross-domain transfer.

Every figure is the default run a user gets: dataset (leakage scrub, dedupe and near-duplicate
removal on) -> the default tuning grid (5-fold CV on the train split) -> the best configuration
trained on the full train split -> its test split. No setting is tuned to these data sets.
Reads ``<project>/../shared/data``; a throwaway local S3 endpoint (moto) holds the objects.

``liar``      LIAR with its published split (``--split predefined``: valid joins train, the
              test split is the official ``test.tsv``), binary mapping.
``articles``  the Pérez-Rosas sets, which have no official split: 5-fold cross-validation of
              the whole pipeline (each outer fold is the test split of one dataset built with a
              predefined split; tuning runs inside the other four folds only).
``transfer``  ``fn transfer`` on three pairs: FakeNewsNet gossipcop vs politifact titles,
              Pérez-Rosas fakeNewsDataset vs celebrityDataset, FakeNewsNet BuzzFeed vs
              PolitiFact articles.

    python bench/honest_bench.py [--parts liar articles transfer] [--pairs titles ...]
                                 [--grid default|small]

W&B runs are disabled here (``--wandb offline`` to keep them): they change no figure.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
PAIRS = {
    "titles": (("gossipcop", "fakenewsnet", "fakenewsnet", {"collections": ["gossipcop"]}),
               ("politifact", "fakenewsnet", "fakenewsnet", {"collections": ["politifact"]})),
    "perez_rosas": (("fakeNewsDataset", "folders", "perez_rosas/fakeNewsDataset", {}),
                    ("celebrityDataset", "folders", "perez_rosas/celebrityDataset", {})),
    "articles": (("BuzzFeed", "json", "fakenewsnet_articles/BuzzFeed", {}),
                 ("PolitiFact", "json", "fakenewsnet_articles/PolitiFact", {})),
}


@contextlib.contextmanager
def scratch_store(bucket: str, wandb_mode: str = "disabled") -> Iterator[tuple[Any, Path]]:
    """An object store on a throwaway local S3 endpoint (moto's server on loopback), with W&B
    ``wandb_mode`` and the feature cache in a new temporary folder: ``(store, folder)``."""
    work = Path(tempfile.mkdtemp(prefix=f"{bucket}-"))
    os.environ.update({"WANDB_MODE": wandb_mode, "WANDB_DIR": str(work), "WANDB_SILENT": "true",
                       "WANDB_X_DISABLE_STATS": "true", "FN_CACHE_DIR": str(work / "cache"),
                       "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1"})
    from moto.server import ThreadedMotoServer

    from fnlib.storage import ObjectStore
    from fnlib.storage.client import make_s3_client

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
        store = ObjectStore(make_s3_client(), bucket)
        store.ensure_bucket(create=True)
        yield store, work
    finally:
        server.stop()


def pipeline(store: Any, request: Any, grid: str, folds: int) -> dict[str, Any]:
    """dataset -> default tuning -> train, as ``fn dataset/tune/train`` run it: the dataset,
    the tuning's metrics (best configuration, number of configurations), the trained model."""
    from fnlib.stages import train, tune
    from fnlib.stages.dataset import run_all
    from fnlib.stages.transfer import ensure_tuned
    from fnlib.storage.manifest import find_manifest

    ds = run_all(store, request, track_wandb=False)
    tuning_id = ensure_tuned(store, tune.TuneRequest(dataset_id=ds["dataset_id"], grid=grid,
                                                     folds=folds))
    trained = train.train(store, train.TrainRequest(tuning_id=tuning_id, f1_floor=0.0))
    return {"dataset": ds, "tuning": find_manifest(store, "tuning", tuning_id)[0].metrics,
            "trained": trained, "label": _label(store, trained["model_id"])}


def _label(store: Any, model_id: str) -> str:
    from fnlib.models.specs import ModelConfig
    from fnlib.storage.manifest import find_manifest

    return ModelConfig.from_dict(find_manifest(store, "model", model_id)[0].params["config"]).label


def _row(name: str, result: dict[str, Any], seconds: float) -> str:
    test, rows = result["trained"]["test"], result["dataset"]["rows"]
    return (f"| {name} | {rows['train']:,} / {rows['test']:,} | {test['accuracy']:.3f} | "
            f"{test['f1']:.3f} | {test.get('roc_auc') or 0:.3f} | {seconds:.0f} s |")


def part_liar(store: Any, args: argparse.Namespace) -> None:
    from fnlib.stages.dataset import DatasetRequest

    print("\n## LIAR, official test split (binary mapping, statement text only)")
    print("| data | train / test rows | test accuracy | test F1 (fake) | ROC-AUC | wall |")
    print("|---|---|---|---|---|---|")
    t0 = time.perf_counter()
    result = pipeline(store, DatasetRequest(source="liar", path=str(DATA / "liar"),
                                             split="predefined"), args.grid, args.folds)
    print(_row("LIAR official test", result, time.perf_counter() - t0), flush=True)
    print(f"model: {result['trained']['model_id']}: {result['label']}")


def part_articles(store: Any, args: argparse.Namespace, work: Path) -> None:
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    from fnlib.data.sources import load_source
    from fnlib.stages.dataset import DatasetRequest

    print("\n## Pérez-Rosas article sets, 5-fold cross-validation of the whole pipeline")
    print("| data | fold | train / test rows | accuracy | F1 (fake) | best config |")
    print("|---|---|---|---|---|---|")
    for name in ("fakeNewsDataset", "celebrityDataset"):
        corpus = load_source("folders", str(DATA / "perez_rosas" / name))
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=42)
        accuracy, f1 = [], []
        for k, (_, test_index) in enumerate(folds.split(corpus, corpus["label"])):
            frame = corpus[["id", "text", "label"]].copy()
            frame["split"] = "train"
            frame.loc[frame.index[test_index], "split"] = "test"
            path = work / f"{name}-fold{k}.csv"
            frame.to_csv(path, index=False)
            result = pipeline(store, DatasetRequest(source="csv", path=str(path), split="predefined",
                                                     options={"split_column": "split",
                                                              "id_column": "id"}),
                               args.grid, args.folds)
            test, rows = result["trained"]["test"], result["dataset"]["rows"]
            accuracy.append(test["accuracy"])
            f1.append(test["f1"])
            print(f"| {name} | {k + 1} | {rows['train']} / {rows['test']} | {test['accuracy']:.3f} | "
                  f"{test['f1']:.3f} | {result['label']} |", flush=True)
        print(f"| **{name}** | mean ± sd | | **{np.mean(accuracy):.3f} ± {np.std(accuracy):.3f}** | "
              f"{np.mean(f1):.3f} ± {np.std(f1):.3f} | |", flush=True)


def part_transfer(store: Any, args: argparse.Namespace) -> None:
    from fnlib.stages.dataset import DatasetRequest, run_all
    from fnlib.stages.transfer import TransferRequest, format_table, transfer

    for pair in args.pairs:
        sides = PAIRS[pair]
        t0 = time.perf_counter()
        names = {}
        for label, source, path, options in sides:
            ds = run_all(store, DatasetRequest(source=source, path=str(DATA / path), options=options),
                         track_wandb=False)
            names[ds["dataset_id"]] = label
            print(f"{label}: {ds['dataset_id']} train {ds['rows']['train']} / test {ds['rows']['test']}")
        result = transfer(store, TransferRequest(datasets=list(names), names=names, grid=args.grid,
                                                 folds=args.folds))
        print(f"\n### transfer: {pair} ({time.perf_counter() - t0:.0f} s, {result['transfer_id']})")
        for metric in ("f1", "accuracy"):
            print(f"{metric} (rows: trained on, columns: tested on)")
            print(format_table(result, metric))
        for row in result["rows"]:
            print(f"  {row['trained_on']} -> {row['tested_on']}: {row['model_id']} n={row['n']}")
        for model_id in dict.fromkeys(row["model_id"] for row in result["rows"]):
            print(f"  {model_id}: {_label(store, model_id)}")
        sys.stdout.flush()


def main() -> int:
    global DATA
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", nargs="+", default=["liar", "articles", "transfer"],
                        choices=["liar", "articles", "transfer"])
    parser.add_argument("--pairs", nargs="+", default=list(PAIRS), choices=list(PAIRS),
                        help="the transfer pairs to run")
    parser.add_argument("--grid", default="default", choices=["default", "small"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--wandb", default="disabled", choices=["disabled", "offline"])
    parser.add_argument("--data", type=Path, default=DATA, help=f"the real data sets (default {DATA})")
    args = parser.parse_args()
    DATA = args.data
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent")
        return 0
    print(f"grid {args.grid}, {args.folds}-fold tuning CV; data {DATA}")
    with scratch_store("fn-honest", args.wandb) as (store, work):
        if "liar" in args.parts:
            part_liar(store, args)
        if "articles" in args.parts:
            part_articles(store, args, work)
        if "transfer" in args.parts:
            part_transfer(store, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
