"""Sections of a model card that explain the model: what pushes it towards fake or real, and
how it does on other domains (added after training by a transfer run).

The card itself is written by the training stage; a transfer run writes a new *version* of the
same ``card.md`` object with a ``## Cross-domain transfer`` section added (the model manifest
keeps naming the version written at training time; the transfer manifest names the new one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fnlib.models.explain import linear_form, top_ngrams

TOP_NGRAMS = 15


def _cell(term: str, weight: float) -> str:
    return f"`{term}` ({weight:+.3f})"


def explanation_section(pipeline: Any, n: int = TOP_NGRAMS) -> str:
    """Markdown: the top n-grams towards fake and towards real, or, for forests, why none."""
    form = linear_form(pipeline)
    if form is None:
        return _forest_section(pipeline, n)
    top = top_ngrams(form, n)
    depth = max(len(top["fake"]), len(top["real"]))
    rows = []
    for i in range(depth):
        fake = _cell(*top["fake"][i]) if i < len(top["fake"]) else ""
        real = _cell(*top["real"][i]) if i < len(top["real"]) else ""
        rows.append(f"| {i + 1} | {fake} | {real} |")
    table = "\n".join(rows)
    return f"""## Why a text is flagged

The model's score is the **{form.score_name}**: an intercept ({form.intercept:+.3f}) plus, for
every n-gram in the text, its TF-IDF value times its weight. The n-grams with the largest
weights each way (weight in brackets):

| rank | towards fake | towards real |
|---|---|---|
{table}

Per prediction, batch scoring lists the terms that contributed most (`top_terms` in the
prediction log) and `fn explain --model <id> "text"` prints them for one text; the listed
contributions, the rest of the terms and the intercept add up to the score exactly.
"""


def _forest_section(pipeline: Any, n: int) -> str:
    clf = pipeline.steps[-1][1]
    terms = np.asarray(pipeline.steps[-2][1].get_feature_names_out(), dtype=object)
    selected = np.arange(terms.size)
    forest = clf
    if hasattr(clf, "named_steps") and "forest" in clf.named_steps:  # chi2 selection + forest
        selected = np.flatnonzero(clf.named_steps["select"].get_support())
        forest = clf.named_steps["forest"]
    listing = ""
    importances = getattr(forest, "feature_importances_", None)
    if importances is not None:
        order = np.argsort(-importances, kind="stable")[:n]
        listing = "Most used n-grams (impurity importance; it has no direction): " + ", ".join(
            f"`{terms[selected[j]]}` ({importances[j]:.4f})" for j in order) + "\n"
    return f"""## Why a text is flagged

This is a random forest: its score is not a sum of per-term parts, so **per-prediction reasons
are not given** for it (the `top_terms` column of the prediction log stays empty).
{listing}"""


def transfer_section(transfer_id: str, model_id: str, rows: Sequence[Mapping[str, Any]]) -> str:
    """Markdown: the transfer table's row for ``model_id`` and the full table, F1 / accuracy."""
    trained = sorted({r["trained_on"] for r in rows})
    tested = sorted({r["tested_on"] for r in rows})
    cells = {(r["trained_on"], r["tested_on"]): r for r in rows}
    header = "| trained on \\ tested on | " + " | ".join(tested) + " |"
    lines = [header, "|---" * (len(tested) + 1) + "|"]
    for t in trained:
        values = []
        for s in tested:
            r = cells.get((t, s))
            values.append(f"{r['f1']:.3f} / {r['accuracy']:.3f}" if r else "")
        mark = " (this model)" if any(cells.get((t, s), {}).get("model_id") == model_id
                                      for s in tested) else ""
        lines.append(f"| {t}{mark} | " + " | ".join(values) + " |")
    table = "\n".join(lines)
    return f"""
## Cross-domain transfer ({transfer_id})

F1 (fake) / accuracy on each dataset's test split; the diagonal is in-domain. Made by
`fn transfer`; table, heat map and evaluations: `transfers/{transfer_id}/`.

{table}

![transfer heat map](../../transfers/{transfer_id}/heatmap.png)
"""


def with_section(card: str, transfer_id: str, section: str) -> str:
    """``card`` with ``section`` appended, unless a section for this transfer is there."""
    if f"## Cross-domain transfer ({transfer_id})" in card:
        return card
    return card.rstrip("\n") + "\n" + section
