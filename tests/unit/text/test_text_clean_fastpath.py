"""The ASCII fast path and the per-rule link tests of ``denoise`` give the general path's output."""

from __future__ import annotations

import random

import pytest

from fnlib.text import clean


def _reference(doc: str, lowercase: bool, stop_words: bool) -> str:
    doc = clean._NON_LETTERS.sub(" ", doc)
    if lowercase:
        doc = doc.lower()
    words = doc.split()
    if stop_words:
        words = [w for w in words if w.lower() not in clean._STOP_WORDS]
    return " ".join(words)


@pytest.mark.parametrize("lowercase", [True, False])
@pytest.mark.parametrize("stop_words", [True, False])
def test_words_matches_the_general_path(lowercase: bool, stop_words: bool) -> None:
    rng = random.Random(7)
    pieces = list("abcXYZ '-_.@:/<>[]()&;#0129 \t\n\x0b\x1c") + [
        "The", "AND", "would", "ß", "é", "İstanbul", "中", "\u00a0", "\u2028", "½", "٣", "K",
    ]
    docs = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    for doc in docs:
        assert clean._words(doc, lowercase, stop_words) == _reference(doc, lowercase, stop_words)


def test_links_in_non_ascii_documents_are_still_removed() -> None:
    # under IGNORECASE the domain rule matches "o.İo" (U+0130 ~ i) though lower() gives "i̇"
    text = "x @bob o.\u0130o tail www.Example.com/a and a@b.co"
    assert clean.denoise([text], stop_words=False) == ["x tail and"]


def test_ascii_link_rules_need_their_triggers() -> None:
    texts = ["see example.com/page now", "mail a.b@c.org", "WWW.SITE.NET x", "plain text only"]
    assert clean.denoise(texts, stop_words=False) == ["see now", "mail", "x", "plain text only"]
