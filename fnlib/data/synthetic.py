"""SYNTHETIC fake-news corpus generator for offline smoke runs and tests.

Everything this module produces is made up from small hand-written word lists: it is NOT news
and any score measured on it says nothing about real fake-news detection. Every row carries
``source == "synthetic"`` and ``meta_generator`` saying so; show that label wherever results
on this data are shown.

The generator imitates the *shape* of the ISOT data set (Kaggle ``Fake.csv`` / ``True.csv``),
including its traps, so the pipeline's defences get exercised:

- ``text`` is ``title + "\\n\\n" + body`` with article-length bodies (~100-600 words);
- most real bodies start with a ``"WASHINGTON (Reuters) - "`` dateline and some fake ones with
  ``"21st Century Wire says"``; fake articles often end with ``"Featured image via ..."``,
  embed ``pic.twitter.com`` links and ``(@handle)`` tweet credits; URLs and bare domains lean
  towards one class. All of these leak the source and are removed by :mod:`fnlib.data.scrub`;
- ``meta_subject`` and ``meta_date`` (different date formats per class) separate the classes,
  like ISOT's ``subject`` column;
- HTML tags/entities and bracketed tags like ``[VIDEO]`` appear as noise;
- about 1% duplicates (half exact copies, half near copies with a re-cased, re-spaced headline),
  a few title-only documents (empty bodies) and a few link-only documents that are blank once
  scrubbed;
- the classes share most of their vocabulary and ~8% of documents are written in the other
  class's style, so a bag-of-words model scores well (~0.9 accuracy) but not perfectly.

The output is fully determined by ``seed`` (one :func:`numpy.random.default_rng` stream).

Two vocabularies (``vocab``):

- ``"fixed"`` (the default): the common words come from ~170 hand-written words, so the whole
  corpus uses ~500 distinct words at any size. Quick to generate and to featurise: for tests
  and smoke runs.
- ``"zipf"``: realistic vocabulary growth for scale work. The common words are drawn from an
  open, Zipf-distributed vocabulary of made-up words (:mod:`fnlib.data.synthetic_vocab`) whose
  type/token curve was calibrated against real news text (~160k distinct words at 45k
  articles), and bodies are longer (~400 words on average, 60-2,000). Topic words, style words
  and all the traps above are the same, so labels are as learnable as with ``"fixed"``. Still
  SYNTHETIC: rows say ``vocab=zipf`` in ``meta_generator``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from fnlib.data.schema import FAKE, ID, LABEL, META_PREFIX, REAL, SOURCE, TEXT
from fnlib.data.synthetic_vocab import OpenVocabulary, draw_ranks
from fnlib.errors import InputError

log = logging.getLogger(__name__)


def _words(block: str) -> list[str]:
    return block.split()


GENERATOR = "fnlib.data.synthetic v1 - SYNTHETIC DATA, not real news"
GENERATOR_ZIPF = "fnlib.data.synthetic v1 vocab=zipf - SYNTHETIC DATA, not real news"
VOCABS = ("fixed", "zipf")
"""Accepted values of ``generate(vocab=...)``; see the module doc."""

_SHARED = _words("""the the the of of of and and and to to to in in a a a that for on with as by at
from is was were be been has have had will would could should may also more than about after
over into new its their this these which who not but one two three four five first last year
years week month day days time people state states government public country national local
city group members group leaders plan plans report reports issue issues case cases part
support move moves decision decisions while during since under against between around before
because where when what how many most some other such only even still just very well much
make made take took give gave come came going called asked told called says used
work working told week early late former current major high low long short""")

_TOPICS: dict[str, list[str]] = {
    "politics": _words("""senate house congress election campaign vote voters ballot republican
democrat candidate governor lawmakers bill policy party caucus primary nominee debate
administration cabinet veto majority minority speaker district poll polls midterm
incumbent donors rally delegates partisan bipartisan filibuster impeachment"""),
    "economy": _words("""economy market markets stocks shares investors bank banks inflation rates
interest growth jobs unemployment wages trade exports imports budget deficit debt tax taxes
spending revenue prices oil energy industry companies earnings profits dollar currency
recession treasury bonds"""),
    "world": _words("""minister president prime foreign embassy border military troops army
