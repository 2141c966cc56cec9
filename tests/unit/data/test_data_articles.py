"""The article-collection loaders (folders of .txt per class; JSON articles and JSON Lines) on
small invented fixtures written by each test, and the scrub of each article's own origin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fnlib.data.articles import load_folders, load_json
from fnlib.data.errors import CorpusError
from fnlib.data.prepare import PrepareOptions, prepare_corpus
from fnlib.data.scrub import ScrubOptions, scrub
from fnlib.errors import InputError


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _folders(root: Path, classes=("fake", "legit"), n: int = 3) -> Path:
    for cls in classes:
        for i in range(n):
            _write(root / cls / f"{cls}{i:02d}.txt", f"Headline {cls} {i}\n\nBody of {cls} article {i}.\n")
    _write(root / "README", "not an article")
    return root


def test_folders_layout_labels_ids_and_text(tmp_path: Path) -> None:
    corpus = load_folders(_folders(tmp_path))
    assert len(corpus) == 6 and corpus["id"].is_unique
    row = corpus.set_index("id").loc["folders:fake/fake01.txt"]
    assert row["label"] == 1 and row["text"] == "Headline fake 1\n\nBody of fake article 1."
    assert corpus.set_index("id").loc["folders:legit/legit00.txt", "label"] == 0
    assert set(corpus["meta_class_folder"]) == {"fake", "legit"}
    assert set(corpus["source"]) == {"folders"}
    _write(tmp_path / "fake" / "notes.md", "markdown article")
    assert len(load_folders(tmp_path)) == 6  # only *.txt by default
    assert load_folders(tmp_path, extension=".md")["id"].tolist() == ["folders:fake/notes.md"]


def test_folders_default_and_custom_label_maps(tmp_path: Path) -> None:
    corpus = load_folders(_folders(tmp_path / "a", classes=("True", "False")))
    assert dict(zip(corpus["meta_class_folder"], corpus["label"], strict=True)) == {"True": 0, "False": 1}
    corpus = load_folders(_folders(tmp_path / "b", classes=("hoax", "news")),
                          label_map={"hoax": 1, "news": 0})
    assert sorted(corpus.groupby("meta_class_folder")["label"].first().items()) == [("hoax", 1), ("news", 0)]


def test_folders_bad_inputs_name_the_problem(tmp_path: Path) -> None:
    root = _folders(tmp_path / "c", classes=("fake", "legit", "satire"))
    with pytest.raises(CorpusError, match=r"class folder\(s\) \['satire'\] are not in the label map"):
        load_folders(root)
    with pytest.raises(InputError, match="not a directory"):
        load_folders(tmp_path / "absent")
    bad = _folders(tmp_path / "d")
    (bad / "fake" / "broken.txt").write_bytes(b"caf\xe9 au lait")
    with pytest.raises(CorpusError, match=r"broken\.txt: non-UTF-8 bytes"):
        load_folders(bad)
    with pytest.raises(InputError, match=r"label_map must map names to 0 \(real\) or 1"):
        load_folders(root, label_map={"fake": 2})


def _article(title: str, text: str, url: str = "", source: str = "", site: str = "", **extra) -> str:
    record = {"title": title, "text": text, "url": url, "source": source,
              "meta_data": {"og": {"site_name": site}} if site else {}, "authors": ["A. B", "C. D"],
              "images": ["http://img.example.org/x.png"], **extra}
    return json.dumps(record)


def _json_tree(root: Path) -> Path:
    for site in ("SiteA", "SiteB"):
        for cls, host, name in (("FakeNewsContent", "hoaxdaily.com", "Hoax Daily"),
                                ("RealNewsContent", "politi.co", "Politico")):
            for i in range(3):
                text = f"Story {i} from {site}. Read more at {name}."
                _write(root / site / cls / f"{site}_{cls}_{i}-Webpage.json",
                       _article(f"Title {site} {i}", text, f"http://www.{host}/story/{i}",
                                f"http://www.{host}", name))
    return root


def test_json_articles_labels_from_folders_and_origin_metadata(tmp_path: Path) -> None:
    corpus = load_json(_json_tree(tmp_path))
    assert len(corpus) == 12 and corpus["id"].is_unique
    row = corpus.set_index("id").loc["json:SiteA/FakeNewsContent/SiteA_FakeNewsContent_1-Webpage.json"]
    assert row["label"] == 1
    assert row["text"] == "Title SiteA 1\n\nStory 1 from SiteA. Read more at Hoax Daily."
    assert row["meta_url"] == "http://www.hoaxdaily.com/story/1"
    assert row["meta_site_name"] == "Hoax Daily" and row["meta_authors"] == "A. B; C. D"
    assert "meta_split" not in corpus.columns  # no published split here
    assert (corpus.groupby(corpus["id"].str.contains("RealNews"))["label"].unique()
            .map(list).to_dict() == {False: [1], True: [0]})


def test_json_origin_is_scrubbed_and_flagged_as_class_identifying(tmp_path: Path) -> None:
    corpus = load_json(_json_tree(tmp_path))
    scrubbed, report = scrub(corpus)
    assert not scrubbed["text"].str.contains("Hoax Daily|Politico|politi.co", regex=True).any()
    assert scrubbed["text"].str.endswith("Read more at .").all()
    assert report["rules"]["origin"]["rows_changed"] == 12
    assert report["rules"]["origin"]["examples"][0]["removed"] == "Hoax Daily"
    flagged = set(report["metadata"]["class_identifying"])
    assert {"meta_url", "meta_source", "meta_site_name"} <= flagged
    assert flagged <= set(report["metadata"]["class_predictive"])
    off, off_report = scrub(corpus, ScrubOptions(origin=False))
    assert off["text"].str.contains("Hoax Daily").sum() == 6 and "origin" not in off_report["rules"]


def test_origin_fields_are_configurable(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.jsonl", "\n".join(json.dumps(
        {"text": f"Story {i} via Daily Hoax", "label": i % 2, "outlet": "Daily Hoax",
         "link": f"https://hoax.example/{i}"}) for i in range(4)))
    corpus = load_json(path, label_field="label",
                       origin_fields={"site_name": "outlet", "url": "link"})
    assert corpus["meta_site_name"].eq("Daily Hoax").all() and "meta_outlet" not in corpus
    assert "meta_source" not in corpus.columns
    scrubbed, _ = scrub(corpus)
    assert scrubbed["text"].tolist() == [f"Story {i} via" for i in range(4)]


def test_origin_scrub_only_touches_its_own_row(tmp_path: Path) -> None:
    root = tmp_path / "j"
    _write(root / "fake" / "a.json", _article("A", "Politico says so.", source="Hoax Daily"))
    _write(root / "real" / "b.json", _article("B", "Hoax Daily says so.", source="Politico"))
    scrubbed, _ = scrub(load_json(root))
    assert scrubbed["text"].tolist() == ["A\n\nPolitico says so.", "B\n\nHoax Daily says so."]


def test_json_lines_with_fields_and_split(tmp_path: Path) -> None:
    lines = [
        {"uid": "n1", "body": "first text", "headline": "H1", "verdict": "FAKE", "fold": "train"},
        {"uid": "n2", "body": "second text", "headline": "H2", "verdict": "real", "fold": "dev"},
        {"uid": "n3", "body": "third text", "headline": "", "verdict": "0", "fold": "test"},
    ]
    path = _write(tmp_path / "news.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    corpus = load_json(path, text_field="body", title_field="headline", label_field="verdict",
                       id_field="uid", split_field="fold")
    assert corpus["id"].tolist() == ["json:n1", "json:n2", "json:n3"]
    assert corpus["label"].tolist() == [1, 0, 0]
    assert corpus["text"].tolist() == ["H1\n\nfirst text", "H2\n\nsecond text", "third text"]
    assert corpus["meta_split"].tolist() == ["train", "valid", "test"]
    plain = load_json(path, text_field="body", label_field="verdict")
    assert plain["id"].tolist() == ["json:news.jsonl:1", "json:news.jsonl:2", "json:news.jsonl:3"]


def test_json_split_files_name_the_split(tmp_path: Path) -> None:
    for split in ("train", "test"):
        _write(tmp_path / f"{split}.jsonl",
               "\n".join(json.dumps({"text": f"{split} {i}", "label": i % 2}) for i in range(4)))
    corpus = load_json(tmp_path, label_field="label")
    assert sorted(set(corpus["meta_split"])) == ["test", "train"]
    assert corpus["id"].str.startswith(("json:train.jsonl:", "json:test.jsonl:")).all()


def test_json_bad_inputs_name_file_line_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.jsonl",
                  '{"text": "ok", "label": "fake"}\n{"text": "broken",\n')
    with pytest.raises(CorpusError, match=r"bad\.jsonl, line 2: not valid JSON"):
        load_json(path, label_field="label")
    path = _write(tmp_path / "fields.jsonl",
                  '{"body": "no text field", "label": "fake"}\n{"text": "t", "label": "satire"}\n[1, 2]\n')
    with pytest.raises(CorpusError) as info:
        load_json(path, label_field="label")
    message = str(info.value)
    assert "fields.jsonl, line 1: field 'text' is missing" in message
    assert "fields.jsonl, line 2: label='satire' is not in the label map" in message
    assert "fields.jsonl, line 3: expected a JSON object, got list" in message
    with pytest.raises(CorpusError, match=r"no enclosing folder is in the label map"):
        load_json(_write(tmp_path / "x" / "misc" / "a.json", _article("t", "x")))
    with pytest.raises(CorpusError, match=r"column 'fold' has unknown split value\(s\) \['holdout'\]"):
        load_json(_write(tmp_path / "s.jsonl", '{"text": "a", "label": 1, "fold": "holdout"}\n'),
                  label_field="label", split_field="fold")
    with pytest.raises(InputError, match=r"no \*\.json or \*\.jsonl files found"):
        load_json(_write(tmp_path / "empty" / "note.txt", "x").parent)


def test_json_articles_prepare_end_to_end(tmp_path: Path) -> None:
    root = tmp_path / "many"
    for cls, word in (("fake", "hoax"), ("real", "council")):
        for i in range(12):
            _write(root / cls / f"{i}.json",
                   _article(f"{word} {i}", f"{word} story number {i} with detail {i * 7}",
                            url=f"https://{cls}site.com/{i}", source=f"{cls.title()} Site"))
    prepared = prepare_corpus(load_json(root), "json", PrepareOptions(test_size=0.25))
    assert len(prepared.train) + len(prepared.test) == 24
    assert prepared.report["scrub"]["metadata"]["class_identifying"]
