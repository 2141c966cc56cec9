"""``fn``: every stage runnable without Airflow, the local stack, and the main job.

    fn stack up|down|status        the embedded local stack (moto S3 + Airflow standalone)
    fn demo [--source ...]         main job: stack up, run fn_dataset through the scheduler,
                                   print lineage, stack down (unless --keep-up)
    fn dataset --source ...        build a dataset in-process (no Airflow)
    fn lineage URI|DATASET_ID      print the ancestry of a manifest
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from fnlib import settings
from fnlib.errors import FnError

log = logging.getLogger("fnlib.cli")


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _store():
    """The object store for CLI commands: AWS env settings, or the local stack when it is up."""
    from fnlib.stack import Stack
    from fnlib.storage import ObjectStore
    from fnlib.storage.client import make_s3_client

    if not os.environ.get("AWS_ENDPOINT_URL"):
        stack = Stack.default()
        if stack.status()["s3"]["running"]:
            os.environ.update({k: v for k, v in stack.client_env().items() if k not in os.environ
                               or k == "AWS_ENDPOINT_URL"})
            log.info("using the local stack's S3 endpoint %s", stack.s3_url)
    store = ObjectStore(make_s3_client(), settings.bucket())
    store.ensure_bucket(create=False)
    return store


def _dataset_request(args: argparse.Namespace):
    from fnlib.stages.dataset import DatasetRequest

    options: dict[str, Any] = {}
    for item in args.option or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise FnError(f"--option expects key=value, got {item!r}")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    mapping = json.loads(args.label_mapping) if args.label_mapping else None
    return DatasetRequest(
        source=args.source, path=str(Path(args.path).resolve()) if args.path else None,
        test_size=args.test_size, seed=args.seed, scrub=not args.no_scrub,
        dedupe=not args.no_dedupe, n_docs=args.n_docs, label_mapping=mapping, options=options,
    )


def _add_dataset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", default="synthetic",
                   choices=["synthetic", "isot", "liar", "fakenewsnet", "csv"],
                   help="corpus layout (default: synthetic, generated offline)")
    p.add_argument("--path", help="file or folder of the raw corpus (not for synthetic)")
    p.add_argument("--test-size", type=float, default=0.2, help="test fraction (default 0.2)")
    p.add_argument("--seed", type=int, default=42, help="split/generator seed (default 42)")
    p.add_argument("--n-docs", type=int, default=2000, help="synthetic documents (default 2000)")
    p.add_argument("--no-scrub", action="store_true", help="keep source markers and metadata")
    p.add_argument("--no-dedupe", action="store_true", help="keep duplicate texts")
    p.add_argument("--label-mapping", help='JSON raw label -> 1 fake / 0 real, e.g. \'{"false": 1}\'')
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="loader option, e.g. text_column=body or collections='[\"gossipcop\"]'")


def cmd_dataset(args: argparse.Namespace) -> int:
    from fnlib.stages.dataset import run_all
    from fnlib.storage.lineage import format_lineage, walk_lineage

    store = _store()
    result = run_all(store, _dataset_request(args), track_wandb=not args.no_wandb)
    _out(f"dataset {result['dataset_id']}: train {result['rows']['train']} rows, "
         f"test {result['rows']['test']} rows")
    _out(format_lineage(walk_lineage(store, result["manifest_uri"])))
    if result.get("tracked"):
        _print_wandb(result["tracked"])
    return 0


def _print_wandb(tracked: dict[str, Any]) -> None:
    _out(f"W&B run: {tracked.get('wandb_run')}")
    if tracked.get("wandb_dir"):
        _out(f"  offline run saved in {tracked['wandb_dir']}")
        _out(f"  upload it later with: wandb sync {tracked['wandb_dir']}")


def cmd_lineage(args: argparse.Namespace) -> int:
    from fnlib.storage.lineage import format_lineage, walk_lineage
    from fnlib.storage.manifest import find_manifest

    store = _store()
    uri = args.target
    if not uri.startswith("s3://"):
        kind = "dataset" if uri.startswith("ds-") else "raw" if uri.startswith("raw-") else None
        if kind is None:
            raise FnError(f"{uri!r}: give an s3:// manifest URI or an id like ds-... / raw-...")
        _, ref = find_manifest(store, kind, uri)
        uri = ref.versioned_uri
    _out(format_lineage(walk_lineage(store, uri)))
    return 0


def cmd_stack(args: argparse.Namespace) -> int:
    from fnlib.stack import Stack

    stack = Stack.default()
    if args.action == "up":
        status = stack.up()
        _print_stack(stack, status)
    elif args.action == "down":
        stopped = stack.down()
        _out("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    else:
        _print_stack(stack, stack.status())
    return 0


def _print_stack(stack, status: dict[str, Any]) -> None:
    _out(f"stack folder: {status['dir']}")
    for name in ("s3", "airflow"):
        s = status[name]
        _out(f"  {name:8s} {'running' if s['running'] else 'stopped'}  pid={s['pid']}  {s['url'] or ''}")
    if status["airflow"]["running"]:
        _out(f"  Airflow UI: {status['airflow']['url']}  login: admin / {stack.admin_password()}")


def cmd_demo(args: argparse.Namespace) -> int:
    from fnlib.demo import run_demo

    return run_demo(args, _dataset_request(args), out=_out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fn", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("stack", help="start/stop/inspect the embedded local stack")
    p.add_argument("action", choices=["up", "down", "status"])
    p.set_defaults(func=cmd_stack)

    p = sub.add_parser("demo", help="main job: run the pipeline on the local stack end to end")
    _add_dataset_args(p)
    p.add_argument("--keep-up", action="store_true", help="leave the stack running afterwards")
    p.add_argument("--timeout", type=float, default=1800, help="seconds to wait for each DAG run")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("dataset", help="build a dataset in this process (no Airflow)")
    _add_dataset_args(p)
    p.add_argument("--no-wandb", action="store_true", help="skip the W&B artifact")
    p.set_defaults(func=cmd_dataset)

    p = sub.add_parser("lineage", help="print the ancestry of a manifest")
    p.add_argument("target", help="s3://... manifest URI, or a dataset id (ds-...)")
    p.set_defaults(func=cmd_lineage)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("botocore", "urllib3", "boto3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return args.func(args)
    except FnError as exc:
        _out(f"error: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
