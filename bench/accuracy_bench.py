"""Honest accuracy on the real data sets: the whole pipeline in-process, leakage scrub on.

Runs dataset -> tune (default grid, 5-fold CV on the full train split) -> train for LIAR
(binary mapping) and FakeNewsNet (titles) from ``<project>/../shared/data`` against a
throwaway local S3 endpoint, and prints the test metrics of the selected model next to
published text-only baselines (see docs/performance.md).

    python bench/accuracy_bench.py [--sources liar fakenewsnet] [--grid default|small]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", nargs="+", default=["liar", "fakenewsnet"])
    parser.add_argument("--grid", default="default", choices=["default", "small"])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent")
        return 0
    work = tempfile.mkdtemp(prefix="fn-accuracy-")
    os.environ.update({"WANDB_MODE": "offline", "WANDB_DIR": work, "WANDB_SILENT": "true",
                       "WANDB_X_DISABLE_STATS": "true", "FN_CACHE_DIR": f"{work}/cache",
                       "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1"})
    from moto.server import ThreadedMotoServer

    from fnlib.stages import train, tune
    from fnlib.stages.dataset import DatasetRequest, run_all
    from fnlib.storage import ObjectStore
    from fnlib.storage.client import make_s3_client

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
    store = ObjectStore(make_s3_client(), "fn-accuracy")
    store.ensure_bucket(create=True)
    rows = []
    try:
        for source in args.sources:
            t0 = time.perf_counter()
            ds = run_all(store, DatasetRequest(source=source, path=str(DATA / source)), track_wandb=False)
            planned = tune.plan(store, tune.TuneRequest(dataset_id=ds["dataset_id"], grid=args.grid,
                                                        folds=args.folds))
            for cfg in planned["feature_configs"]:
                tune.featurize(store, planned, cfg)
            results = [tune.score(store, planned, cfg) for cfg in planned["configs"]]
            summary = tune.reduce(store, planned, results)
            trained = train.train(store, train.TrainRequest(tuning_id=summary["tuning_id"], f1_floor=0.0))
            test = trained["test"]
            rows.append((source, ds["rows"], summary["best"]["config_id"], summary["best"]["mean"]["f1"],
                         test, time.perf_counter() - t0))
            print(f"{source}: train {ds['rows']['train']} / test {ds['rows']['test']} rows, "
                  f"{len(results)} configs, best CV F1 {summary['best']['mean']['f1']:.4f}, "
                  f"test accuracy {test['accuracy']:.4f} F1 {test['f1']:.4f} ROC-AUC {test.get('roc_auc') or 0:.4f} "
                  f"({time.perf_counter() - t0:.0f}s)", flush=True)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
