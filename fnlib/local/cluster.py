"""Cluster mode of the local stack: the compose deployment's shape, without containers.

``fn stack up --executor celery`` starts, under the stack's state folder: a PostgreSQL server
(the metadata DB and the Celery result backend), a Redis server (the Celery broker), the moto
S3 server as in the default mode, and Airflow's components as separate processes, as in
``docker-compose.yaml``: api-server, scheduler, dag-processor, triggerer and two Celery workers
(``worker-1``, ``worker-2``). Each process has its own process group, log file and PID in
``state.json``; ``fn stack down`` stops them all and leaves the data (Postgres, Redis, Airflow
home) for the next ``up``, which reuses it.

A supervisor process (``python -m fnlib.local.cluster supervise FOLDER``, started by ``up``) plays
the part of compose's ``restart: unless-stopped``: an Airflow component that exits by itself
(the dag-processor and the triggerer do on their first failed metadata-DB call) is started
again once PostgreSQL and Redis answer. A component stopped on purpose (``down``,
:meth:`Cluster.stop_component`) has no PID recorded and stays stopped.

The Airflow settings come from ``docker/airflow.env``, which the compose file reads too; this
module adds only what depends on where things run (addresses, ports, paths, secrets).

Postgres refuses to run as root: when the stack runs as root, ``initdb`` and ``postgres`` run
as the ``postgres`` system user (Debian's ``postgresql`` package creates it), and the state
folder is made traversable for that user's group.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import json
import logging
import os
import pwd
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fnlib import settings
from fnlib.local.stack import (
    BIN,
    Stack,
    StackError,
    _alive,
    _bind,
    _free_port,
    _group_alive,
    _reap,
    _stop_group,
)

log = logging.getLogger(__name__)

WORKERS = ("worker-1", "worker-2")
# Airflow components in start order (workers last: they need the API server)
COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server", *WORKERS)
PG_USER = "postgres"  # the OS user Postgres runs as when the stack runs as root
DB = "airflow"


def settings_file() -> Path:
    """The deployment's Airflow settings: ``docker/airflow.env`` of the project folder."""
    return settings.project_dir() / "docker" / "airflow.env"


def shared_settings(path: Path | None = None) -> dict[str, str]:
    """The deployment's Airflow settings (``KEY=VALUE`` lines, ``#`` comments)."""
    path = path or settings_file()
    if not path.is_file():
        raise StackError(f"{path} not found: the cluster mode reads the deployment's Airflow "
                         "settings from docker/airflow.env in the project folder")
    out = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise StackError(f"{path}:{n}: expected KEY=VALUE, got {line!r}")
        out[key.strip()] = value.strip()
    return out


def worker_hostname() -> str:
    """``[core] hostname_callable``: the worker's name (``FN_WORKER_HOSTNAME``), else the FQDN.

    Task instances record it, so Airflow's own records say which worker ran each try."""
    return os.environ.get("FN_WORKER_HOSTNAME") or socket.getfqdn()


