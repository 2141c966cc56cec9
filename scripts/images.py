#!/usr/bin/env python3
"""Build the task image and the Airflow image with whatever container engine is here.

    scripts/images.py build [--only task|airflow] [--engine auto|docker|podman]
                            [--stand-in auto|always|never]
    scripts/images.py env       # shell exports to use the project's podman by hand

Engine: a reachable Docker daemon if there is one, else podman with the project's own
configuration, storage and state under ``FN_PODMAN_DIR`` (default ``.podman/`` in the
project), so it never touches other podman users' images, containers or settings.

Base images: the Dockerfiles name the real bases (``ARG PYTHON_IMAGE`` / ``ARG AIRFLOW_IMAGE``)
and a Docker user builds against those. Where a base can be neither found nor pulled (no
registry access), a clearly labelled *stand-in* is built from Debian's own packages instead
(same Debian release, same Python minor version) and passed as the build argument:

- ``localhost/fn-standin-python:3.11-bookworm``: ``debootstrap`` minbase of the same Debian
  release with Debian's ``python3`` in a venv at ``/opt/py`` (first on ``PATH``). Debian ships
  3.11.2 where the real base has 3.11.14: the patch version differs, and the image's
  ``fn.python.version`` label says which one it has.
- ``localhost/fn-standin-airflow:<airflow>-python3.11``: that base plus an ``airflow`` user
  (uid 50000, group root, ``AIRFLOW_HOME=/opt/airflow``) and the pinned Airflow and providers
  from the project's ``pyproject.toml`` / ``constraints.txt``; entrypoint ``airflow``.

Every image is labelled ``fn.inputs`` with a hash of what it is built from (Dockerfile, the
files it copies, build arguments, base image id); a build is skipped when the tagged image
already carries that hash, so tests build each image at most once per change.

Standard library only: the Makefile runs it with the system Python (``make images``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEBIAN_RELEASE = "bookworm"
DEBIAN_MIRROR = os.environ.get("FN_DEBIAN_MIRROR", "http://deb.debian.org/debian")
STANDIN_PACKAGES = ("python3", "python3-venv", "passwd", "ca-certificates")
STANDIN_PYTHON = f"localhost/fn-standin-python:3.11-{DEBIAN_RELEASE}"
# bump when the stand-in recipes below change, so existing stand-ins are rebuilt
STANDIN_RECIPE = "2"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# what the images copy from the project (see the Dockerfiles); hashed into fn.inputs
TASK_INPUTS = ("constraints.txt", "pyproject.toml", "README.md", "fnlib")
AIRFLOW_INPUTS = (*TASK_INPUTS, "dags", "plugins")
SKIP_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
PULL_TIMEOUT = float(os.environ.get("FN_PULL_TIMEOUT", "60"))


def version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


@dataclass(frozen=True)
class ImageSpec:
    name: str
    dockerfile: Path
    tags: tuple[str, ...]
    inputs: tuple[str, ...]

    def base(self) -> tuple[str, str]:
        """``(build argument, real base image)`` as the Dockerfile declares it."""
        match = re.search(r"^ARG (\w+_IMAGE)=(\S+)", self.dockerfile.read_text(), re.M)
        if not match:
            raise SystemExit(f"{self.dockerfile}: expected 'ARG <NAME>_IMAGE=<base>' before FROM")
        return match.group(1), match.group(2)


def specs() -> dict[str, ImageSpec]:
    v = version()
    return {
        "task": ImageSpec("task", ROOT / "docker/task.Dockerfile", (f"fn-task:{v}",),
                          TASK_INPUTS),
        "airflow": ImageSpec("airflow", ROOT / "docker/airflow.Dockerfile",
                             (f"fn-airflow:{v}", "fn-airflow:latest"), AIRFLOW_INPUTS),
    }


def log(message: str) -> None:
    print(f"[images] {message}", file=sys.stderr, flush=True)


# --- engines -------------------------------------------------------------------------------


class Engine:
    """One container engine CLI (``docker`` or ``podman``) with the environment it needs."""

    def __init__(self, kind: str, env: dict[str, str] | None = None,
                 state_dir: Path | None = None) -> None:
        self.kind = kind
        self.env = {**os.environ, **(env or {})}
        self.state_dir = state_dir

    def run(self, *args: str, check: bool = True, timeout: float | None = None,
            stdin: bytes | None = None, quiet: bool = True) -> subprocess.CompletedProcess:
        cmd = [self.kind, *args]
        done = subprocess.run(cmd, env=self.env, input=stdin, timeout=timeout,
                              capture_output=quiet)
        if check and done.returncode:
            err = (done.stderr or b"").decode(errors="replace")[-2000:] if quiet else ""
            raise RuntimeError(f"{' '.join(cmd[:4])} ... failed ({done.returncode}): {err}")
        return done

    def image(self, ref: str) -> dict | None:
        """``{"id": ..., "labels": {...}}`` of a local image, None when absent."""
        done = self.run("image", "inspect", ref, check=False)
        if done.returncode:
            return None
        data = json.loads(done.stdout)[0]
        config = data.get("Config") or {}
        return {"id": data["Id"], "labels": config.get("Labels") or {}}

    def build_args(self) -> list[str]:
        if self.kind == "podman":
            # chroot isolation: RUN steps need no OCI runtime features; host network: PyPI
            return ["build", "--pull=never", "--network", "host", "--isolation", "chroot"]
        return ["build", "--network", "host"]


def podman_engine(state_dir: Path | None = None) -> Engine:
    """podman with the project's own configuration and storage (created on first use)."""
    state = Path(state_dir or os.environ.get("FN_PODMAN_DIR") or ROOT / ".podman").resolve()
    for sub in ("storage", "run", "tmp", "volumes", "networks"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    conf, storage = state / "containers.conf", state / "storage.conf"
    # runc, cgroupfs and no default ulimits: what works on machines without systemd/cgroup v2
    # delegation; the file event log lets tests read what the engine did
    conf.write_text(
        "[containers]\ndefault_ulimits = []\n\n"
        "[engine]\n"
        'runtime = "runc"\ncgroup_manager = "cgroupfs"\n'
        f'events_logger = "file"\nevents_logfile_path = "{state}/events.log"\n'
        f'tmp_dir = "{state}/tmp"\nvolume_path = "{state}/volumes"\n'
        f'[network]\nnetwork_config_dir = "{state}/networks"\n')
    storage.write_text(
        '[storage]\ndriver = "overlay"\n'
        f'graphroot = "{state}/storage"\nrunroot = "{state}/run"\n')
    env = {"CONTAINERS_CONF": str(conf), "CONTAINERS_STORAGE_CONF": str(storage)}
    return Engine("podman", env, state)


def docker_daemon_reachable() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def detect(kind: str = "auto", state_dir: Path | None = None) -> Engine:
    """The engine to use: ``FN_CONTAINER_ENGINE`` / ``kind``, or a reachable Docker daemon,
    else podman. Raises ``LookupError`` saying what to install when there is none."""
    kind = os.environ.get("FN_CONTAINER_ENGINE", kind) if kind == "auto" else kind
    if kind == "docker" or (kind == "auto" and docker_daemon_reachable()):
        return Engine("docker")
    if kind in ("podman", "auto") and shutil.which("podman"):
        return podman_engine(state_dir)
    raise LookupError("no container engine: start a Docker daemon, or install podman and "
                      "runc (scripts/system-deps.sh does, as root on Debian)")


@contextlib.contextmanager
def serve(engine: Engine, socket_dir: Path | None = None) -> Iterator[str]:
    """The engine's Docker API as a ``docker_url``: podman's API service on a private unix
    socket while the block runs (stopped after), or the Docker daemon's own socket."""
    if engine.kind == "docker":
        yield os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        return
    tmp = Path(tempfile.mkdtemp(prefix="fn-podman-api-", dir=socket_dir))
    sock = tmp / "podman.sock"
    with open(tmp / "service.log", "wb") as service_log:
        proc = subprocess.Popen([engine.kind, "system", "service", "--time=0", f"unix://{sock}"],
                                env=engine.env, stdout=service_log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not sock.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"podman system service did not start: "
                                   f"{(tmp / 'service.log').read_text()[-2000:]}")
            time.sleep(0.1)
        yield f"unix://{sock}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


# --- hashing -------------------------------------------------------------------------------


def inputs_hash(parts: list[str], paths: tuple[str, ...] = ()) -> str:
    """sha256 over ``parts`` and the content of the project files under ``paths``."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() + b"\0")
    for rel in paths:
        top = ROOT / rel
        files = [top] if top.is_file() else sorted(
            p for p in top.rglob("*") if p.is_file() and not SKIP_PARTS & set(p.parts)
            and p.suffix != ".pyc")
        for path in files:
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:24]


def is_current(engine: Engine, ref: str, digest: str) -> bool:
    found = engine.image(ref)
    return bool(found and found["labels"].get("fn.inputs") == digest)


def remove_replaced(engine: Engine, old: dict | None, ref: str) -> None:
    """Drop the image a rebuild replaced, if this script built it (it carries ``fn.inputs``)
    and nothing else uses it; images of anyone else are never touched."""
    new = engine.image(ref)
    if old and new and old["id"] != new["id"] and "fn.inputs" in old["labels"]:
        engine.run("rmi", old["id"], check=False)


# --- stand-in bases ------------------------------------------------------------------------


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path.resolve()) + "/"
    with open("/proc/mounts") as mounts:
        return [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]


@contextlib.contextmanager
def _rootfs_dir(engine: Engine) -> Iterator[Path]:
    parent = engine.state_dir / "tmp" if engine.state_dir else None
    tmp = Path(tempfile.mkdtemp(prefix="fn-rootfs-", dir=parent))
    try:
        yield tmp / "rootfs"
    finally:
        for mount in reversed(_mounts_under(tmp)):  # debootstrap mounts /proc, /sys inside
            subprocess.run(["umount", "-l", mount], check=False)
        if _mounts_under(tmp):
            log(f"left {tmp} in place: something is still mounted under it")
        else:
            shutil.rmtree(tmp)


def build_standin_python(engine: Engine, real_base: str) -> str:
    digest = inputs_hash([STANDIN_RECIPE, DEBIAN_RELEASE, DEBIAN_MIRROR, *STANDIN_PACKAGES,
                          HOST_CA_BUNDLE.read_text() if HOST_CA_BUNDLE.is_file() else ""])
    if is_current(engine, STANDIN_PYTHON, digest):
        return STANDIN_PYTHON
    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        raise SystemExit(f"{real_base} cannot be pulled here and the stand-in base needs "
                         "root and debootstrap (scripts/system-deps.sh installs it)")
    old = engine.image(STANDIN_PYTHON)
    started = time.monotonic()
    with _rootfs_dir(engine) as rootfs:
        log(f"stand-in base: debootstrap {DEBIAN_RELEASE} from {DEBIAN_MIRROR}")
        subprocess.run(["debootstrap", "--variant=minbase",
                        f"--include={','.join(STANDIN_PACKAGES)}", DEBIAN_RELEASE,
                        str(rootfs), DEBIAN_MIRROR], check=True, capture_output=True)
        subprocess.run(["chroot", str(rootfs), "python3", "-m", "venv", "/opt/py"], check=True)
        py = subprocess.run(["chroot", str(rootfs), "/opt/py/bin/python", "-c",
                             "import platform; print(platform.python_version())"],
                            check=True, capture_output=True, text=True).stdout.strip()
        if HOST_CA_BUNDLE.is_file():  # trust what the host trusts (TLS-inspecting proxies)
            shutil.copyfile(HOST_CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")
        for junk in ("var/lib/apt/lists", "var/cache/apt/archives"):
            for entry in (rootfs / junk).glob("*"):
                if entry.is_file():
                    entry.unlink()
        real_py = real_base.split(":")[-1].split("-")[0]
        changes = [
            "ENV PATH=/opt/py/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV LANG=C.UTF-8",
            'CMD ["python3"]',
            f"LABEL fn.inputs={digest}",
            "LABEL fn.standin=true",
            f"LABEL fn.standin.for={real_base}",
            f"LABEL fn.python.version={py}",
            f'LABEL org.opencontainers.image.description="STAND-IN for {real_base}, built '
            f"from Debian {DEBIAN_RELEASE} packages: Python {py} (the real base has "
            f'{real_py}) in a venv at /opt/py"',
        ]
        args = [arg for change in changes for arg in ("--change", change)]
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."],
                               stdout=subprocess.PIPE)
        imported = subprocess.run([engine.kind, "import", *args, "-", STANDIN_PYTHON],
                                  stdin=tar.stdout, env=engine.env, capture_output=True)
        tar.stdout.close()
        if tar.wait() or imported.returncode:
            raise RuntimeError(f"importing the stand-in base failed: {imported.stderr[-2000:]}")
    remove_replaced(engine, old, STANDIN_PYTHON)
    log(f"stand-in base {STANDIN_PYTHON} (Python {py}) built in "
        f"{time.monotonic() - started:.0f} s")
    return STANDIN_PYTHON


REQUIRES_PYTHON_CHECK = """\
import importlib.metadata
import platform

from pip._vendor.packaging.specifiers import SpecifierSet

here = platform.python_version()
for dist in sorted(importlib.metadata.distributions(), key=lambda d: d.name.lower()):
    wanted = dist.metadata["Requires-Python"]
    if wanted and here not in SpecifierSet(wanted):
        print(f"{dist.name}=={dist.version} requires Python {wanted}; this is {here}")
"""


def _pinned_airflow() -> list[str]:
    """The Airflow requirements the project pins (what the official image carries for us)."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    return [*extras["airflow"], *extras.get("kubernetes", [])]


def build_standin_airflow(engine: Engine, real_base: str) -> str:
    python_base = build_standin_python(engine, specs()["task"].base()[1])
    requirements = _pinned_airflow()
    airflow_version = next(r.split("==")[1] for r in requirements
                           if r.startswith("apache-airflow=="))
    ref = f"localhost/fn-standin-airflow:{airflow_version}-python3.11"
    # Debian's Python 3.11.2 is below the Requires-Python (>=3.11.5) of a few pinned packages
    # (soupsieve 4.x, pulled in through the amazon provider): the stand-in installs them anyway
    # (PIP_IGNORE_REQUIRES_PYTHON) and lists them in /opt/fn-standin/requires-python.txt
    containerfile = f"""\
FROM {python_base}
ENV AIRFLOW_HOME=/opt/airflow PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1 \\
    PIP_IGNORE_REQUIRES_PYTHON=1
RUN useradd --uid 50000 --gid 0 --create-home airflow \\
    && mkdir -p /opt/airflow /opt/fn-standin \\
    && chown -R 50000:0 /opt/airflow /opt/py /opt/fn-standin
COPY constraints.txt requires_python.py /opt/fn-standin/
USER 50000
RUN pip install --no-cache-dir -c /opt/fn-standin/constraints.txt {' '.join(
        f"'{r}'" for r in requirements)}
RUN python /opt/fn-standin/requires_python.py > /opt/fn-standin/requires-python.txt \\
    && cat /opt/fn-standin/requires-python.txt
WORKDIR /opt/airflow
ENTRYPOINT ["airflow"]
CMD ["--help"]
LABEL fn.standin=true fn.standin.for={real_base} \\
      org.opencontainers.image.description="STAND-IN for {real_base}: Debian \\
{DEBIAN_RELEASE}, Python from {python_base}, the project's pinned Airflow and providers; \\
/opt/fn-standin/requires-python.txt lists packages installed despite their Requires-Python"
"""
    digest = inputs_hash([STANDIN_RECIPE, containerfile, REQUIRES_PYTHON_CHECK,
                          engine.image(python_base)["id"]], ("constraints.txt",))
    if is_current(engine, ref, digest):
        return ref
    old = engine.image(ref)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fn-standin-airflow-") as ctx:
        (Path(ctx) / "Containerfile").write_text(containerfile)
        shutil.copyfile(ROOT / "constraints.txt", Path(ctx) / "constraints.txt")
        (Path(ctx) / "requires_python.py").write_text(REQUIRES_PYTHON_CHECK)
        log(f"stand-in base {ref}: installing the pinned Airflow from PyPI")
        engine.run(*engine.build_args(), "-f", f"{ctx}/Containerfile", "-t", ref,
                   "--label", f"fn.inputs={digest}", ctx, quiet=False)
    remove_replaced(engine, old, ref)
    log(f"stand-in base {ref} built in {time.monotonic() - started:.0f} s")
    return ref


def qualified(ref: str) -> str:
    """``ref`` with its registry, as podman needs it (no short-name search configured)."""
    first = ref.split("/")[0]
    if "/" in ref and ("." in first or ":" in first or first == "localhost"):
        return ref
    return f"docker.io/{ref if '/' in ref else 'library/' + ref}"


def base_image(engine: Engine, spec: ImageSpec, stand_in: str) -> str:
    """The base to build ``spec`` on: the real one when present or pullable, else a stand-in."""
    _, real = spec.base()
    if stand_in != "always":
        for ref in (real, qualified(real)):
            if engine.image(ref):
                return ref
        log(f"pulling {real} (up to {PULL_TIMEOUT:.0f} s)")
        try:
            pulled = engine.run("pull", "-q", qualified(real), check=False, timeout=PULL_TIMEOUT)
            if pulled.returncode == 0:
                return qualified(real)
        except subprocess.TimeoutExpired:
            pass
        if stand_in == "never":
            raise SystemExit(f"{real} could not be pulled (and --stand-in never)")
        log(f"{real} cannot be pulled here: building a stand-in base")
    return (build_standin_python if spec.name == "task" else build_standin_airflow)(engine, real)


def build(engine: Engine, which: tuple[str, ...] = ("task", "airflow"),
          stand_in: str = "auto") -> dict[str, str]:
    """Build the images named in ``which`` unless current; returns name -> tag."""
    built: dict[str, str] = {}
    for name in which:
        spec = specs()[name]
        arg, _ = spec.base()
        base = base_image(engine, spec, stand_in)
        sha = git_sha()
        digest = inputs_hash([spec.dockerfile.read_text(), base, engine.image(base)["id"], sha],
                             spec.inputs)
        tag = spec.tags[0]
        built[name] = tag
        if is_current(engine, tag, digest):
            log(f"{tag} is up to date (fn.inputs={digest})")
            continue
        old = engine.image(tag)
        started = time.monotonic()
        log(f"building {tag} on {base}")
        tags = [a for t in spec.tags for a in ("-t", t)]
        engine.run(*engine.build_args(), "-f", str(spec.dockerfile), *tags,
                   "--build-arg", f"{arg}={base}", "--build-arg", f"FN_GIT_SHA={sha}",
                   "--label", f"fn.inputs={digest}", str(ROOT), quiet=False)
        remove_replaced(engine, old, tag)
        log(f"{tag} built in {time.monotonic() - started:.0f} s")
    return built


def git_sha() -> str:
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
                          capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the task and Airflow images (skips current ones)")
    b.add_argument("--only", choices=["task", "airflow"], help="build just this image")
    b.add_argument("--engine", choices=["auto", "docker", "podman"], default="auto")
    b.add_argument("--stand-in", choices=["auto", "always", "never"], default="auto",
                   help="stand-in bases: when the real base cannot be pulled (auto), always, "
                        "or never (fail instead)")
    sub.add_parser("env", help="print shell exports that point podman at the project's store")
    sub.add_parser("serve", help="serve the engine's Docker API until interrupted and print "
                                 "the FN_DOCKER_URL to use (podman: a private socket)")
    args = parser.parse_args(argv)
    if args.command == "env":
        engine = podman_engine()
        for key in ("CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF"):
            print(f"export {key}={engine.env[key]}")
        return 0
    try:
        engine = detect(getattr(args, "engine", "auto"))
    except LookupError as exc:
        raise SystemExit(str(exc)) from exc
    if args.command == "serve":
        with serve(engine) as url:
            print(f"export FN_DOCKER_URL={url}", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
        return 0
    which = (args.only,) if args.only else ("task", "airflow")
    for name, tag in build(engine, which, args.stand_in).items():
        print(f"{name}: {tag} ({engine.kind})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
