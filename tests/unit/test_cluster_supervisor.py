"""The cluster's supervisor (compose's ``restart: unless-stopped``): it starts again exactly the
Airflow components that exited by themselves, only once the metadata DB and the broker answer,
and never one that was stopped on purpose (no PID recorded)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from fnlib.local.cluster import Cluster
from fnlib.local.stack import _alive

# what an Airflow component looks like in the process table (its command line names airflow)
LOOKALIKE = [sys.executable, "-c", "import time; time.sleep(60)", "airflow"]


@pytest.fixture
def procs():
    started: list[subprocess.Popen] = []

    def spawn(alive: bool = True) -> int:
        proc = subprocess.Popen(LOOKALIKE)
        started.append(proc)
        if not alive:
            proc.kill()
            proc.wait()
            return proc.pid
        deadline = time.monotonic() + 10
        while not _alive(proc.pid, "airflow"):  # the parent's command line until it execs
            assert time.monotonic() < deadline
            time.sleep(0.01)
        return proc.pid

    yield spawn
    for proc in started:
        proc.kill()
        proc.wait()


def _supervise(cluster: Cluster, monkeypatch, answers: list[bool],
               spawn) -> list[tuple[float, str]]:
    """Run the supervisor (``every`` = 1 s on a fake clock) for ``len(answers)`` rounds, the
    servers answering or not in each; return when it started which component."""
    started: list[tuple[float, str]] = []
    rounds = iter(answers)
    clock = [0.0]

    def start_component(self, component, env=None):
        started.append((clock[0], component))
        self._save(procs={**self.procs(), component: spawn()})

    def sleep(seconds):
        clock[0] += seconds
        if clock[0] >= len(answers):
            cluster._save(supervisor_pid=None)  # `down` took over: the loop ends

    monkeypatch.setattr(Cluster, "_servers_answer", lambda self: next(rounds))
    monkeypatch.setattr(Cluster, "start_component", start_component)
    cluster._save(supervisor_pid=os.getpid())
    cluster.supervise(every=1.0, clock=lambda: clock[0], pause=sleep)
    return started


def test_the_supervisor_restarts_what_exited_and_nothing_else(tmp_path, monkeypatch, procs):
    cluster = Cluster(tmp_path)
    cluster._save(procs={"scheduler": procs(), "dag-processor": procs(alive=False),
                         "triggerer": procs(alive=False), "api-server": procs(),
                         "worker-1": None, "worker-2": None})  # workers stopped on purpose
    # the DB is still away in the first two rounds: nothing is started into the outage
    assert _supervise(cluster, monkeypatch, [False, False, True, True], procs) == \
        [(2.0, "dag-processor"), (2.0, "triggerer")]
    assert all(cluster.status()["airflow"]["processes"][c]["running"]
               for c in ("scheduler", "dag-processor", "triggerer", "api-server"))
    assert cluster.procs()["worker-1"] is None and cluster.procs()["worker-2"] is None


def test_a_component_that_keeps_exiting_is_started_less_and_less_often(tmp_path, monkeypatch,
                                                                       procs):
    cluster = Cluster(tmp_path)
    cluster._save(procs={"triggerer": procs(alive=False)})
    # every start exits at once: the wait before the next one doubles (1, 2, 4, 8, 16 s)
    started = _supervise(cluster, monkeypatch, [True] * 40, lambda: procs(alive=False))
    assert [t for t, _ in started] == [0.0, 1.0, 3.0, 7.0, 15.0, 31.0]


def test_up_starts_one_supervisor_and_down_stops_it_first(tmp_path, monkeypatch):
    monkeypatch.setenv("FN_STACK_DIR", str(tmp_path))
    cluster = Cluster(tmp_path)
    cluster._start_supervisor()
    pid = cluster.state()["supervisor_pid"]
    cluster._start_supervisor()  # a second `up` keeps the running one
    assert cluster.state()["supervisor_pid"] == pid
    assert cluster.status()["airflow"]["processes"]["supervisor"] == {"pid": pid, "running": True}
    assert pid in cluster.pids()
    assert cluster.down() == [f"supervisor (pid {pid})"]
    assert not cluster.status()["airflow"]["processes"]["supervisor"]["running"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone, and reaped


def test_a_restarted_server_keeps_its_port_despite_lingering_connections(tmp_path):
    import socket

    from fnlib.local.cluster import _port_reusable

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    cluster = Cluster(tmp_path)
    cluster._save(redis_port=port)
    client = socket.create_connection(("127.0.0.1", port))
    served, _ = listener.accept()
    assert not _port_reusable(port)  # someone listens there
    served.close()  # the server closes first: its side lingers in TIME_WAIT
    client.close()
    listener.close()
    # a plain bind is refused for a while, yet the server may listen again (SO_REUSEADDR),
    # and must: the components know the broker and the DB by their ports
    assert _port_reusable(port)
    assert cluster._port("redis_port") == port
