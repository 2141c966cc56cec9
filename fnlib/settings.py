"""Deployment settings read from the environment, in one place.

| variable            | default          | meaning                                              |
|---------------------|------------------|------------------------------------------------------|
| ``FN_BUCKET``       | ``fn-artifacts`` | versioned bucket holding datasets, models, manifests |
| ``FN_AWS_CONN_ID``  | ``aws_default``  | Airflow connection used by the DAGs for S3           |
| ``FN_STACK_DIR``    | ``./.stack``     | state folder of the local stack (pids, logs, W&B)    |
| ``WANDB_DIR``       | ``$FN_STACK_DIR``| where offline W&B runs are written                   |
| ``FN_CACHE_DIR``    | ``<stack>/cache``| local feature cache shared by the tuning tasks       |
| ``FN_FEATURE_STORE``| ``bucket``       | ``bucket``: fold features also shared through the    |
|                     |                  | bucket (``features/``); ``local``: this machine only |
| ``FN_TUNE_DEFAULTS``| (none)           | JSON defaults of fn_tune's form (models, variants,   |
|                     |                  | grid, folds, metric): what Asset-triggered tuning    |
|                     |                  | runs use, e.g. ``{"grid": "small", "folds": 3}``     |
| ``FN_PROJECT_DIR``  | (looked up)      | project folder the local stack serves: ``dags/``,    |
|                     |                  | ``plugins/``, ``docker/airflow.env`` (see            |
|                     |                  | :func:`project_dir`)                                 |
| ``FN_DATA_DIR``     | project folder   | root that relative data paths (form, CLI) resolve    |
|                     |                  | against; without a project: the current directory    |
| ``FN_TASK_RUNTIME`` | ``local``        | where task bodies run: ``local``, ``docker``,        |
|                     |                  | ``kubernetes`` (see ``docs/deploy.md``)              |
| ``FN_TASK_IMAGE``   | ``fn-task:<ver>``| image of the container runtimes                      |
| ``FN_DOCKER_URL``   | docker socket    | Docker engine of the ``docker`` runtime              |
| ``FN_DOCKER_NETWORK``| (none)          | network the task containers join (compose network)   |
| ``FN_DOCKER_CACHE_VOLUME``| ``fn-feature-cache`` | volume holding the feature cache         |
| ``FN_K8S_NAMESPACE``| ``airflow``      | namespace of the task pods                           |
| ``FN_K8S_SECRET``   | (none)           | Secret with the pods' AWS/W&B credentials            |
| ``FN_K8S_CACHE_PVC``| (none)           | PersistentVolumeClaim for the pods' feature cache    |
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from fnlib.errors import FnError

DEFAULT_BUCKET = "fn-artifacts"
TASK_RUNTIMES = ("local", "docker", "kubernetes")


def bucket() -> str:
    return os.environ.get("FN_BUCKET", DEFAULT_BUCKET)


def aws_conn_id() -> str:
    return os.environ.get("FN_AWS_CONN_ID", "aws_default")


def stack_dir() -> Path:
    return Path(os.environ.get("FN_STACK_DIR", ".stack")).resolve()


def wandb_dir() -> Path:
    return Path(os.environ.get("WANDB_DIR") or stack_dir()).resolve()


def cache_dir() -> Path:
    """Feature cache (an accelerator, not lineage): ``FN_CACHE_DIR`` or ``<stack>/cache``."""
    return Path(os.environ.get("FN_CACHE_DIR") or stack_dir() / "cache").resolve()


FEATURE_STORES = ("bucket", "local")


def feature_store() -> str:
    """Where tuning shares fold features: ``bucket`` (every machine, behind the local cache)
    or ``local`` (the local cache only)."""
    value = os.environ.get("FN_FEATURE_STORE", "bucket").strip().lower() or "bucket"
    if value not in FEATURE_STORES:
        raise ValueError(f"FN_FEATURE_STORE={value!r} is not one of {', '.join(FEATURE_STORES)}")
    return value


class ProjectDirError(FnError):
    """No project folder (the DAGs and plugins the local stack serves) was found."""


# what makes a folder the project folder: the DAGs and the Airflow plugin package
PROJECT_MARKERS = ("dags", "plugins/fn_airflow")
# the checkout this module sits in (an editable install; in a wheel install it is
# site-packages, which holds no project)
_CHECKOUT = Path(__file__).resolve().parents[1]


def _is_project(folder: Path) -> bool:
    return all((folder / marker).is_dir() for marker in PROJECT_MARKERS)


def project_dir() -> Path:
    """The project folder: where the local stack finds the DAGs (``dags/``), the plugins
    (``plugins/``) and the deployment's Airflow settings (``docker/airflow.env``).

    In order: ``FN_PROJECT_DIR`` (``fn stack up --project DIR`` sets it), which must hold
    them; else the current directory or its nearest parent that does; else the checkout
    fnlib is imported from (an editable install). fnlib installed from a wheel carries no
    DAGs: run it from the project folder or point ``FN_PROJECT_DIR`` at one."""
    markers = " and ".join(f"{m}/" for m in PROJECT_MARKERS)
    if os.environ.get("FN_PROJECT_DIR"):
        given = Path(os.environ["FN_PROJECT_DIR"]).expanduser().resolve()
        if not _is_project(given):
            raise ProjectDirError(f"FN_PROJECT_DIR={given} does not hold {markers}")
        return given
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents, _CHECKOUT):
        if _is_project(folder):
            return folder
    raise ProjectDirError(
        f"no project folder found: looked for {markers} in {cwd}, its parents and {_CHECKOUT}; "
        "run from the project folder, or set FN_PROJECT_DIR (fn stack up --project DIR)")


def data_dir() -> Path:
    """The data root: ``FN_DATA_DIR``, else the project folder (:func:`project_dir`),
    else (an installed package outside any project) the current directory."""
    if os.environ.get("FN_DATA_DIR"):
        return Path(os.environ["FN_DATA_DIR"]).expanduser().resolve()
    try:
        return project_dir()
    except ProjectDirError:
        if os.environ.get("FN_PROJECT_DIR"):
            raise
        return Path.cwd()


def data_path(path: str | os.PathLike[str]) -> Path:
    """A user's data path as an absolute path: ``~`` expanded, relative paths resolved
    against :func:`data_dir` (never against a process's working directory, which differs
    between the CLI, Airflow's task processes and containers)."""
    candidate = Path(path).expanduser()
    return (candidate if candidate.is_absolute() else data_dir() / candidate).resolve()


TUNE_DEFAULT_KEYS = ("models", "variants", "grid", "folds", "metric")


def tune_defaults() -> dict[str, object]:
    """Deployment defaults for fn_tune's params (``FN_TUNE_DEFAULTS``, a JSON object): an
    Asset-triggered tuning run has no form, so these decide how big its grid is."""
    raw = os.environ.get("FN_TUNE_DEFAULTS", "").strip()
    if not raw:
        return {}
    try:
        values = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"FN_TUNE_DEFAULTS is not valid JSON ({exc})") from exc
    if not isinstance(values, dict) or set(values) - set(TUNE_DEFAULT_KEYS):
        raise ValueError(f"FN_TUNE_DEFAULTS must be a JSON object with keys among "
                         f"{', '.join(TUNE_DEFAULT_KEYS)}; got {raw}")
    return values


