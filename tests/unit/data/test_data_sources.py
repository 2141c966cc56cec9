"""Loaders: schema, ids, metadata and strict reading (encoding, delimiters, columns, labels)."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from fnlib.catalog import SOURCE_NAMES
from fnlib.data import sources
from fnlib.data.errors import CorpusError
from fnlib.data.schema import CORE_COLUMNS
from fnlib.errors import InputError


def _write_csv(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _isot(tmp_path: Path) -> Path:
    header = ["title", "text", "subject", "date"]
    _write_csv(
        tmp_path / "Fake.csv",
        header,
        [
            ["Secret plan, revealed", 'They said "no"\nthen left.', "News", "Dec 1, 2017"],
            ["NA", "   ", "politics", "Dec 2, 2017"],
        ],
    )
    _write_csv(
        tmp_path / "True.csv",
        header,
        [
            [
                "Council passes budget",
                "OSLO (Reuters) - The council voted.",
                "worldnews",
                "December 1, 2017 ",
            ],
        ],
    )
    return tmp_path


def test_isot_builds_the_corpus_schema(tmp_path: Path) -> None:
    corpus = sources.load_isot(_isot(tmp_path))
    assert list(corpus.columns[:4]) == list(CORE_COLUMNS)
    assert corpus["id"].tolist() == ["isot:fake:0", "isot:fake:1", "isot:true:0"]
    assert corpus["label"].tolist() == [1, 1, 0]
    assert corpus.loc[0, "text"] == 'Secret plan, revealed\n\nThey said "no"\nthen left.'
    assert corpus.loc[1, "text"] == "NA"  # title-only, and "NA" is not turned into NaN
    assert corpus["meta_subject"].tolist() == ["News", "politics", "worldnews"]
    assert corpus.loc[2, "meta_date"] == "December 1, 2017 "
    assert set(corpus["source"]) == {"isot"}


def test_isot_missing_directory_and_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a directory"):
        sources.load_isot(tmp_path / "nope")
    _isot(tmp_path)
    (tmp_path / "True.csv").unlink()
    with pytest.raises(InputError, match="True.csv"):
        sources.load_isot(tmp_path)


def test_isot_non_utf8_names_file_line_and_offset(tmp_path: Path) -> None:
    _isot(tmp_path)
    data = b"title,text,subject,date\nok,fine,News,d\nbad \xff title,x,News,d\n"
    (tmp_path / "Fake.csv").write_bytes(data)
    with pytest.raises(CorpusError) as info:
        sources.load_isot(tmp_path)
    message = str(info.value)
    offset = data.index(b"\xff")
    assert "Fake.csv" in message and "non-UTF-8" in message
    assert "line 3" in message and f"byte offset {offset}" in message


def test_isot_wrong_delimiter_and_missing_column(tmp_path: Path) -> None:
    _isot(tmp_path)
    _write_csv(
        tmp_path / "Fake.csv", ["title", "text", "subject", "date"], [["a", "b", "c", "d"]], ";"
    )
    with pytest.raises(
        CorpusError, match=r"missing column\(s\) title, text, subject, date.*wrong delimiter"
    ):
        sources.load_isot(tmp_path)
    _write_csv(tmp_path / "Fake.csv", ["title", "text", "date"], [["a", "b", "d"]])
    with pytest.raises(CorpusError, match=r"Fake.csv: missing column\(s\) subject"):
        sources.load_isot(tmp_path)


def test_isot_malformed_csv_is_a_corpus_error(tmp_path: Path) -> None:
    _isot(tmp_path)
    (tmp_path / "True.csv").write_text(
        'title,text,subject,date\n"unclosed,x,y,z\n', encoding="utf-8"
    )
    with pytest.raises(CorpusError, match="True.csv: cannot parse"):
        sources.load_isot(tmp_path)


def _liar_row(statement_id: str, label: str, statement: str) -> str:
    fields = [
        statement_id,
        label,
        statement,
        "economy,taxes",
        "jane-doe",
        "Mayor",
        "Ohio",
        "independent",
        "1",
        "2",
        "3",
        "4",
        "5",
        "a town hall",
    ]
    return "\t".join(fields)


def _liar(tmp_path: Path) -> Path:
    rows = {
        "train": [
            _liar_row("1.json", "true", 'Says "taxes" went up.'),
            _liar_row("2.json", "pants-fire", "NA"),
        ],
        "valid": [_liar_row("3.json", "half-true", "Jobs grew, slowly.")],
        "test": [_liar_row("4.json", "barely-true", "Crime fell by half.")],
    }
    for split, lines in rows.items():
        (tmp_path / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def test_liar_default_mapping_and_metadata(tmp_path: Path) -> None:
    corpus = sources.load_liar(_liar(tmp_path))
    assert corpus["id"].tolist() == ["liar:1.json", "liar:2.json", "liar:3.json", "liar:4.json"]
    assert corpus["label"].tolist() == [0, 1, 0, 1]
    assert corpus.loc[0, "text"] == 'Says "taxes" went up.'  # quotes are literal in LIAR
    assert corpus.loc[1, "text"] == "NA"
    assert corpus["meta_split"].tolist() == ["train", "train", "valid", "test"]
    assert corpus.loc[0, "meta_speaker"] == "jane-doe"
    assert corpus.loc[0, "meta_party"] == "independent"
    assert corpus.loc[0, "meta_context"] == "a town hall"
    assert corpus.loc[0, "meta_subject"] == "economy,taxes"
    assert sources.DEFAULT_LIAR_MAPPING["half-true"] == 0
    assert sources.DEFAULT_LIAR_MAPPING["barely-true"] == 1


def test_liar_splits_subset(tmp_path: Path) -> None:
    corpus = sources.load_liar(_liar(tmp_path), splits=("valid",))
    assert corpus["id"].tolist() == ["liar:3.json"]
    with pytest.raises(InputError, match="subset"):
        sources.load_liar(tmp_path, splits=("dev",))


def test_liar_unknown_label_names_rows(tmp_path: Path) -> None:
    _liar(tmp_path)
    lines = [_liar_row("5.json", "true", "a"), _liar_row("6.json", "full-flop", "b")]
    (tmp_path / "train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CorpusError) as info:
        sources.load_liar(tmp_path)
    problem = info.value.problems[0]
    assert (
        problem.rows == (1,) and "full-flop" in problem.message and "train.tsv" in problem.message
    )
    mapping = {**sources.DEFAULT_LIAR_MAPPING, "full-flop": 1}
    assert sources.load_liar(tmp_path, mapping=mapping)["label"].tolist()[:2] == [0, 1]


def test_liar_wrong_delimiter_and_missing_file(tmp_path: Path) -> None:
    _liar(tmp_path)
    (tmp_path / "valid.tsv").write_text(_liar_row("3.json", "true", "x").replace("\t", ",") + "\n")
    with pytest.raises(CorpusError, match="expected 14 tab-separated fields"):
        sources.load_liar(tmp_path)
    (tmp_path / "valid.tsv").unlink()
    with pytest.raises(InputError, match="valid.tsv"):
        sources.load_liar(tmp_path)


def _fakenewsnet(
    tmp_path: Path, collections: tuple[str, ...] = ("politifact", "gossipcop")
) -> Path:
    header = ["id", "news_url", "title", "tweet_ids"]
    for collection in collections:
        for kind in ("fake", "real"):
            _write_csv(
                tmp_path / f"{collection}_{kind}.csv",
                header,
                [
                    [
                        f"{collection}-{kind}1",
                        f"https://{kind}.example.com/a",
                        f"{kind} headline, one",
                        "1\t2",
                    ],
                    [f"{collection}-{kind}2", "", "NA", ""],
                ],
            )
    return tmp_path


def test_fakenewsnet_text_is_title_and_url_is_metadata(tmp_path: Path) -> None:
    corpus = sources.load_fakenewsnet(_fakenewsnet(tmp_path))
    assert len(corpus) == 8
    first = corpus.iloc[0]
    assert first["id"] == "fakenewsnet:politifact_fake:politifact-fake1"
    assert first["text"] == "fake headline, one" and first["label"] == 1
    assert first["meta_url"] == "https://fake.example.com/a"
    assert first["meta_collection"] == "politifact"
    assert not corpus["text"].str.contains("example.com").any()
    assert (corpus["text"] == "NA").sum() == 4
    assert corpus.groupby("meta_collection")["label"].sum().to_dict() == {
        "gossipcop": 2,
        "politifact": 2,
    }


def test_fakenewsnet_missing_collection_files(tmp_path: Path) -> None:
    _fakenewsnet(tmp_path, ("politifact",))
    assert len(sources.load_fakenewsnet(tmp_path, collections=("politifact",))) == 4
    with pytest.raises(InputError, match="gossipcop_fake.csv, gossipcop_real.csv"):
        sources.load_fakenewsnet(tmp_path)
    with pytest.raises(InputError, match="collections"):
        sources.load_fakenewsnet(tmp_path, collections=("buzzfeed",))


def test_csv_defaults_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    _write_csv(
        path,
        ["text", "label", "Outlet Name", "outlet_name"],
        [
            ["first text", "FAKE", "a", "w"],
            ["second, text", " real ", "b", "x"],
            ["third", "1", "c", "y"],
            ["null", "0", "d", "z"],
        ],
    )
    corpus = sources.load_csv(path)
    assert corpus["id"].tolist() == ["csv:0", "csv:1", "csv:2", "csv:3"]
    assert corpus["label"].tolist() == [1, 0, 1, 0]
    assert corpus["text"].tolist() == ["first text", "second, text", "third", "null"]
    assert corpus["meta_outlet_name"].tolist() == ["a", "b", "c", "d"]
    assert corpus["meta_outlet_name_2"].tolist() == ["w", "x", "y", "z"]
    assert set(corpus["source"]) == {"csv"}


def test_csv_column_mapping_title_and_label_map(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    _write_csv(
        path,
        ["key", "headline", "body", "verdict"],
        [
            ["k1", "Head one", "Body one", "hoax"],
            ["k2", "Head two", "", "legit"],
        ],
    )
    corpus = sources.load_csv(
        path,
        text_column="body",
        label_column="verdict",
        id_column="key",
        label_map={"Hoax": 1, "LEGIT": 0},
        title_column="headline",
    )
    assert corpus["id"].tolist() == ["csv:k1", "csv:k2"]
    assert corpus["text"].tolist() == ["Head one\n\nBody one", "Head two"]
    assert corpus["label"].tolist() == [1, 0]
    assert [c for c in corpus.columns if c.startswith("meta_")] == []
    with pytest.raises(InputError, match="0 \\(real\\) or 1 \\(fake\\)"):
        sources.load_csv(path, text_column="body", label_column="verdict", label_map={"hoax": 2})


def test_csv_unknown_labels_and_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    _write_csv(path, ["text", "label"], [["a", "fake"], ["b", "satire"], ["c", "true"]])
    with pytest.raises(CorpusError) as info:
        sources.load_csv(path)
    assert info.value.problems[0].rows == (1, 2)
    assert "satire" in str(info.value) and "'true'" in str(info.value)
    with pytest.raises(CorpusError, match=r"missing column\(s\) body"):
        sources.load_csv(path, text_column="body")
    with pytest.raises(InputError, match="no such file"):
        sources.load_csv(tmp_path / "absent.csv")
    with pytest.raises(InputError, match="is a directory"):
        sources.load_csv(tmp_path)


def test_load_source_dispatch(tmp_path: Path) -> None:
    assert tuple(sources.SOURCES) == SOURCE_NAMES
    assert set(SOURCE_NAMES) == {"isot", "liar", "fakenewsnet", "csv", "folders", "json", "synthetic"}
    pd.testing.assert_frame_equal(
        sources.load_source("isot", _isot(tmp_path)), sources.load_isot(tmp_path)
    )
    synthetic = sources.load_source("synthetic", n_docs=30, seed=3)
    assert len(synthetic) == 30 and set(synthetic["source"]) == {"synthetic"}
    with pytest.raises(InputError, match="valid sources: csv, fakenewsnet, folders, isot, json, liar, synthetic"):
        sources.load_source("kaggle", tmp_path)
    with pytest.raises(InputError, match="needs a path"):
        sources.load_source("liar")
    with pytest.raises(InputError, match=r"does not take option\(s\) \['delimiter'\]"):
        sources.load_source("csv", tmp_path / "x.csv", delimiter=";")
    with pytest.raises(InputError, match="takes no path"):
        sources.load_source("synthetic", tmp_path)
