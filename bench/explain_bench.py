"""Benchmark: batch-scoring throughput with per-prediction explanations on vs off.

For each configuration, in a fresh ``spawn`` child process: ``fit_final`` on the training
split (as ``fn_train`` does), then the held-out split is scored ``--repeats`` times each way,
alternating: ``score_texts`` (what ``fn_score`` ran before explanations: labels and P(fake))
and ``score_with_reasons`` (the same plus the top 3 terms per prediction, what ``fn_score``
runs now). Printed: documents per CPU-second for both (the best of the repeats, robust to
other jobs on a shared machine) and the ratio on / off. The goal: >= 0.50.

Data: SYNTHETIC article-length documents (``fnlib.data.synthetic``) prepared like a dataset
(scrub, de-duplicate, 80/20 split): timings only, the scores mean nothing.

    python bench/explain_bench.py [--size 20000] [--configs linsvm logreg nb sgd] [--repeats 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from train_bench import CONFIGS  # noqa: E402  (the configurations the training bench times)


def run_one(name: str, size: int, seed: int, repeats: int) -> dict[str, Any]:
    from fnlib.data import synthetic
    from fnlib.data.prepare import prepare_corpus
    from fnlib.models.evaluate import fit_final
    from fnlib.models.explain import explainable_form, score_with_reasons
    from fnlib.models.specs import ModelConfig
    from fnlib.monitoring.reference import score_texts

    prepared = prepare_corpus(synthetic.generate(size, seed=seed), "synthetic")
    texts = prepared.test["text"].tolist()
    config = ModelConfig.from_dict(CONFIGS[name])
    model = fit_final(config, prepared.train, seed=seed)
    form = explainable_form(model)
    off, on = [], []
    for _ in range(repeats):
        start = time.process_time()
        plain = score_texts(model, texts)
        off.append(time.process_time() - start)
        start = time.process_time()
        explained = score_with_reasons(model, texts, form=form)
        on.append(time.process_time() - start)
        assert (plain[0] == explained[0]).all() and (plain[1] == explained[1]).all()
    return {"test": len(texts), "off": min(off), "on": min(on), "label": config.label,
            "explained": form is not None, "example": explained[2][0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=20000,
                        help="synthetic documents generated (before de-duplication and split)")
    parser.add_argument("--configs", nargs="+", default=["linsvm", "logreg", "nb", "sgd"],
                        choices=sorted(CONFIGS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    print("SYNTHETIC data (fnlib.data.synthetic): timings only, scores mean nothing")
    print(f"{'config':<8} {'test docs':>9} {'off cpu s':>10} {'off docs/s':>11} "
          f"{'on cpu s':>9} {'on docs/s':>10} {'on/off':>7}  example top_terms")
    worst = None
    for name in args.configs:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            r = pool.submit(run_one, name, args.size, args.seed, args.repeats).result()
        ratio = r["off"] / r["on"]
        if r["explained"]:
            worst = ratio if worst is None else min(worst, ratio)
        print(f"{name:<8} {r['test']:>9} {r['off']:>10.2f} {r['test'] / r['off']:>11,.0f} "
              f"{r['on']:>9.2f} {r['test'] / r['on']:>10,.0f} {ratio:>7.2f}  {r['example'][:60]}",
              flush=True)
    if worst is not None:
        print(f"lowest throughput ratio with explanations: {worst:.2f} (goal >= 0.50)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
