"""Drift metrics on tiny hand-checked inputs, and the thresholds that classify them."""

from __future__ import annotations

import math

import pytest

from fnlib.errors import InputError
from fnlib.monitoring.drift import (
    SCORE_BIN_EDGES,
    DriftThresholds,
    length_bin_edges,
    length_distribution,
    oov_rate,
    prediction_mix,
    psi,
    score_histogram,
    status_for,
    tokenize,
    worst_status,
)


def test_psi_identical_is_zero() -> None:
    assert psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0
    assert psi([0.0, 1.0], [0.0, 1.0]) == 0.0


def test_psi_hand_computed() -> None:
    # (0.9-0.5) ln(0.9/0.5) + (0.1-0.5) ln(0.1/0.5) = 0.4 ln 9
    assert psi([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.4 * math.log(9), abs=1e-12)
    # counts are normalised to shares first
    assert psi([5, 5], [9, 1]) == pytest.approx(0.4 * math.log(9), abs=1e-12)


def test_psi_epsilon_keeps_empty_bins_finite() -> None:
    expected = (0.5 - 1.0) * math.log(0.5 / 1.0) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert psi([1.0, 0.0], [0.5, 0.5]) == pytest.approx(expected, rel=1e-12)
    assert psi([1.0, 0.0], [0.5, 0.5], eps=1e-2) < psi([1.0, 0.0], [0.5, 0.5])


@pytest.mark.parametrize(
    ("expected", "actual", "eps"),
    [
        ([0.5, 0.5], [1.0], 1e-4),
        ([0, 0], [0.5, 0.5], 1e-4),
        ([-0.1, 1.1], [0.5, 0.5], 1e-4),
        ([0.5, 0.5], [0.5, 0.5], 0.0),
        ([], [], 1e-4),
    ],
)
def test_psi_rejects_bad_input(expected: list[float], actual: list[float], eps: float) -> None:
    with pytest.raises(InputError):
        psi(expected, actual, eps)


def test_tokenize_matches_sklearn_default() -> None:
    from sklearn.feature_extraction.text import CountVectorizer

    text = "The U.S. can't ban A-B testing in 2026; Über-cool, x y_z!"
    analyzer = CountVectorizer().build_analyzer()
    assert tokenize(text) == analyzer(text)


def test_oov_rate_exact() -> None:
    # tokens: the cat sat | dog the dog ("a" is one character: not a token) -> 1 of 6 unknown
    assert oov_rate(["The cat sat", "a dog, the DOG!"], {"the", "cat", "dog"}) == pytest.approx(
        1 / 6
    )
    assert oov_rate(["cat cat"], ["cat"]) == 0.0
    assert oov_rate(["", "!!"], {"cat"}) == 0.0


def test_length_distribution_bins() -> None:
    texts = ["a", "a b", "a b c", "a b c d e", "a b c d e f"]  # 1, 2, 3, 5, 6 words
    assert length_distribution(texts, [2, 5]) == [0.4, 0.4, 0.2]  # <=2, (2,5], >5
    assert length_distribution([], [2, 5]) == [0.0, 0.0, 0.0]
    with pytest.raises(InputError):
        length_distribution(texts, [5, 2])


def test_length_bin_edges_are_quantiles_and_unique() -> None:
    assert length_bin_edges(list(range(1, 101)), 4) == [25.75, 50.5, 75.25]
    assert length_bin_edges([7] * 50, 10) == [7.0]


def test_score_histogram_bin_edges() -> None:
    assert SCORE_BIN_EDGES == (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    hist = score_histogram([0.0, 0.1, 0.3, 0.7, 0.9999, 1.0, 0.0999])
    counts = [round(h * 7) for h in hist]
    # 0.0 and 0.0999 -> bin 0, 0.1 -> bin 1 (edges belong to the bin above), 1.0 -> last bin
    assert counts == [2, 1, 0, 1, 0, 0, 0, 1, 0, 2]
    with pytest.raises(InputError):
        score_histogram([0.5, 1.5])


def test_prediction_mix() -> None:
    assert prediction_mix([1, 1, 1, 0]) == {"fake": 0.75, "real": 0.25}
    assert prediction_mix([]) == {"fake": 0.0, "real": 0.0}
    with pytest.raises(InputError):
        prediction_mix([0, 2])


def test_status_for_boundaries() -> None:
    assert status_for(0.09, 0.1, 0.25) == "ok"
    assert status_for(0.1, 0.1, 0.25) == "warn"
    assert status_for(0.25, 0.1, 0.25) == "alert"
    assert worst_status(["ok", "alert", "warn"]) == "alert"
    assert worst_status(["insufficient", "ok"]) == "ok"
    assert worst_status(["insufficient"]) == worst_status([]) == "insufficient"


def test_thresholds_defaults_and_from_dict() -> None:
    defaults = DriftThresholds()
    assert (defaults.psi_warn, defaults.psi_alert) == (0.1, 0.25)
    assert defaults.oov_increase_alert == 0.10 and defaults.prediction_mix_shift_alert == 0.15
    assert defaults.f1_drop_alert == 0.10 and defaults.min_volume == defaults.min_feedback == 20
    assert DriftThresholds.from_dict(None) == defaults
    custom = DriftThresholds.from_dict({"psi_alert": 0.5, "min_volume": 5})
    assert custom.psi_alert == 0.5 and custom.min_volume == 5 and custom.psi_warn == 0.1
    assert DriftThresholds.from_dict(custom.to_dict()) == custom


@pytest.mark.parametrize(
    "data",
    [
        {"psi_alrt": 0.3},
        {"psi_warn": 0.3},
        {"min_volume": 0},
        {"min_feedback": 2.5},
        {"f1_drop_alert": -0.1},
        {"oov_increase_alert": float("nan")},
        {"psi_alert": True},
        ["x"],
    ],
)
def test_thresholds_validation(data: object) -> None:
    with pytest.raises(InputError):
        DriftThresholds.from_dict(data)  # type: ignore[arg-type]


def test_psi_noise_matches_sampling_of_one_distribution() -> None:
    """Two samples of one distribution stay under the 99% noise level ~99% of the time."""
    import numpy as np

    from fnlib.monitoring.drift import psi, psi_noise

    rng = np.random.default_rng(0)
    probs = np.array([0.05, 0.1, 0.15, 0.2, 0.2, 0.15, 0.1, 0.05])
    noise = psi_noise(240, 150, len(probs))
    exceed = 0
    for _ in range(400):
        ref = rng.multinomial(240, probs) / 240
        cur = rng.multinomial(150, probs) / 150
        exceed += psi(ref, cur) > noise
    assert exceed / 400 < 0.03
    assert psi_noise(10_000, 10_000, 8) < 0.01 < psi_noise(100, 100, 8)
