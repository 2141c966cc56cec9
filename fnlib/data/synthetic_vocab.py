"""An open, Zipf-distributed vocabulary for the SYNTHETIC generator's realistic mode.

:func:`fnlib.data.synthetic.generate` with ``vocab="zipf"`` draws the words that are neither
topic nor style words from here instead of from its ~170 hand-written common words. Real news
text has a vocabulary that keeps growing with the corpus (Heaps' law: ``types ~ K * tokens^b``
with ``b`` about 0.5-0.6), because word frequencies follow Zipf's law with a long tail of rare
words (names, places, numbers spelt out, typos). A fixed word list never grows, so the n-gram
dictionary that featurisation holds in memory stays tiny and scaling figures measured on it do
not carry over to real text.

The word ranks come from a two-regime Zipf law (a common "kernel" of ``KERNEL`` ranks where
the probability falls as ``1/rank``, then a steeper tail ``rank^-TAIL_EXPONENT``), the shape
measured on large English corpora. Rank 1..n are the generator's common words (``the``,
``of``, ...); every higher rank is a made-up, pronounceable word (:func:`pseudo_word`): the
text is NOT English and NOT news. The two constants were calibrated against the type/token
curves of real article and statement sets (``bench/vocab_bench.py`` draws both side by side):
~5k types at 26k tokens, ~16k at 220k, ~160k at 18M tokens (45k articles of ~400 words).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

KERNEL = 5000
"""Ranks in the 1/rank regime (the common vocabulary)."""
TAIL_EXPONENT = 1.9
"""Exponent of the rare-word tail; Heaps' exponent tends to ``1 / TAIL_EXPONENT``."""
_MAX_RANK = 2**40  # far beyond any corpus this generates; keeps ranks in int64

_ONSETS = [
    "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z",
    "bl", "br", "cl", "cr", "dr", "fl", "fr", "gl", "gr", "pl", "pr", "sc", "sk", "sl", "sm",
    "sn", "sp", "st", "sw", "tr", "ch", "sh", "th",
]
_NUCLEI = ["a", "e", "i", "o", "u", "ai", "ea", "ee", "ie", "oa", "oo", "ou"]
SYLLABLES = np.array([o + n for o in _ONSETS for n in _NUCLEI], dtype=object)
"""Consonant cluster + vowel cluster: a word made of them splits back into syllables one way
only (every consonant run is one onset, every vowel run one nucleus), so distinct ids give
distinct words."""


def draw_ranks(rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` word ranks (1-based, int64) from the two-regime Zipf law, by inverse CDF."""
    u = rng.random(size)
    v = rng.random(size)
    kernel_mass = np.log(KERNEL)
    tail_mass = 1.0 / (TAIL_EXPONENT - 1.0)
    in_kernel = u < kernel_mass / (kernel_mass + tail_mass)
    with np.errstate(over="ignore"):
        x = np.where(
            in_kernel,
            np.exp(v * kernel_mass),
            KERNEL * (1.0 - v) ** (-1.0 / (TAIL_EXPONENT - 1.0)),
        )
    return np.minimum(x, _MAX_RANK).astype(np.int64)


def pseudo_word(index: int) -> str:
    """The made-up word number ``index`` (0-based): two or more syllables, lower-case letters.

    Numbers are spread over all words of one length (a fixed permutation, so neighbouring
    numbers do not share their first syllables); smaller numbers (more frequent ranks) get
    shorter words.
    """
    base = len(SYLLABLES)
    n, length = int(index), 2
    while n >= base**length:
        n -= base**length
        length += 1
    n = (n * _SPREAD + 1) % base**length  # _SPREAD is coprime with base: a bijection
    parts = []
    for _ in range(length):
        n, digit = divmod(n, base)
        parts.append(SYLLABLES[digit])
    return "".join(parts)


_SPREAD = 7919  # a prime that does not divide len(SYLLABLES)


class OpenVocabulary:
    """Rank -> word, for the generator: ranks up to ``len(common)`` are the common words (in
    order), higher ranks made-up words. Made-up words that happen to spell a stop word or one
    of ``reserved`` get an ``x`` appended (no made-up word ends in a consonant, so the result
    is still unique)."""

    def __init__(self, common: Iterable[str], reserved: Iterable[str] = ()):
        self.common = list(dict.fromkeys(common))
        self._reserved = set(ENGLISH_STOP_WORDS) | set(self.common) | set(reserved)
        self._cache: dict[int, str] = {}

    def words(self, ranks: np.ndarray) -> np.ndarray:
        """The made-up words of ``ranks`` (all > ``len(common)``), as an object array."""
        out = np.empty(len(ranks), dtype=object)
        offset = len(self.common) + 1
        for i, rank in enumerate(ranks.tolist()):
            word = self._cache.get(rank)
            if word is None:
                word = pseudo_word(rank - offset)
                if word in self._reserved:
                    word += "x"
                self._cache[rank] = word
            out[i] = word
        return out
