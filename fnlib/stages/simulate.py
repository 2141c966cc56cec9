"""Replay labelled data as days of production traffic (the demo and the tests' traffic).

Writes each day's articles as ``incoming/day=<day>/sim-<seed>.csv`` (what a serving system or
crawler would drop for ``fn_score``) and the desk's delayed labels as the feedback log
``feedback/day=<day>/part-sim-<seed>.csv``. Labelled data comes from the champion's test split
(``source="test"``) or a fresh seeded synthetic corpus (``source="synthetic"``, new texts).
"""

from __future__ import annotations

import logging
from typing import Any

from fnlib.catalog import incoming_key, partition_key
from fnlib.data import schema
from fnlib.data.prepare import PrepareOptions, prepare_corpus
from fnlib.data.synthetic import generate
from fnlib.errors import InputError
from fnlib.monitoring.logs import make_feedback_rows, write_log_csv
from fnlib.monitoring.simulate import simulate_traffic
from fnlib.registry import current_champion
from fnlib.stages.common import read_split
from fnlib.storage.manifest import find_manifest
from fnlib.storage.objects import ObjectStore

log = logging.getLogger(__name__)


def simulate(store: ObjectStore, days: int = 7, start_day: str = "2026-11-01", seed: int = 0,
             docs_per_day: int = 100, drift_day: int | None = 3,
             drift_kinds: tuple[str, ...] = ("topic", "length"), source: str = "test",
             feedback_fraction: float = 0.6) -> dict[str, Any]:
    if source == "test":
        champion, _ = current_champion(store)
        if champion is None:
            raise InputError("simulate --source test replays the champion's test split: train one first")
        dataset, _ = find_manifest(store, "dataset", champion.dataset_id)
        labelled = read_split(store, dataset, "test")
    elif source == "synthetic":
        corpus = generate(n_docs=max(400, days * docs_per_day), seed=10_000 + seed)
        labelled = prepare_corpus(corpus, "synthetic", PrepareOptions(test_size=0.5, seed=seed)).test
    else:
        raise InputError(f"source must be 'test' or 'synthetic', got {source!r}")
    drift = {"start_day_index": drift_day, "kinds": list(drift_kinds)} if drift_day is not None else None
    batches = simulate_traffic(labelled, days=days, start_day=start_day, seed=seed,
                               docs_per_day=docs_per_day, drift=drift,
                               feedback_fraction=feedback_fraction)
    written = []
    for batch in batches:
        articles = batch.articles[[schema.ID, schema.TEXT]]
        ref = store.put_bytes(incoming_key(batch.day, f"sim-{seed}"),
                              articles.to_csv(index=False, lineterminator="\n").encode(),
                              content_type="text/csv")
        entry = {"day": batch.day, "drifted": batch.drifted, "articles": len(articles),
                 "incoming": ref.versioned_uri, "feedback": len(batch.feedback)}
        if len(batch.feedback):
            fb = batch.feedback
            frame = make_feedback_rows(fb[schema.ID].tolist(), fb[schema.LABEL].tolist(),
                                       fb["received_at"].iloc[0], fb[schema.TEXT].tolist(), day=batch.day)
            store.put_bytes(partition_key("feedback", batch.day, f"sim-{seed}"),
                            write_log_csv(frame, "feedback"), content_type="text/csv")
        written.append(entry)
    log.info("simulated %d day(s) from %s, drift from day %s (%s)", days, start_day, drift_day,
             ",".join(drift_kinds))
    return {"days": written, "source": source, "labelled_rows": len(labelled)}
