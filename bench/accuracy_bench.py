"""Honest accuracy on the real data sets: the whole pipeline in-process, leakage scrub on.

Runs dataset -> tune (default grid, 5-fold CV on the full train split) -> train for LIAR
(binary mapping) and FakeNewsNet (titles) from ``<project>/../shared/data`` against a
throwaway local S3 endpoint, and prints the test metrics of the selected model next to
published text-only baselines (see docs/performance.md).

    python bench/accuracy_bench.py [--sources liar fakenewsnet] [--grid default|small]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from honest_bench import pipeline, scratch_store

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
    from fnlib.stages.dataset import DatasetRequest

    with scratch_store("fn-accuracy", "offline") as (store, _):
        for source in args.sources:
            t0 = time.perf_counter()
            result = pipeline(store, DatasetRequest(source=source, path=str(DATA / source)),
                              args.grid, args.folds)
            rows, tuning, test = (result["dataset"]["rows"], result["tuning"],
                                  result["trained"]["test"])
            print(f"{source}: train {rows['train']} / test {rows['test']} rows, "
                  f"{tuning['n_configs']} configs, best CV F1 {tuning['best']['mean']['f1']:.4f}, "
                  f"test accuracy {test['accuracy']:.4f} F1 {test['f1']:.4f} ROC-AUC {test.get('roc_auc') or 0:.4f} "
                  f"({time.perf_counter() - t0:.0f}s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
