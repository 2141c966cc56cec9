"""Corpus validation: find every problem at once and reject the input with all of them.

:func:`validate_corpus` checks a corpus DataFrame against the schema in
:mod:`fnlib.data.schema` and the size limits in :class:`ValidationLimits`. It never fixes
anything: a corpus with problems is rejected as a whole (nothing gets uploaded) with a
:class:`~fnlib.data.errors.CorpusError` that lists each problem and the rows it concerns, so
the user can fix the input in one go. Row numbers are 0-based positions in the frame.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fnlib.data.errors import CorpusError, Problem
from fnlib.data.schema import CORE_COLUMNS, FAKE, ID, LABEL, LABEL_NAMES, META_PREFIX, REAL, TEXT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ValidationLimits:
    """Limits a usable corpus must respect.

    The default ``min_rows_per_class=2`` suits tiny test fixtures; :mod:`fnlib.data.prepare`
    uses 10 so that a stratified split and cross-validation have something to work with.
    """

    min_rows_per_class: int = 2
    min_rows: int = 4
    max_rows: int = 5_000_000
    max_text_chars: int = 1_000_000


def _rows(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.flatnonzero(mask))


FORMULA_RE = re.compile(r"^[\t\r]*(?:=|[+\-@][A-Za-z_][\w.]*[(|])")
"""A cell a spreadsheet would evaluate when a CSV written by the pipeline is opened (CSV or
formula injection): anything starting with ``=``, or ``+``/``-``/``@`` directly followed by a
function call or a DDE link (``@SUM(``, ``+cmd|``), optionally after tabs or carriage
returns. News text does not start like that; such cells are rejected, never rewritten."""

FORMULA_HINT = (
    "cell starts like a spreadsheet formula (=..., +cmd|..., @SUM(...)); it would run when a "
    "CSV written by the pipeline is opened in a spreadsheet: remove it or fix the text"
)


def formula_cells(values: pd.Series) -> np.ndarray:
    """Boolean mask of string cells that look like spreadsheet formulas (see FORMULA_RE)."""
    return values.map(lambda v: isinstance(v, str) and FORMULA_RE.match(v) is not None).to_numpy(
        dtype=bool
    )


def _text_problems(texts: pd.Series, limits: ValidationLimits) -> tuple[list[Problem], pd.Series]:
    """Non-string, blank and over-long texts. Returns problems and the string texts."""
    problems = []
    if pd.api.types.is_string_dtype(texts.dtype) and not pd.api.types.is_object_dtype(texts.dtype):
        is_str = texts.notna().to_numpy()
    else:
        is_str = texts.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    if not is_str.all():
        problems.append(
            Problem(
                "text_type",
                "text must be a string (found missing or non-string values)",
                _rows(~is_str),
                TEXT,
            )
        )
    strings = texts.where(is_str, "").astype(str)
    blank = is_str & ~strings.str.contains(r"\S", regex=True).to_numpy(dtype=bool)
    if blank.any():
        problems.append(
            Problem("empty_text", "text is empty or whitespace only", _rows(blank), TEXT)
        )
    formula = formula_cells(texts)
    if formula.any():
        problems.append(Problem("formula_injection", FORMULA_HINT, _rows(formula), TEXT))
    long = (strings.str.len() > limits.max_text_chars).to_numpy(dtype=bool)
    if long.any():
        problems.append(
            Problem(
                "text_too_long",
                f"text longer than {limits.max_text_chars:,} characters",
                _rows(long),
                TEXT,
            )
        )
    return problems, strings


def _label_problems(labels: pd.Series) -> tuple[list[Problem], np.ndarray]:
    """Labels must be 0 or 1 (ints, or floats/bools equal to them; never strings)."""
    numeric = pd.api.types.is_numeric_dtype(labels.dtype) or pd.api.types.is_bool_dtype(
        labels.dtype
    )
    if numeric:
        valid = labels.isin([REAL, FAKE]).to_numpy(dtype=bool)
    else:
        valid = labels.map(
            lambda v: isinstance(v, int | np.integer | float | np.floating) and v in (REAL, FAKE)
        ).to_numpy(dtype=bool)
    problems = []
    if not valid.all():
        shown = sorted({repr(v) for v in labels[~valid].tolist()})[:10]
        problems.append(
            Problem(
                "label_value",
                f"label must be 0 (real) or 1 (fake), found {', '.join(shown)}",
                _rows(~valid),
                LABEL,
            )
        )
    return problems, valid


def validate_corpus(
    df: pd.DataFrame, source: str, limits: ValidationLimits | None = None
) -> dict[str, Any]:
    """Validate a corpus; return a JSON-serialisable summary or raise :class:`CorpusError`.

    Checks: core columns present; ``id`` a non-blank unique string; ``text`` a string, not
    blank, at most ``max_text_chars`` long; no ``id`` or ``text`` cell starting like a
    spreadsheet formula (:data:`FORMULA_RE`); ``label`` 0 or 1; both classes present with at
    least ``min_rows_per_class`` rows each; between ``min_rows`` and ``max_rows`` rows.
    """
    limits = limits or ValidationLimits()
    problems: list[Problem] = []
    missing = [c for c in CORE_COLUMNS if c not in df.columns]
    if missing:
        problems.append(
            Problem(
                "missing_columns",
                f"missing column(s) {', '.join(missing)}; "
                f"found {', '.join(map(str, df.columns)) or 'none'}",
            )
        )
    n = len(df)
    if n < limits.min_rows:
        problems.append(Problem("too_few_rows", f"{n} rows; at least {limits.min_rows} needed"))
    if n > limits.max_rows:
        problems.append(
            Problem(
                "too_many_rows",
                f"{n:,} rows; at most {limits.max_rows:,} allowed "
                "(raise ValidationLimits.max_rows if this is intended)",
            )
        )

    if ID in df.columns:
        ids = df[ID]
        bad_id = ids.map(lambda v: not isinstance(v, str) or not v.strip()).to_numpy(dtype=bool)
        if bad_id.any():
            problems.append(Problem("bad_id", "id must be a non-blank string", _rows(bad_id), ID))
        formula = formula_cells(ids)
        if formula.any():
            problems.append(Problem("formula_injection", FORMULA_HINT, _rows(formula), ID))
        dup = ids.duplicated(keep=False).to_numpy(dtype=bool) & ~bad_id
        if dup.any():
            shown = sorted(set(ids[dup].astype(str).tolist()))[:5]
            problems.append(
                Problem(
                    "duplicate_id", f"ids are not unique (e.g. {', '.join(shown)})", _rows(dup), ID
                )
            )

    text_chars: dict[str, int] = {}
    if TEXT in df.columns:
        found, strings = _text_problems(df[TEXT], limits)
        problems.extend(found)
        lengths = strings.str.len()
        if n:
            text_chars = {
                "min": int(lengths.min()),
                "median": int(lengths.median()),
                "max": int(lengths.max()),
            }

    class_counts: dict[str, int] = {}
    if LABEL in df.columns:
        found, valid = _label_problems(df[LABEL])
        problems.extend(found)
        labels = df[LABEL][valid].astype("int64")
        for value, name in LABEL_NAMES.items():
            class_counts[name] = int((labels == value).sum())
        present = [name for name, count in class_counts.items() if count]
        if len(present) == 1:
            problems.append(
                Problem(
                    "single_class", f"only {present[0]} documents; both fake and real are needed"
                )
            )
        for name, count in class_counts.items():
            if 0 < count < limits.min_rows_per_class or (count == 0 and len(present) != 1):
                problems.append(
                    Problem(
                        "too_few_per_class",
                        f"{count} {name} rows; at least "
                        f"{limits.min_rows_per_class} per class needed",
                    )
                )

    if problems:
        log.warning("%s: %d validation problem(s)", source, len(problems))
        raise CorpusError(source, problems)
    summary = {
        "source": source,
        "rows": n,
        "class_counts": class_counts,
        "text_chars": text_chars,
        "meta_columns": [str(c) for c in df.columns if str(c).startswith(META_PREFIX)],
    }
    log.info("%s: valid corpus, %d rows %s", source, n, class_counts)
    return summary
