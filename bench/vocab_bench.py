"""Benchmark: type/token curves of the SYNTHETIC generator against the real data sets.

How fast the vocabulary grows with the corpus decides how big the n-gram dictionary of
featurisation gets, so scaling figures measured on synthetic text only carry over to real text
when its curve looks like real text's. This script counts distinct words (types) against
running words (tokens), with ``CountVectorizer``'s default tokenizer (lower-case, words of 2+
letters or digits), over documents in a seeded random order, for

- the real sets under ``../shared/data`` (read there, nothing copied): FakeNewsNet articles
  (BuzzFeed + PolitiFact JSON), the Perez-Rosas articles, LIAR statements, FakeNewsNet titles;
- ``synthetic.generate(vocab="zipf")`` (the realistic mode) up to ``--docs`` documents;
- ``synthetic.generate()`` (the default fixed vocabulary).

It prints types (and bigram types) at common token counts, a Heaps' law fit
(``types = K * tokens^b``) per corpus, and draws the curves side by side into ``--png``
(log-log; default ``docs/figures/type_token.png``, the figure in ``docs/performance.md``).

    python bench/vocab_bench.py                 # 45k synthetic articles, ~1-2 min
    python bench/vocab_bench.py --docs 5000 --png /tmp/curves.png
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from fnlib.data import synthetic  # noqa: E402

_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # CountVectorizer's default token_pattern


def real_sets(data_dir: Path) -> dict[str, list[str]]:
    """The real corpora's texts (empty dict entries are left out)."""
    sets: dict[str, list[str]] = {}
    articles = sorted((data_dir / "fakenewsnet_articles").glob("*/*/*.json"))
    if articles:
        docs = []
        for path in articles:
            item = json.loads(path.read_text(encoding="utf-8", errors="replace"))
            docs.append(f"{item.get('title') or ''}\n\n{item.get('text') or ''}")
        sets["FakeNewsNet articles"] = docs
    perez = sorted((data_dir / "perez_rosas").glob("*/*/*.txt"))
    if perez:
        sets["Perez-Rosas articles"] = [p.read_text(encoding="utf-8", errors="replace") for p in perez]
    liar = data_dir / "liar" / "train.tsv"
    if liar.exists():
        with liar.open(encoding="utf-8", newline="") as fh:
            sets["LIAR statements"] = [row[2] for row in csv.reader(fh, delimiter="\t") if len(row) > 2]
    titles = sorted((data_dir / "fakenewsnet").glob("*.csv"))
    if titles:
        docs = []
        for path in titles:
            with path.open(encoding="utf-8", newline="") as fh:
                docs.extend(row.get("title") or "" for row in csv.DictReader(fh))
        sets["FakeNewsNet titles"] = docs
    return sets


def curve(docs: Iterable[str], bigram_tokens: int) -> dict[str, np.ndarray]:
    """Running (tokens, types) after every document; bigram types until ``bigram_tokens``."""
    seen: set[str] = set()
    pairs: set[str] = set()
    tokens, types, bi_tokens, bi_types = [], [], [], []
    n = n_bi = 0
    for doc in docs:
        words = _TOKEN.findall(doc.lower())
        n += len(words)
        seen.update(words)
        tokens.append(n)
        types.append(len(seen))
        if n_bi < bigram_tokens:
            n_bi += max(len(words) - 1, 0)
            pairs.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))
            bi_tokens.append(n_bi)
            bi_types.append(len(pairs))
    return {
        "tokens": np.array(tokens),
        "types": np.array(types),
        "bi_tokens": np.array(bi_tokens),
        "bi_types": np.array(bi_types),
    }


def at(points: np.ndarray, values: np.ndarray, where: int) -> str:
    """The value at the first point >= ``where`` (or '-' when the curve stops before it)."""
    i = int(np.searchsorted(points, where))
    return f"{int(values[i]):,}" if i < len(points) else "-"


