"""The local stack's S3 launcher keeps every object version, its VersionId, metadata, tags and
delete markers across a stop (SIGTERM) and across a crash (SIGKILL after the autosave)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from fnlib.local.stack import _free_port
from fnlib.storage.client import make_s3_client


class Launcher:
    def __init__(self, tmp_path):
        self.port = _free_port()
        self.state = tmp_path / "s3-state.pickle"
        self.log = tmp_path / "s3.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "fnlib.local.moto_persistent", "--port", str(self.port),
                 "--state", str(self.state), "--save-delay", "0.5"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).close()
                return
            except (urllib.error.URLError, OSError):
                assert self.proc.poll() is None, self.log.read_text()
                assert time.monotonic() < deadline, "S3 launcher did not start"
                time.sleep(0.2)

    def stop(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)


@pytest.fixture
def launcher(tmp_path):
    s3 = Launcher(tmp_path)
    yield s3
    if s3.proc and s3.proc.poll() is None:
        s3.proc.kill()
        s3.proc.wait()


def _state(client, bucket):
    listed = client.list_object_versions(Bucket=bucket)
    entries = []
    for entry in listed.get("Versions", []) + listed.get("DeleteMarkers", []):
        row = (entry["Key"], entry["VersionId"], entry.get("ETag"), entry["IsLatest"])
        if "ETag" in entry:  # an object version: its bytes, metadata and tags too
            got = client.get_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])
            tags = client.get_object_tagging(Bucket=bucket, Key=entry["Key"],
                                             VersionId=entry["VersionId"])["TagSet"]
            row += (got["Body"].read(), got["Metadata"], tuple(sorted(
                (t["Key"], t["Value"]) for t in tags)))
        entries.append(row)
    return sorted(entries, key=repr)


def _fill(client, bucket):
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for i in range(3):
        client.put_object(Bucket=bucket, Key="datasets/ds-1/train.csv", Body=f"v{i}".encode(),
                          Metadata={"sha256": f"{i:064d}"})
    client.put_object_tagging(Bucket=bucket, Key="datasets/ds-1/train.csv",
                              Tagging={"TagSet": [{"Key": "kind", "Value": "split"}]})
    client.put_object(Bucket=bucket, Key="gone.json", Body=b"{}")
    client.delete_object(Bucket=bucket, Key="gone.json")


def test_versions_and_ids_survive_a_stop_and_a_crash(launcher):
    launcher.start()
    client = make_s3_client(launcher.url, "us-east-1")
    _fill(client, "fn-persist")
    before = _state(client, "fn-persist")
    assert len(before) == 5  # 3 versions + 1 object version + 1 delete marker

    launcher.stop(signal.SIGTERM)  # `fn stack down`
    launcher.start()
    assert _state(client, "fn-persist") == before
    assert client.get_bucket_versioning(Bucket="fn-persist")["Status"] == "Enabled"

    # a write, then a crash after the autosave: nothing is lost
    client.put_object(Bucket="fn-persist", Key="later.txt", Body=b"after restart")
    after_write = _state(client, "fn-persist")
    time.sleep(2.5)
    launcher.stop(signal.SIGKILL)
    launcher.start()
    assert _state(client, "fn-persist") == after_write
