"""Benchmark: shared fold features (fn_tune's approach) vs scikit-learn's GridSearchCV.

All approaches cross-validate the same configurations (the same Pipelines, the same seeded
StratifiedKFold folds) on the same training split:

shared       this project's approach, in-process, as the mapped fan-out does it: clean the texts
             once per text variant; per feature key, build the folds one at a time
             (``iter_fold_features``) and score every configuration of the key on each fold
             before the next is built (``score_configs``: one fold in memory at a time);
cache        (``--with-cache``) the same through ``FeatureCache`` as separate mapped tasks
             would: every configuration asks the cache; the first of a feature key builds;
gridsearch   ``GridSearchCV`` over the Pipelines with a list-of-dicts grid (one dict per
             configuration), ``n_jobs=1``, ``refit=False``, all five metrics;
naive        (``--naive``) ``cross_validate`` of each configuration's Pipeline in turn.

Each approach runs in a fresh ``spawn`` child process so its peak RSS (``VmHWM``, else
``ru_maxrss``) is its own. Printed: wall and CPU time, peak RSS, the best configuration of each
approach, the largest absolute difference of per-configuration mean scores against ``shared``,
and speed-up ratios.

    python bench/tune_bench.py --docs 5000
    python bench/tune_bench.py --source liar --folds 5
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from fnlib.catalog import TUNING_METRICS as METRICS  # noqa: E402
from fnlib.data import synthetic  # noqa: E402
from fnlib.data.prepare import prepare_corpus  # noqa: E402
from fnlib.data.sources import load_source  # noqa: E402
from fnlib.models.cv import score_config, score_configs, select_best  # noqa: E402
from fnlib.models.feature_store import FeatureCache, fold_features_for  # noqa: E402
from fnlib.models.folds import iter_fold_features, make_folds  # noqa: E402
from fnlib.models.grids import default_grid, small_grid  # noqa: E402
from fnlib.models.specs import ModelConfig  # noqa: E402
from fnlib.models.zoo import build_classifier, build_pipeline  # noqa: E402
from fnlib.text import TextCleaner  # noqa: E402


def load_train(args: argparse.Namespace) -> tuple[list[str], np.ndarray, str]:
    """The prepared (scrubbed, de-duplicated) training split of the chosen source."""
    if args.source == "synthetic":
        corpus = synthetic.generate(int(args.docs or 5000), seed=args.seed, vocab=args.vocab)
        note = (
            f"SYNTHETIC data (fnlib.data.synthetic, vocab={args.vocab}): timings only, "
            "scores mean nothing"
        )
    else:
        corpus = load_source(args.source, Path(args.data_dir) / args.source)
        note = f"real data: {args.source} from {args.data_dir}"
    train = prepare_corpus(corpus, args.source).train
    if args.docs and args.source != "synthetic" and len(train) > args.docs:
        train = train.sample(n=args.docs, random_state=args.seed).sort_values("id")
    return train["text"].tolist(), train["label"].to_numpy(), note


def _usage() -> tuple[float, float]:
    """(CPU seconds of this process and its finished children, peak RSS MiB of this process).

    The peak comes from ``VmHWM`` in /proc/self/status where available: Linux carries
    ``ru_maxrss`` over ``exec``, so a spawned child would report at least the parent's RSS at
    fork time, while ``VmHWM`` belongs to the child's own address space.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # finished worker processes
    peak = usage.ru_maxrss / 1024.0  # Linux reports KiB
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024.0
    cpu = usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime
    return cpu, peak


def _means(result: dict[str, Any]) -> dict[str, float]:
    return {m: v for m, v in result["mean"].items() if v is not None}


def _timed_folds(source: Any, n_folds: int, spent: Any) -> Any:
    """Yield ``source``'s folds, calling ``spent(cpu_at_start)`` after each is built; binds no
    fold to a name, so the consumer holds the only reference (one fold in memory at a time)."""

    def built(since: float, fold: Any) -> Any:
        spent(since)
        return fold

    for _ in range(n_folds):
        yield built(time.process_time(), next(source))


