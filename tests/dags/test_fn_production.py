"""fn_score, fn_monitor and fn_retrain with dag.test() against moto + W&B offline."""

from __future__ import annotations

import datetime as dt

import pytest

from fnlib.catalog import RETRAIN_DONE as DONE
from fnlib.catalog import RETRAIN_PENDING as PENDING
from fnlib.catalog import partition_key, report_key
from fnlib.data.prepare import PrepareOptions, prepare_corpus
from fnlib.data.synthetic import generate
from fnlib.monitoring.logs import make_feedback_rows, write_log_csv
from fnlib.registry import current_champion
from fnlib.stages import train as train_stage
from fnlib.stages.dataset import DatasetRequest, run_all
from fnlib.stages.monitor import request_retrain
from fnlib.stages.retrain import claim
from fnlib.stages.simulate import simulate
from fnlib.storage.lineage import walk_lineage

pytestmark = pytest.mark.dag

START = "2026-10-01"
DAYS = [(dt.date(2026, 10, 1) + dt.timedelta(days=i)).isoformat() for i in range(4)]
WEAK_CONFIG = {
    "model": "nb",
    "variant": "denoised",
    "vectorizer": {"ngram_max": 1, "sublinear_tf": True, "min_df": 2},
    "params": {"alpha": 1.0},
}


@pytest.fixture(scope="module")
def production(dagbag, clean_bucket):
    """A champion trained on a small dataset, and four simulated days (drift from day 2)."""
    store = clean_bucket
    ds = run_all(store, DatasetRequest(source="synthetic", n_docs=300, seed=11), track_wandb=False)
    request = train_stage.TrainRequest(
        dataset_id=ds["dataset_id"], config=WEAK_CONFIG, f1_floor=0.0
    )
    trained = train_stage.train(store, request)
    assert train_stage.gate(store, trained)["promoted"]
    sim = simulate(
        store,
        days=4,
        start_day=START,
        seed=5,
        docs_per_day=150,
        drift_day=2,
        drift_kinds=("topic", "length"),
        source="test",
    )
    return {"store": store, "trained": trained, "sim": sim}


def _versions(store, prefix):
    return {k: len(store.list_versions(k)) for k in store.list_keys(prefix)}


def test_score_writes_the_prediction_log_once(dagbag, production):
    store = production["store"]
    run = dagbag.get_dag("fn_score").test()
    assert run.state == "success"
    summary = run.get_task_instance("score").xcom_pull(task_ids="score")
    assert summary["scored"] == 4 * 150 and summary["rejected"] == 0
    parts = _versions(store, "predictions/")
    assert sorted({k.split("/")[1] for k in parts}) == [f"day={d}" for d in DAYS]
    again = dagbag.get_dag("fn_score").test()
    assert again.get_task_instance("score").xcom_pull(task_ids="score")["skipped"] == 4
    assert _versions(store, "predictions/") == parts


def _monitor(dagbag, day):
    # a manual run at midnight monitors the day that just ended: [day, day + 1)
    logical = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC) + dt.timedelta(days=1)
    run = dagbag.get_dag("fn_monitor").test(logical_date=logical)
    assert run.state == "success"
    return run.get_task_instance("report").xcom_pull(task_ids="report")


def test_monitor_two_intervals_and_an_identical_rerun(dagbag, production):
    store = production["store"]
    clean = _monitor(dagbag, DAYS[0])
    drifted = _monitor(dagbag, DAYS[3])
    assert clean["day"] == DAYS[0] and drifted["day"] == DAYS[3]
    assert clean["retrain_reasons"] == []
    assert drifted["retrain_reasons"], drifted["row"]
    assert store.head(f"{PENDING}{drifted['retrain_request']}.json") is not None
    first = store.head(report_key(DAYS[3]))
    rerun = _monitor(dagbag, DAYS[3])
    assert (
        rerun["report"]["version_id"] == first.version_id
    )  # same inputs, same report, no new version
    assert store.get_bytes(store.head(report_key(DAYS[3]))) == store.get_bytes(first)
    assert len(store.list_versions(report_key(DAYS[3]))) == 1


def test_retrain_quarantines_bad_feedback_rejects_then_promotes(dagbag, production):
    store = production["store"]
    bad = make_feedback_rows(
        ["bad-1", "bad-2", "bad-2", "bad-3"],
        ["maybe", "fake", "real", "fake"],
        f"{DAYS[3]}T12:00:00+00:00",
        [
            "a claim with an unknown label",
            "two labels for one id here",
            "two labels for one id here",
            "   ",
        ],
        day=DAYS[3],
    )
    store.put_bytes(partition_key("feedback", DAYS[3], "desk-bad"), write_log_csv(bad, "feedback"))
    if not store.list_keys(PENDING):
        _monitor(dagbag, DAYS[3])
    champion_before, _ = current_champion(store)

    reject = dagbag.get_dag("fn_retrain").test(run_conf={"promotion_margin": 0.99})
    assert reject.state == "success"
    decision = reject.get_task_instance("finish").xcom_pull(task_ids="finish")
    assert decision["promoted"] is False
    assert current_champion(store)[0].model_id == champion_before.model_id
    assert not store.list_keys(PENDING) and store.list_keys(DONE)
    gated = reject.get_task_instance("gate").xcom_pull(task_ids="gate")
    quarantine = store.get_bytes(
        store.head(f"feedback/{gated['feedback_id']}/quarantine.csv")
    ).decode()
    for row_id in ("bad-1", "bad-2", "bad-3"):
        assert row_id in quarantine
    assert gated["quarantined"] >= 4 and gated["accepted"] >= 20

    # the desk labels a large batch of new articles: a champion trained on 240 documents
    # should lose to a challenger that also learns from them
    fresh = prepare_corpus(generate(1500, seed=777), "synthetic", PrepareOptions(seed=0)).train
    rows = make_feedback_rows(
        [f"fresh-{i}" for i in fresh["id"]],
        fresh["label"].tolist(),
        f"{DAYS[3]}T18:00:00+00:00",
        fresh["text"].tolist(),
        day=DAYS[3],
    )
    store.put_bytes(
        partition_key("feedback", DAYS[3], "desk-batch"), write_log_csv(rows, "feedback")
    )
    request_retrain(store, DAYS[3], champion_before.model_id, ["manual request"], "s3://x/y")
    promote = dagbag.get_dag("fn_retrain").test(run_conf={"promotion_margin": 0.0})
    assert promote.state == "success"
    outcome = promote.get_task_instance("finish").xcom_pull(task_ids="finish")
    assert outcome["promoted"] is True, outcome
    champion, _ = current_champion(store)
    assert champion.model_id != champion_before.model_id
    kinds = [n.manifest.kind for n in walk_lineage(store, champion.manifest["uri"])]
    assert kinds[:2] == ["model", "dataset"] and "feedback" in kinds
    # the same request is never handled twice: nothing is left to claim, even for a new run
    assert not store.list_keys(PENDING)
    request_retrain(store, DAYS[3], champion_before.model_id, ["manual request"], "s3://x/y")
    assert not store.list_keys(PENDING)  # already done: not requested again
    assert claim(store, "another-run") is None
