"""Input- and output-drift metrics, and the thresholds that turn them into statuses.

All functions are pure and deterministic (numpy/pandas only, no I/O):

- :func:`psi` - the Population Stability Index between two binned distributions::

      e_i = max(expected_i, eps), a_i = max(actual_i, eps)     (after normalising each to sum 1)
      PSI = sum_i (a_i - e_i) * ln(a_i / e_i)

  PSI is 0 for identical distributions and grows with the shift; the industry rule of thumb
  (kept as the defaults of :class:`DriftThresholds`) is < 0.1 stable, 0.1-0.25 moderate
  shift ("warn"), >= 0.25 significant shift ("alert"). ``eps`` keeps empty bins finite.
- :func:`length_distribution` - share of texts per text-length bin (length in
  whitespace-separated words, bins from :func:`length_bin_edges` of the training texts).
- :func:`oov_rate` - token-level out-of-vocabulary rate, with sklearn's default tokenisation
  (lowercase, ``token_pattern=r"(?u)\\b\\w\\w+\\b"``).
- :func:`score_histogram` - share of scores in 10 fixed bins on [0, 1].
- :func:`prediction_mix` - share of documents predicted fake / real.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from fnlib.data.schema import FAKE, REAL
from fnlib.errors import InputError

log = logging.getLogger(__name__)

TOKEN_PATTERN = re.compile(r"(?u)\b\w\w+\b")
"""sklearn's default ``CountVectorizer``/``TfidfVectorizer`` token pattern (applied lowercased)."""

SCORE_BIN_EDGES: tuple[float, ...] = tuple(i / 10 for i in range(11))
"""Fixed score-histogram edges 0.0, 0.1, ..., 1.0: bin ``i`` is ``[i/10, (i+1)/10)``, the last
bin also holds 1.0."""

OK, WARN, ALERT, INSUFFICIENT = "ok", "warn", "alert", "insufficient"
STATUS_ORDER = (INSUFFICIENT, OK, WARN, ALERT)


def tokenize(text: str) -> list[str]:
    """Tokens of ``text`` exactly as sklearn's default word analyzer finds them (before n-grams)."""
    return TOKEN_PATTERN.findall(text.lower())


def word_count(text: str) -> int:
    """Length of ``text`` in whitespace-separated words."""
    return len(text.split())


