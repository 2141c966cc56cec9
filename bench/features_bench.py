"""Benchmark: memory and CPU of the default grid's featurisation on realistic SYNTHETIC text.

For every feature key of the default grid (raw / denoised x unigrams / uni+bigrams, min_df 2)
and every size, one fresh ``spawn`` child process cleans the training split and builds the 5
folds' TF-IDF features, as ``build_fold_features`` does, in one of two modes:

pruned     the project's path: with n-grams and min_df > 1, a hashed first pass keeps terms
           that certainly occur in fewer than min_df documents out of the term dictionary
           (``count_matrix(..., min_df=...)``; exact);
unpruned   (``--unpruned``) the same without that pass: every distinct n-gram enters the
           dictionary, as ``CountVectorizer`` does.

Printed per child: CPU seconds, peak RSS (``VmHWM``: interpreter, imports and the texts
included), RSS before the work, the dictionary's size (terms counted), the columns the folds
keep, and the stored non-zeros of the 5 folds; then the peak over the grid per size. The texts
come from ``synthetic.generate(vocab="zipf")`` (prepared: scrub, dedupe, 80/20 split): a
vocabulary that grows like real news, see ``bench/vocab_bench.py``. SYNTHETIC: timings only.

    python bench/features_bench.py --sizes 45000 200000
    python bench/features_bench.py --sizes 20000 --unpruned
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from fnlib.data import synthetic  # noqa: E402
from fnlib.data.prepare import prepare_corpus  # noqa: E402
from fnlib.models.grids import default_grid  # noqa: E402
from fnlib.models.specs import FeatureSettings  # noqa: E402


def _usage() -> tuple[float, float]:
    """(CPU seconds, peak RSS MiB) of this process (``VmHWM``: see tune_bench._usage)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss / 1024.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024.0
    return usage.ru_utime + usage.ru_stime, peak


def featurise(texts: list[str], labels: np.ndarray, settings: dict, prune: bool) -> dict[str, Any]:
    """Runs in a fresh child: clean, count, 5 folds; returns CPU, peak RSS and sizes."""
    from fnlib.models.fold_tfidf import count_matrix, fold_tfidf
    from fnlib.models.folds import make_folds
    from fnlib.text import TextCleaner

    feature = FeatureSettings(settings["variant"], settings["vectorizer"])
    values = feature.settings
    cpu0, rss_before = _usage()
    cleaned = TextCleaner(feature.variant).transform(texts)
    min_df = int(values["min_df"]) if prune and int(values["ngram_max"]) > 1 else 1
    counts = count_matrix(cleaned, feature, min_df=min_df)
    folds = [fold_tfidf(counts, labels, f, feature) for f in make_folds(labels, 5, 0)]
    cpu, peak = _usage()
    return {
        "cpu": cpu - cpu0,
        "peak": peak,
        "before": rss_before,
        "terms": counts.shape[1],
        "kept": folds[0].n_features,
        "nnz": sum(f.X_train.nnz + f.X_val.nnz for f in folds),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[45_000])
    parser.add_argument("--unpruned", action="store_true", help="also run without pruning")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    keys = {c.feature_key: c.features for c in default_grid()}
    modes = [True, False] if args.unpruned else [True]
    print(f"{'docs':>7} {'train':>7} {'feature setting':<30} {'mode':<9} {'cpu s':>7} "
          f"{'peak MiB':>9} {'before':>7} {'dict terms':>11} {'kept':>9} {'fold nnz':>12}")
    for size in args.sizes:
        start = time.process_time()
        corpus = synthetic.generate(size, seed=args.seed, vocab="zipf")
        train = prepare_corpus(corpus, "synthetic").train
        texts, labels = train["text"].tolist(), train["label"].to_numpy()
        del corpus, train
        print(f"# {size:,} SYNTHETIC (vocab=zipf) documents, {len(texts):,} in the training "
              f"split, prepared in {time.process_time() - start:.0f} CPU-s", flush=True)
        peaks: dict[bool, float] = {}
        cpus: dict[bool, float] = {}
        for settings in keys.values():
            for prune in modes:
                ctx = multiprocessing.get_context("spawn")
                with ProcessPoolExecutor(1, mp_context=ctx) as pool:
                    row = pool.submit(featurise, texts, labels, settings.to_dict(), prune).result()
                peaks[prune] = max(peaks.get(prune, 0.0), row["peak"])
                cpus[prune] = cpus.get(prune, 0.0) + row["cpu"]
                print(f"{size:>7} {len(texts):>7} {settings.label:<30} "
                      f"{'pruned' if prune else 'unpruned':<9} {row['cpu']:>7.1f} "
                      f"{row['peak']:>9.0f} {row['before']:>7.0f} {row['terms']:>11,} "
                      f"{row['kept']:>9,} {row['nnz']:>12,}", flush=True)
        for prune in modes:
            print(f"  {size:,} docs, {'pruned' if prune else 'unpruned'}: peak RSS over the "
                  f"grid's feature keys {peaks[prune]:.0f} MiB, CPU {cpus[prune]:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
