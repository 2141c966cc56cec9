"""The REST client against a real HTTP server on loopback that is slow to answer at first."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fnlib.local import airflow_api
from fnlib.local.airflow_api import AirflowApiError, AirflowClient


@pytest.fixture
def server(monkeypatch):
    """Answers /auth/token at once; other paths only after ``busy`` "database busy" answers,
    then ``slow`` slow answers."""
    state = {"slow": 0, "busy": 0, "calls": []}

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state["calls"].append((self.command, self.path))
            if self.path != "/auth/token" and state["busy"] > 0:
                state["busy"] -= 1
                self._send(500, {"detail": {"reason": "Database error"}})
                return
            if self.path != "/auth/token" and state["slow"] > 0:
                state["slow"] -= 1
                time.sleep(1.0)  # longer than the client's timeout
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                self._send(200, {"access_token": "t", "dag_id": "d", "dag_run_id": "r"})

        do_GET = do_POST = do_PATCH = _answer

        def log_message(self, *args) -> None:
            pass

    monkeypatch.setattr(airflow_api, "RETRY_BACKOFF", 0.05)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}", state
    httpd.shutdown()


@pytest.fixture
def connect(server):
    """A client of the server with its ``timeout``, and the server's state after setting how
    many of its next answers are ``slow`` or ``busy``."""
    url, state = server

    def client(timeout: float, slow: int = 0, busy: int = 0) -> tuple[AirflowClient, dict]:
        state.update(slow=slow, busy=busy)
        return AirflowClient(url, "u", "p", timeout=timeout), state

    return client


def test_a_read_is_retried_while_the_server_is_slow(connect):
    client, state = connect(timeout=0.3, slow=2)
    assert client.wait_for_dag("d")["dag_id"] == "d"
    assert state["calls"].count(("GET", "/api/v2/dags/d")) == 3


def test_a_read_gives_up_with_a_clear_error(connect):
    client, _ = connect(timeout=0.3, slow=99)
    with pytest.raises(AirflowApiError, match="no answer from .* after 5 tries"):
        client._request("GET", "/api/v2/dags/d")


def test_setting_a_state_is_retried_while_the_database_is_busy(connect):
    client, state = connect(timeout=5, busy=2)
    client.set_paused("d", False)
    assert state["calls"].count(("PATCH", "/api/v2/dags/d")) == 3


def test_a_run_is_never_triggered_twice(connect):
    client, state = connect(timeout=0.3, slow=1)
    with pytest.raises(AirflowApiError, match="after 1 tries"):
        client.trigger("d")
    assert state["calls"].count(("POST", "/api/v2/dags/d/dagRuns")) == 1
