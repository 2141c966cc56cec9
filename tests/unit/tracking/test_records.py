"""The .wandb record-log reader: synthetic logs for the edge cases, one real offline run."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
import wandb_records as records

from fnlib.errors import InputError
from fnlib.tracking.records import BLOCK_SIZE, RecordFormatError, wait_for_exit_record

pb = pytest.importorskip("wandb.proto.wandb_internal_pb2")


def write_log(path: Path, payloads: list[bytes], block: int = BLOCK_SIZE) -> Path:
    """A minimal LevelDB-log writer with the W&B header, independent of the reader."""
    out = bytearray(struct.pack("<4sHB", b":W&B", 0xBEE1, 0))
    for payload in payloads:
        rest, first = payload, True
        while True:
            left = block - len(out) % block
            if left < 7:
                out += b"\0" * left
                continue
            take = min(len(rest), left - 7)
            last = take == len(rest)
            kind = (1 if last else 2) if first else (4 if last else 3)
            chunk = rest[:take]
            crc = zlib.crc32(chunk, zlib.crc32(bytes([kind])))
            out += struct.pack("<IHB", crc, len(chunk), kind) + chunk
            rest, first = rest[take:], False
            if last:
                break
    path.write_bytes(bytes(out))
    return path


def history_record(step: int, **values: object) -> bytes:
    rec = pb.Record()
    for key, value in values.items():
        item = rec.history.item.add()
        item.key = key
        item.value_json = repr(value) if not isinstance(value, str) else f'"{value}"'
    item = rec.history.item.add()
    item.key, item.value_json = "_step", str(step)
    return rec.SerializeToString()


def test_reads_records_across_blocks(tmp_path: Path) -> None:
    big = history_record(0, text="x" * 100_000)  # FIRST, MIDDLE..., LAST chunks
    small = [history_record(i, loss=1.0 / i) for i in range(1, 200)]
    path = write_log(tmp_path / "run-a.wandb", [small[0], big, *small[1:]])
    rows = records.history(path)
    assert len(rows) == 200
    assert rows[1]["text"] == "x" * 100_000
    assert rows[-1] == {"loss": 1.0 / 199, "_step": 199}


def record_of_size(size: int) -> bytes:
    """A serialized Record of exactly ``size`` bytes."""
    for fill in range(size, 0, -1):
        data = pb.Record(num=7, uuid="u" * fill).SerializeToString()
        if len(data) == size:
            return data
    raise AssertionError(f"no record of {size} bytes")


def test_block_trailer_padding(tmp_path: Path) -> None:
    # The first record ends 3 bytes before the block end: too few for a chunk header, so
    # the writer pads them with zeros and the next record starts in the next block.
    first = record_of_size(BLOCK_SIZE - 7 - 7 - 3)
    path = write_log(tmp_path / "run-b.wandb", [first, pb.Record(num=8).SerializeToString()])
    assert path.read_bytes()[BLOCK_SIZE - 3 : BLOCK_SIZE] == b"\0\0\0"
    assert [r.num for r in records.iter_records(path)] == [7, 8]


def test_corruption_and_bad_header_fail(tmp_path: Path) -> None:
    path = write_log(tmp_path / "run-c.wandb", [history_record(0, a=1)])
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RecordFormatError, match="checksum"):
        list(records.iter_records(path))
    path.write_bytes(b"LEVELDB" + bytes(data[7:]))
    with pytest.raises(RecordFormatError, match="not a W&B"):
        list(records.iter_records(path))


def test_truncated_tail_is_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_log(tmp_path / "run-d.wandb", [history_record(0, a=1), history_record(1, a=2)])
    path.write_bytes(path.read_bytes()[:-3])
    assert records.history(path) == [{"a": 1, "_step": 0}]
    assert "incomplete record" in caplog.text


def test_wait_for_exit_record(tmp_path: Path) -> None:
    path = write_log(tmp_path / "run-e.wandb", [history_record(0, a=1)])
    assert wait_for_exit_record(path, timeout=0.05) is False
    exit_record = pb.Record()
    exit_record.exit.exit_code = 0
    write_log(path, [history_record(0, a=1), exit_record.SerializeToString()])
    assert wait_for_exit_record(path, timeout=0.05) is True
    assert wait_for_exit_record(tmp_path / "not-yet.wandb", timeout=0.01) is False


def test_find_run_file(tmp_path: Path) -> None:
    run_dir = tmp_path / "wandb" / "offline-run-20260101_000000-abc"
    run_dir.mkdir(parents=True)
    run_file = write_log(run_dir / "run-abc.wandb", [])
    assert records.find_run_file(run_file) == run_file
    assert records.find_run_file(run_dir) == run_file
    assert records.find_run_file(tmp_path) == run_file
    assert records.find_run_file(tmp_path / "wandb") == run_file
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no run-"):
        records.find_run_file(tmp_path / "empty")
    with pytest.raises(InputError, match="not a .wandb"):
        records.find_run_file(write_log(tmp_path / "run.log", []))
    with pytest.raises(InputError, match="does not exist"):
        records.find_run_file(tmp_path / "missing")


def test_reads_a_real_offline_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cross-check against files written by the installed wandb-core (records > 32 KiB)."""
    from fnlib.tracking import TrackingSettings, tracked_run

    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_X_DISABLE_STATS", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    settings = TrackingSettings(project="records-test", dir=tmp_path, mode="offline")
    config = {"big": "z" * 70_000, "nested": {"depth": [1, 2]}}
    with tracked_run("test", "reader", config=config, settings=settings) as run:
        for step in range(50):
            run.log({"loss": 1.0 / (step + 1), "pad": "p" * 2000})
    rows = records.history(run.run_file)
    assert [row["_step"] for row in rows] == list(range(50))
    assert records.run_config(tmp_path) == config
    assert records.run_summary(run.offline_dir)["loss"] == pytest.approx(1 / 50)
    kinds = {r.WhichOneof("record_type") for r in records.iter_records(run.run_file)}
    assert {"run", "history", "summary", "exit"} <= kinds
