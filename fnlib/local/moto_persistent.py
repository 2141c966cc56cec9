"""The local stack's S3 endpoint: moto's server, with its buckets kept on disk.

moto keeps objects in memory only, so a plain ``moto_server`` forgets the bucket when it stops
while Airflow's history (and every manifest a user holds) still points into it. This launcher
runs the same moto WSGI application and saves the S3 backend's state to ``--state`` (a pickle
under the stack's state folder): every bucket with its settings, every object version with its
VersionId, metadata and bytes, delete markers and object tags. It saves on shutdown (SIGTERM /
SIGINT) and, while running, a few seconds after any write, so a crash loses at most that much;
at start it restores the file, so ``fn stack down`` / ``fn stack up`` keeps every object
version and its id.

The file is written atomically (temporary file, then rename) and only this process reads it:
it holds moto's own objects, so it is trusted local state, never input from elsewhere.

Run: ``python -m fnlib.local.moto_persistent --host 127.0.0.1 --port PORT --state FILE``.
"""

from __future__ import annotations

import argparse
import copyreg
import logging
import os
import pickle
import signal
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MUTATING = frozenset({"PUT", "POST", "DELETE", "PATCH"})
FORMAT = 1


def _s3_backends() -> Any:
    from moto.s3.models import s3_backends

    return s3_backends


def _versioned_store(lists: list[tuple[str, list[Any]]]) -> Any:
    from moto.s3.utils import _VersionedKeyStore

    store = _VersionedKeyStore()
    for key, versions in lists:
        store.setlist(key, versions)
    return store


def _reduce_versioned_store(store: Any) -> tuple[Any, tuple[Any, ...]]:
    # moto's key store is a dict whose items() yields only the latest version of each key,
    # so default pickling would keep one version per key: save every version list instead
    return _versioned_store, ([(key, list(versions)) for key, versions in store.iterlists()],)


def _register_pickling() -> None:
    from moto.s3.utils import _VersionedKeyStore

    copyreg.pickle(_VersionedKeyStore, _reduce_versioned_store)


def snapshot() -> dict[str, Any]:
    """The S3 state of every account and partition moto holds (only those with buckets)."""
    backends = _s3_backends()
    accounts: dict[str, dict[str, Any]] = {}
    for account_id in list(backends.keys()):
        for partition, backend in list(backends[account_id].items()):
            if backend.buckets:
                accounts.setdefault(account_id, {})[partition] = {
                    "buckets": backend.buckets, "tagger": backend.tagger}
    return {"format": FORMAT, "accounts": accounts,
            "bucket_accounts": dict(backends.bucket_accounts)}


def restore(state: dict[str, Any]) -> int:
    """Put a :func:`snapshot` back into moto's backends; returns the number of buckets."""
    if state.get("format") != FORMAT:
        raise ValueError(f"unknown S3 state format {state.get('format')!r}")
    backends = _s3_backends()
    count = 0
    for account_id, partitions in state["accounts"].items():
        for partition, saved in partitions.items():
            backend = backends[account_id][partition]
            backend.buckets.update(saved["buckets"])
            backend.tagger = saved["tagger"]
            count += len(saved["buckets"])
    backends.bucket_accounts.update(state["bucket_accounts"])
    return count


class PersistentS3:
    """moto's WSGI app plus a lock: writes and snapshots never interleave."""

    def __init__(self, state_file: Path, save_delay: float = 3.0):
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        _register_pickling()
        self.state_file = state_file
        self.save_delay = save_delay
        self.app = DomainDispatcherApplication(create_backend_app)
        self.lock = threading.RLock()
        self.dirty = threading.Event()
        self.stopping = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("REQUEST_METHOD") not in MUTATING:
            return self.app(environ, start_response)
        with self.lock:
            # the body is produced inside the lock: moto answers from memory, in one piece
            body = list(self.app(environ, start_response))
            self.dirty.set()
        return body

    def load(self) -> None:
        if not self.state_file.exists():
            log.info("no saved S3 state at %s: starting empty", self.state_file)
            return
        with self.state_file.open("rb") as fh:
            count = restore(pickle.load(fh))  # our own state file, see module doc
        log.info("restored %d bucket(s) from %s", count, self.state_file)

    def save(self) -> None:
        with self.lock:
            self.dirty.clear()
            data = pickle.dumps(snapshot(), protocol=pickle.HIGHEST_PROTOCOL)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, self.state_file)
        log.info("saved S3 state (%d bytes) to %s", len(data), self.state_file)

    def autosave(self) -> None:
        while not self.stopping.is_set():
            if self.dirty.wait(timeout=1.0) and not self.stopping.wait(self.save_delay):
                self.save()


def serve(host: str, port: int, state_file: Path, save_delay: float = 3.0) -> None:
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    state_file.parent.mkdir(parents=True, exist_ok=True)
    app = PersistentS3(state_file, save_delay)
    app.load()
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    saver = threading.Thread(target=app.autosave, name="s3-autosave", daemon=True)
    saver.start()

    def stop(signum: int, _frame: Any) -> None:
        log.info("signal %d: saving and stopping", signum)
        app.stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("S3 endpoint on http://%s:%d, state in %s", host, port, state_file)
    try:
        server.serve_forever()
    finally:
        app.stopping.set()
        saver.join(timeout=5)
        app.save()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", type=Path, required=True, help="file holding the S3 state")
    parser.add_argument("--save-delay", type=float, default=3.0,
                        help="seconds after a write before the state is saved (default 3)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    serve(args.host, args.port, args.state, args.save_delay)


if __name__ == "__main__":
    main()
