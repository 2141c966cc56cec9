"""Bad input never gets in: one table of malformed inputs across every entry point.

Each case feeds one malformed input to a real entry point (the dataset stage on a file, the
monitoring stage on log parts in the bucket, batch scoring on an incoming file, Params, the
``fn`` CLI, manifests named by id or URI) against a real S3 endpoint holding a real champion.
Every case must fail with an :class:`fnlib.errors.FnError` whose message names the problem
(and the rows, where rows exist), and the bucket must hold exactly the object versions it held
before: no object, version or manifest is written.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fnlib.errors import FnError

NB = {"model": "nb", "variant": "raw", "vectorizer": {"ngram_max": 1, "min_df": 1},
      "params": {"alpha": 1.0}}
DAY = "2026-11-02"
STAMP = f"{DAY}T06:00:00Z"
GOOD_ROWS = [
    ["a1", "Senate passes the annual budget after a long debate", "real"],
    ["a2", "Aliens secretly run the central bank, insiders claim", "fake"],
    ["a3", "City council approves new bus routes for the autumn", "real"],
    ["a4", "Miracle fruit cures every disease overnight, doctors stunned", "fake"],
    ["a5", "Local school wins the regional science fair", "real"],
    ["a6", "Celebrity clone replaced the real singer years ago", "fake"],
]


@dataclass
class Ctx:
    store: Any
    tmp: Path
    world: dict[str, Any]
    capsys: Any
    setup_keys: list[str] = field(default_factory=list)

    def file(self, name: str, content: bytes | str) -> str:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return str(path)

    def put(self, key: str, content: bytes | str) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        self.store.put_bytes(key, data)
        self.setup_keys.append(key)


@dataclass(frozen=True)
class Case:
    id: str
    entry: str
    run: Callable[[Ctx], str]
    expect: tuple[str, ...]
    setup: Callable[[Ctx], None] | None = None


def _raises(fn: Callable[[], Any]) -> str:
    try:
        fn()
    except FnError as exc:
        return str(exc)
    raise AssertionError("the malformed input was accepted")


def _csv(rows: list[list[str]], header: tuple[str, ...] = ("id", "text", "label")) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _with(index: int, column: int, value: str) -> list[list[str]]:
    rows = [list(r) for r in GOOD_ROWS]
    rows[index][column] = value
    return rows


def _ingest_csv(content: bytes | str, **options: Any) -> Callable[[Ctx], str]:
    def run(ctx: Ctx) -> str:
        from fnlib.stages.dataset import DatasetRequest, ingest

        path = ctx.file(f"in-{uuid.uuid4().hex[:8]}.csv", content)
        opts = {"id_column": "id", **options}
        return _raises(lambda: ingest(ctx.store, DatasetRequest(source="csv", path=path,
                                                                options=opts)))
    return run


def _ingest(source: str, files: dict[str, bytes | str], **request: Any) -> Callable[[Ctx], str]:
    def run(ctx: Ctx) -> str:
        from fnlib.stages.dataset import DatasetRequest, ingest

        folder = ctx.tmp / f"{source}-{uuid.uuid4().hex[:8]}"
        for name, content in files.items():
            ctx.file(f"{folder.name}/{name}", content)
        folder.mkdir(exist_ok=True)
        return _raises(lambda: ingest(ctx.store, DatasetRequest(source=source, path=str(folder),
                                                                **request)))
    return run


def _liar_line(label: str, statement: str, sep: str = "\t") -> str:
    fields = [f"{uuid.uuid4().hex[:6]}.json", label, statement, "economy", "someone", "job",
              "state", "party", "0", "0", "0", "0", "0", "a speech"]
    return sep.join(fields) + "\n"


def _monitor_on(kind: str, content: bytes | str) -> tuple[Callable, Callable]:
    """Put one malformed log part for DAY, then run the monitoring stage on DAY."""
    from fnlib.catalog import partition_key

    def setup(ctx: Ctx) -> None:
        ctx.put(partition_key(kind, DAY, "bad-part"), content)

    def run(ctx: Ctx) -> str:
        from fnlib.stages.monitor import monitor

        return _raises(lambda: monitor(ctx.store, f"{DAY}T00:00:00+00:00",
                                       f"{DAY}T00:00:00+00:00"))
    return setup, run


def _feedback(rows: list[list[str]], header=("id", "label", "text", "received_at", "day")) -> str:
    return _csv(rows, header)


def _predictions(rows: list[list[Any]], extra: bool = False) -> str:
    from fnlib.monitoring.logs import PREDICTION_COLUMNS, text_sha256

    header = (*PREDICTION_COLUMNS, "extra") if extra else PREDICTION_COLUMNS
    out = []
    for row_id, text, score in rows:
        row = [row_id, text_sha256(text), text, "1", str(score), "mdl-x", "v1", STAMP, DAY, ""]
        out.append(row + ["x"] if extra else row)
    return _csv(out, header)


def _incoming(content: bytes | str) -> tuple[Callable, Callable]:
    def setup(ctx: Ctx) -> None:
        from fnlib.catalog import incoming_key

        ctx.put(incoming_key(DAY, "batch-bad"), content)

    def run(ctx: Ctx) -> str:
        from fnlib.stages.score import score_incoming

        return _raises(lambda: score_incoming(ctx.store, days=[DAY]))
    return setup, run


def _manifest_at(object_id: str, content: bytes | str) -> tuple[Callable, Callable]:
    def setup(ctx: Ctx) -> None:
        ctx.put(f"datasets/{object_id}/manifest.json", content)

    def run(ctx: Ctx) -> str:
        from fnlib.stages.train import TrainRequest, train

        return _raises(lambda: train(ctx.store, TrainRequest(dataset_id=object_id, config=NB)))
    return setup, run


def _cli(*argv: str) -> Callable[[Ctx], str]:
    def run(ctx: Ctx) -> str:
        from fnlib.cli import main

        ctx.capsys.readouterr()
        code = main([a.replace("{ds}", ctx.world["dataset_id"]) for a in argv])
        out = ctx.capsys.readouterr()
        assert code == 2, f"exit code {code}: {out.out} {out.err}"
        assert "Traceback" not in out.out + out.err
        return out.out
    return run


def _train(**request: Any) -> Callable[[Ctx], str]:
    def run(ctx: Ctx) -> str:
        from fnlib.stages.train import TrainRequest, train

        return _raises(lambda: train(ctx.store, TrainRequest(**request)))
    return run


def _call(fn: Callable[[Ctx], Any]) -> Callable[[Ctx], str]:
    return lambda ctx: _raises(lambda: fn(ctx))


def _dataset_params(params: dict[str, Any]) -> Callable[[Ctx], Any]:
    def run(ctx: Ctx) -> Any:
        from fnlib.stages.dataset import DatasetRequest

        return DatasetRequest.from_params(params)
    return run


HUGE = " ".join(["word"] * 2_000_000)  # 10 MB of text in one cell

feedback_missing = _monitor_on("feedback", _feedback(
    [["f1", "fake", "some text", DAY]], ("id", "label", "text", "day")))
feedback_stamp = _monitor_on("feedback", _feedback(
    [["f1", "fake", "text one", STAMP, DAY], ["f2", "real", "text two", "yesterday", DAY]]))
feedback_formula = _monitor_on("feedback", _feedback(
    [["=cmd|' /C calc'!A0", "fake", "text", STAMP, DAY]]))
feedback_latin1 = _monitor_on("feedback", _feedback(
    [["f1", "fake", "caf\u00e9 story", STAMP, DAY]]).encode("latin-1"))
predictions_score = _monitor_on("predictions", _predictions(
    [["p1", "first text", 0.2], ["p2", "second text", 1.7]]))
predictions_extra = _monitor_on("predictions", _predictions([["p1", "text", 0.2]], extra=True))
predictions_dup = _monitor_on("predictions", _predictions(
    [["p1", "first text", 0.2], ["p1", "second text", 0.4]]))
predictions_sha = _monitor_on("predictions", _predictions([["p1", "text", 0.3]]).replace(
    ",text,1,", ",tampered text,1,"))
incoming_latin1 = _incoming(_csv([["n1", "caf\u00e9 au lait"]], ("id", "text")).encode("latin-1"))
incoming_columns = _incoming(_csv([["n1", "hello"]], ("id", "body")))
manifest_garbage = _manifest_at("ds-badjson", b"{not json")
manifest_fields = _manifest_at("ds-badfields", b'{"kind": "dataset"}')
manifest_nosha = _manifest_at("ds-nosha", b'{"kind": "dataset", "id": "ds-nosha", "objects": '
                                          b'{"train": {"uri": "s3://b/datasets/x/train.csv"}}}')
manifest_kind = _manifest_at("ds-wrongkind", b'{"kind": "model", "id": "mdl-other", '
                                             b'"objects": {}}')

CASES = [
    # raw corpora (fn_dataset ingest on a file)
    Case("csv-truncated", "raw corpus", _ingest_csv(_csv(GOOD_ROWS) + 'a9,"unterminated text'),
         ("cannot parse", "EOF inside string")),
    Case("csv-ragged-rows", "raw corpus", _ingest_csv(_csv(GOOD_ROWS) + "a9,text,fake,x,y\n"),
         ("cannot parse", "Expected 3 fields")),
    Case("csv-wrong-delimiter", "raw corpus", _ingest_csv(_csv(GOOD_ROWS).replace(",", ";")),
         ("missing column(s)", "wrong delimiter")),
    Case("csv-missing-column", "raw corpus",
         _ingest_csv(_csv([r[:2] for r in GOOD_ROWS], ("id", "text"))),
         ("missing column(s) label",)),
    Case("csv-unknown-label", "raw corpus", _ingest_csv(_csv(_with(2, 2, "maybe"))),
         ("label(s) ['maybe']", "rows 2")),
    Case("csv-one-class", "raw corpus",
         _ingest_csv(_csv([[r[0], r[1], "fake"] for r in GOOD_ROWS])),
         ("single_class", "only fake documents")),
    Case("csv-empty-text", "raw corpus", _ingest_csv(_csv(_with(1, 1, ""))),
         ("empty_text", "rows 1")),
    Case("csv-whitespace-text", "raw corpus", _ingest_csv(_csv(_with(3, 1, "  \t  "))),
         ("empty_text", "rows 3")),
    Case("csv-10mb-text", "raw corpus", _ingest_csv(_csv(_with(0, 1, HUGE))),
         ("text_too_long", "rows 0")),
    Case("csv-non-utf8", "raw corpus",
         _ingest_csv(_csv(_with(2, 1, "caf\u00e9 story")).encode("latin-1")),
         ("non-UTF-8 bytes", "line 4")),
    Case("csv-formula-text", "raw corpus",
         _ingest_csv(_csv(_with(1, 1, '=HYPERLINK("http://evil.example","read more")'))),
         ("formula_injection", "rows 1")),
    Case("csv-formula-dde", "raw corpus",
         _ingest_csv(_csv(_with(4, 1, "@SUM(1+1)*cmd|' /C calc'!A0"))),
         ("formula_injection", "rows 4")),
    Case("csv-duplicate-ids", "raw corpus", _ingest_csv(_csv(_with(5, 0, "a1"))),
         ("duplicate_id", "csv:a1", "rows 0, 5")),
    Case("csv-empty-file", "raw corpus", _ingest_csv(b""), ("the file is empty",)),
    Case("csv-header-only", "raw corpus", _ingest_csv("id,text,label\n"), ("too_few_rows",)),
    Case("csv-no-such-file", "raw corpus",
         _call(lambda ctx: __import__("fnlib.stages.dataset", fromlist=["x"]).ingest(
             ctx.store, __import__("fnlib.stages.dataset", fromlist=["x"]).DatasetRequest(
                 source="csv", path=str(ctx.tmp / "absent.csv")))),
         ("no such file", "absent.csv")),
    Case("isot-missing-file", "raw corpus",
         _ingest("isot", {"Fake.csv": _csv([["t", "b", "s", "d"]], ("title", "text", "subject",
                                                                    "date"))}),
         ("True.csv", "no such file")),
    Case("liar-comma-separated", "raw corpus",
         _ingest("liar", {"train.tsv": _liar_line("false", "a claim", sep=",") * 3},
                 options={"splits": ["train"]}),
         ("tab-separated fields", "wrong delimiter")),
    Case("liar-unknown-label", "raw corpus",
         _ingest("liar", {"train.tsv": _liar_line("false", "one") + _liar_line("mostly-false",
                                                                                "two")},
                 options={"splits": ["train"]}),
         ("mostly-false", "not in the mapping", "rows 1")),
    # feedback and prediction logs (read by the monitoring stage from the bucket)
    Case("feedback-missing-column", "feedback log", feedback_missing[1],
         ("missing column(s) received_at", "feedback/day=2026-11-02/part-bad-part.csv"),
         feedback_missing[0]),
    Case("feedback-bad-timestamp", "feedback log", feedback_stamp[1],
         ("received_at must be an ISO-8601 timestamp", "rows 1"), feedback_stamp[0]),
    Case("feedback-formula-id", "feedback log", feedback_formula[1],
         ("formula_injection", "rows 0"), feedback_formula[0]),
    Case("feedback-non-utf8", "feedback log", feedback_latin1[1],
         ("non-UTF-8 bytes", "part-bad-part.csv"), feedback_latin1[0]),
    Case("predictions-score-range", "prediction log", predictions_score[1],
         ("score must be a number between 0 and 1", "rows 1"), predictions_score[0]),
    Case("predictions-extra-column", "prediction log", predictions_extra[1],
         ("unexpected ['extra']",), predictions_extra[0]),
    Case("predictions-duplicate-ids", "prediction log", predictions_dup[1],
         ("id appears more than once", "rows 0, 1"), predictions_dup[0]),
    Case("predictions-sha-mismatch", "prediction log", predictions_sha[1],
         ("text_sha256 does not match the text", "rows 0"), predictions_sha[0]),
    # incoming articles (batch scoring)
    Case("incoming-non-utf8", "incoming articles", incoming_latin1[1],
         ("not a readable UTF-8 CSV", "incoming/day=2026-11-02/batch-bad.csv"),
         incoming_latin1[0]),
    Case("incoming-missing-column", "incoming articles", incoming_columns[1],
         ("missing column(s) ['text']",), incoming_columns[0]),
    # Params and CLI arguments
    Case("params-unknown-name", "Params", _call(_dataset_params({"sorce": "csv"})),
         ("unknown dataset parameters ['sorce']",)),
    Case("params-test-size", "Params", _call(_dataset_params({"test_size": 1.5})),
         ("test_size must be between 0 and 1",)),
    Case("params-unknown-source", "Params",
         _call(lambda ctx: __import__("fnlib.stages.dataset", fromlist=["x"]).ingest(
             ctx.store, __import__("fnlib.stages.dataset", fromlist=["x"]).DatasetRequest(
                 source="kaggle"))),
         ("unknown source 'kaggle'",)),
    Case("params-label-mapping", "Params",
         _call(_dataset_params({"source": "liar", "path": "x", "label_mapping": {"false": 2}})),
         ("label_mapping values must be 0 (real) or 1 (fake)",)),
    Case("params-loader-option", "Params", _ingest_csv(_csv(GOOD_ROWS), text_col="body"),
         ("does not take option(s) ['text_col']",)),
    Case("params-train-unknown", "Params", _call(lambda ctx: __import__(
        "fnlib.stages.train", fromlist=["x"]).TrainRequest.from_params({"f1floor": 0.5})),
         ("unknown training parameters ['f1floor']",)),
    Case("params-tune-folds", "Params", _call(lambda ctx: __import__(
        "fnlib.stages.tune", fromlist=["x"]).TuneRequest(dataset_id="ds-x", folds=1)),
         ("folds must be between 2 and 20",)),
    Case("params-drift-threshold", "Params", _call(lambda ctx: __import__(
        "fnlib.stages.monitor", fromlist=["x"]).monitor(
            ctx.store, f"{DAY}T00:00:00+00:00", f"{DAY}T00:00:00+00:00",
            thresholds={"psi_typo": 1})),
         ("unknown drift threshold(s) psi_typo",)),
    Case("params-bad-interval", "Params", _call(lambda ctx: __import__(
        "fnlib.stages.monitor", fromlist=["x"]).monitor(ctx.store, "yesterday", "today")),
         ("interval start 'yesterday' is not an ISO-8601 timestamp",)),
    Case("cli-label-mapping-json", "CLI",
         _cli("dataset", "--source", "liar", "--path", "x", "--label-mapping", "{false: 1}"),
         ("error: --label-mapping is not valid JSON",)),
    Case("cli-config-not-object", "CLI",
         _cli("train", "--dataset-id", "{ds}", "--config", '["nb"]'),
         ("error: --config must be a JSON object",)),
    Case("cli-unknown-model", "CLI", _cli("models", "show", "mdl-0000000000000000"),
         ("error: no model with id 'mdl-0000000000000000'",)),
    # unknown dataset / model ids
    Case("unknown-dataset-id", "ids", _train(dataset_id="ds-0000000000000000", config=NB),
         ("no dataset with id 'ds-0000000000000000'",)),
    Case("unknown-tuning-id", "ids", _train(tuning_id="tune-0000000000000000"),
         ("no tuning with id 'tune-0000000000000000'",)),
    Case("unknown-model-promote", "ids", _call(lambda ctx: __import__(
        "fnlib.registry", fromlist=["x"]).promote(ctx.store, "mdl-nope", "manual")),
         ("no model with id 'mdl-nope'",)),
    Case("unknown-model-type", "ids",
         lambda ctx: _train(dataset_id=ctx.world["dataset_id"], config={"model": "gpt"})(ctx),
         ("gpt",)),
    # path traversal in names and keys
    Case("traversal-dataset-id", "names/keys", _train(dataset_id="../registry", config=NB),
         ("invalid object key", "'..'")),
    Case("traversal-tuning-id", "names/keys", _train(tuning_id="../../models/x"),
         ("invalid object key",)),
    Case("traversal-incoming-name", "names/keys", _call(lambda ctx: __import__(
        "fnlib.catalog", fromlist=["x"]).incoming_key(DAY, "../../registry/champion")),
         ("invalid incoming file name",)),
    Case("traversal-log-part", "names/keys", _call(lambda ctx: __import__(
        "fnlib.catalog", fromlist=["x"]).partition_key("feedback", DAY, "../../x")),
         ("log part must be 1-128 characters",)),
    Case("traversal-manifest-uri", "names/keys", _call(lambda ctx: __import__(
        "fnlib.storage.lineage", fromlist=["x"]).walk_lineage(
            ctx.store, f"s3://{ctx.store.bucket}/datasets/../registry/champion.json")),
         ("invalid object key", "'..'")),
    # manifests
    Case("manifest-not-json", "manifest", manifest_garbage[1], ("is not valid JSON",),
         manifest_garbage[0]),
    Case("manifest-missing-fields", "manifest", manifest_fields[1],
         ("not a manifest: missing ['id', 'objects']",), manifest_fields[0]),
    Case("manifest-object-without-sha", "manifest", manifest_nosha[1],
         ("object reference without sha256",), manifest_nosha[0]),
    Case("manifest-wrong-kind", "manifest", manifest_kind[1],
         ("holds the model manifest 'mdl-other', not the dataset 'ds-wrongkind'",),
         manifest_kind[0]),
]


@pytest.fixture(scope="module")
def world(champion_bucket):
    """A bucket with a real champion (dataset + naive Bayes model) and nothing else."""
    store, ds, trained = champion_bucket("fn-rel-input", seed=1)
    return {"store": store, "dataset_id": ds["dataset_id"], "model_id": trained["model_id"]}


def test_the_table_is_large_and_covers_every_entry_point():
    assert len(CASES) >= 25
    assert len({c.id for c in CASES}) == len(CASES)
    assert {c.entry for c in CASES} >= {"raw corpus", "feedback log", "prediction log",
                                        "incoming articles", "Params", "CLI", "ids",
                                        "names/keys", "manifest"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_input_is_rejected_and_nothing_is_written(case, world, tmp_path, capsys,
                                                           monkeypatch, rel):
    store = world["store"]
    monkeypatch.setenv("FN_BUCKET", store.bucket)
    ctx = Ctx(store=store, tmp=tmp_path, world=world, capsys=capsys)
    try:
        if case.setup:
            case.setup(ctx)
        before = rel.all_versions(store)
        message = case.run(ctx)
        for fragment in case.expect:
            assert fragment in message, f"{fragment!r} not in the error:\n{message}"
        assert rel.all_versions(store) == before, "the rejected input wrote to the bucket"
    finally:
        for key in ctx.setup_keys:  # leave the bucket as the next case expects it
            for version in store.list_versions(key):
                store.client.delete_object(Bucket=store.bucket, Key=key,
                                           VersionId=version["VersionId"])


def test_formula_rows_in_incoming_files_are_rejected_and_defused(world, rel):
    """Batch scoring rejects formula rows one by one (the rest of the file is scored) and the
    rejection report carries the cell defused with a leading quote."""
    from fnlib.catalog import incoming_key
    from fnlib.monitoring.logs import read_log_csv
    from fnlib.stages.score import score_incoming

    store = world["store"]
    day = "2026-11-03"
    payload = "=HYPERLINK(\"http://evil.example\",\"x\")"
    store.put_bytes(incoming_key(day, "batch-formula"),
                    _csv([["n1", "The council approved the new budget today"],
                          ["n2", payload], ["=2+3", "A plain article about the weather"]],
                         ("id", "text")).encode())
    summary = score_incoming(store, days=[day])
    assert summary["scored"] == 1 and summary["rejected"] == 2
    rejected = [k for k in store.list_keys(f"incoming-rejected/day={day}/")]
    report = store.get_bytes(store.head(rejected[0])).decode()
    assert "'" + payload.replace('"', '""') in report and "'=2+3" in report
    assert "spreadsheet formula" in report
    (predictions,) = store.list_keys(f"predictions/day={day}/")
    frame = read_log_csv(store.get_bytes(store.head(predictions)), "predictions", predictions)
    assert frame["id"].tolist() == ["n1"]


def test_bad_params_and_bad_files_fail_the_dag_without_retry(run_dag, fn_bucket, tmp_path, rel):
    """Through Airflow: a typo in the run conf and a formula-injection file both fail the
    ingest task on its first try (bad input is not retried) and write nothing."""
    path = tmp_path / "formula.csv"
    path.write_text(_csv([r[1:] for r in _with(1, 1, "=1+1")], ("text", "label")))
    before = rel.all_versions(fn_bucket)
    for conf in ({"source": "synthetic", "n_docz": 50}, {"source": "csv", "path": str(path)}):
        run = run_dag("fn_dataset", run_conf=conf)
        assert run.state == "failed", conf
        ingest = run.get_task_instance("ingest")
        assert ingest.state == "failed" and ingest.try_number == 1, (conf, ingest.try_number)
        assert run.get_task_instance("commit").state != "success"
    assert rel.all_versions(fn_bucket) == before


def test_the_report_lists_every_case():
    """docs/reliability.md carries the table of cases and the count of this suite."""
    report = (Path(__file__).resolve().parents[2] / "docs" / "reliability.md").read_text()
    missing = [c.id for c in CASES if f"| `{c.id}` | {c.entry} |" not in report]
    assert not missing, f"cases missing from docs/reliability.md: {missing}"
    assert f"| {len(CASES)} + 2 + 2 = {len(CASES) + 4} |" in report
