"""Stage requests: one way from a DAG run (or a params dict) to typed stage arguments."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from fnlib.errors import InputError
from fnlib.stages.dataset import DatasetRequest
from fnlib.stages.evaluate import EvaluateRequest, targets
from fnlib.stages.monitor import MonitorRequest
from fnlib.stages.retrain import RetrainRequest, build, compare
from fnlib.stages.score import ScoreRequest
from fnlib.stages.train import TrainRequest
from fnlib.stages.transfer import TransferRequest
from fnlib.stages.tune import TuneRequest


def _run(params, triggered_by=None, interval=None):
    """A ``run`` as ``fn_airflow.tasks.run_info`` builds it."""
    return {"params": params, "run_ids": {"dag_id": "d", "run_id": "r", "task_id": "t"},
            "interval": interval or {"start": None, "end": None},
            "triggered_by": triggered_by or {}}


def test_params_become_typed_fields():
    request = RetrainRequest.from_params({"min_accepted": "25", "holdout_fraction": 1,
                                          "promotion_margin": "0.05", "seed": 7.0})
    assert asdict(request) == {"min_accepted": 25, "holdout_fraction": 1.0,
                               "promotion_margin": 0.05, "seed": 7}
    assert isinstance(request.holdout_fraction, float)
    # empty values fall back to the defaults
    assert MonitorRequest.from_params({"thresholds": {}, "lookback_days": None}).lookback_days == 30


@pytest.mark.parametrize(("cls", "params", "message"), [
    (RetrainRequest, {"min_accepted": "many"}, "retraining parameter 'min_accepted' must be int"),
    (RetrainRequest, {"seed": 4.5}, "parameter 'seed' must be int, got 4.5"),
    (RetrainRequest, {"seed": True}, "parameter 'seed' must be int, got True"),
    (ScoreRequest, {"days": "2026-11-01"}, "scoring parameter 'days' must be list[str]"),
    (ScoreRequest, {"keep_text": "no"}, "parameter 'keep_text' must be bool"),
    (MonitorRequest, {"thresholds": [1]}, "monitoring parameter 'thresholds' must be dict"),
    (TuneRequest, {"chunks": "x"}, "tuning parameter 'chunks' must be int or empty"),
    (TrainRequest, {"f1floor": 0.5}, "unknown training parameters ['f1floor']"),
])
def test_a_bad_param_is_an_input_error_naming_it(cls, params, message):
    with pytest.raises(InputError) as error:
        cls.from_params(params)
    assert message in str(error.value)


def test_for_run_adds_what_the_run_brings():
    # the dataset / tuning of the triggering Asset event, unless the form names one
    assert TuneRequest.for_run(_run({}, {"dataset_id": "ds-a"})).dataset_id == "ds-a"
    assert TuneRequest.for_run(_run({"dataset_id": "ds-b"}, {"dataset_id": "ds-a"})).dataset_id \
        == "ds-b"
    assert TrainRequest.for_run(_run({"evaluate_on": ["ds-x"]}, {"tuning_id": "tune-a"})) \
        .tuning_id == "tune-a"
    assert TrainRequest.for_run(_run({"config": {"model": "nb"}, "dataset_id": "ds-a"},
                                     {"tuning_id": "tune-a"})).tuning_id is None
    # the data interval of a monitoring run
    interval = {"start": "2026-11-01T00:00:00+00:00", "end": "2026-11-02T00:00:00+00:00"}
    monitor = MonitorRequest.for_run(_run({"thresholds": {"psi_alert": 0.3}, "lookback_days": 7,
                                           "min_feedback_for_retrain": 0}, interval=interval))
    assert (monitor.start, monitor.end, monitor.lookback_days) == (interval["start"],
                                                                    interval["end"], 7)
    assert DatasetRequest.for_run(_run({"source": "synthetic", "n_docs": 50})).n_docs == 50
    assert ScoreRequest.for_run(_run({"days": [], "keep_text": False})) == ScoreRequest(
        days=[], keep_text=False)


def test_mapped_evaluations_take_their_target():
    run = _run({"evaluate_on": ["ds-a", "ds-b"], "seed": 42})
    found = targets({"model_id": "mdl-1"}, run["params"])
    assert [t["label"] for t in found] == ["ds-a", "ds-b"]
    assert EvaluateRequest.for_run(run, found[1]) == EvaluateRequest(model="mdl-1",
                                                                     dataset_id="ds-b")
    assert targets({"model_id": "mdl-1"}, None) == []


def test_transfer_request_carries_the_tuning_grid():
    request = TransferRequest(datasets=["ds-a", "ds-b"], models=["nb"], grid="small", folds=3)
    tune = request.tune_request("ds-b")
    assert (tune.dataset_id, tune.models, tune.grid, tune.folds) == ("ds-b", ["nb"], "small", 3)
    with pytest.raises(InputError, match="unknown model"):
        TransferRequest(datasets=["ds-a", "ds-b"], models=["gpt"])


def test_too_little_feedback_passes_through_to_the_outcome():
    gated = {"enough": False, "accepted": 3, "min_accepted": 20}
    built = build(None, gated)  # nothing is read or written
    assert built == {"skipped": "only 3 accepted feedback rows (< 20)"}
    assert compare(None, built, RetrainRequest()) == {"promoted": False,
                                                      "reason": built["skipped"]}
