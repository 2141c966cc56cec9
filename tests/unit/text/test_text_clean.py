"""TextCleaner: each denoising rule, raw passthrough, and the sklearn estimator conventions that
apply to a text transformer (check_estimator needs 2-D numeric input, so they are run here)."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

from fnlib.errors import InputError
from fnlib.text import VARIANTS, TextCleaner, denoise


def clean(text: str, **kwargs: bool) -> str:
    return TextCleaner("denoised", **kwargs).fit_transform([text])[0]


def keep_case(text: str) -> str:
    return clean(text, lowercase=False, stop_words=False)


def test_variants() -> None:
    assert VARIANTS == ("raw", "denoised")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tom &amp; Jerry&nbsp;said &quot;hi&quot;", "Tom Jerry said hi"),
        ("Don&#8217;t stop", "Dont stop"),
        ("<p>Hello <em>world</em></p><br/>again", "Hello world again"),
        ("a <!-- hidden\ncomment --> b", "a b"),
        ("&lt;b&gt;escaped&lt;/b&gt; tag", "escaped tag"),
        ("Crowd cheers [VIDEO] and [TWEETS]", "Crowd cheers and"),
        ("Crowd cheers (VIDEO) now (WATCH LIVE)", "Crowd cheers now"),
        ("Reuters reports (Reuters) today", "Reuters reports Reuters today"),
        ("see https://www.example.com/a/b?c=1&d=2 now", "see now"),
        ("see http://x.org and www.site-name.net/page", "see and"),
        ("read truthfeed-news.com/2017/1234 or reuters.com.", "read or"),
        ("pic.twitter.com/abcQz - A reader", "A reader"),
        ("mail john.doe@example.co.uk today", "mail today"),
        ("credit (@patriot_voice) says", "credit says"),
        ("it's 42 times_now!!! 3.5% -- ok", "its times now ok"),
        ("Café Müller naïve", "Café Müller naïve"),
        ("a < b and c > d", "a b and c d"),
    ],
)
def test_denoise_rules(text: str, expected: str) -> None:
    assert keep_case(text) == expected


def test_lowercase_and_stop_words() -> None:
    text = "The Senate WILL vote on the Law"
    assert clean(text) == "senate vote law"
    assert clean(text, stop_words=False) == "the senate will vote on the law"
    # stop words are matched case-insensitively even when the case is kept
    assert clean(text, lowercase=False) == "Senate vote Law"


def test_whitespace_is_collapsed() -> None:
    assert keep_case("  a\n\n\tb   c \r\n") == "a b c"


def test_raw_passes_through() -> None:
    texts = ["<p>Keep &amp; THIS</p>", "  spaces  ", ""]
    assert TextCleaner("raw").fit_transform(texts) == texts
    assert TextCleaner("raw").transform(pd.Series(texts)) == texts
    assert TextCleaner("raw").transform(np.array(texts, dtype=object)) == texts


def test_accepts_series_and_arrays_and_empty() -> None:
    texts = ["Hello, World!", "Foo & bar"]
    expected = denoise(texts)
    cleaner = TextCleaner()
    assert cleaner.transform(pd.Series(texts, index=[10, 3])) == expected
    assert cleaner.transform(np.array(texts, dtype=object)) == expected
    assert cleaner.transform(tuple(texts)) == expected
    assert cleaner.transform([]) == []


@pytest.mark.parametrize(
    "bad",
    [
        "a single string",
        ["ok", None],
        ["ok", float("nan")],
        np.array([["a", "b"]]),
        pd.DataFrame({"text": ["a"]}),
        42,
    ],
)
def test_rejects_bad_input(bad: object) -> None:
    for variant in VARIANTS:
        with pytest.raises(InputError):
            TextCleaner(variant).fit(bad)
        with pytest.raises(InputError):
            TextCleaner(variant).transform(bad)


def test_rejects_bad_params() -> None:
    with pytest.raises(InputError, match="unknown text variant"):
        TextCleaner("stemmed").transform(["a"])
    with pytest.raises(InputError, match="lowercase"):
        TextCleaner(lowercase="yes").fit(["a"])


def test_fit_returns_self_and_transforms_unseen_data() -> None:
    cleaner = TextCleaner()
    assert cleaner.fit(["first <b>doc</b>"], [1]) is cleaner
    assert cleaner.transform(["an unseen DOCUMENT, with www.x.com"]) == ["unseen document"]


def test_does_not_mutate_input() -> None:
    texts = ["<p>A &amp; B</p> http://x.com", "C's (VIDEO)"]
    as_list = list(texts)
    series = pd.Series(texts)
    array = np.array(texts, dtype=object)
    for variant in VARIANTS:
        cleaner = TextCleaner(variant).fit(as_list)
        cleaner.transform(as_list)
        cleaner.transform(series)
        cleaner.transform(array)
    assert as_list == texts
    assert series.tolist() == texts
    assert array.tolist() == texts


def test_params_clone_and_pickle() -> None:
    cleaner = TextCleaner("denoised", lowercase=False, stop_words=True)
    assert cleaner.get_params() == {"variant": "denoised", "lowercase": False, "stop_words": True}
    twin = clone(cleaner)
    assert twin is not cleaner and twin.get_params() == cleaner.get_params()
    assert cleaner.set_params(variant="raw") is cleaner and cleaner.variant == "raw"
    restored = pickle.loads(pickle.dumps(twin.fit(["x"])))
    text = ["Fake <b>TEXT</b> at www.example.com"]
    assert restored.transform(text) == twin.transform(text) == ["Fake TEXT"]
    assert repr(TextCleaner()) == "TextCleaner()"


def test_stateless_tags_and_pipeline() -> None:
    tags = TextCleaner().__sklearn_tags__()
    assert tags.requires_fit is False and tags.input_tags.string is True
    pipe = Pipeline([("text", TextCleaner()), ("vec", TfidfVectorizer())])
    X = pipe.fit_transform(["Fake <b>news</b> here", "Real report here"])
    assert sorted(pipe.named_steps["vec"].vocabulary_) == ["fake", "news", "real", "report"]
    assert X.shape == (2, 4)
