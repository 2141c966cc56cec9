"""Chunks of a grid: the units of work of the tuning fan-out.

A mapped task per configuration pays a process, imports, a feature read and a W&B start-up per
configuration; on a small grid that fixed cost is most of the run. :func:`chunk_grid` instead
splits the grid into ``n_chunks`` chunks that each hold configurations of **one** feature key
(so a chunk reads one set of fold features) and that carry about the same work:

- each feature key gets at least one chunk, and the remaining chunks go to the keys with the
  most estimated work per chunk (:data:`COST`, relative fit + score cost per configuration);
- within a key, configurations are dealt to its chunks dearest first, each to the chunk with
  the least work so far (longest-processing-time first), so the forests do not pile up in one
  chunk.

Everything is deterministic (ties broken by config id): the same grid and chunk count give the
same chunks, so a re-run maps the same tasks. Chunking decides where configurations are scored,
never how: every configuration is still scored on its own (one result, one W&B run each).
"""

from __future__ import annotations

from collections.abc import Sequence

from fnlib.errors import InputError
from fnlib.models.specs import ModelConfig

COST = {"nb": 1.0, "sgd": 1.5, "linsvm": 1.5, "logreg": 2.5, "rf": 9.0}
"""Relative cost of scoring one configuration of each family (k folds: fit, predict, W&B run),
from the CPU profile of the tuning benchmark on article-length text. Only the balance of the
chunks depends on it."""

LABEL_MAX = 240  # Airflow keeps 250 characters of a rendered map index


def cost(config: ModelConfig) -> float:
    return COST.get(config.model, max(COST.values()))


def chunk_grid(grid: Sequence[ModelConfig], n_chunks: int) -> list[list[ModelConfig]]:
    """Split ``grid`` into at least one chunk per feature key and ``n_chunks`` in all when the
    grid allows (never more chunks than configurations); chunks in feature-key order."""
    if isinstance(n_chunks, bool) or not isinstance(n_chunks, int) or n_chunks < 1:
        raise InputError(f"the number of chunks must be a whole number >= 1, got {n_chunks!r}")
    if not grid:
        raise InputError("cannot chunk an empty grid")
    by_key: dict[str, list[ModelConfig]] = {}
    for cfg in grid:
        by_key.setdefault(cfg.feature_key, []).append(cfg)
    work = {key: sum(cost(c) for c in cfgs) for key, cfgs in by_key.items()}
    shares = dict.fromkeys(by_key, 1)
    for _ in range(max(n_chunks - len(by_key), 0)):
        open_keys = [k for k in by_key if shares[k] < len(by_key[k])]
        if not open_keys:
            break
        dearest = max(open_keys, key=lambda k: (work[k] / shares[k], k))
        shares[dearest] += 1
    chunks: list[list[ModelConfig]] = []
    for key, cfgs in by_key.items():
        bins: list[list[ModelConfig]] = [[] for _ in range(shares[key])]
        loads = [0.0] * shares[key]
        for cfg in sorted(cfgs, key=lambda c: (-cost(c), c.config_id)):
            i = min(range(len(bins)), key=lambda j: (loads[j], j))
            bins[i].append(cfg)
            loads[i] += cost(cfg)
        order = {c.config_id: n for n, c in enumerate(grid)}  # grid order inside a chunk
        chunks.extend(sorted(b, key=lambda c: order[c.config_id]) for b in bins)
    return chunks


def chunk_label(chunk: Sequence[ModelConfig], index: int, total: int) -> str:
    """Names a mapped task after what it holds, e.g.
    ``2/8 raw 1gram min_df=2: nb alpha=0.1, rf min_samples_leaf=2 (2 configs)``."""
    head = f"{index + 1}/{total} {chunk[0].features.label}: "
    tail = f" ({len(chunk)} config{'s' if len(chunk) != 1 else ''})"
    names = [c.label.split(" | ")[0] for c in chunk]
    text = ", ".join(names)
    while len(head) + len(text) + len(tail) > LABEL_MAX and len(names) > 1:
        names.pop()
        text = ", ".join(names) + ", ..."
    return (head + text + tail)[:LABEL_MAX]


def default_chunks(n_feature_keys: int, slots: int) -> int:
    """Chunk count when none is asked for: one per worker slot, and at least one per feature
    key (the work of one key is not split unless slots would sit idle)."""
    return max(int(n_feature_keys), int(slots), 1)
