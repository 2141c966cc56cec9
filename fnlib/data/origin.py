"""The ``origin`` scrub rule: remove from each article its own origin (URL, host, site name).

Loaders that know where an article comes from (the ``json`` loader: ``url``, ``source``, the
site name) keep it in the :data:`ORIGIN_COLUMNS`. A model that sees "Addicting Info" or
``politi.co`` in the text learns the publisher, not the claim, so :func:`scrub_origins` removes
each row's *own* values from its text (as whole words, case-insensitively); a site named in
another row's text stays. :mod:`fnlib.data.scrub` runs it and reports it as the rule ``origin``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from fnlib.data.schema import META_PREFIX

ORIGIN_COLUMNS = (META_PREFIX + "url", META_PREFIX + "source", META_PREFIX + "site_name")
"""Metadata columns naming where a row comes from; the ``origin`` rule removes their values."""
_HOST = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:www\.)?([^/\s:?#]+)", re.IGNORECASE)


def _origin_needles(values: list[str]) -> list[str]:
    needles = set()
    for value in values:
        value = value.strip()
        if len(value) < 3:
            continue
        needles.add(value)
        host = _HOST.match(value)
        if host and "." in host.group(1):
            needles.add(host.group(1))
    return sorted(needles, key=len, reverse=True)  # longest first: the URL before its host


def scrub_origins(texts: pd.Series, df: pd.DataFrame) -> tuple[pd.Series, np.ndarray, list[str]]:
    """Remove each row's own origin (URL, host, site name) from its text.

    Returns the texts, the mask of changed rows and, per changed row, what was removed.
    """
    columns = [c for c in ORIGIN_COLUMNS if c in df.columns]
    changed = np.zeros(len(texts), dtype=bool)
    removed: list[str] = [""] * len(texts)
    if not columns:
        return texts, changed, removed
    origins = df[columns].astype(str).to_numpy()
    out = texts.to_numpy(dtype=object).copy()
    for pos in range(len(out)):
        needles = _origin_needles([v for v in origins[pos] if v])
        if not needles:
            continue
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, needles)) + r")(?!\w)",
                             re.IGNORECASE)
        found = pattern.findall(out[pos])
        if found:
            out[pos] = pattern.sub("", out[pos])
            changed[pos] = True
            removed[pos] = " | ".join(dict.fromkeys(found))
    return pd.Series(out, index=texts.index, dtype=object), changed, removed
