"""Benchmark: does a cheaper random-forest setting lose F1? (LIAR, FakeNewsNet, SYNTHETIC)

Random forests are most of the tuning CPU time on short texts. For each data set this script
builds the default grid's fold features once per feature key (5 seeded folds of the prepared
training split) and cross-validates the default grid's forest configurations (``min_samples_leaf``
2 and 5 on all four feature keys: 8 configurations) under several forest settings. Printed per
setting: CPU seconds of the forest fits, the mean F1 over the 8 configurations, the best
configuration's F1, and the mean and worst paired difference against the first setting (the
grid's current one) with the mean fold-to-fold standard deviation of F1 for scale.

    python bench/forest_bench.py                          # liar, fakenewsnet, synthetic (zipf)
    python bench/forest_bench.py --sources liar --settings "n_estimators=100" "n_estimators=50"
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from fnlib.data import synthetic  # noqa: E402
from fnlib.data.prepare import prepare_corpus  # noqa: E402
from fnlib.data.sources import load_source  # noqa: E402
from fnlib.models.cv import score_config  # noqa: E402
from fnlib.models.folds import build_fold_features, make_folds  # noqa: E402
from fnlib.models.grids import default_grid  # noqa: E402
from fnlib.models.specs import ModelConfig  # noqa: E402
from fnlib.text import TextCleaner  # noqa: E402

DEFAULT_SETTINGS = [
    "n_estimators=100,select_k=5000",
    "n_estimators=50,select_k=5000",
    "n_estimators=50,select_k=2000",
]


def parse_setting(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        out[key.strip()] = None if value == "None" else (
            float(value) if "." in value else int(value)
        )
    return out


def load(source: str, data_dir: Path, docs: int, seed: int) -> tuple[list[str], np.ndarray, str]:
    if source == "synthetic":
        corpus = synthetic.generate(docs, seed=seed, vocab="zipf")
        note = f"SYNTHETIC (vocab=zipf), {docs:,} generated"
    else:
        corpus = load_source(source, data_dir / source)
        note = f"real: {source}"
    train = prepare_corpus(corpus, source).train
    return train["text"].tolist(), train["label"].to_numpy(), note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sources", nargs="+", default=["liar", "fakenewsnet", "synthetic"])
    parser.add_argument("--settings", nargs="+", default=DEFAULT_SETTINGS,
                        help="forest settings, e.g. n_estimators=50,select_k=2000 (first = reference)")
    parser.add_argument("--docs", type=int, default=5000, help="synthetic documents")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=str(PROJECT.parent / "shared" / "data"))
    args = parser.parse_args(argv)

    settings = [parse_setting(s) for s in args.settings]
    base = [c for c in default_grid(models=("rf",))]
    for source in args.sources:
        if source != "synthetic" and not (Path(args.data_dir) / source).is_dir():
            print(f"skipped {source}: {Path(args.data_dir) / source} is absent")
            continue
        texts, labels, note = load(source, Path(args.data_dir), args.docs, args.seed)
        folds = make_folds(labels, 5, args.seed)
        print(f"\n=== {note}: {len(texts):,} training docs, {len(base)} forest configurations, "
              f"5 folds", flush=True)
        f1: dict[int, dict[str, float]] = {i: {} for i in range(len(settings))}
        std: list[float] = []
        cpu = [0.0] * len(settings)
        for variant in dict.fromkeys(c.variant for c in base):
            cleaned = TextCleaner(variant).transform(texts)
            for key in dict.fromkeys(c.feature_key for c in base if c.variant == variant):
                group = [c for c in base if c.feature_key == key]
                features = build_fold_features(cleaned, labels, group[0], folds, precleaned=True)
                for config in group:
                    for i, setting in enumerate(settings):
                        cfg = ModelConfig(config.model, config.variant, config.vectorizer,
                                          {**config.param_dict, **setting})
                        t = time.process_time()
                        result = score_config(cfg, features, seed=args.seed)
                        cpu[i] += time.process_time() - t
                        f1[i][config.config_id] = result["mean"]["f1"]
                        if i == 0:
                            std.append(result["std"]["f1"])
                del features
        print(f"{'forest setting':<34} {'CPU s':>7} {'x CPU':>6} {'mean F1':>8} {'best F1':>8} "
              f"{'mean diff':>10} {'worst diff':>10}")
        for i, text in enumerate(args.settings):
            diffs = [f1[i][k] - f1[0][k] for k in f1[0]]
            print(f"{text:<34} {cpu[i]:>7.1f} {cpu[i] / cpu[0]:>5.2f}x "
                  f"{np.mean(list(f1[i].values())):>8.4f} {max(f1[i].values()):>8.4f} "
                  f"{np.mean(diffs):>+10.4f} {min(diffs):>+10.4f}")
        print(f"fold-to-fold std of F1 (reference setting), mean over configurations: "
              f"{np.mean(std):.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