def run_approach(
    name: str, texts: list[str], labels: np.ndarray, configs: list[dict], folds: int, seed: int,
    n_jobs: int = 1,
) -> dict[str, Any]:
    """Runs in a fresh child process; returns timings, peak RSS and per-config mean scores.
    ``n_jobs``: GridSearchCV's worker processes (their CPU time is included)."""
    cfgs = [ModelConfig.from_dict(c) for c in configs]
    _, rss_before = _usage()
    cpu0, wall0 = _usage()[0], time.perf_counter()
    splits = make_folds(labels, folds, seed)
    means: dict[str, dict[str, float]] = {}
    parts: dict[str, float] = {}  # where the shared approach spends its CPU time

    def spent(part: str, since: float) -> float:
        now = time.process_time()
        parts[part] = parts.get(part, 0.0) + now - since
        return now

    if name == "shared":  # clean once per variant; per key, one fold at a time (as fn_tune)
        for variant in dict.fromkeys(c.variant for c in cfgs):
            t = time.process_time()
            cleaned = TextCleaner(variant).transform(texts)
            t = spent(f"clean {variant}", t)
            for key in dict.fromkeys(c.feature_key for c in cfgs if c.variant == variant):
                group = [c for c in cfgs if c.feature_key == key]
                source = iter_fold_features(cleaned, labels, group[0], splits, precleaned=True)
                timed = _timed_folds(source, len(splits), lambda since: spent("fold features", since))
                for cfg, result in zip(group, score_configs(group, timed, seed=seed), strict=True):
                    means[cfg.config_id] = _means(result)
                    parts[f"fit+score {cfg.model}"] = parts.get(f"fit+score {cfg.model}", 0.0) + sum(
                        f["cpu_time"] for f in result["folds"])
    elif name == "cache":
        with tempfile.TemporaryDirectory(prefix="fn-bench-cache-") as tmp:
            cache = FeatureCache(tmp)
            for cfg in cfgs:
                fold_features = fold_features_for(cfg, lambda: (texts, labels), folds, seed, cache,
                                                  "bench")
                means[cfg.config_id] = _means(score_config(cfg, fold_features, seed=seed))
    elif name == "gridsearch":
        from sklearn.model_selection import GridSearchCV

        grid = [
            {
                "text__variant": [c.variant],
                "vec__ngram_range": [(1, c.vectorizer_settings["ngram_max"])],
                "vec__sublinear_tf": [c.vectorizer_settings["sublinear_tf"]],
                "vec__min_df": [c.vectorizer_settings["min_df"]],
                "vec__max_features": [c.vectorizer_settings["max_features"]],
                "clf": [build_classifier(c, seed=seed)],
            }
            for c in cfgs
        ]
        search = GridSearchCV(
            build_pipeline(cfgs[0], seed=seed),
            grid,
            scoring=list(METRICS),
            refit=False,
            cv=splits,
            n_jobs=n_jobs,
            error_score="raise",
        )
        search.fit(texts, labels)
        if n_jobs != 1:  # stop joblib's workers so that their CPU time is counted
            from joblib.externals.loky import get_reusable_executor

            get_reusable_executor().shutdown(wait=True)
        for i, cfg in enumerate(cfgs):  # one candidate per grid dict, in order
            means[cfg.config_id] = {
                m: float(search.cv_results_[f"mean_test_{m}"][i]) for m in METRICS
            }
    elif name == "naive":
        from sklearn.model_selection import cross_validate

        for cfg in cfgs:
            out = cross_validate(
                build_pipeline(cfg, seed=seed), texts, labels, cv=splits, scoring=list(METRICS)
            )
            means[cfg.config_id] = {m: float(np.mean(out[f"test_{m}"])) for m in METRICS}
    else:
        raise ValueError(f"unknown approach {name}")
    wall = time.perf_counter() - wall0
    cpu, peak = _usage()
    return {
        "wall": wall,
        "cpu": cpu - cpu0,
        "peak_rss_mb": peak,
        "rss_before_mb": rss_before,
        "means": means,
        "parts": parts,
    }


def _table(runs: dict[str, dict[str, Any]], configs: list[ModelConfig], dicts: list[dict]) -> None:
    base = runs["shared"]
    print(
        f"\n{'approach':<11} {'wall s':>8} {'cpu s':>8} {'peak RSS MiB':>13} "
        f"{'best (mean f1)':<58} {'max |diff|':>10}"
    )
    for name, run in runs.items():
        results = [
            {
                "config_id": cid,
                "label": ModelConfig.from_dict(d).label,
                "model": d["model"],
                "variant": d["variant"],
                "feature_key": ModelConfig.from_dict(d).feature_key,
                "mean": run["means"][cid],
                "std": {},
                "fit_time": 0.0,
                "score_time": 0.0,
            }
            for cid, d in zip((c.config_id for c in configs), dicts, strict=True)
        ]
        best = select_best(results)
        best_text = f"{best['label'][:48]} {best['mean']['f1']:.4f}"
        gaps = {
            (m, abs(run["means"][cid][m] - base["means"][cid][m]))
            for cid in base["means"]
            for m in base["means"][cid]
        }
        diff_metric, diff = max(gaps, key=lambda g: g[1])
        run["max_diff"] = diff
        print(
            f"{name:<11} {run['wall']:>8.1f} {run['cpu']:>8.1f} {run['peak_rss_mb']:>13.0f} "
            f"{best_text:<58} {diff:>10.2e} {diff_metric if diff else ''}"
        )
    before = ", ".join(f"{k} {v['rss_before_mb']:.0f}" for k, v in runs.items())
    print(f"peak RSS includes interpreter, imports and data; RSS before each run (MiB): {before}")
    parts = ", ".join(f"{k} {v:.1f}" for k, v in base["parts"].items())
    print(f"shared CPU time by part (s): {parts}")
    for name in runs:
        if name != "shared":
            print(
                f"speed-up vs {name}: wall {runs[name]['wall'] / base['wall']:.1f}x, "
                f"cpu {runs[name]['cpu'] / base['cpu']:.1f}x"
            )


