"""The main job: run the pipeline through the real scheduler on the local stack."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fnlib.airflow_api import AirflowClient
from fnlib.errors import FnError
from fnlib.stack import Stack


def _task_log_tail(stack: Stack, dag_id: str, run_id: str, lines: int = 40) -> str:
    root = stack.airflow_home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
    logs = sorted(root.rglob("*.log"), key=lambda p: p.stat().st_mtime) if root.exists() else []
    if not logs:
        return "(no task log found)"
    text = logs[-1].read_text(errors="replace").splitlines()
    return f"{logs[-1]}:\n" + "\n".join(text[-lines:])


def run_dag(client: AirflowClient, stack: Stack, dag_id: str, conf: dict[str, Any],
            timeout: float, out: Callable[[str], None]) -> str:
    client.wait_for_dag(dag_id)
    client.set_paused(dag_id, False)
    run_id = client.trigger(dag_id, conf)
    out(f"triggered {dag_id} run {run_id}")
    started = time.monotonic()
    run = client.wait_for_run(dag_id, run_id, timeout, progress=lambda m: out(f"  {m}"))
    out(f"{dag_id} {run['state']} in {time.monotonic() - started:.1f}s")
    if run["state"] != "success":
        raise FnError(f"{dag_id} run {run_id} {run['state']}; last task log "
                      f"{_task_log_tail(stack, dag_id, run_id)}")
    return run_id


def run_demo(args: Any, request: Any, out: Callable[[str], None]) -> int:
    from dataclasses import asdict

    from fnlib import settings
    from fnlib.storage import ObjectStore
    from fnlib.storage.client import make_s3_client
    from fnlib.storage.lineage import format_lineage, walk_lineage

    stack = Stack.default()
    was_up = stack.is_up()
    out("starting the local stack (moto S3 + Airflow standalone)..." if not was_up
        else "using the running local stack")
    t0 = time.monotonic()
    stack.up()
    out(f"stack ready in {time.monotonic() - t0:.1f}s: Airflow {stack.api_url}, S3 {stack.s3_url}")
    try:
        client = AirflowClient(stack.api_url, "admin", stack.admin_password() or "")
        conf = {k: v for k, v in asdict(request).items() if v is not None}
        run_id = run_dag(client, stack, "fn_dataset", conf, args.timeout, out)
        result = client.xcom("fn_dataset", run_id, "commit")
        tracked = client.xcom("fn_dataset", run_id, "track")
        os.environ.update(stack.client_env())
        store = ObjectStore(make_s3_client(stack.s3_url), settings.bucket())
        out("")
        out(f"dataset id: {result['dataset_id']}" + ("  (SYNTHETIC data)" if request.source == "synthetic" else ""))
        out(f"manifest:   {result['manifest_uri']}")
        out("lineage:")
        out(format_lineage(walk_lineage(store, result["manifest_uri"])))
        out("")
        out(f"W&B run: {tracked.get('wandb_run')}")
        if tracked.get("wandb_dir"):
            out(f"  offline; upload later with: wandb sync {tracked['wandb_dir']}")
        out(f"Airflow UI: {stack.api_url}  login: admin / {stack.admin_password()}")
        out(f"stack state and logs: {Path(stack.dir)}")
    finally:
        if not args.keep_up and not was_up:
            stopped = stack.down()
            out("stopped the local stack: " + ", ".join(stopped))
        elif args.keep_up:
            out("stack left running; stop it with: make stack-down")
    return 0
