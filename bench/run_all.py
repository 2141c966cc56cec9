"""The benchmark suite: every ``bench/`` script in turn, each printing ratios measured side by side.

``make bench`` runs this with ``nice -n 10`` (the machines are shared). Profiles:

``--quick``   a smoke run: parse times, denoising on 5k articles, the type/token curves at
              5k, the small grid on 5k articles vs GridSearchCV and naive, featurisation
              memory at 5k (pruned and unpruned), training/scoring at 20k, scoring with
              explanations at 5k, fn_tune on the local stack with the small grid at 2k.
default       parse times; denoising on 20k articles and the real sets; the type/token curves
              of the real sets vs the generator (45k realistic articles; redraws
              docs/figures/type_token.png); the default grid on 5k articles vs GridSearchCV
              and naive refits; the default grid on LIAR and FakeNewsNet vs GridSearchCV
              (scores); the realistic scaling table (default grid without forests on 5k/20k/45k
              articles with a realistic vocabulary); featurisation peak RSS at 45k realistic
              articles; training/scoring at 45k; scoring with explanations on vs off at 20k;
              near-duplicates; the fn_tune DAG on the local stack vs GridSearchCV on every core
              vs the library path at 2k/10k realistic articles. Not timed as a whole since the
              realistic and DAG steps were added (the earlier steps took ~25 min of CPU time;
              the 45k realistic steps add several hundred CPU-seconds each, the DAG step
              roughly a quarter of an hour per size on a quiet machine, an estimate); longer
              on a loaded machine.
``--full``    the default plus the cache path at 5k; on realistic text the linear grid at 200k,
              forests alone at 5k/20k, featurisation at 45k/200k and without pruning at 45k,
              and the forest-setting study on LIAR, FakeNewsNet and synthetic text; on the
              fixed vocabulary the scaling runs of the earlier round (the default grid without
              forests at 5k with baselines and at 5k/20k/45k, the small grid without forests
              at 5k/45k/200k, forests alone at 2.5k/5k/10k); training/scoring at 45k/200k; the
              honest-accuracy figures (bench/honest_bench.py); the fn_tune DAG comparison up
              to 45k realistic articles; and the main job end to end on
              the local stack (``--e2e`` adds only that to a profile). Several hours on the
              project's shared 2-core VM.

``--only NAME ...`` runs the named steps of the chosen profile. Real-data steps skip with a
message when ``../shared/data`` is absent. The output is also written to ``--log``.

    python bench/run_all.py [--quick | --full] [--e2e] [--only tune-5k text]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent

_LINEAR = "nb,linsvm,sgd,logreg"  # the default grid's models without the random forest
_ZIPF = ["--vocab", "zipf"]  # realistic vocabulary growth (fnlib/data/synthetic_vocab.py)
QUICK = [
    ("parse", ["parse_bench.py", "--repeat", "1"]),
    ("text", ["text_bench.py", "--docs", "5000", "--repeat", "1"]),
    ("vocab", ["vocab_bench.py", "--docs", "5000", "--fixed-docs", "2000",
               "--png", "/tmp/fn-bench-type_token.png"]),
    ("tune-5k-small", ["tune_bench.py", "--docs", "5000", "--grid", "small", "--unigrams",
                        "--naive"]),
    ("features-5k", ["features_bench.py", "--sizes", "5000", "--held", "--unpruned"]),
    ("train-20k", ["train_bench.py", "--sizes", "20000", "--configs", "linsvm"]),
    ("explain", ["explain_bench.py", "--size", "5000", "--configs", "linsvm", "--repeats", "1"]),
    ("tune-dag-small", ["dag_tune_bench.py", "--sizes", "2000", "--grid", "small"]),
]
DEFAULT = [
    ("parse", ["parse_bench.py", "--repeat", "3"]),
    ("text", ["text_bench.py", "--docs", "20000"]),
    ("vocab", ["vocab_bench.py"]),
    ("tune-5k", ["tune_bench.py", "--docs", "5000", "--naive"]),
    ("tune-liar", ["tune_bench.py", "--source", "liar"]),
    ("tune-fakenewsnet", ["tune_bench.py", "--source", "fakenewsnet"]),
    ("tune-realistic", ["tune_bench.py", "--sizes", "5000", "20000", "45000", *_ZIPF,
                        "--models", _LINEAR, "--skip-gridsearch"]),
    ("features-45k", ["features_bench.py", "--sizes", "45000", "--held"]),
    ("train-45k", ["train_bench.py", "--sizes", "45000", "--configs", "linsvm"]),
    ("explain", ["explain_bench.py", "--size", "20000"]),
    ("neardup", ["neardup_bench.py"]),
    ("neardup-scale", ["neardup_scale_bench.py", "--sizes", "10000", "45000"]),
    ("tune-dag", ["dag_tune_bench.py", "--sizes", "2000", "10000"]),
]
FULL = DEFAULT[:3] + [
    ("tune-5k", ["tune_bench.py", "--docs", "5000", "--naive", "--with-cache"]),
] + DEFAULT[4:7] + [
    ("tune-realistic-200k", ["tune_bench.py", "--sizes", "200000", *_ZIPF, "--models", _LINEAR,
                             "--skip-gridsearch"]),
    ("tune-realistic-rf", ["tune_bench.py", "--sizes", "5000", "20000", *_ZIPF, "--models", "rf",
                           "--skip-gridsearch"]),
    ("features-scaling", ["features_bench.py", "--sizes", "45000", "200000"]),
    ("features-unpruned", ["features_bench.py", "--sizes", "45000", "--held", "--unpruned"]),
    ("forest", ["forest_bench.py"]),
    ("tune-5k-no-rf", ["tune_bench.py", "--docs", "5000", "--models", _LINEAR, "--naive"]),
    ("tune-scaling", ["tune_bench.py", "--sizes", "5000", "20000", "45000", "--models", _LINEAR,
                      "--skip-gridsearch"]),
    ("tune-200k", ["tune_bench.py", "--sizes", "5000", "45000", "200000", "--grid", "small",
                   "--unigrams", "--models", _LINEAR, "--skip-gridsearch"]),
    ("tune-rf-scaling", ["tune_bench.py", "--sizes", "2500", "5000", "10000", "--models", "rf",
                         "--grid", "small", "--unigrams", "--skip-gridsearch"]),
    ("train", ["train_bench.py", "--sizes", "45000", "200000", "--configs", "linsvm"]),
    ("explain", ["explain_bench.py", "--size", "20000"]),
    ("neardup", ["neardup_bench.py"]),
    ("neardup-scale", ["neardup_scale_bench.py", "--sizes", "10000", "45000"]),
    ("neardup-200k", ["neardup_scale_bench.py", "--sizes", "200000", "--shared", "4"]),
    ("honest", ["honest_bench.py"]),
    ("tune-dag", ["dag_tune_bench.py", "--sizes", "2000", "10000", "45000"]),
]
E2E = ("e2e", ["e2e_bench.py"])


def machine() -> str:
    mem = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split()[1])
        mem = f", {kib / 2**20:.0f} GiB RAM"
    load = f", load {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    cpu = platform.processor() or platform.machine()
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = " " + line.split(":", 1)[1].strip()
                break
    return (f"{platform.node()}: {os.cpu_count()} CPUs{model} ({cpu}){mem}{load}; "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true")
    size.add_argument("--full", action="store_true")
    parser.add_argument("--e2e", action="store_true", help="also run the main job end to end")
    parser.add_argument("--only", nargs="+", default=None, help="run only these steps")
    parser.add_argument("--log", default=None, help="also write the output here "
                        "(default: /tmp/fn-bench-<time>.log)")
    args = parser.parse_args(argv)

    steps = QUICK if args.quick else FULL if args.full else DEFAULT
    if (args.e2e or args.full) and E2E not in steps:
        steps = [*steps, E2E]
    if args.only:
        unknown = set(args.only) - {name for name, _ in steps}
        if unknown:
            names = ", ".join(name for name, _ in steps)
            parser.error(f"unknown step(s) {sorted(unknown)}; this profile has: {names}")
        steps = [s for s in steps if s[0] in args.only]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    log_path = Path(args.log or f"/tmp/fn-bench-{stamp}.log")
    with log_path.open("w") as log:

        def out(text: str) -> None:
            print(text, flush=True)
            log.write(text + "\n")
            log.flush()

        out(f"benchmark suite {stamp}; {machine()}")
        try:
            sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT,
                                 capture_output=True, text=True).stdout.strip()
        except OSError:
            sha = ""
        out(f"steps: {', '.join(name for name, _ in steps)}; git {sha or 'unknown'}; "
            f"log {log_path}")
        summary = []
        for name, cmd in steps:
            out(f"\n##### {name}: python bench/{' '.join(cmd)}")
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, str(BENCH / cmd[0]), *cmd[1:]], cwd=PROJECT,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            assert proc.stdout is not None
            for line in proc.stdout:
                out(line.rstrip("\n"))
            code = proc.wait()
            summary.append((name, code, time.perf_counter() - start))
        out("\n##### summary")
        for name, code, seconds in summary:
            out(f"  {name:<18} {'ok' if code == 0 else f'FAILED ({code})':<12} {seconds:>7.0f}s")
    return 0 if all(code == 0 for _, code, _ in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
