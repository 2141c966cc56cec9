"""The REST client against a real HTTP server on loopback that is slow to answer at first."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fnlib.local.airflow_api import AirflowApiError, AirflowClient


@pytest.fixture
def server():
    """Answers /auth/token at once; other paths only after ``slow`` slow answers."""
    state = {"slow": 0, "busy": 0, "calls": []}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state["calls"].append((self.command, self.path))
            if self.path != "/auth/token" and state["busy"] > 0:
                state["busy"] -= 1
                body = json.dumps({"detail": {"reason": "Database error"}}).encode()
                self.send_response(500)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if self.path != "/auth/token" and state["slow"] > 0:
                state["slow"] -= 1
                time.sleep(1.0)  # longer than the client's timeout
            body = json.dumps({"access_token": "t", "dag_id": "d", "dag_run_id": "r"}).encode()
            try:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on this one

        do_GET = do_POST = do_PATCH = _answer

        def log_message(self, *args) -> None:
            pass

    import fnlib.local.airflow_api

    fnlib.local.airflow_api.RETRY_BACKOFF, saved = 0.05, fnlib.local.airflow_api.RETRY_BACKOFF
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}", state
    httpd.shutdown()
    fnlib.local.airflow_api.RETRY_BACKOFF = saved


def test_a_read_is_retried_while_the_server_is_slow(server):
    url, state = server
    client = AirflowClient(url, "u", "p", timeout=0.3)
    state["slow"] = 2
    assert client.wait_for_dag("d")["dag_id"] == "d"
    assert state["calls"].count(("GET", "/api/v2/dags/d")) == 3


def test_a_read_gives_up_with_a_clear_error(server):
    url, state = server
    client = AirflowClient(url, "u", "p", timeout=0.3)
    state["slow"] = 99
    with pytest.raises(AirflowApiError, match="no answer from .* after 5 tries"):
        client._request("GET", "/api/v2/dags/d")


def test_setting_a_state_is_retried_while_the_database_is_busy(server):
    url, state = server
    client = AirflowClient(url, "u", "p", timeout=5)
    state["busy"] = 2
    client.set_paused("d", False)
    assert state["calls"].count(("PATCH", "/api/v2/dags/d")) == 3


def test_a_run_is_never_triggered_twice(server):
    url, state = server
    client = AirflowClient(url, "u", "p", timeout=0.3)
    state["slow"] = 1
    with pytest.raises(AirflowApiError, match="after 1 tries"):
        client.trigger("d")
    assert state["calls"].count(("POST", "/api/v2/dags/d/dagRuns")) == 1
