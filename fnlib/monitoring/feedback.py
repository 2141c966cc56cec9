"""The quality gate for labelled feedback before it may enter a training set.

A fact-checking desk's labels are valuable and noisy: typos in labels, the same article sent
twice with different verdicts, pasted fragments, whole pages of boilerplate, text in another
language, or articles that are already in the training data (which would leak test
information into the next model). :func:`gate_feedback` checks every row against these rules
and splits the input into accepted and quarantined rows; nothing is ever dropped silently
(``len(accepted) + len(quarantined) == len(input)``).

Rules (a row can break several; its ``reason`` lists them joined with ``"; "``, each starting
with a stable code before the colon, see :func:`quarantine_summary`):

- ``missing id``: the id is empty or not a string;
- ``invalid label``: not one of ``fake``/``real``/``1``/``0`` (case and surrounding spaces
  ignored; integers 0/1 accepted);
- ``empty text``: empty or whitespace-only text;
- ``too short``: fewer than ``min_words`` whitespace-separated words;
- ``too long``: more than ``max_chars`` characters;
- ``low vocabulary coverage``: fewer than ``min_vocab_coverage`` of the tokens are in the
  model's vocabulary (garbage, markup or another language);
- ``already in training data``: the id is one of ``known_ids``;
- ``conflicting labels``: the id occurs several times with different labels (every copy);
- ``conflicting texts``: the id occurs several times with the same label but different texts
  (every copy);
- ``duplicate``: an exact repeat (same id, label and text) of an earlier row; the first copy is
  judged on its own merits, the repeats are quarantined.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fnlib.data.schema import FAKE, ID, LABEL, REAL, SPLIT_COLUMNS, TEXT
from fnlib.errors import InputError
from fnlib.monitoring.drift import tokenize, word_count
from fnlib.monitoring.logs import TEXT_SHA256, text_sha256

log = logging.getLogger(__name__)

REASON = "reason"
_LABELS = {"fake": FAKE, "real": REAL, "1": FAKE, "0": REAL}


@dataclass(frozen=True)
class FeedbackLimits:
    """Bounds a feedback text must respect to be accepted (see the module docstring)."""

    min_words: int = 3
    max_chars: int = 100_000
    min_vocab_coverage: float = 0.2

    def __post_init__(self) -> None:
        for name in ("min_words", "max_chars"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        coverage = self.min_vocab_coverage
        if (
            isinstance(coverage, bool)
            or not isinstance(coverage, int | float)
            or not math.isfinite(coverage)
            or not 0 <= coverage <= 1
        ):
            raise InputError(f"min_vocab_coverage must be between 0 and 1, got {coverage!r}")


def normalise_label(value: Any) -> int | None:
    """1 for fake, 0 for real, ``None`` for anything that is not fake/real/1/0."""
    if isinstance(value, str):
        return _LABELS.get(value.strip().lower())
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        return int(value) if int(value) in (REAL, FAKE) else None
    return None


def vocabulary_coverage(text: str, vocabulary: frozenset[str] | set[str]) -> float:
    """Share of the tokens of ``text`` that are in ``vocabulary`` (0.0 when it has no token)."""
    tokens = tokenize(text)
    if not tokens:
        return 0.0
    return sum(1 for token in tokens if token in vocabulary) / len(tokens)


def _duplicate_reasons(ids: list[Any], label_keys: list[Any], texts: list[Any]) -> dict[int, str]:
    """Reasons for rows whose id occurs more than once (see the module docstring)."""
    groups: dict[str, list[int]] = {}
    for row, identifier in enumerate(ids):
        if isinstance(identifier, str) and identifier.strip():
            groups.setdefault(identifier, []).append(row)
    reasons: dict[int, str] = {}
    for rows in groups.values():
        if len(rows) < 2:
            continue
        if len({label_keys[r] for r in rows}) > 1:
            for r in rows:
                reasons[r] = f"conflicting labels: id sent {len(rows)} times with different labels"
        elif len({texts[r] if isinstance(texts[r], str) else "" for r in rows}) > 1:
            for r in rows:
                reasons[r] = f"conflicting texts: id sent {len(rows)} times with different texts"
        else:
            for r in rows[1:]:
                reasons[r] = f"duplicate: repeats row {rows[0]}"
    return reasons


def gate_feedback(
    feedback_df: pd.DataFrame,
    vocabulary: Iterable[str],
    limits: FeedbackLimits | None = None,
    known_ids: Iterable[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split feedback into ``(accepted, quarantined)`` by the rules in the module docstring.

    ``feedback_df`` needs ``id``, ``label`` and ``text`` columns (a feedback log, say).
    ``vocabulary`` is the model's vocabulary (``reference["vocabulary"]["terms"]``).
    ``accepted`` has the split schema ``id, text, label`` (label int, 1 = fake) in input order;
    ``quarantined`` keeps every input column plus ``reason``, also in input order.
    """
    limits = limits or FeedbackLimits()
    missing = [c for c in (ID, LABEL, TEXT) if c not in feedback_df.columns]
    if missing:
        raise InputError(f"feedback lacks column(s) {', '.join(missing)}; it needs id, label, text")
    vocab = vocabulary if isinstance(vocabulary, frozenset) else frozenset(vocabulary)
    if not vocab:
        raise InputError("the vocabulary is empty: pass reference['vocabulary']['terms']")
    known = frozenset(known_ids) if known_ids is not None else frozenset()
    frame = feedback_df.reset_index(drop=True)
    ids, raw_labels, texts = list(frame[ID]), list(frame[LABEL]), list(frame[TEXT])
    labels = [normalise_label(v) for v in raw_labels]
    label_keys = [
        lab if lab is not None else f"invalid:{raw!r}"
        for lab, raw in zip(labels, raw_labels, strict=True)
    ]
    duplicates = _duplicate_reasons(ids, label_keys, texts)

    reasons: list[list[str]] = []
    for row, (identifier, label, raw, text) in enumerate(
        zip(ids, labels, raw_labels, texts, strict=True)
    ):
        found = []
        if not isinstance(identifier, str) or not identifier.strip():
            found.append("missing id: the id is empty")
        if label is None:
            found.append(f"invalid label: {raw!r} is not fake/real/1/0")
        if not isinstance(text, str) or not text.strip():
            found.append("empty text: no text to learn from")
        else:
            words = word_count(text)
            if words < limits.min_words:
                found.append(f"too short: {words} word(s) < {limits.min_words}")
            if len(text) > limits.max_chars:
                found.append(f"too long: {len(text)} characters > {limits.max_chars}")
            else:
                coverage = vocabulary_coverage(text, vocab)
                if coverage < limits.min_vocab_coverage:
                    found.append(
                        f"low vocabulary coverage: {coverage:.2f} < {limits.min_vocab_coverage} "
                        "(garbage or another language?)"
                    )
        if isinstance(identifier, str) and identifier in known:
            found.append("already in training data: the id is in the current dataset")
        if row in duplicates:
            found.append(duplicates[row])
        reasons.append(found)

    bad = np.array([bool(r) for r in reasons], dtype=bool)
    good = np.flatnonzero(~bad)
    accepted = pd.DataFrame(
        {
            ID: [str(ids[i]) for i in good],
            TEXT: [str(texts[i]) for i in good],
            LABEL: np.array([labels[i] for i in good], dtype=np.int64),
        },
        columns=list(SPLIT_COLUMNS),
    )
    quarantined = frame.iloc[np.flatnonzero(bad)].copy()
    quarantined[REASON] = ["; ".join(r) for r in reasons if r]
    quarantined = quarantined.reset_index(drop=True)
    log.info(
        "feedback gate: %d rows -> %d accepted, %d quarantined %s",
        len(frame),
        len(accepted),
        len(quarantined),
        quarantine_summary(quarantined),
    )
    return accepted, quarantined


