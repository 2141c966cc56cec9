"""Relative data paths mean the data root (FN_DATA_DIR, default the project folder), in the
CLI, the DAGs and any worker alike, never a process's working directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from fnlib import settings
from fnlib.data.sources import load_source
from fnlib.data.synthetic import generate
from fnlib.errors import InputError
from fnlib.stages.dataset import DatasetRequest

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    root = tmp_path / "root"
    (root / "corpus").mkdir(parents=True)
    generate(n_docs=60, seed=3)[["text", "label"]].to_csv(root / "corpus" / "a.csv", index=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("FN_DATA_DIR", str(root))
    return root


def test_default_root_is_the_project_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("FN_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert settings.data_dir() == PROJECT
    assert settings.data_path("data/external") == PROJECT / "data" / "external"


def test_relative_paths_resolve_against_the_root_not_the_cwd(data_root):
    assert settings.data_path("corpus/a.csv") == data_root / "corpus" / "a.csv"
    assert settings.data_path("/abs/x.csv") == Path("/abs/x.csv")
    request = DatasetRequest(source="csv", path="corpus/a.csv")
    assert request.path == str(data_root / "corpus" / "a.csv")
    assert len(load_source("csv", "corpus/a.csv")) == 60


def test_errors_name_the_absolute_path_tried(data_root):
    with pytest.raises(InputError, match=f"{data_root / 'data' / 'external'} is not a directory"):
        load_source("isot", "data/external")
