"""Benchmark: the near-duplicate search across the split at article scale (``fn_dataset``'s
``near_dedupe`` step), with one and with several shared prefix words required of a candidate.

For every size, the corpus is generated with the realistic vocabulary (``vocab=zipf``: a
vocabulary that grows like real news, ~230 distinct words per article) and prepared as
``fn_dataset`` does with the near-duplicate step off; then, in one fresh ``spawn`` child
process per setting, ``near_duplicate_pairs(train, test)`` runs with ``PREFIX_SHARED`` = 1
(the classic prefix filter) and = the library default. Printed per child: CPU seconds, peak RSS
(``VmHWM``: interpreter, imports and the texts included), the pairs that share a prefix word,
the candidates left to verify, and the pairs found; the settings must find the same pairs (both
are exact). SYNTHETIC text: timings only.

    python bench/neardup_scale_bench.py --sizes 10000 45000
    python bench/neardup_scale_bench.py --sizes 200000 --shared 4
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "bench"))

from features_bench import _usage  # noqa: E402

from fnlib.data import neardup, synthetic  # noqa: E402
from fnlib.data.prepare import PrepareOptions, prepare_corpus  # noqa: E402

COUNTS = re.compile(r"(\d+) pairs share a prefix word, (\d+) candidates")


def search(train: Any, test: Any, shared: int) -> dict[str, Any]:
    """One child: the exact search with ``shared`` required prefix words."""
    neardup.PREFIX_SHARED = shared
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    neardup.log.addHandler(handler)
    neardup.log.setLevel(logging.DEBUG)
    before_cpu, _ = _usage()
    start = time.perf_counter()
    try:
        pairs = neardup.near_duplicate_pairs(train, test)
    except Exception as exc:  # noqa: BLE001 - reported as the row's outcome
        return {"error": f"{type(exc).__name__}: {exc}"}
    wall = time.perf_counter() - start
    cpu, peak = _usage()
    found = next((COUNTS.search(m) for m in seen if COUNTS.search(m)), None)
    return {"cpu": cpu - before_cpu, "wall": wall, "peak": peak,
            "sharing": int(found.group(1)) if found else -1,
            "candidates": int(found.group(2)) if found else -1,
            "pairs": sorted(zip(pairs["train_pos"].tolist(), pairs["test_pos"].tolist(),
                                strict=True))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 45000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--shared", type=int, nargs="+", default=[1, neardup.PREFIX_SHARED],
                        help="shared prefix words to try (default: 1 and the library's)")
    args = parser.parse_args(argv)
    settings = args.shared
    print(f"{'docs':>7} {'train':>7} {'test':>6} {'shared':>6} {'cpu s':>8} {'peak MiB':>9} "
          f"{'share a prefix word':>20} {'candidates':>11} {'pairs':>6}", flush=True)
    for size in args.sizes:
        corpus = synthetic.generate(size, seed=args.seed, vocab="zipf")
        prepared = prepare_corpus(corpus, "synthetic", PrepareOptions(near_dedupe=False))
        train, test = prepared.train, prepared.test
        del corpus, prepared
        found: dict[int, list] = {}
        for shared in settings:
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                row = pool.submit(search, train, test, shared).result()
            if "error" in row:
                print(f"{size:>7} {len(train):>7} {len(test):>6} {shared:>6} failed: "
                      f"{row['error']}", flush=True)
                continue
            found[shared] = row["pairs"]
            print(f"{size:>7} {len(train):>7} {len(test):>6} {shared:>6} {row['cpu']:>8.1f} "
                  f"{row['peak']:>9.0f} {row['sharing']:>20,} {row['candidates']:>11,} "
                  f"{len(row['pairs']):>6}", flush=True)
        if len(settings) > 1 and len(found) == len(settings):
            same = all(pairs == found[settings[0]] for pairs in found.values())
            print(f"  {size:,}: the settings found {'the same' if same else 'DIFFERENT'} pairs",
                  flush=True)
            if not same:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
