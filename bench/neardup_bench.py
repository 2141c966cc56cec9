"""Near-duplicates across the train/test split on the real sets: how many, how fast, and what
dropping them from train does to test scores.

For each set the corpus is prepared as ``fn_dataset`` does (scrub, exact/normalised dedupe,
split: LIAR with its published split, the others random 80/20, seed 42), with the near-duplicate
step off. Then, side by side in one run:

- the near-duplicate pairs between train and test (the exact prefix-filtered search), with the
  time the detection took, checked against brute-force Jaccard over every pair (``exact``);
- one fixed model (logistic regression C=1 on raw TF-IDF unigrams, the library defaults; no
  tuning, so the only difference is the training rows) fitted on train **with** and **without**
  the near-duplicates, scored on the same test split: accuracy and F1 on all test rows, and
  accuracy on the test rows that had a near-duplicate in train (where the leak acts).

    python bench/neardup_bench.py [--sets liar fakenewsnet ...] [--threshold 0.8]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
SETS = {
    "liar": ("liar", "liar", {}, "predefined"),
    "fakenewsnet": ("fakenewsnet", "fakenewsnet", {}, "random"),
    "fnn-articles": ("json", "fakenewsnet_articles", {}, "random"),
    "fakeNewsDataset": ("folders", "perez_rosas/fakeNewsDataset", {}, "random"),
    "celebrityDataset": ("folders", "perez_rosas/celebrityDataset", {}, "random"),
}


def _brute_force(train, test, threshold: float) -> set[tuple[int, int]]:
    """Every pair with word-set Jaccard >= threshold via sparse products (exact)."""
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer

    vec = CountVectorizer(token_pattern=r"\w+", lowercase=True, binary=True)
    a = vec.fit_transform(list(train["text"]) + list(test["text"]))
    x, y = a[: len(train)], a[len(train):]
    inter = (x @ y.T).tocoo()
    size_x = np.asarray(x.sum(axis=1)).ravel()
    size_y = np.asarray(y.sum(axis=1)).ravel()
    union = size_x[inter.row] + size_y[inter.col] - inter.data
    keep = inter.data / union >= threshold
    return set(zip(inter.row[keep].tolist(), inter.col[keep].tolist(), strict=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--threshold", type=float, default=0.8)
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent")
        return 0
    from sklearn.metrics import accuracy_score, f1_score

    from fnlib.data.neardup import drop_near_duplicates, near_duplicate_pairs
    from fnlib.data.prepare import PrepareOptions, prepare_corpus
    from fnlib.data.sources import load_source
    from fnlib.models.evaluate import fit_final

    config = {"model": "logreg", "variant": "raw"}
    header = ("set", "split", "train", "test", "pairs", "label differs", "train dropped",
              "test matched", "detect s", "exact pairs", "acc with / without", "F1 with / without",
              "acc on matched with / without")
    print(" | ".join(header), flush=True)
    for name in args.sets:
        source, folder, options, split = SETS[name]
        if not (DATA / folder).is_dir():
            print(f"{name}: skipped, {DATA / folder} is absent")
            continue
        corpus = load_source(source, DATA / folder, **options)
        prepared = prepare_corpus(corpus, source, PrepareOptions(split=split, near_dedupe=False))
        train, test = prepared.train, prepared.test
        start = time.perf_counter()
        pairs = near_duplicate_pairs(train, test, args.threshold)
        detect = time.perf_counter() - start
        exact = _brute_force(train, test, args.threshold)
        found = set(zip(pairs["train_pos"], pairs["test_pos"], strict=True))
        kept, report = drop_near_duplicates(train, test, args.threshold)
        matched = sorted(set(pairs["test_pos"]))
        scores = []
        for frame in (train, kept):
            pred = fit_final(config, frame, seed=42).predict(list(test["text"]))
            y = test["label"].to_numpy()
            on_matched = accuracy_score(y[matched], pred[matched]) if matched else float("nan")
            scores.append((accuracy_score(y, pred), f1_score(y, pred), on_matched))
        (acc0, f10, m0), (acc1, f11, m1) = scores
        print(" | ".join(str(v) for v in (
            name, split, len(train), len(test), report["pairs"], report["pairs_label_differs"],
            report["train_rows_dropped"], report["test_rows_matched"], f"{detect:.2f}",
            f"{len(exact)} ({len(exact - found)} missed, {len(found - exact)} extra)",
            f"{acc0:.4f} / {acc1:.4f}", f"{f10:.4f} / {f11:.4f}", f"{m0:.4f} / {m1:.4f}")),
            flush=True)
        for example in report["examples"][:2]:
            print(f"    e.g. J={example['jaccard']}: train {example['train_text']!r} ~ "
                  f"test {example['test_text']!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
