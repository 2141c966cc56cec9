"""PNG plots of an evaluation: the confusion matrix and the ROC / precision-recall curves.

Rendered with matplotlib's Agg canvas on a private ``Figure`` (no pyplot, no global state, safe
in worker threads); matplotlib is imported lazily so the rest of fnlib does not need it. The PNG
carries no timestamp or software version, so the same input gives the same bytes on one
matplotlib version (useful for content checksums in S3).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fnlib.data.schema import FAKE, LABEL_NAMES, REAL
from fnlib.errors import InputError

log = logging.getLogger(__name__)

_DPI = 100
_PNG_METADATA: dict[str, Any] = {"Software": None}


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise InputError(
            "plots need matplotlib; install it (pip install matplotlib) or skip the plots"
        ) from exc
    figure = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, metadata=_PNG_METADATA)
    return buffer.getvalue()


def confusion_png(confusion: Sequence[Sequence[int]], title: str = "Confusion matrix") -> bytes:
    """``[[tn, fp], [fn, tp]]`` as an annotated heat map (rows: true, columns: predicted)."""
    cells = [[int(v) for v in row] for row in confusion]
    if len(cells) != 2 or any(len(row) != 2 for row in cells):
        raise InputError(f"confusion must be [[tn, fp], [fn, tp]], got {confusion!r}")
    names = [LABEL_NAMES[REAL], LABEL_NAMES[FAKE]]
    figure = _figure(4.2, 3.6)
    ax = figure.add_subplot()
    image = ax.imshow(cells, cmap="Blues", vmin=0)
    peak = max(max(row) for row in cells) or 1
    for i in range(2):
        for j in range(2):
            colour = "white" if cells[i][j] > peak / 2 else "black"
            ax.text(j, i, str(cells[i][j]), ha="center", va="center", color=colour, fontsize=12)
    ax.set_xticks([0, 1], labels=names)
    ax.set_yticks([0, 1], labels=names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    figure.colorbar(image, ax=ax)
    return _png(figure)


def _points(curve: Mapping[str, Any], x: str, y: str) -> tuple[list[float], list[float]]:
    pairs = [
        (float(a), float(b))
        for a, b in zip(curve[x], curve[y], strict=True)
        if a is not None and b is not None
    ]
    return [a for a, _ in pairs], [b for _, b in pairs]


def curves_png(curves: Mapping[str, Any] | None, title: str = "") -> bytes:
    """ROC (left) and precision-recall (right) curves from :func:`fnlib.models.evaluate.curves`."""
    if not curves or "roc" not in curves or "pr" not in curves:
        raise InputError(
            "curves must hold 'roc' and 'pr' points (evaluate() gives None when "
            "the labels have one class only: there is nothing to plot)"
        )
    figure = _figure(8.4, 3.8)
    roc_ax, pr_ax = figure.subplots(1, 2)
    fpr, tpr = _points(curves["roc"], "fpr", "tpr")
    roc_ax.plot(fpr, tpr, color="tab:blue", linewidth=1.8)
    roc_ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=0.8)
    auc = curves["roc"].get("auc")
    roc_ax.set(
        xlim=(0, 1),
        ylim=(0, 1.02),
        xlabel="false positive rate",
        ylabel="true positive rate",
        title="ROC" + (f" (AUC {auc:.3f})" if isinstance(auc, float) else ""),
    )
    recall, precision = _points(curves["pr"], "recall", "precision")
    pr_ax.plot(recall, precision, color="tab:orange", linewidth=1.8)
    ap = curves["pr"].get("average_precision")
    pr_title = "precision-recall" + (f" (AP {ap:.3f})" if isinstance(ap, float) else "")
    pr_ax.set(
        xlim=(0, 1),
        ylim=(0, 1.02),
        xlabel="recall (fake)",
        ylabel="precision (fake)",
        title=pr_title,
    )
    for ax in (roc_ax, pr_ax):
        ax.grid(True, linewidth=0.4, alpha=0.6)
    if title:
        figure.suptitle(title)
    return _png(figure)


def transfer_png(trained_on: Sequence[str], tested_on: Sequence[str],
                 panels: Mapping[str, Sequence[Sequence[float | None]]], title: str = "") -> bytes:
    """Heat maps of a transfer table, one panel per metric (rows: trained on, columns: tested
    on; missing cells blank). Values are in [0, 1]: one colour scale for every panel."""
    if not panels or not trained_on or not tested_on:
        raise InputError("a transfer heat map needs at least one metric, one row and one column")
    n_rows, n_cols = len(trained_on), len(tested_on)
    width = max(3.6, 1.1 * n_cols + 2.2)
    figure = _figure(width * len(panels), max(3.0, 0.8 * n_rows + 2.0))
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    image = None
    for ax, (metric, values) in zip(axes, panels.items(), strict=True):
        grid = [[float("nan") if v is None else float(v) for v in row] for row in values]
        if len(grid) != n_rows or any(len(row) != n_cols for row in grid):
            raise InputError(f"{metric}: expected a {n_rows}x{n_cols} table")
        image = ax.imshow(grid, cmap="viridis", vmin=0.0, vmax=1.0)
        for i in range(n_rows):
            for j in range(n_cols):
                if grid[i][j] == grid[i][j]:  # not NaN
                    colour = "black" if grid[i][j] > 0.6 else "white"
                    ax.text(j, i, f"{grid[i][j]:.3f}", ha="center", va="center", color=colour)
        ax.set_xticks(range(n_cols), labels=list(tested_on), rotation=30, ha="right")
        ax.set_yticks(range(n_rows), labels=list(trained_on))
        ax.set_xlabel("tested on")
        ax.set_ylabel("trained on")
        ax.set_title(metric)
    figure.colorbar(image, ax=list(axes))
    if title:
        figure.suptitle(title)
    return _png(figure)
