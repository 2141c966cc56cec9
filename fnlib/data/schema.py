"""The corpus schema every source produces and every later stage consumes.

A corpus is a pandas DataFrame with one row per document:

- ``id``     str, unique, stable across re-reads of the same input (e.g. ``liar:2635.json``)
- ``text``   str, the document text the model sees
- ``label``  int, ``1`` = fake, ``0`` = real
- ``source`` str, the source name (one of :data:`fnlib.catalog.SOURCE_NAMES`)
- ``meta_*`` optional metadata columns (subject, date, url, ...). They never reach a model:
  the leakage scrub drops them and reports which ones identified the class.

Split files written to storage hold exactly ``id``, ``text`` and ``label`` together.
"""

from __future__ import annotations

ID = "id"
TEXT = "text"
LABEL = "label"
SOURCE = "source"
META_PREFIX = "meta_"

FAKE = 1
REAL = 0
LABEL_NAMES = {REAL: "real", FAKE: "fake"}

CORE_COLUMNS = (ID, TEXT, LABEL, SOURCE)
SPLIT_COLUMNS = (ID, TEXT, LABEL)

