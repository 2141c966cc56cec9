"""scrub: every rule, its report entry, whitespace, metadata analysis and options."""

from __future__ import annotations

import pandas as pd
import pytest

from fnlib.data.scrub import ScrubOptions, metadata_report, scrub


def _scrub_one(text: str, options: ScrubOptions | None = None) -> tuple[str, dict]:
    df = pd.DataFrame({"id": ["t:0"], "text": [text], "label": [1], "source": ["test"]})
    out, report = scrub(df, options)
    return out.loc[0, "text"], report


def _changed(report: dict) -> dict[str, int]:
    return {
        name: rule["rows_changed"] for name, rule in report["rules"].items() if rule["rows_changed"]
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("WASHINGTON (Reuters) - The Senate voted.", "The Senate voted."),
        (
            "Budget passes\n\nLIMA, Peru (Reuters) - Congress agreed.",
            "Budget passes\n\nCongress agreed.",
        ),
        ("SAN FRANCISCO/NEW YORK (Reuters) - Shares rose.", "Shares rose."),
        ("(Reuters) - Oil fell.", "Oil fell."),
        ("Storm nears\n\nMIAMI (AP) \u2014 Winds grew.", "Storm nears\n\nWinds grew."),
    ],
)
def test_dateline(text: str, expected: str) -> None:
    out, report = _scrub_one(text)
    assert out == expected
    assert _changed(report) == {"dateline": 1}


def test_dateline_only_at_the_start_of_the_body() -> None:
    text = "Title\n\nBody text.\nLater, LONDON (Reuters) - quoted inside the article."
    out, report = _scrub_one(text)
    assert out == text and _changed(report) == {}


def test_wire_says() -> None:
    out, report = _scrub_one("Big story\n\n21st Century Wire says The plan failed.")
    assert out == "Big story\n\nThe plan failed."
    assert report["rules"]["wire_says"]["examples"] == [
        {"id": "t:0", "removed": "21st Century Wire says"}
    ]


@pytest.mark.parametrize(
    "credit",
    [
        "Featured image via Chip Somodevilla/Getty Images",
        "Featured Image via screen capture",
        "Photo by Win McNamee/Getty Images.",
    ],
)
def test_image_credit(credit: str) -> None:
    out, report = _scrub_one(f"Headline\n\nThe end of the story.\n\n{credit}")
    assert out == "Headline\n\nThe end of the story."
    assert _changed(report) == {"image_credit": 1}
    glued, _ = _scrub_one(f"The end of the story.{credit}")
    assert glued == "The end of the story."


def test_image_credit_only_at_the_end() -> None:
    text = "Featured image via a friend is how it started. Then the story went on."
    out, report = _scrub_one(text)
    assert out == text and _changed(report) == {}


def test_twitter_links_and_handles_at_line_ends() -> None:
    text = (
        "Look at this pic.twitter.com/AbC123 now\nTruth matters\n- A Reader (@reader_1) "
        "December 3, 2017\nEmail me at someone@example mid-line\nSigned @someone"
    )
    out, report = _scrub_one(text, ScrubOptions(urls=False))
    assert out == (
        "Look at this now\nTruth matters\n- A Reader\nEmail me at someone@example mid-line\nSigned"
    )
    examples = report["rules"]["twitter"]["examples"][0]["removed"]
    assert "pic.twitter.com/AbC123" in examples and "@reader_1" in examples


def test_urls_and_bare_domains() -> None:
    text = (
        "Read https://www.example-news.com/2017/story?id=3, then www.other.org/page. "
        "Also CNN.com/politics/x and nytimes.com said it. The U.S. e.g. stays."
    )
    out, report = _scrub_one(text)
    assert out == "Read , then . Also and said it. The U.S. e.g. stays."
    assert _changed(report) == {"url": 1, "domain": 1}
    assert report["rules"]["url"]["examples"][0]["removed"].startswith(
        "https://www.example-news.com"
    )


def test_examples_are_truncated_to_60_chars() -> None:
    _, report = _scrub_one("See https://example.com/" + "a" * 200 + " now")
    removed = report["rules"]["url"]["examples"][0]["removed"]
    assert len(removed) == 60 and removed.endswith("...")


