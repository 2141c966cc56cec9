"""Benchmark: DAG parse time per file and the import time of the fnlib modules used at parse time.

The dag-processor re-parses every DAG file every cycle in a fresh child process that already
has Airflow loaded, so a file's cost is its own module imports plus its top-level code. For
each file in ``dags/`` this script starts a fresh interpreter (isolated Airflow home, the
project's ``dags/`` and ``plugins/`` folders), pre-loads what the dag-processor has loaded
(``airflow.sdk`` and ``airflow.dag_processing.dagbag``), then times
``DagBag(dag_folder=<file>)`` (best of ``--repeat`` fresh processes) and records

- the modules the parse newly imported, with the heavy ones called out (pandas, sklearn, numpy,
  scipy, wandb, boto3/botocore, matplotlib, moto) and, for each heavy one, the import chain
  from the DAG file that pulled it in;
- the cold total (a fresh interpreter importing Airflow too), for reference.

It also times ``import fnlib.<module>`` for the fnlib modules DAG files import at top level
(each in a fresh interpreter, over a bare ``python`` start-up). Goal: < 0.3 s per file, heavy
libraries imported only inside tasks.

    python bench/parse_bench.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
DAGS = PROJECT / "dags"
PLUGINS = PROJECT / "plugins"
HEAVY = ("pandas", "sklearn", "numpy", "scipy", "wandb", "boto3", "botocore", "matplotlib", "moto",
         "aiobotocore")
GOAL = 0.3

_CHILD = r"""
import json, sys, time, traceback
t0 = time.perf_counter()
HEAVY = set(sys.argv[2].split(","))
PROJECT = sys.argv[3]
import airflow.sdk  # noqa: F401  (loaded in the dag-processor before any file is parsed)
from airflow.dag_processing.dagbag import DagBag
warm = time.perf_counter()
chains = {}

class Spy:
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in HEAVY and top not in chains and top not in sys.modules:
            frames = [f for f in traceback.extract_stack()[:-1]
                      if "importlib" not in f.filename and "dagbag" not in f.filename]
            # the project's own frames (the cause) and the last three (the library chain)
            keep = [f for f in frames[:-3] if f.filename.startswith(PROJECT)] + frames[-3:]
            chains[top] = [f"{f.filename.replace(PROJECT + '/', '')}:{f.lineno}: {f.line}"
                           for f in keep]
        return None

before = set(sys.modules)
sys.meta_path.insert(0, Spy())
start, cpu = time.perf_counter(), time.process_time()
bag = DagBag(dag_folder=sys.argv[1])
parse, parse_cpu = time.perf_counter() - start, time.process_time() - cpu
new = sorted(set(sys.modules) - before)
heavy_loaded = sorted({m.split(".")[0] for m in sys.modules} & HEAVY)
print(json.dumps({
    "parse": parse, "parse_cpu": parse_cpu, "preload": warm - t0, "cold_total": time.perf_counter() - t0,
    "dags": sorted(bag.dag_ids), "errors": {k: str(v)[:300] for k, v in bag.import_errors.items()},
    "new_modules": len(new), "heavy_new": sorted({m.split(".")[0] for m in new} & HEAVY),
    "heavy_loaded": heavy_loaded, "chains": chains,
    "fnlib_new": [m for m in new if m.startswith("fnlib")],
}))
"""

_IMPORT = r"""
import sys, time
t = time.perf_counter()
__import__(sys.argv[1])
print(time.perf_counter() - t)
print(",".join(sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[2].split(",")))))
"""


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
            "PYTHONPATH": os.pathsep.join([str(PLUGINS), str(PROJECT)]),
        }
    )
    return env


def parse_file(path: Path, env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), ",".join(HEAVY), str(PROJECT)],
        env=env, capture_output=True, text=True, cwd=PROJECT,
    )
    if out.returncode != 0:
        raise RuntimeError(f"parsing {path.name} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def import_time(module: str, env: dict[str, str], repeat: int) -> tuple[float, str]:
    times, heavy = [], ""
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", _IMPORT, module, ",".join(HEAVY)],
            env=env, capture_output=True, text=True, cwd=PROJECT, check=True,
        )
        lines = out.stdout.splitlines()
        times.append(float(lines[0]))
        heavy = lines[1] if len(lines) > 1 else ""
    return min(times), heavy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per file (best)")
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="fn-bench-parse-"))
    env = _env(home)
    files = sorted(DAGS.glob("*.py"))
    print(f"{len(files)} DAG files in {DAGS}; best of {args.repeat} fresh processes each; "
          f"goal < {GOAL} s per file\n")
    print(f"{'file':<16} {'parse s':>8} {'cpu s':>6} {'median s':>9} {'cold s':>7} {'new mods':>9} "
          f"{'goal':>5}  heavy modules imported by the parse")
    chains: dict[str, dict[str, list[str]]] = {}
    fnlib_used: set[str] = set()
    for path in files:
        runs = [parse_file(path, env) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["parse"])
        median = statistics.median(r["parse"] for r in runs)
        if best["errors"]:
            print(f"{path.name}: import errors {best['errors']}")
        ok = "met" if best["parse"] < GOAL else "MISS"
        print(f"{path.name:<16} {best['parse']:>8.3f} {best['parse_cpu']:>6.3f} {median:>9.3f} {best['cold_total']:>7.2f} "
              f"{best['new_modules']:>9} {ok:>5}  {', '.join(best['heavy_new']) or '-'}")
        if best["heavy_new"]:
            chains[path.name] = {m: best["chains"].get(m, []) for m in best["heavy_new"]}
        fnlib_used.update(best["fnlib_new"])
    print("(parse = DagBag(dag_folder=file) after airflow.sdk and DagBag are loaded, wall and "
          "CPU; cold = a fresh interpreter including the Airflow imports; goal judged on wall)")
    for name, per_module in chains.items():
        print(f"\n{name}: where the heavy imports come from (innermost frame last)")
        for module, frames in per_module.items():
            print(f"  {module}:")
            for frame in frames:
                print(f"    {frame}")

    print(f"\nimport time of the fnlib modules DAG files load at parse time (best of "
          f"{args.repeat}, fresh interpreter each):")
    for module in sorted(fnlib_used):
        seconds, heavy = import_time(module, env, args.repeat)
        print(f"  {module:<28} {seconds * 1000:>7.1f} ms   heavy: {heavy or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
