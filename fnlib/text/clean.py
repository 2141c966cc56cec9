"""Text denoising as a scikit-learn transformer.

:class:`TextCleaner` is the first step of every model pipeline (``("text", TextCleaner(...))``)
so the exact cleaning a model was trained with travels inside the saved ``Pipeline``.

Variants (:data:`VARIANTS`):

``raw``
    Texts pass through unchanged (the vectorizer still lower-cases and tokenises them).
``denoised``
    Applied in this order, each rule as one vectorised pass over the whole column:

    1. HTML entities are decoded (``&amp;`` -> ``&``, ``&#8217;`` -> ``'``), only in documents
       that contain ``&``;
    2. HTML tags and comments (``<p>``, ``</em>``, ``<br/>``, ``<!-- x -->``) become spaces;
    3. bracketed tags become spaces: anything short in square brackets (``[VIDEO]``,
       ``[1]``) and upper-case-only words in parentheses (``(VIDEO)``, ``(WATCH)``);
    4. URLs (``http://``, ``https://``, ``ftp://``, ``www.``), e-mail addresses, bare domains
       (``example.com``, ``pic.twitter.com/abc``) and ``@handles`` become spaces;
    5. apostrophes inside words are dropped (``don't`` -> ``dont``), then every run of
       non-letters (digits, punctuation, symbols, ``_``) becomes one space; letters of every
       script are kept;
    6. optionally lower-casing, then optionally removing scikit-learn's
       ``ENGLISH_STOP_WORDS`` (matched case-insensitively; offline, no NLTK), and collapsing
       whitespace.

The cleaner is stateless: ``fit`` only validates the parameters and returns ``self``, so it can
be fitted on any split, cloned and pickled like any scikit-learn transformer.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from fnlib.catalog import VARIANTS
from fnlib.errors import InputError

log = logging.getLogger(__name__)


_TLDS = (
    "com|org|net|gov|edu|mil|int|info|biz|io|co|us|uk|ca|au|de|fr|eu|ru|cn|in|news|tv|ly|me|"
    "be|gl|fm|am|ws|to|it|es|nl|ch|se|jp"
)
_LETTER = r"[^\W\d_]"
# (pattern, replacement) in order; every pattern runs over the whole column in one pass
_TAG_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"<!--.*?-->", re.DOTALL), " "),
    (re.compile(r"</?[A-Za-z!][^<>]{0,500}>"), " "),
    (re.compile(r"\[[^\[\]\n]{0,40}\]"), " "),
    (re.compile(r"\(\s*[A-Z][A-Z0-9 &/'-]*[A-Z0-9]\s*\)"), " "),
)
_LINK_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?:https?|ftp)://\S+|\bwww\.\S+", re.IGNORECASE), " "),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), " "),
    (
        re.compile(rf"\b(?:[a-z0-9-]+\.)+(?:{_TLDS})\b(?:/\S*)?", re.IGNORECASE),
        " ",
    ),
    (re.compile(r"@\w+"), " "),
)
# starts with the quote itself so the regex engine can skip quickly to candidate positions
_APOSTROPHE = re.compile(rf"['\u2019](?<={_LETTER}['\u2019])(?={_LETTER})")
# cheap tests that select the (few) documents the link rules need to look at
# (literal tests on the lower-cased text; an IGNORECASE alternation would scan 10x slower)
_DOT_TLD = re.compile(rf"\.(?:{_TLDS})\b")
_NON_LETTERS = re.compile(r"[\W\d_]+")
_STOP_WORDS = frozenset(ENGLISH_STOP_WORDS)
# the fast path of the last step for pure-ASCII documents (nearly all English news): one C-level
# byte translation turns every non-letter into a space; same tokens as _NON_LETTERS + split()
_ASCII_LETTERS_ONLY = bytes(c if chr(c).isalpha() else 0x20 for c in range(256))
_STOP_BYTES = frozenset(w.encode("ascii") for w in _STOP_WORDS)
# each link rule with a cheap necessary condition: a rule only runs on documents that pass it.
# The case-insensitive rules always run on non-ASCII documents: under IGNORECASE, [a-z] also
# matches a few non-ASCII letters (U+0130, U+212A, ...) that lower() maps differently.
_LINK_TESTS: tuple[Callable[[str, str], bool], ...] = (
    lambda doc, low: "://" in doc or "www." in low or not doc.isascii(),
    lambda doc, low: "@" in doc,
    lambda doc, low: not doc.isascii() or _DOT_TLD.search(low) is not None,
    lambda doc, low: "@" in doc,
)


def as_documents(texts: Any) -> list[str]:
    """Validate ``texts`` as a 1-D collection of strings and return them as a list."""
    if isinstance(texts, str | bytes):
        raise InputError(
            "TextCleaner expects a list/array/Series of documents, got a single string; "
            "wrap it in a list"
        )
    if isinstance(texts, pd.DataFrame):
        raise InputError("TextCleaner expects one text column, got a DataFrame; pass df['text']")
    if isinstance(texts, np.ndarray) and texts.ndim != 1:
        raise InputError(f"TextCleaner expects a 1-D array of documents, got shape {texts.shape}")
    if not isinstance(texts, Iterable):
        raise InputError(f"TextCleaner expects an iterable of documents, got {type(texts)!r}")
    docs = texts.tolist() if isinstance(texts, pd.Series | np.ndarray) else list(texts)
    bad = [i for i, doc in enumerate(docs) if not isinstance(doc, str)]
    if bad:
        example = docs[bad[0]]
        raise InputError(
            f"TextCleaner expects every document to be a string; {len(bad)} are not "
            f"(first at position {bad[0]}: {example!r}); fill or drop missing texts first"
        )
    return docs


def _replace(series: pd.Series, rules: Iterable[tuple[re.Pattern[str], str]]) -> pd.Series:
    for pattern, repl in rules:
        series = series.str.replace(pattern, repl, regex=True)
    return series


def _link_candidates(series: pd.Series) -> np.ndarray:
    """Boolean mask of the documents that may contain a URL, e-mail, domain or handle."""
    lowered = series.str.lower()
    mask = lowered.str.contains("@", regex=False) | lowered.str.contains("://", regex=False)
    mask |= lowered.str.contains("www.", regex=False)
    mask |= lowered.str.contains(_DOT_TLD, regex=True)
    return mask.to_numpy(dtype=bool)


def _strip_links(doc: str) -> str:
    """Apply the link rules in order, each only where its necessary condition holds."""
    for (pattern, repl), test in zip(_LINK_RULES, _LINK_TESTS, strict=True):
        if test(doc, doc.lower()):
            doc = pattern.sub(repl, doc)
    return doc


def _ascii_words(doc: str, lowercase: bool, stop_words: bool) -> str:
    """The last step for an ASCII document: keep letter runs, optionally lower-case them and
    drop stop words, join with single spaces."""
    data = doc.encode("ascii")
    if lowercase:
        data = data.lower()
    words = data.translate(_ASCII_LETTERS_ONLY).split()
    if stop_words:
        stop = _STOP_BYTES
        if lowercase:  # the hot path: no per-word lower()
            words = [w for w in words if w not in stop]
        else:
            words = [w for w in words if w.lower() not in stop]
    return b" ".join(words).decode("ascii")


def _words(doc: str, lowercase: bool, stop_words: bool) -> str:
    """The last step (rule 6 after the non-letter runs of rule 5) for one document."""
    if doc.isascii():
        return _ascii_words(doc, lowercase, stop_words)
    doc = _NON_LETTERS.sub(" ", doc)
    if lowercase:
        doc = doc.lower()
    words = doc.split()
    if stop_words:
        stop = _STOP_WORDS
        words = [w for w in words if (w if lowercase else w.lower()) not in stop]
    return " ".join(words)


def denoise(texts: Any, lowercase: bool = True, stop_words: bool = True) -> list[str]:
    """Apply the ``denoised`` rules (see the module docstring) to a collection of texts."""
    docs = as_documents(texts)
    if not docs:
        return []
    series = pd.Series(docs, dtype=object)
    has_entity = series.str.contains("&", regex=False).to_numpy(dtype=bool)
    if has_entity.any():
        series.loc[has_entity] = series.loc[has_entity].map(html.unescape)
    series = _replace(series, _TAG_RULES)
    has_link = _link_candidates(series)
    if has_link.any():
        series.loc[has_link] = series.loc[has_link].map(_strip_links)
    series = series.str.replace(_APOSTROPHE, "", regex=True)
    return [_words(doc, lowercase, stop_words) for doc in series.tolist()]


class TextCleaner(TransformerMixin, BaseEstimator):
    """Clean a 1-D collection of texts for one of :data:`VARIANTS`.

    Parameters
    ----------
    variant:
        ``"raw"`` (pass through) or ``"denoised"`` (see the module docstring).
    lowercase:
        Lower-case the denoised text (ignored for ``raw``).
    stop_words:
        Remove scikit-learn's English stop words from the denoised text (ignored for ``raw``).

    ``transform`` returns a ``list`` of ``str`` with one entry per input document and never
    modifies its input.
    """

    def __init__(self, variant: str = "denoised", lowercase: bool = True, stop_words: bool = True):
        self.variant = variant
        self.lowercase = lowercase
        self.stop_words = stop_words

    def _check_params(self) -> None:
        if self.variant not in VARIANTS:
            raise InputError(
                f"unknown text variant {self.variant!r}; valid variants: {', '.join(VARIANTS)}"
            )
        for name in ("lowercase", "stop_words"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise InputError(f"TextCleaner.{name} must be True or False")

    def fit(self, X: Any, y: Any = None) -> TextCleaner:
        """Validate the parameters and the input; nothing is learned. Returns ``self``."""
        self._check_params()
        as_documents(X)
        return self

    def transform(self, X: Any) -> list[str]:
        """Return the cleaned texts, one per input document."""
        self._check_params()
        if self.variant == "raw":
            return as_documents(X)
        cleaned = denoise(X, lowercase=bool(self.lowercase), stop_words=bool(self.stop_words))
        log.debug("denoised %d documents", len(cleaned))
        return cleaned

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags
