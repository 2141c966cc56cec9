"""PNG plots: valid, deterministic bytes, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from fnlib.errors import InputError
from fnlib.models.evaluate import curves

pytest.importorskip("matplotlib")

from fnlib.models.plots import confusion_png, curves_png  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def test_confusion_png() -> None:
    png = confusion_png([[40, 5], [7, 48]])
    assert png.startswith(PNG) and len(png) > 1000
    assert confusion_png([[40, 5], [7, 48]]) == png  # no timestamps: same input, same bytes
    assert b"Software" not in png
    assert confusion_png([[0, 0], [0, 0]]).startswith(PNG)


def test_curves_png() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    points = curves(y, y * 0.5 + rng.random(400))
    png = curves_png(points, title="test")
    assert png.startswith(PNG)
    assert curves_png(points, title="test") == png


def test_plot_errors() -> None:
    with pytest.raises(InputError, match="tn, fp"):
        confusion_png([[1, 2, 3]])
    with pytest.raises(InputError, match="one class"):
        curves_png(None)
