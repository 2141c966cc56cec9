"""Reliability-suite fixtures: a TCP fault proxy in front of the real S3 endpoint, and helpers
that snapshot every object version of a bucket (to prove nothing was written, lost or
duplicated)."""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest

CHUNK = 64 * 1024


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset (as a crashed or unplugged endpoint would)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class FaultProxy:
    r"""Forwards TCP connections to an upstream endpoint; faults are switched on by the test.

    - ``down()`` / ``up()``: every new connection is reset at once (endpoint gone) / forwarded.
    - ``stall()``: connections are accepted and read but never answered (a hung endpoint).
    - ``arm(pattern, action, after, then_down_s)``: one shot. The first request whose bytes
      match the regex ``pattern`` (e.g. ``rb"PUT /[^ ]*/test\.csv "``) gets ``action``:
      ``"cut_upload"`` forwards the stream up to ``after`` bytes past the start of the
      match and resets the connection (mid-upload), ``"cut_download"`` forwards the request
      and ``after`` bytes of the response, then resets (mid-read), ``"refuse"`` resets
      before forwarding anything.
      For ``then_down_s`` seconds after that the endpoint stays away: open connections are
      reset and new ones refused (while the client retries), then traffic flows again.
    """

    def __init__(self, upstream_url: str):
        parsed = urlparse(upstream_url)
        self.upstream = (parsed.hostname, parsed.port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.lock = threading.Lock()
        self.mode = "pass"
        self.armed: dict[str, Any] | None = None
        self.down_until = 0.0
        self.fired = threading.Event()
        self.connections = 0
        self.resets = 0
        self._open: set[socket.socket] = set()
        self._stop = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    # -- controls ---------------------------------------------------------------------------
    def down(self) -> None:
        with self.lock:
            self.mode = "down"
            open_now, self._open = list(self._open), set()
        for sock in open_now:  # established keep-alive connections die with the endpoint
            _reset(sock)

    def up(self) -> None:
        with self.lock:
            self.mode = "pass"
            self.down_until = 0.0

    def stall(self) -> None:
        with self.lock:
            self.mode = "stall"

    def arm(self, pattern: bytes, action: str, after: int = 0, then_down_s: float = 0) -> None:
        assert action in ("cut_upload", "cut_download", "refuse")
        with self.lock:
            self.armed = {"pattern": re.compile(pattern), "action": action, "after": after,
                          "then_down_s": then_down_s}
            self.fired.clear()

    def close(self) -> None:
        self._stop = True
        _reset(self.listener)
        self.down()

    # -- plumbing ---------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                refuse = self.mode == "down" or time.monotonic() < self.down_until
                mode = self.mode
            if refuse:
                self.resets += 1
                _reset(client)
                continue
            if mode == "stall":
                with self.lock:
                    self._open.add(client)
                threading.Thread(target=self._drain, args=(client,), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            with self.lock:
                self._open.update((client, upstream))
            conn = {"cut_download": None}
            threading.Thread(target=self._pump_up, args=(client, upstream, conn),
                             daemon=True).start()
            threading.Thread(target=self._pump_down, args=(upstream, client, conn),
                             daemon=True).start()

    @staticmethod
    def _drain(client: socket.socket) -> None:
        try:
            while client.recv(CHUNK):
                pass
        except OSError:
            pass

    def _trigger(self, window: bytes) -> tuple[dict[str, Any], int] | None:
        with self.lock:
            match = self.armed["pattern"].search(window) if self.armed else None
            if match is None:
                return None
            fired, self.armed = self.armed, None
            stale: list[socket.socket] = []
            if fired["then_down_s"]:
                self.down_until = time.monotonic() + fired["then_down_s"]
                stale, self._open = list(self._open), set()
            self.fired.set()
        for sock in stale:  # the endpoint went away: its keep-alive connections die too
            self.resets += 1
            _reset(sock)
        return fired, match.start()

    def _kill(self, *socks: socket.socket) -> None:
        self.resets += 1
        for sock in socks:
            _reset(sock)

    def _pump_up(self, client: socket.socket, upstream: socket.socket, conn: dict) -> None:
        tail = b""
        try:
            while True:
                data = client.recv(CHUNK)
                if not data:
                    break
                window = tail + data
                hit = self._trigger(window)
                if hit:
                    fired, start = hit[0], hit[1] - len(tail)
                    if fired["action"] == "refuse":
                        upstream.sendall(data[: max(start, 0)])
                        self._kill(client, upstream)
                        return
                    if fired["action"] == "cut_upload":
                        end = max(start, 0) + fired["after"]
                        upstream.sendall(data[:end])
                        while end >= len(data):  # the cut point lies in a later chunk
                            more = client.recv(CHUNK)
                            if not more:
                                break
                            end -= len(data)
                            data = more
                            upstream.sendall(data[:end])
                        self._kill(client, upstream)
                        return
                    conn["cut_download"] = fired["after"]
                upstream.sendall(data)
                tail = window[-256:]
        except OSError:
            pass
        self._close_pair(client, upstream)

    def _pump_down(self, upstream: socket.socket, client: socket.socket, conn: dict) -> None:
        try:
            while True:
                data = upstream.recv(CHUNK)
                if not data:
                    break
                budget = conn["cut_download"]
                if budget is not None:
                    client.sendall(data[:budget])
                    if len(data) >= budget:
                        self._kill(client, upstream)
                        return
                    conn["cut_download"] = budget - len(data)
                    continue
                client.sendall(data)
        except OSError:
            pass
        self._close_pair(client, upstream)

    def _close_pair(self, *socks: socket.socket) -> None:
        with self.lock:
            for sock in socks:
                self._open.discard(sock)
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.close()


@pytest.fixture
def fault_proxy(moto_endpoint) -> Iterator[FaultProxy]:
    proxy = FaultProxy(moto_endpoint)
    yield proxy
    proxy.close()


def proxied_store(store: Any, proxy: FaultProxy, max_attempts: int = 2, read_timeout: float = 5):
    """The same bucket as ``store``, reached through ``proxy`` with a short retry budget."""
    from fnlib.storage import ObjectStore
    from fnlib.storage.client import make_s3_client

    client = make_s3_client(proxy.url, "us-east-1", max_attempts=max_attempts,
                            connect_timeout=2, read_timeout=read_timeout)
    return ObjectStore(client, store.bucket)


def all_versions(store: Any, prefix: str = "") -> dict[str, list[str]]:
    """key -> version ids (newest first) of every object version and delete marker."""
    out: dict[str, list[str]] = {}
    paginator = store.client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=store.bucket, Prefix=prefix):
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
            out.setdefault(entry["Key"], []).append(entry["VersionId"])
    return out


def version_count(store: Any, prefix: str = "") -> int:
    return sum(len(v) for v in all_versions(store, prefix).values())


@pytest.fixture
def rel():
    """Helpers for the reliability tests (fixtures, since test modules cannot import conftest)."""
    from types import SimpleNamespace

    return SimpleNamespace(proxied_store=proxied_store, all_versions=all_versions,
                           version_count=version_count)


@pytest.fixture
def run_dag(dagbag):
    """``dag.test()`` of a DAG with its declared params, whatever earlier runs passed: in-process
    runs merge the run conf into the tasks' params (see ``reset_params`` in tests/conftest.py).
    """

    def run(dag_id: str, **kwargs: Any):
        dagbag.reset_params()
        try:
            return dagbag.get_dag(dag_id).test(**kwargs)
        finally:
            dagbag.reset_params()

    return run


@pytest.fixture(scope="session")
def champion_bucket(moto_endpoint):
    """Builds a fresh bucket holding a real champion: a synthetic dataset and a naive Bayes
    model trained on it and promoted. Returns ``(store, dataset result, train result)``."""

    def build(prefix: str, seed: int) -> tuple[Any, dict, dict]:
        import uuid

        from fnlib.stages import train as train_stage
        from fnlib.stages.dataset import DatasetRequest, run_all
        from fnlib.storage import ObjectStore
        from fnlib.storage.client import make_s3_client

        store = ObjectStore(make_s3_client(moto_endpoint, "us-east-1"),
                            f"{prefix}-{uuid.uuid4().hex[:8]}")
        store.ensure_bucket(create=True)
        ds = run_all(store, DatasetRequest(source="synthetic", n_docs=200, seed=seed),
                     track_wandb=False)
        nb = {"model": "nb", "variant": "raw", "vectorizer": {"ngram_max": 1, "min_df": 1},
              "params": {"alpha": 1.0}}
        trained = train_stage.train(store, train_stage.TrainRequest(
            dataset_id=ds["dataset_id"], config=nb, f1_floor=0.0))
        assert train_stage.gate(store, trained)["promoted"]
        return store, ds, trained

    return build