treaty talks summit alliance nuclear missile refugees asylum conflict ceasefire rebels
capital region regional diplomats diplomatic envoy united nations sanctions territory
province elections opposition protesters crackdown"""),
    "health": _words("""health hospital hospitals doctors patients vaccine vaccines virus outbreak
disease care insurance medicaid medicare drug drugs prescription clinic clinics treatment
cancer study studies researchers medical nurses coverage premiums emergency infection
epidemic symptoms trial trials"""),
    "technology": _words("""technology internet online data privacy hackers hacking cyber software
company users social media platform platforms network phone phones app apps digital
encryption servers email emails surveillance algorithm startup devices computer
computers"""),
    "justice": _words("""court courts judge judges justice lawsuit attorney attorneys prosecutors
investigation investigators police officers arrest arrested charges charged trial jury
verdict prison sentence crime crimes fbi evidence witness testimony indictment ruling
appeal supreme"""),
    "environment": _words("""climate environment environmental emissions carbon coal pollution water
wildlife forest forests drought flood floods storm hurricane wildfire energy solar wind
renewable pipeline drilling epa regulations conservation scientists temperature warming
species"""),
}
# topic -> (real meta_subject, fake meta_subject): disjoint, like ISOT's subject column
_SUBJECTS = {
    "politics": ("politicsNews", "politics"),
    "economy": ("politicsNews", "Government News"),
    "world": ("worldnews", "Middle-east"),
    "health": ("worldnews", "News"),
    "technology": ("politicsNews", "News"),
    "justice": ("politicsNews", "left-news"),
    "environment": ("worldnews", "US_News"),
}
# topics are equally likely in both classes: dozens of topic words per article would otherwise
# swamp the style signal and make the topic, not the writing, decide the class
_TOPIC_P = np.array([0.30, 0.14, 0.18, 0.11, 0.08, 0.11, 0.08])

_STYLE = {
    FAKE: _words("""shocking bombshell exposed truth mainstream elites globalist coverup outrageous
disgusting unbelievable hoax rigged corrupt propaganda agenda insane destroy epic slams
meltdown traitor regime lies lying wake secret hidden censored patriots tyranny radical
crooked scam fraud disaster total absolutely literally everyone nobody believe wow huge
pathetic liberal leftist snowflake watch busted caught finally revealed admits furious
hysterical massive disgraceful"""),
    REAL: _words("""said according spokesman spokeswoman statement percent officials told reporters
