"""``fn``: every stage runnable without Airflow, the local stack, and the main job.

    fn stack up|down|status        the embedded local stack (moto S3 + Airflow standalone)
      [--executor celery]          ... or its cluster mode: Postgres, Redis, two Celery workers
    fn demo [--source ...]         main job: stack up, fn_dataset -> fn_tune -> fn_train through
                                   the scheduler (Asset chain), print results, stack down
    fn dataset --source ...        build a dataset in-process (no Airflow)
    fn tune --dataset-id ds-...    grid search in-process (same stage functions as fn_tune)
    fn train --tuning-id tune-...  fit, evaluate, save and gate one model in-process
    fn models list|show|promote|rollback   the model registry and champion pointer
    fn simulate --days 7 ...       replay held-out data as days of traffic (incoming/ + feedback/)
    fn monitor-table               one row per monitored day (latest reports)
    fn lineage URI|ID              print the ancestry of a manifest
    fn evaluate --model ... --dataset ds-...   score any model on any dataset (an evaluation)
    fn transfer --datasets ds-a,ds-b  train on each, test on every one: the transfer table
    fn explain --model ... "text"  the terms that pushed a text's score towards fake or real
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any

from fnlib import catalog, settings
from fnlib.errors import FnError, InputError

log = logging.getLogger("fnlib.cli")


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _store():
    """The object store for CLI commands: AWS env settings, or the local stack when it is up."""
    from fnlib.local.stack import Stack
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


def _json_object(value: str, flag: str) -> dict[str, Any]:
    """A JSON object given on the command line, or an error naming the flag."""
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise InputError(f"{flag} is not valid JSON ({exc.msg} at character {exc.pos}): "
                         f"{value[:80]!r}") from exc
    if not isinstance(parsed, dict):
        raise InputError(f"{flag} must be a JSON object like '{{\"key\": 1}}', "
                         f"got {type(parsed).__name__}")
    return parsed


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
    mapping = _json_object(args.label_mapping, "--label-mapping") if args.label_mapping else None
    return DatasetRequest(
        source=args.source, path=args.path,
        test_size=args.test_size, seed=args.seed, scrub=not args.no_scrub,
        dedupe=not args.no_dedupe, split=args.split, near_dedupe=not args.no_near_dedupe,
        n_docs=args.n_docs, label_mapping=mapping, options=options,
    )


def _add_dataset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", default="synthetic", choices=list(catalog.SOURCE_NAMES),
                   help="corpus layout (default: synthetic, generated offline): isot (Fake.csv + "
                        "True.csv), liar (train/valid/test.tsv), fakenewsnet ({collection}_{fake,"
                        "real}.csv), csv (a file or train/valid/test.csv), folders (<class>/*.txt, "
                        "e.g. fake/ legit/), json (JSON articles under class folders, or JSON Lines)")
    p.add_argument("--path", help="file or folder of the raw corpus (not for synthetic); "
                   "relative paths resolve against FN_DATA_DIR (default: the project folder)")
    p.add_argument("--test-size", type=float, default=0.2, help="test fraction (default 0.2)")
    p.add_argument("--seed", type=int, default=42, help="split/generator seed (default 42)")
    p.add_argument("--n-docs", type=int, default=2000, help="synthetic documents (default 2000)")
    p.add_argument("--no-scrub", action="store_true", help="keep source markers and metadata")
    p.add_argument("--no-dedupe", action="store_true", help="keep duplicate texts")
    p.add_argument("--split", default="random", choices=list(catalog.SPLIT_STRATEGIES),
                   help="random: stratified seeded split (--test-size); predefined: the data "
                        "set's own split (LIAR's files, split files, split_column/split_field); "
                        "validation rows join train, the test split is the published one")
    p.add_argument("--no-near-dedupe", action="store_true",
                   help="keep train texts that nearly duplicate a test text (word-set Jaccard "
                        ">= 0.8); by default they are dropped from train")
    p.add_argument("--label-mapping", help='JSON raw label -> 1 fake / 0 real, e.g. \'{"false": 1}\'')
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="loader option, e.g. text_column=body, split_column=fold, "
                        "label_field=verdict or collections='[\"gossipcop\"]'; "
                        "synthetic: vocab=zipf (a vocabulary that grows like real news)")


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


def _csv_list(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def cmd_tune(args: argparse.Namespace) -> int:
    from fnlib.stages import tune

    store = _store()
    request = tune.TuneRequest(dataset_id=args.dataset_id, models=_csv_list(args.models),
                               variants=_csv_list(args.variants), grid=args.grid,
                               folds=args.folds, metric=args.metric, seed=args.seed)
    planned = tune.plan(store, request)
    _out(f"tuning {planned['tuning_id']}: {len(planned['configs'])} configurations, "
         f"{len(planned['feature_configs'])} feature settings, {args.folds} folds")
    for cfg in planned["feature_configs"]:
        info = tune.featurize(store, planned, cfg)
        _out(f"  features {info['feature_key']}: {info['folds']} folds")
    results = []
    for chunk in planned["chunks"]:  # one per feature setting: its features are read once
        for result in tune.score_chunk(store, planned, chunk):
            results.append(result)
            _out(f"  [{len(results)}/{len(planned['configs'])}] {result['config_id']} "
                 f"{args.metric}={result['mean'][args.metric]:.4f}")
    summary = tune.reduce(store, planned, results)
    _print_leaderboard(store, summary)
    return 0


def _print_leaderboard(store, summary: dict[str, Any], top: int = 10) -> None:
    from fnlib.stages.common import resolve
    from fnlib.stages.tune import read_leaderboard

    manifest, _ = resolve(store, "tuning", None, summary["manifest"])
    board = read_leaderboard(store, manifest)
    metric = summary["metric"]
    _out(f"leaderboard of {summary['tuning_id']} (dataset {summary['dataset_id']}), by mean {metric}:")
    cols = [c for c in ("config_id", "label", f"mean_{metric}", f"std_{metric}", "fit_time")
            if c in board.columns]
    _out(board[cols].head(top).to_string(index=False))
    _out(f"tuning manifest: {summary['manifest_uri']}")


def cmd_train(args: argparse.Namespace) -> int:
    from fnlib.stages import train

    store = _store()
    request = train.TrainRequest(tuning_id=args.tuning_id, dataset_id=args.dataset_id,
                                 config=_json_object(args.config, "--config") if args.config else {},
                                 seed=args.seed, f1_floor=args.f1_floor,
                                 promotion_margin=args.margin)
    trained = train.train(store, request)
    _print_model(trained)
    decision = train.gate(store, trained, request.metric, request.promotion_margin)
    _out(f"gate: {'PROMOTED' if decision['promoted'] else 'not promoted'} ({decision['reason']})")
    return 0


def _print_model(trained: dict[str, Any]) -> None:
    test = trained["test"]
    _out(f"model {trained['model_id']} on dataset {trained['dataset_id']}")
    _out("  test: " + "  ".join(f"{k}={test[k]:.4f}" for k in ("accuracy", "precision", "recall", "f1", "roc_auc")
                               if test.get(k) is not None))
    _out(f"  manifest: {trained['manifest_uri']}")
    if trained.get("alert"):
        _out(f"  ALERT: {trained['alert']}")


def cmd_models(args: argparse.Namespace) -> int:
    from fnlib import registry
    from fnlib.storage.manifest import find_manifest

    store = _store()
    champion, _ = registry.current_champion(store)
    if args.action == "list":
        ids = sorted({k.split("/")[1] for k in store.list_keys(catalog.kind_folder("model"))
                      if k.endswith(f"/{catalog.MANIFEST_NAME}")})
        if not ids:
            _out("no models yet")
        for model_id in ids:
            manifest, _ = find_manifest(store, "model", model_id)
            test = manifest.metrics.get("test", {})
            mark = "*" if champion and champion.model_id == model_id else " "
            _out(f"{mark} {model_id}  dataset={manifest.params.get('dataset_id')}  "
                 f"model={manifest.params.get('config', {}).get('model')}  f1={test.get('f1', float('nan')):.4f}  "
                 f"made={manifest.provenance.get('created_at')}")
        if champion:
            _out(f"* champion since {champion.promoted_at}: {champion.reason}")
    elif args.action == "show":
        model_id = args.model_id or (champion.model_id if champion else None)
        if not model_id:
            raise FnError("no champion yet: give a model id")
        manifest, ref = find_manifest(store, "model", model_id)
        _out(json.dumps({"manifest_uri": ref.versioned_uri, **manifest.to_dict()}, indent=2))
        decision = store.head(catalog.object_key("model", model_id, "decision.json"))
        if decision:
            _out("gate decision: " + json.dumps(store.get_json(decision), indent=2))
    elif args.action == "promote":
        if not args.model_id:
            raise FnError("fn models promote needs a model id")
        new = registry.promote(store, args.model_id, args.reason)
        _out(f"champion is now {new.model_id} ({new.reason})")
    elif args.action == "rollback":
        new = registry.rollback(store, args.reason)
        _out(f"champion is now {new.model_id} ({new.reason})")
    elif args.action == "history":
        for c in registry.champion_history(store):
            _out(f"{c.promoted_at}  {c.model_id}  {c.reason}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from fnlib.stages.simulate import simulate

    store = _store()
    result = simulate(store, days=args.days, start_day=args.start_day, seed=args.seed,
                      docs_per_day=args.docs_per_day,
                      drift_day=None if args.drift_day < 0 else args.drift_day,
                      drift_kinds=tuple(_csv_list(args.drift)), source=args.source,
                      feedback_fraction=args.feedback_fraction)
    for day in result["days"]:
        _out(f"{day['day']}: {day['articles']} articles, {day['feedback']} labels"
             + ("  (drifted)" if day["drifted"] else ""))
    _out("score them with fn_score (or the Airflow UI), then backfill fn_monitor over these days")
    return 0


def cmd_monitor_table(args: argparse.Namespace) -> int:
    from fnlib.stages.monitor import monitoring_table

    table = monitoring_table(_store())
    _out(table.to_string(index=False) if len(table) else "no monitoring reports yet")
    return 0


def cmd_lineage(args: argparse.Namespace) -> int:
    from fnlib.storage.lineage import format_lineage, walk_lineage
    from fnlib.storage.manifest import find_manifest

    store = _store()
    uri = args.target
    if not uri.startswith("s3://"):
        kind = catalog.kind_of_id(uri)
        if kind is None:
            known = ", ".join(f"{prefix}-" for prefix in catalog.ID_PREFIX.values())
            raise FnError(f"{uri!r}: give an s3:// manifest URI or an id ({known}...)")
        _, ref = find_manifest(store, kind, uri)
        uri = ref.versioned_uri
    _out(format_lineage(walk_lineage(store, uri)))
    return 0


def cmd_stack(args: argparse.Namespace) -> int:
    from fnlib.local.cluster import open_stack

    stack = open_stack(args.executor)
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
    _out(f"stack folder: {status['dir']}  executor: {status.get('executor', 'local')}")
    for name in ("s3", "postgres", "redis", "airflow"):
        s = status.get(name)
        if s is None:
            continue
        where = s.get("url") or (f"127.0.0.1:{s['port']}" if s.get("port") else "")
        _out(f"  {name:8s} {'running' if s['running'] else 'stopped'}  pid={s.get('pid')}  {where}")
        for component, proc in s.get("processes", {}).items():
            _out(f"    {component:14s} {'running' if proc['running'] else 'stopped'}  "
                 f"pid={proc['pid']}")
    if status["airflow"]["running"]:
        _out(f"  Airflow UI: {status['airflow']['url']}  login: admin / {stack.admin_password()}")


def cmd_demo(args: argparse.Namespace) -> int:
    from fnlib.local.demo import run_demo

    return run_demo(args, _dataset_request(args), out=_out)


def _add_stack_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--executor", choices=["local", "celery"],
                   help="local: Airflow standalone, SQLite, LocalExecutor; celery: the cluster "
                        "mode (PostgreSQL, Redis, CeleryExecutor, two workers; docs/deploy.md). "
                        "Default: what the stack folder last ran, else local")
    p.add_argument("--project", metavar="DIR",
                   help="project folder whose dags/, plugins/ and docker/airflow.env the stack "
                        "serves (sets FN_PROJECT_DIR). Default: FN_PROJECT_DIR, else the current "
                        "folder or its nearest parent holding dags/ and plugins/fn_airflow/, else "
                        "the checkout fnlib runs from (docs/deploy.md)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fn", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("stack", help="start/stop/inspect the embedded local stack")
    p.add_argument("action", choices=["up", "down", "status"])
    _add_stack_args(p)
    p.set_defaults(func=cmd_stack)

    p = sub.add_parser("demo", help="main job: run the pipeline on the local stack end to end")
    _add_dataset_args(p)
    _add_stack_args(p)
    p.add_argument("--keep-up", action="store_true", help="leave the stack running afterwards")
    p.add_argument("--no-production", action="store_true",
                   help="stop after training (skip the simulated production week)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds to wait for each DAG run")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("dataset", help="build a dataset in this process (no Airflow)")
    _add_dataset_args(p)
    p.add_argument("--no-wandb", action="store_true", help="skip the W&B artifact")
    p.set_defaults(func=cmd_dataset)

    p = sub.add_parser("tune", help="grid search in this process (no Airflow)")
    p.add_argument("--dataset-id", required=True, help="ds-... to tune on")
    p.add_argument("--models", help=f"comma-separated subset of {','.join(catalog.MODELS)}")
    p.add_argument("--variants", help=f"comma-separated subset of {','.join(catalog.VARIANTS)}")
    p.add_argument("--grid", default="default", choices=list(catalog.GRIDS))
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--metric", default="f1", choices=list(catalog.TUNING_METRICS))
    p.add_argument("--seed", type=int, default=42)
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("train", help="fit, evaluate, save and gate a model in this process")
    p.add_argument("--tuning-id", help="train the best config of this tuning run")
    p.add_argument("--dataset-id", help="with --config: train this config on this dataset")
    p.add_argument("--config", help='JSON model config, e.g. \'{"model": "nb", "variant": "raw"}\'')
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--f1-floor", type=float, default=0.6, help="alert and block promotion below")
    p.add_argument("--margin", type=float, default=0.0, help="promotion margin over the champion")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("models", help="list/show models, promote or roll back the champion")
    p.add_argument("action", choices=["list", "show", "promote", "rollback", "history"])
    p.add_argument("model_id", nargs="?", help="mdl-... (show defaults to the champion)")
    p.add_argument("--reason", default="manual", help="recorded with promote/rollback")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("simulate", help="replay held-out labelled data as days of production")
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--start-day", required=True, help="first day, YYYY-MM-DD")
    p.add_argument("--docs-per-day", type=int, default=100)
    p.add_argument("--drift-day", type=int, default=3, help="day index drift starts (-1: none)")
    p.add_argument("--drift", default="topic,length", help="comma-separated: topic,length,label")
    p.add_argument("--source", default="test", choices=["test", "synthetic"],
                   help="the champion's test split, or fresh synthetic articles")
    p.add_argument("--feedback-fraction", type=float, default=0.6)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("monitor-table", help="the monitoring reports as a table")
    p.set_defaults(func=cmd_monitor_table)

    p = sub.add_parser("lineage", help="print the ancestry of a manifest")
    p.add_argument("target", help="s3://... manifest URI, or an id (raw-, ds-, tune-, mdl-, ev-, tr-)")
    p.set_defaults(func=cmd_lineage)

    from fnlib.cli_eval import add_commands

    add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("botocore", "urllib3", "boto3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if getattr(args, "project", None):
        os.environ["FN_PROJECT_DIR"] = args.project
    try:
        return args.func(args)
    except FnError as exc:
        _out(f"error: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