def _scaling(rows: list[dict[str, Any]]) -> None:
    """One line per size: the shared approach's cost relative to the smallest size."""
    print("\nSCALING (shared approach; ratios against the first size of this run; CPU time is")
    print("the robust one on a shared machine)")
    print(
        f"{'docs':>8} {'train':>8} {'wall s':>8} {'cpu s':>8} {'peak MiB':>9} "
        f"{'cpu ms/doc':>10} {'x docs':>7} {'x wall':>7} {'x cpu':>6} {'GridSearchCV s':>15} "
        f"{'speed-up':>9}"
    )
    first = rows[0]
    for row in rows:
        shared = row["runs"]["shared"]
        grid = row["runs"].get("gridsearch")
        grid_text = f"{grid['wall']:>15.1f} {grid['wall'] / shared['wall']:>8.1f}x" if grid else (
            f"{'not run':>15} {'-':>9}"
        )
        print(
            f"{row['docs']:>8} {row['train']:>8} {shared['wall']:>8.1f} {shared['cpu']:>8.1f} "
            f"{shared['peak_rss_mb']:>9.0f} {1000 * shared['cpu'] / row['train']:>10.2f} "
            f"{row['train'] / first['train']:>6.1f}x "
            f"{shared['wall'] / first['runs']['shared']['wall']:>6.1f}x "
            f"{shared['cpu'] / first['runs']['shared']['cpu']:>5.1f}x {grid_text}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--docs",
        type=int,
        default=None,
        help="documents (synthetic: generated, default 5000; real: cap)",
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=None,
        help="synthetic only: several sizes in one run, with a scaling table at the end",
    )
    parser.add_argument(
        "--baselines-max",
        type=int,
        default=None,
        help="run GridSearchCV / naive only at sizes up to this many documents",
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--source", choices=("synthetic", "liar", "fakenewsnet"), default="synthetic"
    )
    parser.add_argument("--data-dir", default=str(PROJECT.parent / "shared" / "data"))
    parser.add_argument(
        "--vocab",
        choices=synthetic.VOCABS,
        default="fixed",
        help="synthetic vocabulary: fixed (~500 words) or zipf (grows like real news)",
    )
    parser.add_argument("--grid", choices=("default", "small"), default="default")
    parser.add_argument(
        "--unigrams", action="store_true", help="keep only the grid's unigram feature settings"
    )
    parser.add_argument(
        "--models", default=None, help="comma-separated subset of the grid's models"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-gridsearch", action="store_true", help="do not run GridSearchCV")
    parser.add_argument("--naive", action="store_true", help="also run cross_validate per config")
    parser.add_argument("--with-cache", action="store_true", help="also run through FeatureCache")
    args = parser.parse_args(argv)

    if args.source != "synthetic" and not (Path(args.data_dir) / args.source).is_dir():
        print(f"skipped: real data {Path(args.data_dir) / args.source} is absent")
        return 0
    models = tuple(args.models.split(",")) if args.models else None
    grid_fn = default_grid if args.grid == "default" else small_grid
    configs = grid_fn(models) if models else grid_fn()
    if args.unigrams:
        configs = [c for c in configs if c.vectorizer_settings["ngram_max"] == 1]
    dicts = [c.to_dict() for c in configs]
    n_keys = len({c.feature_key for c in configs})
    sizes = args.sizes if args.sizes and args.source == "synthetic" else [args.docs]
    rows = []
    for size in sizes:
        args.docs = size
        t0 = time.perf_counter()
        texts, labels, note = load_train(args)
        print(
            f"\n=== {note}\ntrain split: {len(texts)} docs (prepared in "
            f"{time.perf_counter() - t0:.0f}s), mean {np.mean([len(t) for t in texts]):.0f} "
            f"chars, {labels.mean():.1%} fake; grid {args.grid}{' unigrams' * args.unigrams}"
            f"{' models ' + args.models if args.models else ''}: {len(configs)} configs, "
            f"{n_keys} feature keys, {args.folds} folds; {multiprocessing.cpu_count()} CPUs",
            flush=True,
        )
        baselines = args.baselines_max is None or len(texts) <= args.baselines_max
        approaches = ["shared"] + (["cache"] if args.with_cache else [])
        if baselines:
            approaches += ([] if args.skip_gridsearch else ["gridsearch"])
            approaches += ["naive"] if args.naive else []
        else:
            print(f"  baselines not run at this size (--baselines-max {args.baselines_max})")
        runs: dict[str, dict[str, Any]] = {}
        for name in approaches:
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                runs[name] = pool.submit(
                    run_approach, name, texts, labels, dicts, args.folds, args.seed
                ).result()
            print(f"  {name:<11} done in {runs[name]['wall']:.1f}s", flush=True)
        _table(runs, configs, dicts)
        rows.append({"docs": size, "train": len(texts), "runs": runs})
        del texts, labels
    if len(rows) > 1:
        _scaling(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
