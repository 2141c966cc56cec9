"""Model registry: the champion pointer, the promotion gate, and checksum-verified loading.

The champion is one versioned object, ``registry/champion.json``, naming the model id, its
manifest and model object (version id + sha256), its metrics and why it was promoted. Its S3
version history is the promotion history. Updates are compare-and-swap (conditional writes),
so two promotions racing cannot both win. A challenger is promoted only if it beats the
champion on the *same* test data by a margin (or there is no champion); every decision, with
both scores, is recorded under the challenger's model folder.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from fnlib.catalog import CHAMPION_KEY, object_key
from fnlib.errors import InputError
from fnlib.storage.manifest import Manifest, find_manifest
from fnlib.storage.objects import ObjectRef, ObjectStore, canonical_json

log = logging.getLogger(__name__)

@dataclass
class Champion:
    model_id: str
    manifest: dict[str, Any]
    model: dict[str, Any]
    metrics: dict[str, Any]
    dataset_id: str
    config: dict[str, Any]
    reason: str
    promoted_at: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    previous: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Champion:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str
    metric: str
    margin: float
    challenger: dict[str, Any]
    champion: dict[str, Any] | None


def decide(metric: str, challenger_score: float, champion_score: float | None,
           margin: float = 0.0) -> tuple[bool, str]:
    """The promotion rule. Strictly better by more than ``margin``; ties never promote."""
    if margin < 0:
        raise InputError(f"promotion margin must be >= 0, got {margin}")
    if champion_score is None:
        return True, "no champion yet"
    delta = challenger_score - champion_score
    if delta > margin:
        return True, f"{metric} {challenger_score:.4f} beats champion {champion_score:.4f} by {delta:+.4f} (> margin {margin})"
    return False, f"{metric} {challenger_score:.4f} vs champion {champion_score:.4f}: {delta:+.4f} does not exceed margin {margin}"


def current_champion(store: ObjectStore) -> tuple[Champion | None, ObjectRef | None]:
    ref = store.head(CHAMPION_KEY)
    if ref is None:
        return None, None
    return Champion.from_dict(store.get_json(ref)), ref


def set_champion(store: ObjectStore, champion: Champion, expected: ObjectRef | None) -> ObjectRef:
    """Point the registry at ``champion`` if it still points where the caller read it."""
    ref = store.put_if_unchanged(CHAMPION_KEY, canonical_json(asdict(champion)), expected)
    log.info("champion is now %s (%s)", champion.model_id, champion.reason)
    return ref


def champion_from_manifest(manifest: Manifest, manifest_ref: ObjectRef, reason: str,
                           previous: Champion | None) -> Champion:
    prev = None
    if previous is not None:
        prev = {"model_id": previous.model_id, "manifest": previous.manifest,
                "metrics": previous.metrics, "promoted_at": previous.promoted_at}
    return Champion(
        model_id=manifest.id,
        manifest=manifest_ref.to_dict(),
        model=manifest.objects["model"].to_dict(),
        metrics=manifest.metrics.get("test", {}),
        dataset_id=str(manifest.params.get("dataset_id")),
        config=manifest.params.get("config", {}),
        reason=reason,
        previous=prev,
    )


def load_model(store: ObjectStore, model_ref: ObjectRef | dict[str, Any]) -> Any:
    """Load a joblib model only after its sha256 matches the recorded one (joblib is pickle)."""
    import joblib

    ref = model_ref if isinstance(model_ref, ObjectRef) else ObjectRef.from_dict(model_ref)
    data = store.get_bytes(ref)
    return joblib.load(io.BytesIO(data))


def record_decision(store: ObjectStore, model_id: str, decision: GateDecision) -> ObjectRef:
    return store.put_json(object_key("model", model_id, "decision.json"), asdict(decision))


def champion_history(store: ObjectStore) -> list[Champion]:
    """Every version of the champion pointer, newest first; each is verified against the
    sha256 recorded when it was written, so a modified pointer version is refused."""
    return [Champion.from_dict(store.get_json(ref)) for ref in store.versions(CHAMPION_KEY)]


def promote(store: ObjectStore, model_id: str, reason: str) -> Champion:
    """Make ``model_id`` the champion by hand (``fn models promote``), recorded as such."""
    manifest, ref = find_manifest(store, "model", model_id)
    current, current_ref = current_champion(store)
    champion = champion_from_manifest(manifest, ref, f"manual: {reason}", current)
    set_champion(store, champion, current_ref)
    return champion


def rollback(store: ObjectStore, reason: str = "rollback") -> Champion:
    """Point back at the champion's predecessor."""
    current, current_ref = current_champion(store)
    if current is None or not current.previous:
        raise InputError("nothing to roll back to: there is no previous champion")
    return promote(store, current.previous["model_id"], f"{reason} (from {current.model_id})")
