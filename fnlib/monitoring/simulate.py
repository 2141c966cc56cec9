"""Simulated production traffic (articles and delayed desk feedback), optionally drifting.

:func:`simulate_traffic` replays a labelled corpus as ``days`` daily batches of
``docs_per_day`` articles, for demos, tests and backfill rehearsals of ``fn_score`` /
``fn_monitor`` / ``fn_retrain``. Results on it are only as real as the corpus it replays.

- Sampling: each class has its own seeded shuffled queue of corpus rows; articles are drawn
  from the queues in order, so no row repeats before the whole class has been used. When the
  corpus is smaller than the traffic, the queue is reshuffled and rows repeat (sampling with
  replacement, under a new id each time).
- Ids are ``sim-<day>-<n>`` (unique across days); ``published_at`` is spread over the day.
- Feedback: for ``feedback_fraction`` of the articles of day ``d``, the true label
  (``"fake"``/``"real"``, as a desk would send it) and the text arrive on day
  ``d + feedback_delay_days``; feedback falling after the last day is not emitted.
- Drift, e.g. ``{"start_day_index": 3, "kinds": ["topic", "length", "label"]}``: from that day
  on, ``topic`` inserts words of a seeded set of invented new-topic words (out of any
  vocabulary) at random positions, ``topic_rate`` of the text's word count (default 0.3);
  ``length`` truncates each text to ``length_factor`` of its words (default 0.3; a factor
  above 1 extends it by repeating its words); ``label`` samples ``fake_share`` fake articles
  (default 0.85) instead of the corpus's own share.

Everything is determined by ``seed`` (one :func:`numpy.random.default_rng` stream consumed day
by day, so the first days do not depend on how many days are simulated).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from fnlib.data.schema import FAKE, ID, LABEL, LABEL_NAMES, REAL, TEXT
from fnlib.errors import InputError
from fnlib.monitoring.logs import RECEIVED_AT, check_day

log = logging.getLogger(__name__)

PUBLISHED_AT = "published_at"
ARTICLE_COLUMNS = (ID, TEXT, PUBLISHED_AT)
SIM_FEEDBACK_COLUMNS = (ID, LABEL, TEXT, RECEIVED_AT)
DRIFT_KINDS = ("topic", "length", "label")
_DRIFT_DEFAULTS = {"topic_rate": 0.3, "length_factor": 0.3, "fake_share": 0.85}
_SYLLABLES = [c + v for c in "bdfgkmnprstvxz" for v in "aeiou"]


@dataclass(frozen=True)
class DayBatch:
    """One simulated day: the articles to score, the feedback received, and the ground truth.

    ``truth`` (``id, label``) holds every article's true label: for evaluating tests and demos
    only; the pipeline itself only ever sees ``feedback``.
    """

    day: str
    day_index: int
    drifted: bool
    articles: pd.DataFrame
    feedback: pd.DataFrame
    truth: pd.DataFrame


class _Queue:
    """A seeded shuffled queue of row positions, reshuffled when used up."""

    def __init__(self, rows: np.ndarray, rng: np.random.Generator):
        self.rows, self.rng = rows, rng
        self.order, self.next = rng.permutation(rows), 0

    def take(self, n: int) -> list[int]:
        if n and not len(self.rows):
            raise InputError(f"cannot sample {n} rows from an empty class")
        taken: list[int] = []
        while len(taken) < n:
            if self.next == len(self.order):
                self.order, self.next = self.rng.permutation(self.rows), 0
            step = min(n - len(taken), len(self.order) - self.next)
            taken.extend(int(i) for i in self.order[self.next : self.next + step])
            self.next += step
        return taken


def _drift_spec(drift: dict[str, Any] | None) -> dict[str, Any] | None:
    if drift is None:
        return None
    if not isinstance(drift, dict):
        raise InputError(
            f"drift must be a dict like {{'start_day_index': 3, 'kinds': ['topic']}}, got {drift!r}"
        )
    unknown = sorted(set(drift) - {"start_day_index", "kinds", *_DRIFT_DEFAULTS})
    if unknown:
        raise InputError(f"unknown drift setting(s) {', '.join(unknown)}")
    start = drift.get("start_day_index", 0)
    kinds = drift.get("kinds", [])
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise InputError(f"drift start_day_index must be a non-negative integer, got {start!r}")
    if isinstance(kinds, str) or not kinds or any(k not in DRIFT_KINDS for k in kinds):
        raise InputError(
            f"drift kinds must be a non-empty list of {', '.join(DRIFT_KINDS)}, got {kinds!r}"
        )
    spec = {**_DRIFT_DEFAULTS, **{k: v for k, v in drift.items() if k in _DRIFT_DEFAULTS}}
    for name, value in spec.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise InputError(f"drift {name} must be a positive number, got {value!r}")
    if spec["fake_share"] > 1:
        raise InputError(f"drift fake_share must be at most 1, got {spec['fake_share']}")
    return {**spec, "start_day_index": start, "kinds": sorted(set(kinds))}


def topic_words(rng: np.random.Generator, n: int = 40) -> list[str]:
    """``n`` distinct invented words (3-4 syllables, e.g. ``"zovakeri"``) for a new topic."""
    words: list[str] = []
    while len(words) < n:
        word = "".join(rng.choice(_SYLLABLES, size=int(rng.integers(3, 5))))
        if word not in words:
            words.append(word)
    return words


def _inject_topic(text: str, words: list[str], rate: float, rng: np.random.Generator) -> str:
    tokens = text.split()
    k = max(1, round(rate * len(tokens)))
    positions = np.sort(rng.integers(0, len(tokens) + 1, size=k))
    new = rng.choice(words, size=k)
    out: list[str] = []
    j = 0
    for i in range(len(tokens) + 1):
        while j < k and positions[j] == i:
            out.append(str(new[j]))
            j += 1
        if i < len(tokens):
            out.append(tokens[i])
    return " ".join(out)


def _shift_length(text: str, factor: float) -> str:
    tokens = text.split()
    if not tokens:
        return text
    target = max(1, round(len(tokens) * factor))
    return " ".join(tokens[i % len(tokens)] for i in range(target))


def _at(day: str, seconds: int) -> str:
    """``day`` plus ``seconds`` as an ISO-8601 UTC timestamp."""
    return f"{day}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}Z"


def _check_corpus(labelled_df: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in (ID, TEXT, LABEL) if c not in labelled_df.columns]
    if missing:
        raise InputError(
            f"labelled_df lacks column(s) {', '.join(missing)}; it needs id, text, label"
        )
    if labelled_df.empty:
        raise InputError("labelled_df is empty: there is nothing to replay")
    if not labelled_df[LABEL].isin([REAL, FAKE]).all():
        raise InputError("labelled_df labels must be 0 (real) or 1 (fake)")
    return labelled_df.reset_index(drop=True)


def simulate_traffic(
    labelled_df: pd.DataFrame,
    days: int = 7,
    start_day: str = "2026-11-01",
    seed: int = 0,
    docs_per_day: int = 100,
    drift: dict[str, Any] | None = None,
    feedback_fraction: float = 0.6,
    feedback_delay_days: int = 1,
) -> list[DayBatch]:
    """Simulate ``days`` days of traffic from ``labelled_df`` (see the module docstring)."""
    for name, value, low in (
        ("days", days, 1),
        ("docs_per_day", docs_per_day, 1),
        ("seed", seed, 0),
        ("feedback_delay_days", feedback_delay_days, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(f"{name} must be an integer >= {low}, got {value!r}")
    if isinstance(feedback_fraction, bool) or not 0 <= feedback_fraction <= 1:
        raise InputError(f"feedback_fraction must be between 0 and 1, got {feedback_fraction!r}")
    first = date.fromisoformat(check_day(start_day))
    spec = _drift_spec(drift)
    corpus = _check_corpus(labelled_df)
    labels = corpus[LABEL].to_numpy(dtype=np.int64)
    rng = np.random.default_rng(seed)
    queues = {c: _Queue(np.flatnonzero(labels == c), rng) for c in (FAKE, REAL)}
    base_share = float(np.mean(labels == FAKE))
    new_words = topic_words(rng)
    batches: list[DayBatch] = []
    for index in range(days):
        day = (first + timedelta(days=index)).isoformat()
        drifted = spec is not None and index >= spec["start_day_index"]
        kinds = spec["kinds"] if spec is not None and drifted else []
        share = spec["fake_share"] if spec is not None and "label" in kinds else base_share
        n_fake = int(round(docs_per_day * share))
        for label, n in ((FAKE, n_fake), (REAL, docs_per_day - n_fake)):
            if n and not len(queues[label].rows):
                raise InputError(f"labelled_df has no {LABEL_NAMES[label]} rows to sample {n} from")
        rows = np.array(queues[FAKE].take(n_fake) + queues[REAL].take(docs_per_day - n_fake))
        rows = rng.permutation(rows)
        texts = [str(t) for t in corpus[TEXT].to_numpy()[rows]]
        if "topic" in kinds:
            texts = [_inject_topic(t, new_words, spec["topic_rate"], rng) for t in texts]
        if "length" in kinds:
            texts = [_shift_length(t, spec["length_factor"]) for t in texts]
        seconds = [i * 86_400 // docs_per_day for i in range(docs_per_day)]
        articles = pd.DataFrame(
            {
                ID: [f"sim-{day}-{i:05d}" for i in range(docs_per_day)],
                TEXT: texts,
                PUBLISHED_AT: [_at(day, s) for s in seconds],
            }
        )
        truth = pd.DataFrame({ID: articles[ID], LABEL: labels[rows]})
        source_index = index - feedback_delay_days
        source = None
        if source_index == index:
            source = (articles, truth)
        elif source_index >= 0:
            source = (batches[source_index].articles, batches[source_index].truth)
        feedback = _feedback(source, day, rng, feedback_fraction)
        batches.append(DayBatch(day, index, drifted, articles, feedback, truth))
    log.info(
        "simulated %d day(s) x %d articles from %d labelled rows (seed %d, drift %s)",
        days,
        docs_per_day,
        len(corpus),
        seed,
        spec,
    )
    return batches


def _feedback(
    source: tuple[pd.DataFrame, pd.DataFrame] | None,
    day: str,
    rng: np.random.Generator,
    fraction: float,
) -> pd.DataFrame:
    """Labels for ``fraction`` of the ``source`` day's ``(articles, truth)``, received on ``day``."""
    if source is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SIM_FEEDBACK_COLUMNS})
    articles, truth = source
    k = int(round(fraction * len(articles)))
    picked = np.sort(rng.choice(len(articles), size=k, replace=False))
    seconds = [i * 86_400 // max(k, 1) for i in range(k)]
    return pd.DataFrame(
        {
            ID: articles[ID].to_numpy()[picked],
            LABEL: [LABEL_NAMES[int(v)] for v in truth[LABEL].to_numpy()[picked]],
            TEXT: articles[TEXT].to_numpy()[picked],
            RECEIVED_AT: [_at(day, s) for s in seconds],
        }
    )
