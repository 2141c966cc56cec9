"""Leakage scrub: remove what identifies the *source* of a document rather than its content.

A classifier trained on ISOT learns that ``"WASHINGTON (Reuters) -"`` means real and that
``"Featured image via"`` means fake; one trained on FakeNewsNet learns publishers' domains.
Such models look excellent and are useless. :func:`scrub` removes these markers, drops the
``meta_*`` columns and reports, rule by rule, how many rows changed and examples of what was
removed, so the decision is visible in the dataset's manifest.

Rules (each can be switched off through :class:`ScrubOptions`):

``markers``
    ``dateline``      leading agency datelines: ``"CITY (Reuters) -"``, ``"CITY, Country (Reuters) -"``,
                      ``"(Reuters) -"``, ``"WASHINGTON (AP) —"`` ... at the start of the text or of
                      the body (the line after the title).
    ``wire_says``     a leading ``"21st Century Wire says"``.
    ``image_credit``  a trailing ``"Featured image via ..."`` / ``"Photo by .../Getty Images"`` credit.
    ``twitter``       ``pic.twitter.com/...`` links and ``(@handle)`` credits at line ends
                      (optionally followed by the tweet's date).
``urls``
    ``url``           ``http://``, ``https://`` and ``www.`` links.
    ``domain``        bare domains such as ``nytimes.com`` or ``cnn.com/politics/...``.
``origin``
    ``origin``        each row's own origin, from its :data:`fnlib.data.origin.ORIGIN_COLUMNS` (the JSON article
                      loader fills them): the URL, its host (``politi.co``) and the site name
                      (``Addicting Info``), removed as whole words, case-insensitively.

Whitespace is then normalised in every row a rule changed (tabs, NBSP and runs of spaces to
one space, CR/CRLF to LF, spaces around line breaks removed, at most one blank line); other
rows are only stripped, so untouched documents keep their text as it was.

Speed: every rule runs as a vectorised pandas ``.str.replace`` over only the rows that contain
one of the rule's literal "needles" (a cheap substring test), and the anchored rules only look
at the first/last characters of each text, so 200k article-length documents take seconds.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from fnlib.data.origin import scrub_origins
from fnlib.data.schema import CORE_COLUMNS, ID, LABEL, META_PREFIX, TEXT

log = logging.getLogger(__name__)

EXAMPLE_CHARS = 60
MAX_EXAMPLES = 3
IDENTIFYING_ACCURACY = 0.95
IDENTIFYING_COVERAGE = 0.5
PREDICTIVE_ACCURACY = 0.8
PREDICTIVE_LIFT = 0.2

_AGENCIES = ("Reuters", "AP", "AFP", "Associated Press", "Bloomberg", "UPI", "dpa")
_TITLE_LINE = r"\A(?P<keep>[^\n]{0,500}\n[ \t\r\n]*)?"  # optional title before the body
_DASH = r"[ \t]*[-\u2013\u2014]+[ \t]*"
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_TLDS = r"(?:com|org|net|gov|edu|info|io|co\.uk|org\.uk|gov\.uk)"
_URL_END = r"[^\s<>\"'.,;:!?)\]}]"  # a link does not end with sentence punctuation


@dataclass(frozen=True)
class ScrubOptions:
    """Which scrub rule groups run. ``drop_metadata`` drops every ``meta_*`` column."""

    markers: bool = True
    urls: bool = True
    origin: bool = True
    drop_metadata: bool = True


@dataclass(frozen=True)
class _Rule:
    name: str
    group: str  # the ScrubOptions flag that enables it
    patterns: tuple[re.Pattern[str], ...]  # applied in order
    needles: (
        tuple[str, ...] | re.Pattern[str]
    )  # only rows containing one (or matching) are searched
    window: int = 0  # >0: only the first N chars; <0: only the last -N chars; 0: everything
    repl: str = ""


RULES: tuple[_Rule, ...] = (
    _Rule(
        "dateline",
        "markers",
        (re.compile(_TITLE_LINE + r"[^\n()]{0,60}?\((?:" + "|".join(_AGENCIES) + r")\)" + _DASH),),
        re.compile(r"\((?:" + "|".join(_AGENCIES) + r")\)"),
        window=1000,
        repl=r"\g<keep>",
    ),
    _Rule(
        "wire_says",
        "markers",
        (re.compile(_TITLE_LINE + r"[ \t]*21st Century Wire says:?[ \t]*", re.IGNORECASE),),
        ("21st", "21ST"),
        window=1000,
        repl=r"\g<keep>",
    ),
    _Rule(
        "image_credit",
        "markers",
        (
            re.compile(
                r"(?:\b(?:featured|feature|header|top)[ \t]+(?:image|photo|picture)[ \t]+"
                # the credit runs to the end, without a sentence break ("." + space) in it
                r"(?:via|by|from|credit|courtesy)\b(?:[^\n.!?]|[.!?](?!\s)){0,150}?"
                r"|(?:(?<=[\n.!?])|\A)[^\n.!?]{0,100}\bGetty[ \t]+Images\b[^\n]{0,40}?)\s*\Z",
                re.IGNORECASE,
            ),
        ),
        ("mage", "MAGE", "hoto", "HOTO", "icture", "ICTURE", "Getty"),
        window=-400,
    ),
    _Rule(
        "twitter",
        "markers",
        (
            re.compile(r"pic\.twitter\.com/\w+"),
            # "@handle" / "(@handle)" ending a line, optionally followed by the tweet's date;
            # matched from the "@" (a literal prefix is fast), then the orphaned "(" goes
            re.compile(
                rf"@\w{{1,15}}\)?(?:[ \t]+(?:{_MONTHS})[ \t]+\d{{1,2}},[ \t]+\d{{4}})?"
                r"(?=[ \t]*(?:\n|\Z))"
            ),
            re.compile(r"\([ \t]*(?=\n|\Z)"),
        ),
        ("pic.twitter.com", "@"),
    ),
    _Rule(
        "url",
        "urls",
        (
            re.compile(
                r"(?:[Hh][Tt][Tt][Pp][Ss]?://|[Ww][Ww][Ww]\.)(?:[^\s<>\"]*" + _URL_END + ")?"
            ),
        ),
        ("://", "www.", "WWW."),
    ),
    _Rule(
        "domain",
        "urls",
        (
            re.compile(
                # possessive labels: plain words fail at once instead of backtracking
                rf"(?<![\w.@-])(?:[A-Za-z0-9-]++\.)+{_TLDS}(?:\.[a-z]{{2}})?\b"
                rf"(?:/(?:[^\s<>\"]*{_URL_END})?)?"
            ),
        ),
        re.compile(rf"\.{_TLDS}\b"),  # a literal-prefix regex: as fast as a substring test
    ),
)


def _contains_any(texts: pd.Series, needles: tuple[str, ...] | re.Pattern[str]) -> np.ndarray:
    if isinstance(needles, re.Pattern):
        return texts.str.contains(needles, regex=True).to_numpy(dtype=bool)
    mask = np.zeros(len(texts), dtype=bool)
    for needle in needles:
        mask |= texts.str.contains(needle, regex=False).to_numpy(dtype=bool)
    return mask


def _window(texts: pd.Series, window: int) -> pd.Series:
    if window > 0:
        return texts.str.slice(0, window)
    if window < 0:
        return texts.str.slice(window)
    return texts


def _sub(texts: pd.Series, rule: _Rule) -> pd.Series:
    for pattern in rule.patterns:
        texts = texts.str.replace(pattern, rule.repl, regex=True)
    return texts


def _apply(texts: pd.Series, rule: _Rule) -> pd.Series:
    """Apply ``rule`` to ``texts``, only inside its window."""
    if rule.window > 0:
        return _sub(texts.str.slice(0, rule.window), rule) + texts.str.slice(rule.window)
    if rule.window < 0:
        return texts.str.slice(0, rule.window) + _sub(texts.str.slice(rule.window), rule)
    return _sub(texts, rule)


def _removed(rule: _Rule, text: str) -> str:
    """What ``rule`` removes from ``text``, for the report (truncated)."""
    if rule.window > 0:
        text = text[: rule.window]
    elif rule.window < 0:
        text = text[rule.window :]
    parts = []
    for pattern in rule.patterns:
        for match in pattern.finditer(text):
            keep = match.groupdict().get("keep") or ""
            parts.append(match.group(0)[len(keep) :].strip())
        text = pattern.sub(rule.repl, text)
    removed = " | ".join(p for p in parts if p)
    return removed if len(removed) <= EXAMPLE_CHARS else removed[: EXAMPLE_CHARS - 3] + "..."


def normalise_whitespace(texts: pd.Series) -> pd.Series:
    """Tabs/NBSP/runs of spaces to one space, CR(LF) to LF, no spaces around line breaks,
    at most one blank line, stripped ends. Uses only literal replaces (fast)."""
    out = texts
    for old, new in (
        ("\r\n", "\n"),
        ("\r", "\n"),
        ("\t", " "),
        ("\xa0", " "),
        ("\f", " "),
        ("\v", " "),
    ):
        out = out.str.replace(old, new, regex=False)
    for old, new in (("  ", " "), (" \n", "\n"), ("\n ", "\n"), ("\n\n\n", "\n\n")):
        pending = out.str.contains(old, regex=False).to_numpy(dtype=bool, copy=True)
        while pending.any():
            fixed = out[pending].str.replace(old, new, regex=False)
            out = out.mask(pending, fixed)
            pending[pending] = fixed.str.contains(old, regex=False).to_numpy(dtype=bool)
    return out.str.strip()


_URL_VALUE = re.compile(r"^(?:https?://)?(?:www\.)?([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?:[/:?#]|$)")


def _majority_stats(values: pd.Series, labels: np.ndarray) -> dict[str, Any]:
    """How well "predict the majority label of each value" works (see :func:`metadata_report`)."""
    frame = pd.DataFrame({"value": values.to_numpy(), "label": labels})
    frame = frame[frame["value"] != ""]
    counts = frame.groupby(["value", "label"], sort=False).size().unstack(fill_value=0)
    repeated = counts[counts.sum(axis=1) >= 2]
    covered = int(repeated.to_numpy().sum())
    accuracy = float(repeated.max(axis=1).sum() / covered) if covered else 0.0
    baseline = float(repeated.sum(axis=0).max() / covered) if covered else 0.0
    coverage = covered / len(labels) if len(labels) else 0.0
    identifying = (
        coverage >= IDENTIFYING_COVERAGE
        and accuracy >= IDENTIFYING_ACCURACY
        and accuracy > baseline
    )
    return {
        "distinct_values": int(len(counts)),
        "coverage": round(coverage, 4),
        "majority_accuracy": round(accuracy, 4),
        "class_identifying": bool(identifying),
        "class_predictive": bool(coverage >= IDENTIFYING_COVERAGE
                                 and accuracy >= PREDICTIVE_ACCURACY
                                 and accuracy - baseline >= PREDICTIVE_LIFT),
    }


def metadata_report(df: pd.DataFrame) -> list[dict[str, Any]]:
    """For each ``meta_*`` column: does it alone identify the class?

    Rule: over the rows whose value (as a string, non-blank) occurs at least twice, predict
    the majority label of each value. The column is *class-identifying* when that covers at
    least half of all rows, reaches >= 0.95 accuracy and beats always predicting the majority
    class on those rows. It is *class-predictive* (a weaker flag) with the same coverage, >= 0.8
    accuracy and at least 0.2 above that majority-class baseline (e.g. an article's publisher:
    87% accurate on three quarters of FakeNewsNet's articles). Unique values (URLs, ids) cannot
    generalise and never count as either; for columns holding URLs the same statistics are
    added for the URL's host (``url_host``), and the column is flagged if its host is.
    """
    columns = [c for c in df.columns if str(c).startswith(META_PREFIX)]
    if not columns:
        return []
    labels = df[LABEL].to_numpy()
    report = []
    for column in columns:
        values = df[column].astype(str).str.strip()
        entry = {"column": str(column), **_majority_stats(values, labels)}
        filled = values[values != ""]
        if len(filled) and filled.str.match(_URL_VALUE).mean() >= 0.5:
            hosts = values.str.extract(_URL_VALUE, expand=False).fillna("").str.lower()
            entry["url_host"] = _majority_stats(hosts, labels)
            entry["class_identifying"] |= entry["url_host"]["class_identifying"]
            entry["class_predictive"] |= entry["url_host"]["class_predictive"]
        report.append(entry)
    return report


def scrub(
    df: pd.DataFrame, options: ScrubOptions | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Remove source markers, URLs and metadata from a corpus; return it with a report.

    The input is not modified. The returned frame has the core columns only (``meta_*``
    columns are dropped unless ``options.drop_metadata`` is false). Rows whose text becomes
    blank are kept and counted as ``blank_after_scrub``; :mod:`fnlib.data.prepare` drops them.
    """
    options = options or ScrubOptions()
    texts = df[TEXT].astype(str).reset_index(drop=True)
    ids = df[ID].astype(str).to_numpy()
    changed_any = np.zeros(len(texts), dtype=bool)
    rules_report: dict[str, Any] = {}
    for rule in RULES:
        if not getattr(options, rule.group):
            continue
        window = _window(texts, rule.window)
        candidates = _contains_any(window, rule.needles)
        examples: list[dict[str, str]] = []
        n_changed = 0
        if candidates.any():
            before = texts[candidates]
            after = _apply(before, rule)
            changed = (after != before).to_numpy(dtype=bool)
            n_changed = int(changed.sum())
            positions = np.flatnonzero(candidates)[changed]
            changed_any[positions] = True
            for pos in positions[:MAX_EXAMPLES]:
                examples.append({"id": str(ids[pos]), "removed": _removed(rule, texts.iloc[pos])})
            texts = texts.mask(candidates, after)
        rules_report[rule.name] = {"rows_changed": n_changed, "examples": examples}
        log.debug("scrub rule %s changed %d rows", rule.name, n_changed)

    if options.origin:
        texts, changed, removed = scrub_origins(texts, df.reset_index(drop=True))
        changed_any |= changed
        rules_report["origin"] = {
            "rows_changed": int(changed.sum()),
            "examples": [{"id": str(ids[p]), "removed": removed[p][:EXAMPLE_CHARS]}
                         for p in np.flatnonzero(changed)[:MAX_EXAMPLES]],
        }

    # whitespace: fully normalised where a rule removed something, elsewhere only stripped
    whitespace_changed = 0
    if changed_any.any():
        before = texts[changed_any]
        after = normalise_whitespace(before)
        whitespace_changed = int((after != before).sum())
        texts = texts.mask(changed_any, after)
    stripped = texts.str.strip()
    unstripped = (stripped != texts).to_numpy(dtype=bool)
    whitespace_changed += int(unstripped.sum())
    texts = stripped

    blank = ~texts.str.contains(r"\S", regex=True).to_numpy(dtype=bool)
    out = df.reset_index(drop=True).copy()
    out[TEXT] = texts
    meta = metadata_report(out)
    if options.drop_metadata:
        out = out[[c for c in out.columns if c in CORE_COLUMNS]]
    report = {
        "options": asdict(options),
        "rows": int(len(out)),
        "rows_changed": int(changed_any.sum()),
        "rules": rules_report,
        "whitespace_normalised": whitespace_changed,
        "blank_after_scrub": int(blank.sum()),
        "metadata": {
            "dropped": [m["column"] for m in meta] if options.drop_metadata else [],
            "columns": meta,
            "class_identifying": [m["column"] for m in meta if m["class_identifying"]],
            "class_predictive": [m["column"] for m in meta if m["class_predictive"]],
        },
    }
    log.info(
        "scrub: %d of %d rows changed; class-identifying metadata: %s",
        report["rows_changed"],
        len(out),
        report["metadata"]["class_identifying"] or "none",
    )
    return out, report
