"""Real containers: the project's images built with the engine that is here (scripts/images.py:
a Docker daemon, else podman with the project's own store), its Docker API as ``docker_url``,
and a log of every container the engine creates, read from the engine's own events.

Images are built once per change (``fn.inputs`` label); the first run on a fresh machine
builds the stand-in bases too. Tests skip only when there is no engine at all."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _images_module():
    spec = importlib.util.spec_from_file_location("fn_images", ROOT / "scripts" / "images.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["fn_images"] = module  # dataclasses resolve the module by name
    spec.loader.exec_module(module)
    return module


_images = _images_module()


@pytest.fixture(scope="session")
def images():
    """scripts/images.py as a module."""
    return _images


@pytest.fixture(scope="session")
def engine(images):
    try:
        return images.detect()
    except LookupError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def task_image(engine, images) -> str:
    return images.build(engine, ("task",))["task"]


@pytest.fixture(scope="session")
def airflow_image(engine, images) -> str:
    return images.build(engine, ("airflow",))["airflow"]


@pytest.fixture(scope="session")
def docker_url(engine, images):
    with images.serve(engine) as url:
        yield url


class EngineLog:
    """Every task container (labelled ``fn.run_id``) the engine creates while this listens: its
    labels, environment and image (inspected when it is created) and the exit code of its
    ``die`` event."""

    def __init__(self, url: str) -> None:
        import docker

        self.client = docker.APIClient(base_url=url, timeout=120)
        self.containers: dict[str, dict] = {}
        self.last_event = time.monotonic()
        self._stream = self.client.events(decode=True, filters={"type": "container"})
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        import docker

        for event in self._stream:
            if "fn.run_id" not in event.get("Actor", {}).get("Attributes", {}):
                continue  # not a task container (the store may be shared with other runs)
            self.last_event = time.monotonic()
            cid = event.get("id") or event.get("Actor", {}).get("ID")
            action = event.get("Action") or event.get("status")
            record = self.containers.setdefault(cid, {"id": cid, "events": []})
            record["events"].append(action)
            if action == "create":
                try:
                    info = self.client.inspect_container(cid)
                except docker.errors.NotFound:
                    record["inspect_error"] = "removed before it could be inspected"
                    continue
                record.update(env=info["Config"]["Env"], labels=info["Config"]["Labels"] or {},
                              image_id=info["Image"])
            elif action == "die":
                record["exit_code"] = int(event["Actor"]["Attributes"]["exitCode"])

    def settle(self, quiet: float = 3.0, timeout: float = 120.0) -> None:
        """Wait until every container seen has died and no event came for ``quiet`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = all("die" in c["events"] for c in self.containers.values())
            if done and time.monotonic() - self.last_event > quiet:
                return
            time.sleep(0.5)
        raise AssertionError(f"engine events did not settle: {self.containers}")

    def of_run(self, run_id: str) -> list[dict]:
        return [c for c in self.containers.values()
                if c.get("labels", {}).get("fn.run_id") == run_id]

    def close(self) -> None:
        self._stream.close()


@pytest.fixture(scope="session")
def engine_log(docker_url):
    log = EngineLog(docker_url)
    yield log
    log.close()
