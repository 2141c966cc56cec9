"""Benchmark: denoising throughput (documents/second) vs a BeautifulSoup + NLTK per-document
baseline.

``ours``      ``fnlib.text.TextCleaner("denoised")`` over the whole collection (every rule is one
              vectorised pass over the column; see ``fnlib/text/clean.py``).
``baseline``  the usual per-document recipe: ``BeautifulSoup(doc, "html.parser").get_text(" ")``
              (tags removed, entities decoded), per-document ``re.sub`` for bracketed tags, URLs,
              e-mails, domains and @handles, NLTK's ``TreebankWordTokenizer`` (what
              ``nltk.word_tokenize`` runs per sentence; ``word_tokenize`` itself needs the
              ``punkt`` corpus download), keep alphabetic tokens, lower-case, drop stop words.
              The stop-word list is scikit-learn's ``ENGLISH_STOP_WORDS`` (the one ``ours``
              uses): NLTK's ``stopwords`` corpus would need a download at run time. Without NLTK
              installed the tokenizer falls back to a regex (said so in the output).

Both run in this process on the same documents, best of ``--repeat`` runs each. Inputs: raw
SYNTHETIC articles (``fnlib.data.synthetic``, with their HTML, entities, links and tags) and,
when ``../shared/data`` is present, LIAR statements and FakeNewsNet titles. Also printed: how
alike the two outputs are (mean Jaccard similarity of the token sets), as a sanity check that
the baseline does comparable work.

    python bench/text_bench.py [--docs 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # noqa: E402

from fnlib.data import synthetic  # noqa: E402
from fnlib.text import TextCleaner  # noqa: E402

_BRACKETS = re.compile(r"\[[^\[\]\n]{0,40}\]|\(\s*[A-Z][A-Z0-9 &/'-]*[A-Z0-9]\s*\)")
_URL = re.compile(r"(?:https?|ftp)://\S+|\bwww\.\S+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DOMAIN = re.compile(r"\b(?:[a-z0-9-]+\.)+(?:com|org|net|gov|edu|io|co|uk|us|news|ly)\b(?:/\S*)?",
                     re.IGNORECASE)
_HANDLE = re.compile(r"@\w+")
_REGEX_TOKENS = re.compile(r"\w+|[^\w\s]+")


def baseline_cleaner() -> tuple[Callable[[str], str], str]:
    """The per-document BeautifulSoup + NLTK-style cleaner and a description of it."""
    from bs4 import BeautifulSoup

    try:
        from nltk.tokenize import TreebankWordTokenizer

        tokenize = TreebankWordTokenizer().tokenize
        how = "BeautifulSoup html.parser + NLTK TreebankWordTokenizer"
    except ImportError:
        tokenize = _REGEX_TOKENS.findall
        how = "BeautifulSoup html.parser + regex tokenizer (NLTK not installed)"
    stop = frozenset(ENGLISH_STOP_WORDS)

    def clean(doc: str) -> str:
        text = BeautifulSoup(doc, "html.parser").get_text(" ")
        text = html.unescape(text)
        for pattern in (_BRACKETS, _URL, _EMAIL, _DOMAIN, _HANDLE):
            text = pattern.sub(" ", text)
        text = text.replace("'", "").replace("\u2019", "")
        words = (t.lower() for t in tokenize(text) if t.isalpha())
        return " ".join(w for w in words if w not in stop)

    return clean, how


def _best(fn: Callable[[], list[str]], repeat: int) -> tuple[float, float, list[str]]:
    """Best wall and best CPU seconds of ``repeat`` runs, and the output."""
    wall, cpu, out = float("inf"), float("inf"), []
    for _ in range(repeat):
        start, cpu0 = time.perf_counter(), time.process_time()
        out = fn()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - cpu0)
    return wall, cpu, out


def _jaccard(a: list[str], b: list[str]) -> float:
    scores = []
    for x, y in zip(a, b, strict=True):
        sx, sy = set(x.split()), set(y.split())
        scores.append(len(sx & sy) / len(sx | sy) if sx | sy else 1.0)
    return sum(scores) / len(scores)


def corpora(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    sets = [
        (
            f"synthetic articles (raw, {args.docs})",
            synthetic.generate(args.docs, seed=0)["text"].tolist(),
        )
    ]
    data = Path(args.data_dir)
    if not data.is_dir():
        print(f"real data skipped: {data} is absent")
        return sets
    from fnlib.data.sources import load_source

    for source in ("liar", "fakenewsnet"):
        if (data / source).is_dir():
            texts = load_source(source, data / source)["text"].tolist()
            sets.append((f"{source} ({len(texts)} texts)", texts))
        else:
            print(f"{source} skipped: {data / source} is absent")
    return sets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=20000, help="synthetic articles")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs per side")
    parser.add_argument("--data-dir", default=str(PROJECT.parent / "shared" / "data"))
    args = parser.parse_args(argv)

    baseline, how = baseline_cleaner()
    ours = TextCleaner("denoised")
    print(f"baseline: {how}; ours: TextCleaner('denoised'); best of {args.repeat}")
    print("docs/s by CPU time (robust to other jobs on a shared machine); ratio by CPU and wall")
    print(f"\n{'input':<36} {'chars/doc':>9} {'ours docs/s':>12} {'baseline docs/s':>16} "
          f"{'ratio':>6} {'wall ratio':>10} {'token Jaccard':>13}")
    for name, texts in corpora(args):
        ours_s, ours_cpu, ours_out = _best(lambda t=texts: ours.transform(t), args.repeat)
        base_s, base_cpu, base_out = _best(lambda t=texts: [baseline(d) for d in t], args.repeat)
        chars = sum(map(len, texts)) / len(texts)
        print(f"{name:<36} {chars:>9.0f} {len(texts) / ours_cpu:>12,.0f} "
              f"{len(texts) / base_cpu:>16,.0f} {base_cpu / ours_cpu:>5.1f}x "
              f"{base_s / ours_s:>9.1f}x {_jaccard(ours_out, base_out):>13.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
