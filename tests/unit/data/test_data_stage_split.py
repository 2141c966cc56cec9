"""The dataset stage with a predefined split and the article loaders, against a real S3 endpoint:
the manifest records the split strategy, the stored test split is the published one, and a bad
published split writes nothing."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from fnlib.data.errors import CorpusError
from fnlib.data.prepare import read_split_csv
from fnlib.errors import InputError
from fnlib.stages.dataset import DatasetRequest, run_all
from fnlib.storage.manifest import find_manifest


def _csv(path: Path, splits: dict[str, int]) -> Path:
    words = {0: "council budget vote report committee", 1: "shocking hoax secret elites exposed"}
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text", "label", "part"])
        for split, n in splits.items():
            for i in range(n):
                writer.writerow([f"{split}{i}", f"{words[i % 2]} {split} {i}", i % 2, split])
    return path


def test_predefined_split_is_recorded_and_kept(store, tmp_path: Path) -> None:
    path = _csv(tmp_path / "news.csv", {"train": 24, "dev": 6, "test": 10})
    request = DatasetRequest(source="csv", path=str(path), split="predefined",
                             options={"id_column": "id", "split_column": "part"})
    result = run_all(store, request, track_wandb=False)
    manifest, _ = find_manifest(store, "dataset", result["dataset_id"])
    assert manifest.params["split"] == "predefined" and manifest.params["near_dedupe"] is True
    assert manifest.metrics["split"] == "predefined"
    assert manifest.metrics["dropped_from_train"] == {"duplicates_of_test": 0,
                                                      "near_duplicates_of_test": 0}
    test = read_split_csv(store.get_bytes(manifest.objects["test"]))
    assert sorted(test["id"]) == sorted(f"csv:test{i}" for i in range(10))
    assert result["rows"] == {"train": 30, "test": 10}
    report = store.get_json(manifest.objects["report"])
    assert report["split"]["strategy"] == "predefined" and report["split"]["column"] == "part"


@pytest.mark.parametrize(
    ("splits", "options", "expected"),
    [
        ({"train": 24, "valid": 6}, {"split_column": "part"}, "column 'part' has no test rows"),
        ({"train": 24, "test": 6, "later": 2}, {"split_column": "part"}, "['later']"),
        ({"train": 24, "test": 6}, {}, "carries no split"),
    ],
    ids=["no-test", "unknown-value", "no-split-column"],
)
def test_bad_published_split_writes_nothing(store, tmp_path: Path, splits, options, expected) -> None:
    path = _csv(tmp_path / "bad.csv", splits)
    before = store.list_keys("")
    request = DatasetRequest(source="csv", path=str(path), split="predefined", options=options)
    with pytest.raises(CorpusError) as info:
        run_all(store, request, track_wandb=False)
    assert expected in str(info.value) and str(path) in str(info.value)
    assert store.list_keys("") == before


def test_request_rejects_unknown_split_and_source() -> None:
    with pytest.raises(InputError, match="split must be one of random, predefined"):
        DatasetRequest(split="official")
    with pytest.raises(InputError, match="unknown source 'xml'"):
        DatasetRequest(source="xml", path="x")
    with pytest.raises(InputError, match="needs a path"):
        DatasetRequest(source="folders")


def test_folders_source_through_the_stage_with_a_label_mapping(store, tmp_path: Path) -> None:
    for cls, word in (("hoax", "secret"), ("news", "council")):
        (tmp_path / cls).mkdir()
        for i in range(12):
            (tmp_path / cls / f"{i}.txt").write_text(f"{word} report {i} {word * (i % 3 + 1)}")
    request = DatasetRequest(source="folders", path=str(tmp_path),
                             label_mapping={"hoax": 1, "news": 0})
    result = run_all(store, request, track_wandb=False)
    manifest, _ = find_manifest(store, "dataset", result["dataset_id"])
    assert manifest.params["split"] == "random"
    assert sum(result["rows"].values()) == 24