def quarantine_summary(quarantined: pd.DataFrame) -> dict[str, int]:
    """How many quarantined rows broke each rule (by the code before the colon), sorted by code."""
    counts: Counter[str] = Counter()
    if REASON in quarantined.columns:
        for reason in quarantined[REASON]:
            counts.update({part.split(":", 1)[0].strip() for part in str(reason).split("; ")})
    return dict(sorted(counts.items()))


def attach_texts(feedback_df: pd.DataFrame, predictions_df: pd.DataFrame) -> pd.DataFrame:
    """Fill empty feedback texts from the prediction log (same id, text kept there).

    Only prediction rows whose stored text matches its ``text_sha256`` are used; if an id was
    scored several times with different texts, its feedback text stays empty (ambiguous).
    """
    for frame, columns, what in (
        (feedback_df, (ID, TEXT), "feedback"),
        (predictions_df, (ID, TEXT, TEXT_SHA256), "predictions"),
    ):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise InputError(f"{what} lacks column(s) {', '.join(missing)}")
    known: dict[str, str | None] = {}
    for identifier, text, digest in zip(
        predictions_df[ID], predictions_df[TEXT], predictions_df[TEXT_SHA256], strict=True
    ):
        if isinstance(text, str) and text and text_sha256(text) == digest:
            previous = known.get(identifier, text)
            known[identifier] = text if previous == text else None
    out = feedback_df.copy()
    blank = [not isinstance(t, str) or not t.strip() for t in out[TEXT]]
    filled = [
        known.get(i) or t if is_blank else t
        for i, t, is_blank in zip(out[ID], out[TEXT], blank, strict=True)
    ]
    out[TEXT] = [t if isinstance(t, str) else "" for t in filled]
    return out