def test_whitespace_normalised_where_changed_and_prose_untouched() -> None:
    df = pd.DataFrame(
        {
            "id": ["a", "b"],
            "text": [
                "Title\r\n\r\n\r\nNEW YORK (Reuters) -   Two  spaces\t here \n\n\n\nend  ",
                "Untouched  prose, with  double spaces.",
            ],
            "label": [0, 1],
            "source": "test",
        }
    )
    out, report = scrub(df)
    assert out["text"].tolist() == ["Title\n\nTwo spaces here\n\nend", df.loc[1, "text"]]
    assert report["rows_changed"] == 1 and report["whitespace_normalised"] == 1
    assert df.loc[0, "text"].startswith("Title\r\n")  # the input frame is not modified


def test_options_switch_rule_groups_off() -> None:
    text = "WASHINGTON (Reuters) - See cnn.com today."
    out, report = _scrub_one(text, ScrubOptions(markers=False))
    assert out == "WASHINGTON (Reuters) - See today." and "dateline" not in report["rules"]
    out, report = _scrub_one(text, ScrubOptions(urls=False))
    assert out == "See cnn.com today." and "domain" not in report["rules"]


def test_blank_after_scrub_is_counted() -> None:
    out, report = _scrub_one("https://example.com/only-a-link\nFeatured image via Twitter")
    assert out == "" and report["blank_after_scrub"] == 1


def test_metadata_dropped_and_class_identifying_columns_reported() -> None:
    n = 40
    df = pd.DataFrame(
        {
            "id": [f"d{i}" for i in range(n)],
            "text": [f"text {i}" for i in range(n)],
            "label": [i % 2 for i in range(n)],
            "source": "test",
            "meta_subject": ["politicsNews" if i % 2 == 0 else "left-news" for i in range(n)],
            "meta_split": ["train" if i < 20 else "test" for i in range(n)],
            "meta_url": [f"https://x.com/{i}" for i in range(n)],
        }
    )
    out, report = scrub(df)
    assert list(out.columns) == ["id", "text", "label", "source"]
    meta = report["metadata"]
    assert meta["dropped"] == ["meta_subject", "meta_split", "meta_url"]
    assert meta["class_identifying"] == ["meta_subject"]
    by_column = {m["column"]: m for m in meta["columns"]}
    assert by_column["meta_subject"]["majority_accuracy"] == 1.0
    assert by_column["meta_split"]["majority_accuracy"] == 0.5
    assert by_column["meta_url"]["coverage"] == 0.0  # unique values cannot generalise
    kept, report = scrub(df, ScrubOptions(drop_metadata=False))
    assert "meta_subject" in kept.columns and report["metadata"]["dropped"] == []


def test_metadata_rule_ignores_a_skewed_majority() -> None:
    df = pd.DataFrame({"label": [0] * 97 + [1] * 3, "meta_lang": ["en"] * 100})
    assert metadata_report(df)[0]["class_identifying"] is False


def test_url_columns_are_also_judged_by_host() -> None:
    labels = [i % 2 for i in range(20)]
    urls = [
        f"https://www.{'hoax-daily.com' if y else 'city-paper.org'}/story/{i}"
        for i, y in enumerate(labels)
    ]
    entry = metadata_report(pd.DataFrame({"label": labels, "meta_url": urls}))[0]
    assert entry["coverage"] == 0.0  # every URL is unique ...
    assert entry["url_host"] == {
        "distinct_values": 2,
        "coverage": 1.0,
        "majority_accuracy": 1.0,
        "class_identifying": True,
        "class_predictive": True,
    }
    assert entry["class_identifying"] is True  # ... but the host gives the class away


def test_a_source_that_mostly_gives_the_class_away_is_flagged_predictive() -> None:
    # 10 outlets of 10 articles each: 9 outlets publish one class 90% of the time, 1 is mixed
    labels, outlets = [], []
    for outlet in range(10):
        for i in range(10):
            majority = outlet % 2
            labels.append(majority if (outlet < 9 and i < 9) or (outlet == 9 and i < 5) else 1 - majority)
            outlets.append(f"outlet-{outlet}")
    entry = metadata_report(pd.DataFrame({"label": labels, "meta_source": outlets}))[0]
    assert entry["majority_accuracy"] == 0.86
    assert entry["class_identifying"] is False and entry["class_predictive"] is True
    mixed = metadata_report(pd.DataFrame({"label": labels, "meta_source": ["one"] * 100}))[0]
    assert mixed["class_predictive"] is False  # one value: no better than the majority class
