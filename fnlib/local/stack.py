"""The embedded local stack: a moto S3 server and Airflow (standalone) under one state folder.

``fn stack up`` starts both (idempotent), ``fn stack down`` stops them by PID (process groups,
so no worker is orphaned), ``fn stack status`` reports. All state lives in ``FN_STACK_DIR``
(default ``./.stack``): pids, logs, the Airflow home with its SQLite DB, offline W&B runs, and
the bucket's contents (``s3-state.pickle``: every object version with its VersionId, saved by
the S3 launcher on stop and shortly after each write), so data and Airflow's history survive
``down`` / ``up`` together.
Tasks reach S3 through the ``aws_default`` connection, set here as an environment variable
pointing at the local endpoint; against AWS or MinIO only that connection changes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fnlib import settings
from fnlib.errors import FnError

log = logging.getLogger(__name__)

BIN = Path(sys.executable).parent


class StackError(FnError):
    """The local stack could not be started or stopped."""


def _bind(port: int, reuse: bool = False) -> int | None:
    """The port a test bind on 127.0.0.1 got (``port`` 0: any free one), or None when it is
    taken. ``reuse`` binds as the servers do (SO_REUSEADDR: Postgres, Redis, uvicorn), so
    connections of an earlier server still in TIME_WAIT do not count as taken."""
    with socket.socket() as s:
        if reuse:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return None
        return s.getsockname()[1]


def _free_port(preferred: int | None = None) -> int:
    for port in ([preferred] if preferred else []) + [0]:
        found = _bind(port)
        if found:
            return found
    raise StackError("no free TCP port on 127.0.0.1")


def _alive(pid: int | None, marker: str) -> bool:
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return marker in cmdline


def _http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status < 500
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Stack:
    """Paths and ports of one local stack."""

    dir: Path

    @classmethod
    def default(cls) -> Stack:
        return cls(settings.stack_dir())

    # -- state ------------------------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.dir / "state.json"

    @property
    def airflow_home(self) -> Path:
        return self.dir / "airflow"

    def state(self) -> dict[str, Any]:
        if self.state_file.exists():
            return json.loads(self.state_file.read_text())
        return {}

    def _save(self, **updates: Any) -> dict[str, Any]:
        state = {**self.state(), **updates}
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(state, indent=2))
        return state

    @property
    def s3_url(self) -> str:
        return f"http://127.0.0.1:{self.state()['s3_port']}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.state()['api_port']}"

    def env(self) -> dict[str, str]:
        """Environment for every process of the stack (and for clients of it)."""
        state = self.state()
        project = settings.project_dir()
        conn = {
            "conn_type": "aws",
            "login": "local",
            "password": "local-secret",
            "extra": {
                "endpoint_url": self.s3_url,
                "region_name": "us-east-1",
                "config_kwargs": {"retries": {"mode": "standard", "max_attempts": 5}},
            },
        }
        env = {
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.airflow_home}/airflow.db",
            "AIRFLOW__CORE__DAGS_FOLDER": str(project / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(project / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": os.environ.get("AIRFLOW__CORE__PARALLELISM", "4"),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(state["api_port"]),
            "AIRFLOW__API__BASE_URL": self.api_url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": state["jwt_secret"],
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(conn),
            "FN_BUCKET": settings.bucket(),
            "FN_STACK_DIR": str(self.dir),
            "FN_PROJECT_DIR": str(project),
            "FN_DATA_DIR": str(settings.data_dir()),
            "WANDB_DIR": str(self.dir),
            "WANDB_SILENT": "true",
            "WANDB_X_DISABLE_STATS": "true",
            "WANDB_MODE": "online" if os.environ.get("WANDB_API_KEY") else "offline",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        return {**env, **self.client_env()}

    def process_env(self) -> dict[str, str]:
        """The full environment of a stack process: the caller's, minus any Airflow settings
        of its own (the stack is configured completely by :meth:`env`), plus the stack's."""
        inherited = {k: v for k, v in os.environ.items()
                     if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
        return {**inherited, **self.env()}

    def client_env(self) -> dict[str, str]:
        """AWS settings for a boto3 client of the local endpoint (the CLI's own reads)."""
        return {
            "AWS_ENDPOINT_URL": self.s3_url,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    # -- lifecycle --------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        state = self.state()
        return {
            "dir": str(self.dir),
            "s3": {"pid": state.get("s3_pid"), "running": _alive(state.get("s3_pid"), "moto"),
                   "url": self.s3_url if "s3_port" in state else None},
            "airflow": {"pid": state.get("airflow_pid"),
                        "running": _alive(state.get("airflow_pid"), "airflow"),
                        "url": self.api_url if "api_port" in state else None},
        }

    def is_up(self) -> bool:
        st = self.status()
        return st["s3"]["running"] and st["airflow"]["running"]

    def up(self, timeout: float = 180.0) -> dict[str, Any]:
        """Start whatever is not running; return the status. Safe to call twice."""
        settings.project_dir()  # the DAGs and plugins to serve: fail before starting anything
        self.dir.mkdir(parents=True, exist_ok=True)
        state = self.state()
        if not _alive(state.get("s3_pid"), "moto"):
            self._start_s3()
        self._ensure_bucket()
        if not _alive(self.state().get("airflow_pid"), "airflow"):
            self._start_airflow()
        self._wait_healthy(timeout)
        return self.status()

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        logfile = (self.dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            argv, stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=str(self.dir), start_new_session=True,
        )
        logfile.close()
        return proc

    @property
    def s3_state_file(self) -> Path:
        """The bucket's contents between runs (see :mod:`fnlib.local.moto_persistent`)."""
        return self.dir / "s3-state.pickle"

    def _start_s3(self) -> None:
        port = _free_port(int(os.environ.get("FN_S3_PORT", "0")) or None)
        if self.s3_state_file.exists():
            log.info("restoring the bucket from %s (every object version with its id)",
                     self.s3_state_file)
        proc = self._spawn("s3", [str(BIN / "python"), "-m", "fnlib.local.moto_persistent",
                                  "--host", "127.0.0.1", "--port", str(port),
                                  "--state", str(self.s3_state_file)], dict(os.environ))
        pid = proc.pid
        self._save(s3_pid=pid, s3_port=port)
        deadline = time.monotonic() + 30
        while not _http_ok(f"http://127.0.0.1:{port}/moto-api/"):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise StackError(f"S3 server did not start; see {self.dir / 's3.log'}")
            time.sleep(0.2)
        log.info("S3 endpoint up at http://127.0.0.1:%d (pid %d)", port, pid)

    def _ensure_bucket(self) -> None:
        from fnlib.storage import ObjectStore
        from fnlib.storage.client import make_s3_client

        with settings.scoped_environ(self.client_env()):
            ObjectStore(make_s3_client(self.s3_url), settings.bucket()).ensure_bucket(create=True)

    def _start_airflow(self) -> None:
        state = self.state()
        if "api_port" not in state or _bind(state["api_port"]) is None:
            state = self._save(api_port=_free_port(int(os.environ.get("FN_API_PORT", "8080"))))
        if "jwt_secret" not in state:
            self._save(jwt_secret=secrets.token_urlsafe(32))
        self.airflow_home.mkdir(parents=True, exist_ok=True)
        env = self.process_env()
        log.info("migrating the Airflow metadata DB in %s", self.airflow_home)
        subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env,
                       check=True, capture_output=True, cwd=str(self.dir))
        self._airflow = self._spawn("airflow", [str(BIN / "airflow"), "standalone"], env)
        pid = self._airflow.pid
        self._save(airflow_pid=pid)
        log.info("Airflow standalone starting (pid %d), UI at %s", pid, self.api_url)

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = f"{self.api_url}/api/v2/monitor/health"
        while time.monotonic() < deadline:
            proc = getattr(self, "_airflow", None)
            exited = proc.poll() is not None if proc else not _alive(
                self.state().get("airflow_pid"), "airflow")
            if exited:
                raise StackError(f"Airflow exited during start-up; see {self.dir / 'airflow.log'}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    health = json.load(resp)
                if all(health.get(c, {}).get("status") == "healthy"
                       for c in ("metadatabase", "scheduler", "dag_processor")):
                    return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(1)
        raise StackError(f"Airflow not healthy after {timeout:.0f}s; see {self.dir / 'airflow.log'}")

    def down(self, timeout: float = 40.0) -> list[str]:
        """Stop Airflow (SIGINT to its main PID, then its process group) and the S3 server."""
        stopped = []
        state = self.state()
        for name, key, marker, first in (("airflow", "airflow_pid", "airflow", signal.SIGINT),
                                         ("s3", "s3_pid", "moto", signal.SIGTERM)):
            pid = state.get(key)
            if _alive(pid, marker):
                _stop_group(pid, first, timeout)
                stopped.append(f"{name} (pid {pid})")
            self._save(**{key: None})
        return stopped

    def admin_password(self) -> str | None:
        path = self.airflow_home / "simple_auth_manager_passwords.json.generated"
        if path.exists():
            return json.loads(path.read_text()).get("admin")
        return None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_group(pid: int, first: signal.Signals, timeout: float) -> None:
    """Signal the main process, wait, then TERM and KILL what is left of its process group."""
    try:
        os.kill(pid, first)
    except ProcessLookupError:
        return
    for sig, wait in ((None, timeout), (signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if sig is not None:
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap(pid)
            if not _group_alive(pid):
                return
            time.sleep(0.25)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