analysts quarter data committee agency sources familiar declined comment estimated forecast
negotiations proposal legislation regulators ministry delegation bilateral preliminary
survey index billion million fiscal tuesday wednesday thursday monday friday previously added
noted confirmed announced briefing cited amendment ratified tariffs coalition parliament
provisional interview conference"""),
}
_CITIES = """WASHINGTON|NEW YORK|LONDON|BEIJING|MOSCOW|BRUSSELS|PARIS|TOKYO|BERLIN|SEOUL|
ANKARA|NAIROBI|MEXICO CITY|SAN FRANCISCO/NEW YORK|BRUSSELS/LONDON|LIMA, Peru|
SYDNEY, Australia|CHICAGO|GENEVA|JERUSALEM""".replace("\n", "").split("|")
_CREDITS = [
    "Getty Images",
    "Chip Somodevilla/Getty Images",
    "screen capture",
    "Twitter",
    "YouTube screenshot",
    "Flickr",
]
_HANDLES = ["patriotvoice", "truthwatch1776", "realnewsnow", "GovWatchdog", "libertybell_us"]
_FAKE_DOMAINS = ["patriotdailywire.com", "truthfeed-news.com", "freedomoutpost.net"]
_REAL_DOMAINS = ["reuters.com", "treasury.gov", "un.org"]
_HTML = ["&amp;", "<br/>", "<p>", "</p>", "&#8217;", "&nbsp;", "<em>", "</em>", "&quot;"]
_TAGS = ["[VIDEO]", "[TWEETS]", "(VIDEO)", "WATCH:", "[IMAGES]"]


def _weights(n: int) -> np.ndarray:
    weights = 1.0 / (np.arange(n) + 2.0) ** 0.8  # Zipf-like: early words are more frequent
    return weights / weights.sum()


def _variants(words: np.ndarray) -> np.ndarray:
    """Word forms indexed by ``variant * len(words) + word``: lower, Cap, lower., Cap., lower,,
    Cap,, UPPER."""
    lower = [str(w) for w in words]
    cap = [w[:1].upper() + w[1:] for w in lower]
    forms = [
        lower,
        cap,
        [w + "." for w in lower],
        [w + "." for w in cap],
        [w + "," for w in lower],
        [w + "," for w in cap],
        [w.upper() for w in lower],
    ]
    return np.array([w for form in forms for w in form], dtype=object)


def generate(
    n_docs: int = 2000, seed: int = 0, fake_ratio: float = 0.5, vocab: str = "fixed"
) -> pd.DataFrame:
    """Generate ``n_docs`` SYNTHETIC labelled articles in the corpus schema (ids ``synthetic:<n>``).

    ``vocab="zipf"`` makes the vocabulary grow with the corpus like real news (see the module
    doc); the default ``"fixed"`` keeps the small word list.
    """
    if isinstance(n_docs, bool) or not isinstance(n_docs, int | np.integer) or n_docs < 1:
        raise InputError(f"n_docs must be a positive integer, got {n_docs!r}")
    if not isinstance(fake_ratio, int | float) or not 0.0 <= float(fake_ratio) <= 1.0:
        raise InputError(f"fake_ratio must be a number between 0 and 1, got {fake_ratio!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    if vocab not in VOCABS:
        raise InputError(f"vocab must be one of {list(VOCABS)}, got {vocab!r}")
    zipf = vocab == "zipf"
    rng = np.random.default_rng(seed)
    n = int(n_docs)
    labels = np.full(n, REAL, dtype=np.int64)
    labels[: int(round(n * float(fake_ratio)))] = FAKE
    labels = rng.permutation(labels)
    fake = labels == FAKE
    docs = _Docs(
        topics=rng.choice(len(_TOPICS), size=n, p=_TOPIC_P / _TOPIC_P.sum()),
        # some documents are written in the other class's style: the irreducible error
        style_fake=np.where(rng.random(n) < _STYLE_FLIP, ~fake, fake),
        style_rate=rng.uniform(*_STYLE_RATE, size=n),
        title_len=rng.integers(6, 15, size=n),
        body_len=(
            np.clip(rng.lognormal(np.log(360), 0.5, size=n), 60, 2000)
            if zipf
            else np.clip(rng.lognormal(np.log(280), 0.45, size=n), 100, 600)
        ).astype(np.int64),
        fake=fake,
    )
    vocab = _Vocabulary(open_vocabulary=zipf)
    texts: list[str] = []
    for lo in range(0, n, _CHUNK):  # bounded memory; fixed chunk size keeps output seeded
        chunk = slice(lo, min(n, lo + _CHUNK))
        tokens, starts = _tokens(rng, docs, chunk, vocab)
        texts.extend(_assemble(rng, tokens, starts, docs, chunk))
    _duplicate(rng, texts, labels)
    topic_names = list(_TOPICS)
    subjects = [_SUBJECTS[topic_names[t]][int(f)] for t, f in zip(docs.topics, fake, strict=True)]
    days = rng.integers(0, 730, size=n)
    first = date(2016, 1, 1)
    dates = [  # ISOT-like: the date format differs between the classes
        (first + timedelta(days=int(d))).strftime("%b %d, %Y" if f else "%B %d, %Y ")
        for d, f in zip(days, fake, strict=True)
    ]
    frame = pd.DataFrame(
        {
            ID: [f"synthetic:{i}" for i in range(n)],
            TEXT: texts,
            LABEL: labels,
            SOURCE: "synthetic",
            META_PREFIX + "subject": subjects,
            META_PREFIX + "date": dates,
            META_PREFIX + "generator": GENERATOR_ZIPF if zipf else GENERATOR,
        }
    )
    frame[ID] = frame[ID].astype(str)
    frame[TEXT] = frame[TEXT].astype(str)
    log.info(
        "generated %d SYNTHETIC documents (seed=%s, fake_ratio=%s, vocab=%s)",
        n, seed, fake_ratio, vocab,
    )
    return frame


_CHUNK = 4096
_STYLE_FLIP = 0.08  # share of documents written in the other class's style
_STYLE_RATE = (0.06, 0.2)  # per-document share of style words
_OWN_STYLE = 0.85  # share of a document's style words taken from its own style list
_TOPIC_RATE = 0.30  # share of topic words


@dataclass(frozen=True)
class _Docs:
    """Per-document draws."""

    topics: np.ndarray
    style_fake: np.ndarray
    style_rate: np.ndarray
    title_len: np.ndarray
    body_len: np.ndarray
    fake: np.ndarray


class _Vocabulary:
    """All word lists in one array, plus every word form (see :func:`_variants`); with
    ``open_vocabulary`` the common words come from :class:`OpenVocabulary` instead."""

    def __init__(self, open_vocabulary: bool = False) -> None:
        lists = {
            "shared": _SHARED,
            **{f"topic:{k}": v for k, v in _TOPICS.items()},
            "fake": _STYLE[FAKE],
            "real": _STYLE[REAL],
        }
        self.offsets: dict[str, int] = {}
        words: list[str] = []
        for name, items in lists.items():
            self.offsets[name] = len(words)
            words.extend(items)
        self.size = len(words)
        self.forms = _variants(np.array(words, dtype=object))
        self.shared_p = _weights(len(_SHARED))
        self.topic_off = np.array([self.offsets[f"topic:{t}"] for t in _TOPICS])
        self.topic_size = np.array([len(v) for v in _TOPICS.values()])
        self.open: OpenVocabulary | None = None
        if open_vocabulary:
            self.open = OpenVocabulary(_SHARED, reserved=words)
            # rank r <= len(common) is common word r-1, stored at this index of ``words``
            self.common_index = np.array([words.index(w) for w in self.open.common])

    def background(self, rng: np.random.Generator, total: int) -> np.ndarray:
        """Word indices of ``total`` common words; with an open vocabulary, indices past
        ``size`` are ranks of made-up words (``size + rank``)."""
        if self.open is None:
            return self.offsets["shared"] + rng.choice(len(_SHARED), size=total, p=self.shared_p)
        ranks = draw_ranks(rng, total)
        n_common = len(self.open.common)
        return np.where(
            ranks <= n_common, self.common_index[np.minimum(ranks, n_common) - 1], self.size + ranks
        )

    def forms_of(self, variant: np.ndarray, base: np.ndarray) -> list[str]:
        """The word form ``variant`` of every word index in ``base``."""
        if self.open is None:
            return self.forms[variant * self.size + base].tolist()
        made_up = base >= self.size
        out = np.empty(len(base), dtype=object)
        out[~made_up] = self.forms[variant[~made_up] * self.size + base[~made_up]]
        ranks, inverse = np.unique(base[made_up] - self.size, return_inverse=True)
        forms = _variants(self.open.words(ranks))
        out[made_up] = forms[variant[made_up] * len(ranks) + inverse]
        return out.tolist()


def _tokens(
    rng: np.random.Generator, docs: _Docs, chunk: slice, vocab: _Vocabulary
) -> tuple[list[str], np.ndarray]:
    """Draw the word forms of the documents in ``chunk``; returns tokens and doc start offsets."""
    title_len, doc_len = docs.title_len[chunk], docs.title_len[chunk] + docs.body_len[chunk]
    total = int(doc_len.sum())
    ends = np.cumsum(doc_len)
    starts = ends - doc_len
    doc = np.repeat(np.arange(len(doc_len)), doc_len)
    in_title = (np.arange(total) - starts[doc]) < title_len[doc]
    topics = docs.topics[chunk][doc]
    style_fake = docs.style_fake[chunk][doc]
    rate = docs.style_rate[chunk][doc]

    u = rng.random(total)
    base = vocab.background(rng, total)
    topic_word = vocab.topic_off[topics] + (rng.random(total) * vocab.topic_size[topics]).astype(
        np.int64
    )
    base = np.where((u >= rate) & (u < rate + _TOPIC_RATE), topic_word, base)
    fake_word = np.where(rng.random(total) < _OWN_STYLE, style_fake, ~style_fake)
    n_style = np.where(fake_word, len(_STYLE[FAKE]), len(_STYLE[REAL]))
    style_word = np.where(fake_word, vocab.offsets["fake"], vocab.offsets["real"]) + (
        rng.random(total) * n_style
    ).astype(np.int64)
    base = np.where(u < rate, style_word, base)

    v = rng.random(total)
    punct = np.where(v < 1 / 14, 1, np.where(v > 0.94, 2, 0))  # 1: period, 2: comma
    punct[in_title] = 0
    punct[ends - 1] = 1
    cap = np.zeros(total, dtype=np.int64)
    cap[1:] = punct[:-1] == 1
    cap[starts] = 1
    cap[starts + title_len] = 1
    variant = cap + 2 * punct
    shout = in_title & docs.fake[chunk][doc] & (rng.random(total) < 0.12)
    variant = np.where(shout, 6, variant)
    return vocab.forms_of(variant, base), starts


def _assemble(
    rng: np.random.Generator, tokens: list[str], starts: np.ndarray, docs: _Docs, chunk: slice
) -> list[str]:
    """Join tokens into ``title\\n\\nbody`` texts and add source markers and noise."""
    title_len, body_len, fake = docs.title_len[chunk], docs.body_len[chunk], docs.fake[chunk]
    n = len(fake)
    draws = rng.random((n, 8))
    picks = rng.integers(0, 1_000_000, size=(n, 4))
    texts = []
    for i in range(n):
        a = int(starts[i])
        t = a + int(title_len[i])
        b = t + int(body_len[i])
        is_fake = bool(fake[i])
        r, k = draws[i], picks[i]
        title = " ".join(tokens[a:t])
        body = " ".join(tokens[t:b])
        if is_fake and r[0] < 0.10:
            tag = _TAGS[k[0] % len(_TAGS)]
            title = f"{tag} {title}" if tag.endswith(":") else f"{title} {tag}"
        if r[1] < 0.05:  # HTML noise in both classes
            cut = body.find(" ", len(body) // 2)
            body = f"{body[:cut]} {_HTML[k[1] % len(_HTML)]}{body[cut:]}"
        if r[2] < 0.12:  # URLs and bare domains lean towards one class but occur in both
            domains = _FAKE_DOMAINS if (is_fake ^ (r[3] < 0.3)) else _REAL_DOMAINS
            domain = domains[k[2] % len(domains)]
            link = f"https://www.{domain}/2017/{k[3] % 9000 + 1000}" if r[3] < 0.6 else domain
            body = f"{body} Read more at {link}"
        if is_fake:
            if r[4] < 0.12:
                body = "21st Century Wire says " + body
            if r[5] < 0.10:
                handle = _HANDLES[k[0] % len(_HANDLES)]
                body += f"\npic.twitter.com/{k[3]:x}Qz\n- A reader (@{handle})"
            if r[6] < 0.25:
                body += f"\n\nFeatured image via {_CREDITS[k[1] % len(_CREDITS)]}"
        elif r[4] < 0.85:
            body = f"{_CITIES[k[0] % len(_CITIES)]} (Reuters) - {body}"
        elif r[4] < 0.90:
            body = "(Reuters) - " + body
        if r[7] < 0.005:  # empty body: a title-only document
            texts.append(title)
        elif r[7] < 0.007:  # link-only document: blank once URLs and credits are scrubbed
            texts.append(
                f"https://www.{_FAKE_DOMAINS[k[2] % 3]}/{k[3]}\nFeatured image via Twitter"
            )
        else:
            texts.append(f"{title}\n\n{body}")
    return texts


def _duplicate(rng: np.random.Generator, texts: list[str], labels: np.ndarray) -> None:
    """Turn ~1% of documents into copies of same-label documents, half exact, half near."""
    n = len(texts)
    n_copies = n // 100
    if n_copies == 0:
        return
    order = rng.permutation(n)
    targets = order[:n_copies]
    pool = {
        label: [int(i) for i in order[n_copies:] if labels[i] == label] for label in (REAL, FAKE)
    }
    for index, target in enumerate(targets):
        same = pool[int(labels[target])]
        if not same:
            continue
        original = texts[same[index % len(same)]]
        if index % 2 == 0:
            texts[target] = original
        else:  # near copy: the same article re-posted under a shouty, re-spaced headline
            title, sep, body = original.partition("\n\n")
            texts[target] = "  ".join(title.upper().split()) + "!!" + sep + body
