"""Promotion rule, champion pointer (compare-and-swap), rollback and verified model loading."""

from __future__ import annotations

import io
import threading

import joblib
import pytest
from sklearn.dummy import DummyClassifier

from fnlib.catalog import CHAMPION_KEY, object_key
from fnlib.errors import InputError
from fnlib.registry import (
    Champion,
    current_champion,
    decide,
    load_model,
    promote,
    rollback,
    set_champion,
)
from fnlib.storage import ChecksumMismatch, ConcurrentUpdate
from fnlib.storage.manifest import Manifest, commit_manifest


@pytest.mark.parametrize(
    ("challenger", "champion", "margin", "expected"),
    [
        (0.80, None, 0.0, True),  # no champion
        (0.81, 0.80, 0.0, True),  # better
        (0.80, 0.80, 0.0, False),  # tie never promotes
        (0.79, 0.80, 0.0, False),  # worse
        (0.805, 0.80, 0.01, False),  # better but within the margin
        (0.82, 0.80, 0.01, True),  # better by more than the margin
    ],
)
def test_decide(challenger, champion, margin, expected):
    promoted, reason = decide("f1", challenger, champion, margin)
    assert promoted is expected
    assert reason


def test_negative_margin_rejected():
    with pytest.raises(InputError):
        decide("f1", 0.9, 0.8, -0.1)


def _model(store, model_id, f1):
    buf = io.BytesIO()
    joblib.dump(DummyClassifier(strategy="most_frequent").fit([[0], [1]], [0, 1]), buf)
    ref = store.put_bytes(object_key("model", model_id, "model.joblib"), buf.getvalue())
    manifest = Manifest(
        "model",
        model_id,
        {"model": ref},
        params={"dataset_id": "ds-1", "config": {"model": "nb"}},
        metrics={"test": {"f1": f1}},
    )
    return manifest, commit_manifest(store, manifest)


def _champion(manifest, ref, previous=None):
    return Champion(
        model_id=manifest.id,
        manifest=ref.to_dict(),
        model=manifest.objects["model"].to_dict(),
        metrics=manifest.metrics["test"],
        dataset_id="ds-1",
        config={},
        reason="test",
        previous=previous,
    )


def test_champion_pointer_is_compare_and_swap(store):
    m1, r1 = _model(store, "mdl-a", 0.7)
    m2, r2 = _model(store, "mdl-b", 0.8)
    m3, r3 = _model(store, "mdl-c", 0.9)
    set_champion(store, _champion(m1, r1), None)
    with pytest.raises(ConcurrentUpdate):
        set_champion(store, _champion(m2, r2), None)  # someone else already created it
    champ, ref = current_champion(store)
    set_champion(store, _champion(m2, r2), ref)
    with pytest.raises(ConcurrentUpdate):
        set_champion(store, _champion(m3, r3), ref)  # stale read
    assert current_champion(store)[0].model_id == "mdl-b"
    assert len(store.list_versions(CHAMPION_KEY)) == 2


def test_two_racing_promotions_only_one_wins(store):
    m1, r1 = _model(store, "mdl-r1", 0.7)
    m2, r2 = _model(store, "mdl-r2", 0.8)
    outcomes = []
    barrier = threading.Barrier(2)

    def attempt(manifest, ref):
        barrier.wait()
        try:
            set_champion(store, _champion(manifest, ref), None)
            outcomes.append("won")
        except ConcurrentUpdate:
            outcomes.append("lost")

    threads = [threading.Thread(target=attempt, args=a) for a in ((m1, r1), (m2, r2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost", "won"]
    assert len(store.list_versions(CHAMPION_KEY)) == 1


def test_promote_and_rollback(store):
    _model(store, "mdl-old", 0.7)
    _model(store, "mdl-new", 0.8)
    promote(store, "mdl-old", "first")
    promote(store, "mdl-new", "better")
    assert current_champion(store)[0].previous["model_id"] == "mdl-old"
    back = rollback(store, "bad in production")
    assert back.model_id == "mdl-old"
    assert "bad in production" in back.reason
    with pytest.raises(InputError, match="no model with id"):
        promote(store, "mdl-missing", "x")


def test_rollback_without_previous(store):
    _model(store, "mdl-only", 0.7)
    promote(store, "mdl-only", "first")
    with pytest.raises(InputError, match="nothing to roll back"):
        rollback(store)


def test_tampered_model_is_refused(store):
    manifest, _ = _model(store, "mdl-t", 0.7)
    ref = manifest.objects["model"]
    assert load_model(store, ref).predict([[0]]).shape == (1,)
    store.client.put_object(Bucket=store.bucket, Key=ref.key, Body=b"not the model")
    latest = ref.__class__(ref.bucket, ref.key, None, ref.sha256, ref.size)
    with pytest.raises(ChecksumMismatch, match="mdl-t/model.joblib"):
        load_model(store, latest)