def task_runtime() -> str:
    """Where the DAGs' task bodies run; one setting for the whole deployment."""
    value = os.environ.get("FN_TASK_RUNTIME", "local").strip().lower() or "local"
    if value not in TASK_RUNTIMES:
        raise ValueError(f"FN_TASK_RUNTIME={value!r} is not one of {', '.join(TASK_RUNTIMES)}")
    return value


def task_image() -> str:
    from fnlib import __version__

    return os.environ.get("FN_TASK_IMAGE") or f"fn-task:{__version__}"


def docker_url() -> str:
    return os.environ.get("FN_DOCKER_URL", "unix://var/run/docker.sock")


def docker_network() -> str | None:
    return os.environ.get("FN_DOCKER_NETWORK") or None


def docker_cache_volume() -> str:
    return os.environ.get("FN_DOCKER_CACHE_VOLUME", "fn-feature-cache")


def k8s_namespace() -> str:
    return os.environ.get("FN_K8S_NAMESPACE", "airflow")


def k8s_secret() -> str | None:
    return os.environ.get("FN_K8S_SECRET") or None


def k8s_cache_pvc() -> str | None:
    return os.environ.get("FN_K8S_CACHE_PVC") or None


@contextlib.contextmanager
def scoped_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set ``values`` in ``os.environ`` for the duration of the block, then restore exactly
    what was there (variables that were unset are removed again)."""
    saved = {k: os.environ.get(k) for k in values}
    try:
        os.environ.update(values)
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