def heaps(c: dict[str, np.ndarray]) -> tuple[float, float]:
    """Least-squares fit of log(types) = log(K) + b log(tokens), over tokens >= 10,000."""
    keep = c["tokens"] >= 10_000
    if keep.sum() < 3:
        keep = c["tokens"] > 0
    b, log_k = np.polyfit(np.log(c["tokens"][keep]), np.log(c["types"][keep]), 1)
    return float(np.exp(log_k)), float(b)


def draw(curves: dict[str, dict[str, np.ndarray]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    for name, c in curves.items():
        style = "--" if name.startswith("SYNTHETIC") else "-"
        axes[0].loglog(c["tokens"], c["types"], style, label=name)
        if len(c["bi_tokens"]):
            axes[1].loglog(c["bi_tokens"], c["bi_types"], style, label=name)
    axes[0].set(title="words: distinct vs running", xlabel="tokens", ylabel="types")
    axes[1].set(title="bigrams: distinct vs running", xlabel="bigram tokens", ylabel="bigram types")
    for ax in axes:
        ax.grid(True, which="major", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("Vocabulary growth: real sets (solid) vs SYNTHETIC generator (dashed)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=45_000, help="synthetic documents (zipf)")
    parser.add_argument("--fixed-docs", type=int, default=20_000,
                        help="synthetic documents (fixed vocabulary)")
    parser.add_argument("--bigram-tokens", type=int, default=2_000_000,
                        help="follow bigram types up to this many bigram tokens")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=str(PROJECT.parent / "shared" / "data"))
    parser.add_argument("--png", default=str(PROJECT / "docs" / "figures" / "type_token.png"))
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    corpora: dict[str, list[str]] = {}
    real = real_sets(Path(args.data_dir))
    if not real:
        print(f"note: no real data under {args.data_dir}: synthetic curves only")
    for name, docs in real.items():
        corpora[name] = [docs[i] for i in rng.permutation(len(docs))]
    start = time.process_time()
    zipf = synthetic.generate(args.docs, seed=args.seed, vocab="zipf")["text"].tolist()
    print(f"generated {args.docs:,} zipf documents in {time.process_time() - start:.1f} CPU-s")
    corpora["SYNTHETIC zipf vocabulary"] = zipf
    fixed = synthetic.generate(args.fixed_docs, seed=args.seed)["text"].tolist()
    corpora["SYNTHETIC fixed vocabulary"] = fixed
    curves = {name: curve(docs, args.bigram_tokens) for name, docs in corpora.items()}

    marks = [25_000, 100_000, 250_000, 1_000_000, 4_000_000, 18_000_000, 80_000_000]
    print("\nTYPES (distinct words) after N tokens; '-' = the corpus is smaller")
    print(f"{'corpus':<28} {'docs':>7} {'words/doc':>9} " + " ".join(f"{m:>10,}" for m in marks)
          + f" {'Heaps K':>8} {'b':>5}")
    for name, c in curves.items():
        k, b = heaps(c)
        n_docs = len(c["tokens"])
        print(f"{name:<28} {n_docs:>7,} {c['tokens'][-1] / n_docs:>9.0f} "
              + " ".join(f"{at(c['tokens'], c['types'], m):>10}" for m in marks)
              + f" {k:>8.1f} {b:>5.3f}")
    print("\nBIGRAM TYPES after N bigram tokens")
    bi_marks = [25_000, 100_000, 250_000, 1_000_000, 2_000_000]
    print(f"{'corpus':<28} " + " ".join(f"{m:>10,}" for m in bi_marks))
    for name, c in curves.items():
        print(f"{name:<28} "
              + " ".join(f"{at(c['bi_tokens'], c['bi_types'], m):>10}" for m in bi_marks))
    zipf_curve = curves["SYNTHETIC zipf vocabulary"]
    print(f"\nSYNTHETIC zipf at {args.docs:,} documents: {int(zipf_curve['tokens'][-1]):,} tokens, "
          f"{int(zipf_curve['types'][-1]):,} types")
    draw(curves, Path(args.png))
    print(f"figure: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
