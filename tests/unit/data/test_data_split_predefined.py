"""Predefined splits: a data set's own train/valid/test (LIAR's files, split files, a split
column) survive preparation exactly; bad splits are rejected with file, column and values;
duplicates crossing the split leave train, never test."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from fnlib.data.csvfile import load_csv
from fnlib.data.errors import CorpusError
from fnlib.data.prepare import PrepareOptions, prepare_corpus
from fnlib.data.sources import LIAR_COLUMNS, load_liar

PREDEFINED = PrepareOptions(split="predefined", near_dedupe=False)


def _text(label: int, i: int, tag: str) -> str:
    words = ("council budget vote report" if label == 0 else "shocking hoax secret elites").split()
    return f"{' '.join(words[(i + k) % 4] for k in range(4))} {tag} item {i}"


def _rows(split: str, n: int) -> list[list[str]]:
    return [[f"{split}-{i}", _text(i % 2, i, split), "fake" if i % 2 else "real", split]
            for i in range(n)]


def _csv(path: Path, rows: list[list[str]], header=("id", "text", "label", "fold")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _liar(root: Path, sizes=(("train", 30), ("valid", 8), ("test", 10))) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    ratings = ["true", "false", "half-true", "pants-fire"]
    for split, n in sizes:
        lines = []
        for i in range(n):
            fields = [""] * len(LIAR_COLUMNS)
            rating = ratings[i % 4]
            fields[0], fields[1] = f"{split}{i}.json", rating
            fields[2] = _text(int(rating in ("false", "pants-fire")), i, split)
            lines.append("\t".join(fields))
        (root / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_liar_predefined_keeps_the_published_test_split(tmp_path: Path) -> None:
    corpus = load_liar(_liar(tmp_path / "liar"))
    prepared = prepare_corpus(corpus, "liar", PREDEFINED)
    published_test = set(corpus.loc[corpus["meta_split"] == "test", "id"])
    assert set(prepared.test["id"]) == published_test
    assert set(prepared.train["id"]) == set(corpus["id"]) - published_test  # valid joins train
    split = prepared.report["split"]
    assert split["strategy"] == "predefined" and split["validation_rows"] == "joined train"
    assert prepared.report["input"]["published_splits"] == {"test": 10, "train": 30, "valid": 8}
    assert prepared.report["options"]["split"] == "predefined"
    # the random strategy on the same rows does not reproduce the published test split
    random = prepare_corpus(corpus, "liar", PrepareOptions(near_dedupe=False))
    assert set(random.test["id"]) != published_test


def test_csv_split_column_and_split_files(tmp_path: Path) -> None:
    rows = _rows("train", 20) + _rows("dev", 6) + _rows("test", 8)
    corpus = load_csv(_csv(tmp_path / "all.csv", rows), id_column="id", split_column="fold")
    assert corpus["meta_split"].value_counts().to_dict() == {"train": 20, "test": 8, "valid": 6}
    prepared = prepare_corpus(corpus, "csv", PREDEFINED)
    assert sorted(prepared.test["id"]) == sorted(f"csv:test-{i}" for i in range(8))

    folder = tmp_path / "files"
    folder.mkdir()
    for split, n in (("train", 20), ("dev", 6), ("test", 8)):
        _csv(folder / f"{split}.csv", [r[:3] for r in _rows(split, n)], ("id", "text", "label"))
    _csv(folder / "notes.csv", [["x", "y", "z"]], ("a", "b", "c"))  # not a split file: ignored
    from_files = load_csv(folder)
    assert from_files["id"].str.match(r"^csv:(train|dev|test):\d+$").all()
    assert from_files["meta_split"].value_counts().to_dict() == {"train": 20, "test": 8, "valid": 6}
    prepared = prepare_corpus(from_files, "csv", PREDEFINED)
    assert len(prepared.test) == 8 and prepared.test["id"].str.startswith("csv:test:").all()


def test_unknown_split_value_names_file_column_and_values(tmp_path: Path) -> None:
    rows = _rows("train", 10) + _rows("holdout", 4) + _rows("test", 6)
    path = _csv(tmp_path / "odd.csv", rows)
    with pytest.raises(CorpusError) as info:
        load_csv(path, split_column="fold")
    message = str(info.value)
    assert str(path) in message and "column 'fold'" in message and "['holdout']" in message


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (_rows("train", 24) + _rows("valid", 4), r"column 'fold' has no test rows \(values found: \['train', 'valid'\]\)"),
        (_rows("train", 24) + [r for r in _rows("test", 8) if r[2] == "fake"],
         r"the test split of column 'fold' holds only \['fake'\] rows"),
        ([r for r in _rows("train", 24) if r[2] == "real"] + _rows("test", 24),
         r"the train split of column 'fold' holds only \['real'\] rows"),
    ],
    ids=["missing-test", "test-one-class", "train-one-class"],
)
def test_bad_predefined_splits_are_rejected(tmp_path: Path, rows, expected) -> None:
    path = _csv(tmp_path / "data.csv", rows)
    corpus = load_csv(path, split_column="fold")
    with pytest.raises(CorpusError, match=expected) as info:
        prepare_corpus(corpus, "csv", PREDEFINED, origin=str(path), split_column="fold")
    assert str(path) in str(info.value)


def test_predefined_without_a_split_says_how_to_give_one(tmp_path: Path) -> None:
    corpus = load_csv(_csv(tmp_path / "plain.csv", [r[:3] for r in _rows("train", 24)],
                           ("id", "text", "label")))
    with pytest.raises(CorpusError, match=r"carries no split; give the split column"):
        prepare_corpus(corpus, "csv", PREDEFINED, origin="plain.csv")


def test_duplicates_across_the_split_leave_train_never_test(tmp_path: Path) -> None:
    rows = _rows("train", 16) + _rows("test", 8)
    copies = [["copy-a", rows[16][1].upper() + "!", rows[16][2], "train"],  # of test-0, same label
              ["copy-b", rows[17][1], "real" if rows[17][2] == "fake" else "fake", "train"],  # conflict
              ["twin", rows[18][1], rows[18][2], "test"]]  # duplicate inside test: kept
    corpus = load_csv(_csv(tmp_path / "dups.csv", rows + copies), id_column="id", split_column="fold")
    prepared = prepare_corpus(corpus, "csv", PREDEFINED)
    assert "csv:twin" in set(prepared.test["id"]) and len(prepared.test) == 9
    assert not {"csv:copy-a", "csv:copy-b"} & set(prepared.train["id"])
    cross = prepared.report["dedupe"]["cross_split"]
    assert cross["train_rows_dropped"] == 2 and cross["label_differs"] == 1
    assert {e["dropped"] for e in cross["examples"]} == {"csv:copy-a", "csv:copy-b"}
    # with the random strategy the smallest id is kept instead, wherever it lands
    random = prepare_corpus(corpus.drop(columns=["meta_split"]), "csv", PrepareOptions(near_dedupe=False))
    assert "cross_split" not in random.report["dedupe"]


def test_scrub_and_predefined_test_split_round_trip(tmp_path: Path) -> None:
    corpus = load_liar(_liar(tmp_path / "liar2"))
    corpus.loc[corpus["id"] == "liar:test3.json", "text"] = "http://example.com/only-a-link"
    prepared = prepare_corpus(corpus, "liar", PREDEFINED)
    assert "liar:test3.json" not in set(prepared.test["id"])  # blank after the scrub
    assert prepared.report["blank_after_scrub"]["example_ids"] == ["liar:test3.json"]
    assert len(prepared.test) == 9 and isinstance(prepared.test, pd.DataFrame)
