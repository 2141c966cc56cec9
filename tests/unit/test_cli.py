"""The `fn` command against a real S3 endpoint: dataset, lineage, bad input, models."""

from __future__ import annotations

import re

import pytest

from fnlib.cli import main


@pytest.fixture
def cli_env(store, monkeypatch, moto_endpoint):
    monkeypatch.setenv("FN_BUCKET", store.bucket)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    return store


def test_dataset_then_lineage(cli_env, capsys):
    assert main(["dataset", "--n-docs", "200", "--seed", "3", "--no-wandb"]) == 0
    out = capsys.readouterr().out
    dataset_id = re.search(r"dataset (ds-[0-9a-f]{16})", out).group(1)
    assert "raw raw-" in out and "?versionId=" in out
    assert main(["lineage", dataset_id]) == 0
    lineage = capsys.readouterr().out
    assert lineage.startswith(f"dataset {dataset_id}") and "└─ raw raw-" in lineage


def test_bad_input_is_a_clear_error_and_writes_nothing(cli_env, capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"text,label\n\xff\xfe broken,fake\n")
    assert main(["dataset", "--source", "csv", "--path", str(bad), "--no-wandb"]) == 2
    out = capsys.readouterr().out
    assert out.startswith("error:") and "UTF-8" in out
    assert cli_env.list_keys("") == []


def test_models_without_any(cli_env, capsys):
    assert main(["models", "list"]) == 0
    assert "no models yet" in capsys.readouterr().out
    assert main(["models", "rollback"]) == 2
    assert "nothing to roll back" in capsys.readouterr().out
    assert main(["lineage", "not-an-id"]) == 2
