"""What a new user meets first: scheduled DAGs with nothing to do end skipped (not failed),
relative data paths resolve against the data root whatever the task's working directory, and
a bad path fails at once naming the absolute path, the one-line reason logged first."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from fnlib.registry import current_champion

pytestmark = pytest.mark.dag


def _messages(caplog, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


def test_score_without_a_champion_is_skipped_with_its_reason(dagbag, clean_bucket, caplog):
    assert current_champion(clean_bucket)[0] is None
    with caplog.at_level(logging.INFO, logger="fnlib.task_env"):
        run = dagbag.get_dag("fn_score").test()
    ti = run.get_task_instance("score")
    assert ti.state == "skipped" and run.state == "success"
    assert any("no champion model yet" in m for m in _messages(caplog, "fnlib.task_env"))


def test_monitor_with_nothing_to_monitor_is_skipped(dagbag, clean_bucket, caplog):
    logical = dt.datetime(2026, 10, 2, tzinfo=dt.UTC)
    with caplog.at_level(logging.INFO, logger="fnlib.task_env"):
        run = dagbag.get_dag("fn_monitor").test(logical_date=logical)
    assert run.get_task_instance("report").state == "skipped"
    assert not clean_bucket.list_keys("monitoring/")
    assert any("nothing to monitor" in m for m in _messages(caplog, "fnlib.task_env"))


def test_a_missing_folder_fails_once_naming_the_absolute_path(dagbag, fn_bucket, tmp_path,
                                                               monkeypatch, caplog):
    monkeypatch.setenv("FN_DATA_DIR", str(tmp_path))  # the task's working directory is not
    with caplog.at_level(logging.INFO, logger="fnlib.task_env"):
        run = dagbag.get_dag("fn_dataset").test(
            run_conf={"source": "isot", "path": "data/external"})
    ti = run.get_task_instance("ingest")
    assert run.state == "failed" and ti.state == "failed" and ti.try_number == 1
    errors = [r for r in caplog.records if r.name == "fnlib.task_env" and r.levelname == "ERROR"]
    assert errors, "the bad-input reason was not logged"
    assert str(tmp_path / "data" / "external") in errors[0].getMessage()
    assert "is not a directory" in errors[0].getMessage()