def _fractions(values: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise InputError(f"{what} must be a non-empty 1-D sequence of bin fractions")
    if not np.isfinite(array).all() or (array < 0).any():
        raise InputError(f"{what} must hold finite non-negative numbers, got {array.tolist()}")
    total = float(array.sum())
    if total <= 0:
        raise InputError(f"{what} is all zeros: there is nothing to compare")
    return array / total


def psi(
    expected_fractions: Sequence[float] | np.ndarray,
    actual_fractions: Sequence[float] | np.ndarray,
    eps: float = 1e-4,
) -> float:
    """Population Stability Index of ``actual`` against ``expected`` (see the module docstring).

    Both inputs are per-bin shares over the same bins; counts are accepted too (each side is
    normalised to sum 1 first). Bins below ``eps`` are raised to ``eps`` so that an empty bin
    gives a large but finite contribution.
    """
    if not 0 < eps < 1:
        raise InputError(f"eps must be between 0 and 1, got {eps}")
    expected = _fractions(expected_fractions, "expected_fractions")
    actual = _fractions(actual_fractions, "actual_fractions")
    if expected.shape != actual.shape:
        raise InputError(
            f"expected_fractions has {expected.size} bins but actual_fractions has {actual.size}"
        )
    e = np.maximum(expected, eps)
    a = np.maximum(actual, eps)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_noise(n_expected: int, n_actual: int, n_bins: int, quantile: float = 0.99) -> float:
    """The PSI that sampling alone reaches with probability ``1 - quantile``.

    Two samples of sizes ``n_expected`` and ``n_actual`` from one distribution still differ:
    under no shift, ``PSI * n_eff`` is approximately chi-square with ``n_bins - 1`` degrees
    of freedom, where ``1 / n_eff = 1 / n_expected + 1 / n_actual``. A day of 150 articles
    against a 240-text reference gives a noise level near 0.24 over 10 bins, as large as the
    usual 0.25 alert level, so raw PSI alone would raise false alarms on small volumes.
    Thresholds are therefore applied to the PSI *in excess of* this noise level.
    """
    from scipy.stats import chi2

    if n_expected < 1 or n_actual < 1 or n_bins < 2:
        raise InputError("psi_noise needs two non-empty samples and at least two bins")
    return float(chi2.ppf(quantile, n_bins - 1) * (1.0 / n_expected + 1.0 / n_actual))


def length_bin_edges(lengths: Sequence[int] | np.ndarray, n_bins: int = 10) -> list[float]:
    """Interior quantile cut points splitting ``lengths`` into ~``n_bins`` equally full bins.

    Repeated quantiles (many equal lengths) are merged, so there may be fewer bins.
    """
    if n_bins < 2:
        raise InputError(f"n_bins must be at least 2, got {n_bins}")
    values = np.asarray(lengths, dtype=float)
    if values.size == 0:
        raise InputError("cannot compute length bins from zero texts")
    quantiles = np.quantile(values, np.arange(1, n_bins) / n_bins)
    return [float(q) for q in np.unique(quantiles)]


def _check_edges(edges: Sequence[float]) -> np.ndarray:
    array = np.asarray(edges, dtype=float)
    if array.ndim != 1 or not np.isfinite(array).all() or (np.diff(array) <= 0).any():
        raise InputError(f"length bin edges must be finite and strictly increasing, got {edges}")
    return array


def length_distribution(texts: Iterable[str], edges: Sequence[float]) -> list[float]:
    """Share of ``texts`` per length bin: bin ``i`` holds ``edges[i-1] < words <= edges[i]``.

    There are ``len(edges) + 1`` bins (the first and last are open-ended). Zero texts give
    all-zero shares.
    """
    cuts = _check_edges(edges)
    lengths = np.array([word_count(t) for t in texts], dtype=float)
    counts = np.bincount(np.searchsorted(cuts, lengths, side="left"), minlength=cuts.size + 1)
    total = int(counts.sum())
    return [float(c) / total if total else 0.0 for c in counts]


def oov_rate(texts: Iterable[str], vocabulary: Iterable[str]) -> float:
    """Share of tokens (see :func:`tokenize`) of ``texts`` that are not in ``vocabulary``.

    Token-level: a word repeated five times counts five times. Texts without any token
    contribute nothing; if there are no tokens at all the rate is 0.0.
    """
    vocab = vocabulary if isinstance(vocabulary, set | frozenset) else frozenset(vocabulary)
    total = 0
    missing = 0
    for text in texts:
        tokens = tokenize(text)
        total += len(tokens)
        missing += sum(1 for token in tokens if token not in vocab)
    return missing / total if total else 0.0


def score_histogram(scores: Sequence[float] | np.ndarray) -> list[float]:
    """Share of ``scores`` (probabilities of fake, in [0, 1]) in each :data:`SCORE_BIN_EDGES` bin."""
    values = np.asarray(scores, dtype=float)
    if values.ndim != 1:
        raise InputError("scores must be a 1-D sequence")
    if values.size and (not np.isfinite(values).all() or values.min() < 0 or values.max() > 1):
        raise InputError("scores must be finite numbers between 0 and 1")
    n_bins = len(SCORE_BIN_EDGES) - 1
    bins = np.clip(np.searchsorted(SCORE_BIN_EDGES, values, side="right") - 1, 0, n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    total = int(counts.sum())
    return [float(c) / total if total else 0.0 for c in counts]


def prediction_mix(predictions: Sequence[int] | np.ndarray) -> dict[str, float]:
    """Share of predictions that are fake (1) and real (0): ``{"fake": f, "real": 1 - f}``."""
    values = np.asarray(predictions)
    if values.size and not np.isin(values, [REAL, FAKE]).all():
        raise InputError("predictions must be 0 (real) or 1 (fake)")
    if values.size == 0:
        return {"fake": 0.0, "real": 0.0}
    fake = float(np.count_nonzero(values == FAKE)) / values.size
    return {"fake": fake, "real": 1.0 - fake}


def status_for(value: float, warn: float, alert: float) -> str:
    """``"alert"`` when ``value >= alert``, ``"warn"`` when ``value >= warn``, else ``"ok"``."""
    if value >= alert:
        return ALERT
    if value >= warn:
        return WARN
    return OK


def worst_status(statuses: Iterable[str]) -> str:
    """The most severe of ``statuses`` (alert > warn > ok > insufficient); none gives insufficient."""
    ranked = [STATUS_ORDER.index(s) for s in statuses]
    return STATUS_ORDER[max(ranked)] if ranked else INSUFFICIENT


@dataclass(frozen=True)
class DriftThresholds:
    """When a metric is "warn" or "alert" (each ``value >= threshold``), and when to measure at all.

    - ``psi_warn`` / ``psi_alert``: PSI of the text-length and score distributions
      (0.1 / 0.25: the usual "moderate" / "significant" population shift).
    - ``oov_increase_warn`` / ``oov_increase_alert``: absolute increase of the
      out-of-vocabulary rate over the reference rate (0.05 / 0.10: one token in ten the model
      has never seen means new topics or another language).
    - ``prediction_mix_shift_warn`` / ``prediction_mix_shift_alert``: absolute change of the
      share predicted fake vs the test split (0.10 / 0.15).
    - ``f1_drop_warn`` / ``f1_drop_alert``: F1 on labelled feedback below the model's test F1
      (0.05 / 0.10).
    - ``min_volume``: predictions needed in an interval before drift counts (20).
    - ``min_feedback``: labelled predictions needed before performance counts (20).
    """

    psi_warn: float = 0.10
    psi_alert: float = 0.25
    oov_increase_warn: float = 0.05
    oov_increase_alert: float = 0.10
    prediction_mix_shift_warn: float = 0.10
    prediction_mix_shift_alert: float = 0.15
    f1_drop_warn: float = 0.05
    f1_drop_alert: float = 0.10
    min_volume: int = 20
    min_feedback: int = 20

    def __post_init__(self) -> None:
        problems = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name.startswith("min_"):
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    problems.append(f"{item.name} must be a positive integer, got {value!r}")
            elif (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                problems.append(f"{item.name} must be a non-negative number, got {value!r}")
        if not problems:
            for metric in ("psi", "oov_increase", "prediction_mix_shift", "f1_drop"):
                warn, alert = getattr(self, f"{metric}_warn"), getattr(self, f"{metric}_alert")
                if warn > alert:
                    problems.append(
                        f"{metric}_warn ({warn}) must not exceed {metric}_alert ({alert})"
                    )
        if problems:
            raise InputError("invalid drift thresholds: " + "; ".join(problems))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> DriftThresholds:
        """Thresholds from a mapping (e.g. DAG params); missing keys keep their defaults."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise InputError(f"drift thresholds must be a mapping, got {type(data).__name__}")
        known = {item.name for item in fields(cls)}
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise InputError(
                f"unknown drift threshold(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """The thresholds as a JSON-serialisable dict (recorded in every report)."""
        return asdict(self)
