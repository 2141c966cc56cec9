"""``fn evaluate``, ``fn transfer`` and ``fn explain``: honest evaluation from the command line.

    fn evaluate --model mdl-...|champion --dataset ds-... [--split test|all]
    fn transfer --datasets ds-a,ds-b[,...] [--names ds-a=gossipcop,ds-b=politifact]
    fn explain --model mdl-...|champion "some text" ["another text" ...]
"""

from __future__ import annotations

import argparse
from typing import Any

from fnlib import catalog
from fnlib.errors import FnError


def _out(text: str = "") -> None:
    from fnlib.cli import _out as out

    out(text)


def _store() -> Any:
    from fnlib.cli import _store as store

    return store()


def _metrics_line(metrics: dict[str, Any]) -> str:
    return "  ".join(f"{k}={metrics[k]:.4f}" for k in ("accuracy", "precision", "recall", "f1", "roc_auc")
                     if metrics.get(k) is not None)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from fnlib.stages.evaluate import EvaluateRequest, evaluate_model

    request = EvaluateRequest(model=args.model, dataset_id=args.dataset, split=args.split)
    result = evaluate_model(_store(), request, track=not args.no_wandb)
    m = result["metrics"]
    where = "in-domain" if m.get("in_domain") else f"trained on {result['trained_on']}"
    _out(f"evaluation {result['evaluation_id']}: {result['model_id']} ({where}) on "
         f"{result['dataset_id']}/{result['split']}, {m['n']} rows")
    _out(f"  {_metrics_line(m)}")
    if m.get("in_sample"):
        _out("  NOTE: in-sample: this split includes the rows the model was trained on")
    _out(f"  manifest: {result['manifest_uri']}")
    return 0


def _names(items: list[str] | None) -> dict[str, str]:
    names = {}
    for item in items or []:
        for pair in item.split(","):
            key, sep, value = pair.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise FnError(f"--names expects ds-id=name pairs, got {pair!r}")
            names[key.strip()] = value.strip()
    return names


def cmd_transfer(args: argparse.Namespace) -> int:
    from fnlib.cli import _csv_list
    from fnlib.stages.transfer import TransferRequest, format_table, transfer

    request = TransferRequest(datasets=_csv_list(args.datasets), names=_names(args.names),
                              models=_csv_list(args.models), variants=_csv_list(args.variants),
                              grid=args.grid, folds=args.folds,
                              seed=args.seed)
    result = transfer(_store(), request)
    for metric in ("f1", "accuracy"):
        _out(f"{metric} (rows: trained on, columns: tested on; the diagonal is in-domain)")
        _out(format_table(result, metric))
        _out()
    for row in result["rows"]:
        _out(f"  {row['trained_on']} -> {row['tested_on']}: {row['model_id']} "
             f"evaluation {row['evaluation_id']}")
    _out(f"table: {result['objects']['table']}")
    _out(f"heat map: {result['objects']['heatmap']}")
    _out(f"transfer manifest: {result['manifest_uri']}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from fnlib.models.explain import explain_texts
    from fnlib.monitoring.reference import score_texts
    from fnlib.registry import load_model
    from fnlib.stages.evaluate import resolve_model

    store = _store()
    manifest, _ = resolve_model(store, args.model)
    model = load_model(store, manifest.objects["model"])
    explanations = explain_texts(model, args.texts, k=args.top)
    predictions, probabilities = score_texts(model, args.texts)
    _out(f"model {manifest.id} ({manifest.params.get('config', {}).get('model')})")
    for text, e, pred, prob in zip(args.texts, explanations, predictions, probabilities, strict=True):
        label = "FAKE" if int(pred) == 1 else "real"
        _out(f"\n{text[:100]!r}")
        _out(f"  prediction {label}, P(fake) {prob:.3f}; {e.score_name} {e.score:+.4f}")
        _out(f"  = intercept {e.intercept:+.4f}")
        for term, value in e.terms:
            toward = "fake" if value > 0 else "real"
            _out(f"  {value:+.4f}  {term}  (towards {toward})")
        _out(f"  {e.rest:+.4f}  all other terms")
    return 0


def add_commands(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="score a model on a dataset split; an evaluation object")
    p.add_argument("--model", default="champion", help="mdl-... or champion (default)")
    p.add_argument("--dataset", required=True, help="ds-... to evaluate on")
    p.add_argument("--split", default="test", choices=list(catalog.EVALUATION_SPLITS),
                   help="the dataset's test split (default) or train + test")
    p.add_argument("--no-wandb", action="store_true", help="do not log the metrics to W&B")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("transfer", help="train on each dataset, test on every dataset: one table")
    p.add_argument("--datasets", required=True, help="comma-separated ds-... ids (at least two)")
    p.add_argument("--names", action="append",
                   help="readable names for the table, e.g. ds-a=gossipcop,ds-b=politifact")
    p.add_argument("--models", help="comma-separated subset of nb,linsvm,sgd,rf,logreg for the grid")
    p.add_argument("--variants", help="comma-separated subset of raw,denoised for the grid")
    p.add_argument("--grid", default="default", choices=list(catalog.GRIDS))
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=42)
    p.set_defaults(func=cmd_transfer)

    p = sub.add_parser("explain", help="why a text gets its score: the terms that contributed most")
    p.add_argument("--model", default="champion", help="mdl-... or champion (default)")
    p.add_argument("--top", type=int, default=10, help="terms to list (default 10)")
    p.add_argument("texts", nargs="+", help="one or more texts to explain")
    p.set_defaults(func=cmd_explain)
