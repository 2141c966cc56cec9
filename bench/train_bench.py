"""Benchmark: final-model training and batch-scoring throughput (documents/second).

For each size and configuration, in a fresh ``spawn`` child process: ``fit_final`` (what
``fn_train`` runs: the whole Pipeline with probabilities, on the full training split), then
batch scoring of the held-out split with ``score_texts`` (what ``fn_score`` runs per incoming
file: labels and P(fake)). Printed: documents/second for both, CPU time, peak RSS (``VmHWM``),
and how both scale from the first size to the others.

Data: SYNTHETIC article-length documents (``fnlib.data.synthetic``) prepared like a dataset
(scrub, de-duplicate, 80/20 split): timings only, the scores mean nothing.

    python bench/train_bench.py [--sizes 45000 200000] [--configs linsvm logreg]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from tune_bench import _usage  # noqa: E402  (CPU time and VmHWM of this process)

# the configurations timed: the families the default grid picks on article-length text,
# with the grid's bigram vectorizer on denoised text
CONFIGS: dict[str, dict[str, Any]] = {
    "linsvm": {"model": "linsvm", "variant": "denoised", "vectorizer": {"ngram_max": 2},
               "params": {"C": 0.3}},
    "logreg": {"model": "logreg", "variant": "denoised", "vectorizer": {"ngram_max": 2},
               "params": {"C": 10.0}},
    "nb": {"model": "nb", "variant": "denoised", "vectorizer": {"ngram_max": 2},
           "params": {"alpha": 0.1}},
    "sgd": {"model": "sgd", "variant": "denoised", "vectorizer": {"ngram_max": 2},
            "params": {"alpha": 1e-5}},
    "rf": {"model": "rf", "variant": "denoised", "vectorizer": {"ngram_max": 1},
           "params": {"min_samples_leaf": 2}},
}


def run_one(name: str, size: int, seed: int) -> dict[str, Any]:
    from fnlib.data import synthetic
    from fnlib.data.prepare import prepare_corpus
    from fnlib.models.evaluate import fit_final
    from fnlib.models.specs import ModelConfig
    from fnlib.monitoring.reference import score_texts

    prepared = prepare_corpus(synthetic.generate(size, seed=seed), "synthetic")
    train, test = prepared.train, prepared.test
    texts = test["text"].tolist()
    config = ModelConfig.from_dict(CONFIGS[name])
    cpu0, _ = _usage()
    start = time.perf_counter()
    model = fit_final(config, train, seed=seed)
    fit_wall = time.perf_counter() - start
    cpu1, _ = _usage()
    start = time.perf_counter()
    predictions, _scores = score_texts(model, texts)
    score_wall = time.perf_counter() - start
    cpu2, peak = _usage()
    accuracy = float((predictions == test["label"].to_numpy()).mean())
    return {"train": len(train), "test": len(texts), "fit": fit_wall, "fit_cpu": cpu1 - cpu0,
            "score": score_wall, "score_cpu": cpu2 - cpu1, "peak": peak, "accuracy": accuracy,
            "label": config.label}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[45000, 200000],
                        help="synthetic documents generated (before de-duplication and split)")
    parser.add_argument("--configs", nargs="+", default=["linsvm", "logreg"],
                        choices=sorted(CONFIGS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    print("SYNTHETIC data (fnlib.data.synthetic): timings only, scores mean nothing")
    print("docs/s by wall time, and by CPU time (robust to other jobs on a shared machine)")
    print(f"{'config':<8} {'docs':>7} {'train':>7} {'fit s':>7} {'fit cpu':>8} {'fit docs/s':>11} "
          f"{'/cpu s':>7} {'test':>6} {'score s':>8} {'score docs/s':>13} {'/cpu s':>7} "
          f"{'peak MiB':>9} {'accuracy':>9}")
    rows: dict[str, list[dict[str, Any]]] = {}
    for name in args.configs:
        for size in args.sizes:
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                r = pool.submit(run_one, name, size, args.seed).result()
            rows.setdefault(name, []).append(r)
            print(f"{name:<8} {size:>7} {r['train']:>7} {r['fit']:>7.1f} {r['fit_cpu']:>8.1f} "
                  f"{r['train'] / r['fit']:>11,.0f} {r['train'] / r['fit_cpu']:>7,.0f} "
                  f"{r['test']:>6} {r['score']:>8.1f} {r['test'] / r['score']:>13,.0f} "
                  f"{r['test'] / r['score_cpu']:>7,.0f} {r['peak']:>9.0f} {r['accuracy']:>9.3f}",
                  flush=True)
    if len(args.sizes) > 1:
        print("\nscaling against the first size (x docs -> x fit time, x score time):")
        for name, runs in rows.items():
            first = runs[0]
            for r in runs[1:]:
                print(f"  {name}: {r['train'] / first['train']:.1f}x train docs -> "
                      f"{r['fit'] / first['fit']:.1f}x fit time; {r['test'] / first['test']:.1f}x "
                      f"test docs -> {r['score'] / first['score']:.1f}x score time")
    print(f"configurations: {'; '.join(rows[n][0]['label'] for n in rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