def pg_bindir() -> Path:
    """Directory of the PostgreSQL server binaries: ``FN_PG_BIN``, else Debian's newest."""
    if os.environ.get("FN_PG_BIN"):
        return Path(os.environ["FN_PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if not found:
        raise StackError("PostgreSQL server not found: install Debian's `postgresql` package "
                         "(scripts/system-deps.sh) or set FN_PG_BIN to its bin directory")
    return found[-1].parent


def redis_server() -> str:
    for candidate in (os.environ.get("FN_REDIS_SERVER"), "/usr/bin/redis-server"):
        if candidate and Path(candidate).exists():
            return candidate
    raise StackError("redis-server not found: install Debian's `redis-server` package "
                     "(scripts/system-deps.sh) or set FN_REDIS_SERVER to the binary")


def servers_missing() -> str | None:
    """Why the cluster cannot start on this machine, or None when it can."""
    try:
        pg_bindir()
        redis_server()
    except StackError as exc:
        return str(exc)
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            return f"running as root, but there is no `{PG_USER}` user for the Postgres server"
    return None


def _marker(component: str) -> str:
    """What the process's command line holds (Celery retitles its workers)."""
    return "celery worker" if component in WORKERS else "airflow"


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class Cluster(Stack):
    """The local stack with Postgres, Redis and CeleryExecutor (two workers)."""

    executor = "celery"

    @property
    def pg_dir(self) -> Path:
        return self.dir / "postgres"

    @property
    def redis_dir(self) -> Path:
        return self.dir / "redis"

    def procs(self) -> dict[str, int | None]:
        return dict(self.state().get("procs") or {})

    def pids(self) -> list[int]:
        """Every recorded server and component PID (each leads its own process group)."""
        state = self.state()
        pids = [state.get(k) for k in ("s3_pid", "pg_pid", "redis_pid", "supervisor_pid")]
        pids += list(self.procs().values())
        return [p for p in pids if p]

    def set_overrides(self, overrides: dict[str, str]) -> None:
        """Airflow settings that replace the shared ones on this cluster only (tests use a
        short task heartbeat timeout); they apply to components started afterwards."""
        self._save(overrides=dict(overrides))

    @property
    def db_url(self) -> str:
        return f"postgresql+psycopg2://{DB}@127.0.0.1:{self.state()['pg_port']}/{DB}"

    # -- settings ---------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        state = self.state()
        env = {k: v for k, v in super().env().items() if not k.startswith("AIRFLOW__CORE__EXECUTOR")}
        env.update(shared_settings())
        env.update({
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.db_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{DB}@127.0.0.1:{state['pg_port']}/{DB}",
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{state['redis_port']}/0",
            "FN_CACHE_DIR": str(self.dir / "cache"),
        })
        env.update(state.get("overrides") or {})
        return env

    # -- lifecycle --------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        status = super().status()
        state = self.state()
        procs = self.procs()
        status["executor"] = self.executor
        status["airflow"] = {"running": all(_alive(procs.get(c), _marker(c)) for c in COMPONENTS),
                             "url": self.api_url if "api_port" in state else None,
                             "processes": {c: {"pid": procs.get(c),
                                               "running": _alive(procs.get(c), _marker(c))}
                                           for c in COMPONENTS}}
        status["airflow"]["processes"]["supervisor"] = {
            "pid": state.get("supervisor_pid"),
            "running": _alive(state.get("supervisor_pid"), SUPERVISE)}
        status["postgres"] = {"pid": state.get("pg_pid"), "port": state.get("pg_port"),
                              "running": _alive(state.get("pg_pid"), "postgres")}
        status["redis"] = {"pid": state.get("redis_pid"), "port": state.get("redis_port"),
                           "running": _alive(state.get("redis_pid"), "redis-server")}
        return status

    def is_up(self) -> bool:
        st = self.status()
        return all(st[k]["running"] for k in ("s3", "postgres", "redis", "airflow"))

    def up(self, timeout: float = 240.0) -> dict[str, Any]:
        """Start whatever is not running (servers, then Airflow's components); safe to call twice."""
        reason = servers_missing()
        if reason:
            raise StackError(reason)
        shared_settings()  # the project folder and its docker/airflow.env, before starting anything
        self.dir.mkdir(parents=True, exist_ok=True)
        self._save(executor=self.executor)
        if not _alive(self.state().get("s3_pid"), "moto"):
            self._start_s3()
        self._ensure_bucket()
        self.start_postgres()
        self.start_redis()
        with self._locked():
            started = self._start_airflow_components()
        self._wait_ready(timeout, started)
        self._start_supervisor()
        return self.status()

    def _spawn(self, name: str, argv: list[str], env: dict[str, str],
               **popen: Any) -> subprocess.Popen:
        """Like the stack's, with Popen options (``user``, ``group``); the previous log of
        ``name`` is kept as ``<name>.log.1``."""
        logpath = self.dir / f"{name}.log"
        if logpath.exists():
            logpath.replace(self.dir / f"{name}.log.1")
        with logpath.open("ab") as logfile:
            return subprocess.Popen(argv, stdout=logfile, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env, cwd=str(self.dir),
                                    start_new_session=True, **popen)

    def _port(self, key: str, preferred: int | None = None) -> int:
        """The server's recorded port, else a free one. A restarted server must come back on
        its port: the running components know only that address (a broker or DB that moves
        leaves the scheduler sending to nothing). The previous server's connections linger
        in TIME_WAIT for a while, which the servers' own SO_REUSEADDR bind ignores; a port
        someone else listens on is given up after 10 s, with a warning."""
        recorded = self.state().get(key)
        if recorded:
            deadline = time.monotonic() + 10
            while not _port_reusable(recorded):
                if time.monotonic() > deadline:
                    log.warning("127.0.0.1:%d is taken: moving %s; components started before "
                                "keep the old address (fn stack down, then up)", recorded, key)
                    break
                time.sleep(0.5)
            else:
                return recorded
        return self._save(**{key: _free_port(preferred)})[key]

    def start_postgres(self) -> None:
        """Initialise the data directory on first use, start the server, create the DB."""
        if _alive(self.state().get("pg_pid"), "postgres"):
            return
        bindir = pg_bindir()
        port = self._port("pg_port")
        data = self.pg_dir / "data"
        as_user = self._prepare_pg_dir()
        if not (data / "PG_VERSION").exists():
            log.info("initialising a PostgreSQL data directory in %s", data)
            subprocess.run([str(bindir / "initdb"), "-D", str(data), "-U", DB, "--auth=trust",
                            "-E", "UTF8", "--no-instructions"], check=True, capture_output=True,
                           **as_user)
        argv = [str(bindir / "postgres"), "-D", str(data), "-c", "listen_addresses=127.0.0.1",
                "-c", f"port={port}", "-c", "unix_socket_directories=", "-c",
                "max_connections=200"]
        proc = self._spawn("postgres", argv, {**os.environ, "LC_ALL": "C.UTF-8"}, **as_user)
        self._save(pg_pid=proc.pid)
        deadline = time.monotonic() + 60
        while subprocess.run([str(bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)],
                             check=False).returncode != 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise StackError(f"PostgreSQL did not start; see {self.dir / 'postgres.log'}")
            time.sleep(0.3)
        exists = subprocess.run(
            [str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", DB, "-d", "postgres",
             "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{DB}'"],
            check=True, capture_output=True, text=True).stdout.strip()
        if exists != "1":
            subprocess.run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", DB,
                            DB], check=True, capture_output=True)
        log.info("PostgreSQL up on 127.0.0.1:%d (pid %d)", port, proc.pid)

    def _prepare_pg_dir(self) -> dict[str, Any]:
        """As root: own the data folder by the postgres user, let its group traverse the state
        folder; return the Popen arguments that run a command as that user."""
        if os.geteuid() != 0:
            self.pg_dir.mkdir(parents=True, exist_ok=True)
            return {}
        user = pwd.getpwnam(PG_USER)
        self.pg_dir.mkdir(parents=True, exist_ok=True)
        os.chown(self.pg_dir, user.pw_uid, user.pw_gid)
        self.pg_dir.chmod(0o700)
        mode = self.dir.stat().st_mode
        if not mode & 0o001:  # others may not traverse: let the postgres group do so
            os.chown(self.dir, -1, user.pw_gid)
            self.dir.chmod((mode & 0o7777) | 0o010)
        probe = subprocess.run(["test", "-w", str(self.pg_dir)], user=user.pw_uid,
                               group=user.pw_gid, check=False)
        if probe.returncode != 0:
            raise StackError(f"the `{PG_USER}` user cannot reach {self.pg_dir}: put FN_STACK_DIR "
                             f"under a folder every user may traverse (e.g. /tmp or the project)")
        return {"user": user.pw_uid, "group": user.pw_gid,
                "extra_groups": [g.gr_gid for g in grp.getgrall() if user.pw_name in g.gr_mem]}

    def start_redis(self) -> None:
        if _alive(self.state().get("redis_pid"), "redis-server"):
            return
        port = self._port("redis_port")
        self.redis_dir.mkdir(parents=True, exist_ok=True)
        # append-only file: messages queued for the workers survive a restart of the broker
        argv = [redis_server(), "--bind", "127.0.0.1", "--port", str(port), "--dir",
                str(self.redis_dir), "--appendonly", "yes", "--save", "", "--daemonize", "no",
                "--protected-mode", "yes"]
        proc = self._spawn("redis", argv, dict(os.environ))
        self._save(redis_pid=proc.pid)
        deadline = time.monotonic() + 30
        while not _redis_ping(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise StackError(f"Redis did not start; see {self.dir / 'redis.log'}")
            time.sleep(0.2)
        log.info("Redis up on 127.0.0.1:%d (pid %d)", port, proc.pid)

    def stop_postgres(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT: roll back open transactions, close connections)."""
        pid = self.state().get("pg_pid")
        if _alive(pid, "postgres"):
            _stop_group(pid, signal.SIGINT, timeout)
        self._save(pg_pid=None)

    def stop_redis(self, timeout: float = 20.0) -> None:
        """SIGTERM: Redis flushes its append-only file and exits."""
        pid = self.state().get("redis_pid")
        if _alive(pid, "redis-server"):
            _stop_group(pid, signal.SIGTERM, timeout)
        self._save(redis_pid=None)

    def _start_airflow_components(self) -> list[str]:
        procs = self.procs()
        missing = [c for c in COMPONENTS if not _alive(procs.get(c), _marker(c))]
        if not missing:
            return []
        state = self.state()
        if "api_port" not in state or (missing and "api-server" in missing
                                       and not _port_reusable(state["api_port"])):
            self._save(api_port=_free_port(int(os.environ.get("FN_API_PORT", "8080")) or None))
        if "jwt_secret" not in self.state():
            import secrets

            self._save(jwt_secret=secrets.token_urlsafe(32))
        self.airflow_home.mkdir(parents=True, exist_ok=True)
        env = self.process_env()
        log.info("migrating the Airflow metadata DB on PostgreSQL")
        migrate = subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env,
                                 capture_output=True, text=True, cwd=str(self.dir))
        if migrate.returncode != 0:
            raise StackError(f"airflow db migrate failed:\n{migrate.stderr[-2000:]}")
        for component in missing:
            self.start_component(component, env)
        return missing

    def start_component(self, component: str, env: dict[str, str] | None = None) -> int:
        """Start one Airflow component (``scheduler``, ``worker-1``, ...) in its own group."""
        env = dict(env or self.process_env())
        if component in WORKERS:
            env["FN_WORKER_HOSTNAME"] = component
            argv = [str(BIN / "airflow"), "celery", "worker", "--celery-hostname",
                    f"{component}@%h", "--without-mingle", "--without-gossip"]
        else:
            argv = [str(BIN / "airflow"), component]
        proc = self._spawn(component, argv, env)
        self._save(procs={**self.procs(), component: proc.pid})
        log.info("%s started (pid %d)", component, proc.pid)
        return proc.pid

    def stop_component(self, component: str, sig: signal.Signals = signal.SIGTERM,
                       timeout: float = 30.0) -> None:
        """Stop one component: ``sig`` to it, then TERM/KILL to its process group and to the
        groups of the task runners below it."""
        with self._locked():
            pid = self.procs().get(component)
            if _alive(pid, _marker(component)):
                _stop_groups({pid: sig}, timeout, _tree_groups([pid]) - {pid})
            self._save(procs={**self.procs(), component: None})

    def kill_component(self, component: str) -> int:
        """SIGKILL a component and every process below it at once, as the crash of its
        machine would (fault tests); returns its PID."""
        with self._locked():
            pid = self.procs()[component]
            for group in _tree_groups([pid]):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGKILL)
            _stop_groups({}, 0, {pid})  # reap
            self._save(procs={**self.procs(), component: None})
        return pid

    def _wait_ready(self, timeout: float, started: list[str]) -> None:
        deadline = time.monotonic() + timeout
        url = f"{self.api_url}/api/v2/monitor/health"
        pending = set(started) & set(WORKERS)
        healthy = False
        restarted: set[str] = set()
        while time.monotonic() < deadline:
            with self._locked():  # the supervisor of an earlier `up` may restart it too
                dead = [c for c in COMPONENTS if not _alive(self.procs().get(c), _marker(c))]
                again = [c for c in dead if c in restarted]
                if again:
                    raise StackError(f"{', '.join(again)} exited during start-up; see "
                                     f"{self.dir / (again[0] + '.log')}")
                for component in dead:  # e.g. one that was still exiting after a DB outage
                    log.warning("%s exited; starting it again", component)
                    self.start_component(component)
                    restarted.add(component)
                    pending |= {component} & set(WORKERS)
            pending = {w for w in pending
                       if " ready." not in (self.dir / f"{w}.log").read_text(errors="replace")}
            if not healthy:
                healthy = _healthy(url)
            if healthy and not pending:
                return
            time.sleep(1)
        raise StackError(f"cluster not ready after {timeout:.0f}s (workers not ready: "
                         f"{sorted(pending)}); see the logs in {self.dir}")

    # -- supervision ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the stack folder's lock: the supervisor and the commands that start or stop
        components (``up``, ``down``, :meth:`stop_component`, :meth:`kill_component`) check
        and change the process table one at a time. Not re-entrant."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with (self.dir / "state.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _save(self, **updates: Any) -> dict[str, Any]:
        """As the stack's, but atomic (written aside, then renamed): the supervisor reads the
        state while other processes write it."""
        state = {**self.state(), **updates}
        self.dir.mkdir(parents=True, exist_ok=True)
        part = self.state_file.with_name(f"state.json.{os.getpid()}")
        part.write_text(json.dumps(state, indent=2))
        part.replace(self.state_file)
        return state

    def _start_supervisor(self) -> None:
        if _alive(self.state().get("supervisor_pid"), SUPERVISE):
            return
        proc = self._spawn("supervisor", [sys.executable, "-m", __spec__.name, SUPERVISE,
                                          str(self.dir)], dict(os.environ))
        self._save(supervisor_pid=proc.pid)
        deadline = time.monotonic() + 10  # its command line is the parent's until it execs
        while not _alive(proc.pid, SUPERVISE) and proc.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        log.info("supervisor started (pid %d): restarts components that exit", proc.pid)

    def _servers_answer(self) -> bool:
        state = self.state()
        if not (_alive(state.get("pg_pid"), "postgres") and _alive(state.get("redis_pid"),
                                                                   "redis-server")):
            return False
        ready = subprocess.run([str(pg_bindir() / "pg_isready"), "-q", "-h", "127.0.0.1", "-p",
                                str(state["pg_port"])], check=False)
        return ready.returncode == 0 and _redis_ping(state["redis_port"])

    def supervise(self, every: float = 2.0, max_backoff: float = 60.0, *,
                  clock: Callable[[], float] = time.monotonic,
                  pause: Callable[[float], None] = time.sleep) -> None:
        """Restart Airflow components that exited by themselves, as compose's
        ``restart: unless-stopped`` does, once the metadata DB and the broker answer. A
        component that exits again soon waits twice as long before its next start (up to
        ``max_backoff`` s); one that ran for ``max_backoff`` s starts over at ``every``.
        Returns when another supervisor or ``down`` takes over the stack folder. (``clock``
        and ``pause``: the time source, for tests.)"""
        backoff = {c: every for c in COMPONENTS}
        started_at: dict[str, float] = {}
        me = os.getpid()
        deadline = clock() + 30  # until `up` has recorded this process
        while self.state().get("supervisor_pid") != me and clock() < deadline:
            pause(0.2)
        while self.state().get("supervisor_pid") == me:
            now = clock()
            dead = {c: pid for c, pid in self.procs().items()
                    if c in COMPONENTS and pid and not _alive(pid, _marker(c))}
            for pid in dead.values():
                _reap(pid)  # when this process started it
            exited = [c for c in dead if now - started_at.get(c, -1e9) >= backoff[c]]
            if exited and self._servers_answer():
                with self._locked():
                    procs = self.procs()
                    for component in exited:
                        pid = procs.get(component)
                        if not pid or _alive(pid, _marker(component)):
                            continue  # stopped on purpose, or restarted meanwhile
                        ran = now - started_at.get(component, -1e9)
                        backoff[component] = (every if ran >= max_backoff
                                              else min(2 * backoff[component], max_backoff))
                        log.warning("%s (pid %d) exited; starting it again (see %s.log.1)",
                                    component, pid, component)
                        self.start_component(component)
                        started_at[component] = clock()
            pause(every)
        log.info("supervisor of %s: no longer in charge, exiting", self.dir)

    def down(self, timeout: float = 20.0) -> list[str]:
        """Stop Airflow's components (all at once), then Redis and Postgres, then S3.

        Each gets its polite signal (Celery workers: warm shutdown; Postgres: fast shutdown;
        Redis: flush and exit) and ``timeout`` seconds; what is left of its process group is
        then terminated and killed. The supervisor goes first, so it restarts nothing."""
        with self._locked():
            return self._down(timeout)

    def _down(self, timeout: float) -> list[str]:
        supervisor = self.state().get("supervisor_pid")
        stopped = []
        if _alive(supervisor, SUPERVISE):  # it waits on the lock we hold: it is between checks
            _stop_groups({supervisor: signal.SIGTERM}, timeout)
            stopped.append(f"supervisor (pid {supervisor})")
        self._save(supervisor_pid=None)
        procs = self.procs()
        components = {c: procs.get(c) for c in COMPONENTS if _alive(procs.get(c), _marker(c))}
        # task runners live in process groups of their own, below the workers
        tasks = _tree_groups(list(components.values())) - set(components.values())
        _stop_groups({pid: signal.SIGTERM for pid in components.values()}, timeout, tasks)
        self._save(procs={})
        state = self.state()
        servers = {name: state.get(key) for name, key, marker in SERVERS
                   if _alive(state.get(key), marker)}
        _stop_groups({pid: SERVER_SIGNALS[name] for name, pid in servers.items()}, timeout)
        self._save(redis_pid=None, pg_pid=None)
        stopped += [f"{name} (pid {pid})" for name, pid in {**components, **servers}.items()]
        return stopped + super().down(timeout)


SUPERVISE = "supervise"  # the supervisor's command (and its marker in the process table)
SERVERS = (("redis", "redis_pid", "redis-server"), ("postgres", "pg_pid", "postgres"))
SERVER_SIGNALS = {"redis": signal.SIGTERM, "postgres": signal.SIGINT}


def _stop_groups(first: dict[int, signal.Signals], timeout: float,
                 also: set[int] | frozenset[int] = frozenset()) -> None:
    """Send each leader its signal and wait for all the groups (``first``'s and ``also``) to
    end; then TERM, then KILL what is left of them."""
    for pid, sig in first.items():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    groups = set(first) | set(also)
    for sig, wait in ((None, timeout), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        left = [g for g in groups if _group_alive(g)]
        if not left:
            return
        for group in left if sig is not None else ():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            for group in left:
                _reap(group)
            left = [g for g in left if _group_alive(g)]
            if not left:
                return
            time.sleep(0.25)


def _tree_groups(pids: list[int | None]) -> set[int]:
    """Process groups of the given processes and of all their descendants."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    groups, todo = set(), [p for p in pids if p]
    while todo:
        pid = todo.pop()
        with contextlib.suppress(ProcessLookupError):
            groups.add(os.getpgid(pid))
        todo.extend(children.get(pid, []))
    return groups


def _port_reusable(port: int) -> bool:
    """Whether a server can listen on ``port`` now: nothing listens there (connections of an
    earlier server still in TIME_WAIT do not count)."""
    return _bind(port, reuse=True) is not None


def _healthy(url: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            health = json.load(resp)
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return all(health.get(c, {}).get("status") == "healthy"
               for c in ("metadatabase", "scheduler", "dag_processor", "triggerer"))


EXECUTORS = ("local", "celery")


def open_stack(executor: str | None = None) -> Stack:
    """The stack in ``FN_STACK_DIR``: of ``executor`` (``local`` or ``celery``), or else of the
    executor its state folder last ran. Switching executors needs a stopped stack."""
    stack = Stack.default()
    recorded = stack.state().get("executor", "local")
    choice = executor or recorded
    if choice not in EXECUTORS:
        raise StackError(f"executor {choice!r} is not one of {', '.join(EXECUTORS)}")
    if choice != recorded:
        current = Cluster(stack.dir) if recorded == "celery" else stack
        if _anything_running(current):
            raise StackError(f"{stack.dir} runs a stack of the {recorded} executor; stop it "
                             f"first (fn stack down) or choose another FN_STACK_DIR")
        stack._save(executor=choice)
    return Cluster(stack.dir) if choice == "celery" else stack


def _anything_running(stack: Stack) -> bool:
    status = stack.status()
    parts = [p for p in status.values() if isinstance(p, dict)]
    parts += list(status["airflow"].get("processes", {}).values())
    return any(p.get("running") for p in parts)


if __name__ == "__main__":  # python -m fnlib.local.cluster supervise FOLDER (started by `up`)
    if len(sys.argv) != 3 or sys.argv[1] != SUPERVISE:
        sys.exit(f"usage: python -m {__spec__.name} {SUPERVISE} STACK_FOLDER")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    Cluster(Path(sys.argv[2])).supervise()
