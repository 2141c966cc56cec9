"""Benchmark: memory and CPU of the default grid's featurisation on realistic SYNTHETIC text.

For every feature key of the default grid (raw / denoised x unigrams / uni+bigrams, min_df 2)
and every size, one fresh ``spawn`` child process cleans the training split and builds the 5
folds' TF-IDF features in one of three modes:

streamed   the project's path, what ``fn_tune``'s featurize task does: the folds are built one
           at a time (``iter_fold_features``; with n-grams and min_df > 1 a hashed first pass
           keeps terms that certainly occur in fewer than min_df documents out of the term
           dictionary, exact) and written one at a time into a feature-store entry
           (``FeatureCache.get_or_build`` in a temporary folder), then read back lazily;
held       (``--held``) the same features with all 5 folds held in memory at once;
unpruned   (``--unpruned``) held, and without the pruning pass: every distinct n-gram enters
           the dictionary, as ``CountVectorizer`` does.

Printed per child: CPU seconds, peak RSS (``VmHWM``: interpreter, imports and the texts
included), RSS before the work, the dictionary's size (terms counted), the columns the folds
keep, and the stored non-zeros of the 5 folds; then the peak over the grid per size. The texts
come from ``synthetic.generate(vocab="zipf")`` (prepared: scrub, dedupe, 80/20 split): a
vocabulary that grows like real news, see ``bench/vocab_bench.py``. SYNTHETIC: timings only.

    python bench/features_bench.py --sizes 45000 200000
    python bench/features_bench.py --sizes 20000 --held --unpruned
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


def featurise(texts: list[str], labels: np.ndarray, settings: dict, mode: str) -> dict[str, Any]:
    """Runs in a fresh child: clean, count, 5 folds; returns CPU, peak RSS and sizes."""
    import tempfile

    from fnlib.models.feature_store import FeatureCache
    from fnlib.models.fold_tfidf import count_matrix, fold_tfidf
    from fnlib.models.folds import iter_fold_features, make_folds
    from fnlib.text import TextCleaner

    feature = FeatureSettings(settings["variant"], settings["vectorizer"])
    values = feature.settings
    folds = make_folds(labels, 5, 0)
    cpu0, rss_before = _usage()
    cleaned = TextCleaner(feature.variant).transform(texts)
    nnz: list[int] = []
    if mode == "streamed":  # what fn_tune's featurize task does
        def counted(fold: Any) -> Any:
            nnz.append(fold.X_train.nnz + fold.X_val.nnz)
            return fold

        def lazily() -> Any:  # binds no fold to a name: the writer holds the only one
            source = iter_fold_features(cleaned, labels, feature, folds, precleaned=True)
            for _ in folds:
                yield counted(next(source))

        with tempfile.TemporaryDirectory(prefix="fn-bench-features-") as tmp:
            stored = FeatureCache(tmp).get_or_build("bench", feature.feature_key, len(folds), 0,
                                                    lazily)
            terms, kept = None, stored.widths[0]
            stored.close()
    else:
        prune = mode == "held" and int(values["ngram_max"]) > 1
        counts = count_matrix(cleaned, feature, min_df=int(values["min_df"]) if prune else 1)
        built = [fold_tfidf(counts, labels, f, feature) for f in folds]
        terms, kept = counts.shape[1], built[0].n_features
        nnz = [f.X_train.nnz + f.X_val.nnz for f in built]
    cpu, peak = _usage()
    return {"cpu": cpu - cpu0, "peak": peak, "before": rss_before, "terms": terms, "kept": kept,
            "nnz": sum(nnz)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[45_000])
    parser.add_argument("--held", action="store_true",
                        help="also hold all 5 folds at once (the path before streaming)")
    parser.add_argument("--unpruned", action="store_true",
                        help="also hold all 5 folds without the pruning pass")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    keys = {c.feature_key: c.features for c in default_grid()}
    modes = ["streamed", *(["held"] if args.held else []), *(["unpruned"] if args.unpruned else [])]
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
        peaks: dict[str, float] = {}
        cpus: dict[str, float] = {}
        for settings in keys.values():
            for mode in modes:
                ctx = multiprocessing.get_context("spawn")
                with ProcessPoolExecutor(1, mp_context=ctx) as pool:
                    row = pool.submit(featurise, texts, labels, settings.to_dict(), mode).result()
                peaks[mode] = max(peaks.get(mode, 0.0), row["peak"])
                cpus[mode] = cpus.get(mode, 0.0) + row["cpu"]
                terms = "-" if row["terms"] is None else f"{row['terms']:,}"
                print(f"{size:>7} {len(texts):>7} {settings.label:<30} {mode:<9} "
                      f"{row['cpu']:>7.1f} {row['peak']:>9.0f} {row['before']:>7.0f} "
                      f"{terms:>11} {row['kept']:>9,} {row['nnz']:>12,}", flush=True)
        for mode in modes:
            print(f"  {size:,} docs, {mode}: peak RSS over the grid's feature keys "
                  f"{peaks[mode]:.0f} MiB, CPU {cpus[mode]:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
