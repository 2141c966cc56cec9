"""A minimal client for Airflow 3's REST API v2 (standard library only).

Used by the CLI's main job and the end-to-end tests: authenticate, wait for a DAG to be
parsed, unpause, trigger with a conf, poll the run while reporting task progress, read XComs.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from fnlib.errors import FnError

log = logging.getLogger(__name__)

TERMINAL = {"success", "failed"}


class AirflowApiError(FnError):
    """The Airflow API refused a request or a run did not finish as expected."""


class _Transient(Exception):
    """A call that may succeed if repeated: timed out, connection refused or reset, 502-504."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


IDEMPOTENT = {"GET", "PATCH"}
READ_ATTEMPTS = 5
RETRY_BACKOFF = 2.0  # seconds, times the attempt number


class AirflowClient:
    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._token = self._login(username, password)

    def _login(self, username: str, password: str) -> str:
        body = self._request("POST", "/auth/token", {"username": username, "password": password},
                             auth=False)
        return body["access_token"]

    def _request(self, method: str, path: str, payload: Any = None, auth: bool = True) -> Any:
        """One API call. Idempotent calls (reads, and PATCH, which sets a state) are retried
        while the server is slow, briefly away or its database is busy (a locked SQLite DB under
        a busy scheduler answers 500 "Database error"); a POST is never repeated."""
        attempts = READ_ATTEMPTS if method in IDEMPOTENT else 1
        for attempt in range(1, attempts + 1):
            try:
                return self._request_once(method, path, payload, auth)
            except _Transient as exc:
                if attempt == attempts:
                    raise AirflowApiError(f"{method} {path}: no answer from {self.base_url} "
                                          f"after {attempts} tries: {exc.reason}") from exc
                log.warning("%s %s: %s; retrying (%d/%d)", method, path, exc.reason, attempt,
                            attempts)
                time.sleep(min(RETRY_BACKOFF * attempt, 10.0))
        raise AssertionError("unreachable")

    def _request_once(self, method: str, path: str, payload: Any, auth: bool) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if auth:
            req.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            if exc.code in (502, 503, 504) or (exc.code == 500 and "Database error" in detail):
                raise _Transient(f"HTTP {exc.code}: {detail}") from exc
            raise AirflowApiError(f"{method} {path}: HTTP {exc.code}: {detail}") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError | ConnectionError):
                raise _Transient(repr(exc.reason)) from exc
            raise AirflowApiError(f"{method} {path}: cannot reach {self.base_url}: {exc}") from exc
        except (TimeoutError, ConnectionError) as exc:  # raised while reading the response
            raise _Transient(repr(exc)) from exc
        return json.loads(raw) if raw else None

    # -- DAGs -------------------------------------------------------------------------------
    def wait_for_dag(self, dag_id: str, timeout: float = 120.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self._request("GET", f"/api/v2/dags/{dag_id}")
            except AirflowApiError as exc:
                if "HTTP 404" not in str(exc) or time.monotonic() > deadline:
                    raise AirflowApiError(f"DAG {dag_id} not available after {timeout:.0f}s "
                                          f"(parse error? check `airflow dags list-import-errors`)"
                                          ) from exc
            time.sleep(1)

    def import_errors(self) -> list[dict[str, Any]]:
        return self._request("GET", "/api/v2/importErrors").get("import_errors", [])

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self._request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": paused})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        body = self._request("POST", f"/api/v2/dags/{dag_id}/dagRuns",
                             {"logical_date": None, "conf": conf or {}})
        return body["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns?order_by=-start_date"
                             )["dag_runs"]

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{_q(run_id)}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self._request(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns/{_q(run_id)}/taskInstances?limit=1000"
        )["task_instances"]

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        body = self._request(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns/{_q(run_id)}/taskInstances/{task_id}"
                   f"/xcomEntries/{key}?deserialize=true")
        value = body.get("value")
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def backfill(self, dag_id: str, from_date: str, to_date: str, max_active_runs: int = 2,
                 conf: dict[str, Any] | None = None) -> dict[str, Any]:
        """``airflow backfill create`` over the REST API; returns the backfill record.

        On SQLite the API refuses while another process holds the database lock (HTTP 503
        "Database is locked"); that is transient, so it is retried for up to a minute."""
        body = {"dag_id": dag_id, "from_date": from_date, "to_date": to_date,
                "max_active_runs": max_active_runs, "reprocess_behavior": "completed",
                "dag_run_conf": conf or {}}
        for attempt in range(20):
            try:
                return self._request("POST", "/api/v2/backfills", body)
            except AirflowApiError as exc:
                if "HTTP 503" not in str(exc) or "locked" not in str(exc) or attempt == 19:
                    raise
                log.info("metadata DB busy, retrying the backfill request")
                time.sleep(3)
        raise AssertionError("unreachable")

    def task_tries(self, dag_id: str, run_id: str, task_id: str,
                   map_index: int = -1) -> list[dict[str, Any]]:
        """Every try of one task instance (hostname, state, dates), oldest first."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{_q(run_id)}/taskInstances/{task_id}"
        path += f"/{map_index}/tries" if map_index >= 0 else "/tries"
        tries = self._request("GET", path)["task_instances"]
        return sorted(tries, key=lambda t: t["try_number"])

    def get_backfill(self, backfill_id: int) -> dict[str, Any]:
        """The backfill record (``completed_at`` is set once all its runs have ended)."""
        return self._request("GET", f"/api/v2/backfills/{backfill_id}")

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 1800.0,
                     progress: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Poll until the run ends; report each task state change through ``progress``."""
        deadline = time.monotonic() + timeout
        seen: dict[str, str] = {}
        while True:
            run = self.run(dag_id, run_id)
            if progress:
                for task_id, line in _progress_lines(self.task_instances(dag_id, run_id)).items():
                    if seen.get(task_id) != line:
                        seen[task_id] = line
                        progress(f"{dag_id} {task_id}: {line}")
            if run["state"] in TERMINAL:
                return run
            if time.monotonic() > deadline:
                raise AirflowApiError(f"{dag_id} run {run_id} still {run['state']} after {timeout:.0f}s")
            time.sleep(2)


def _progress_lines(task_instances: list[dict[str, Any]]) -> dict[str, str]:
    """One line per task: its state, or for mapped tasks the count per state."""
    by_task: dict[str, list[str]] = {}
    for ti in task_instances:
        by_task.setdefault(ti["task_id"], []).append(ti.get("state") or "none")
    lines = {}
    for task_id, states in by_task.items():
        if len(states) == 1:
            lines[task_id] = states[0]
        else:
            counts = {s: states.count(s) for s in sorted(set(states))}
            lines[task_id] = f"{len(states)} mapped (" + ", ".join(
                f"{s} {n}" for s, n in counts.items()) + ")"
    return lines


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")

