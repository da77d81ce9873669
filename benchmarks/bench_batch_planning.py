"""Batches of many tiny files: planning time, time to the first output, total.

    python benchmarks/bench_batch_planning.py              # 1,000 4,000 10,000
    python benchmarks/bench_batch_planning.py --sizes 1000 --plan-only

For each size, a folder of that many 4 x 4 PNGs is made in a temporary
folder, then:

- plan: ``parse_args`` + ``plan_jobs`` in this process (expanding the folder,
  naming every output and checking it can be written), best of 3;
- first output: a ``compress.py FOLDER --out-dir OUT -k 2 -q`` process is
  started and the output folder watched until the first file appears
  (includes starting Python and loading the numba cache);
- total: the same process to its exit (every file compressed).

Run it on a quiet machine, never while the tests run. The planning of an
older checkout can be timed by putting it first on the path
(``PYTHONPATH=/path/to/old/checkout python benchmarks/bench_batch_planning.py
--plan-only``): before the fix of issue 12, every output was compared with
every input, 1,000 files 14 s, 4,000 files 219 s.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def _planner():
    try:  # kmeans_core/cli/ (a package since issue 12)
        from kmeans_core.cli._args import parse_args
        from kmeans_core.cli._files import plan_jobs
    except ImportError:  # the single kmeans_core/cli.py before it
        from kmeans_core.cli import parse_args, plan_jobs
    return parse_args, plan_jobs


def make_files(folder, n_files):
    rng = np.random.default_rng(0)
    for i in range(n_files):
        pixels = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"tiny{i:05d}.png")


def time_planning(folder, out, repeat=3):
    parse_args, plan_jobs = _planner()
    args = parse_args([str(folder), "--out-dir", str(out), "-k", "2", "-q"])
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        jobs, failures = plan_jobs(args)
        best = min(best, time.perf_counter() - start)
    assert not failures and len(jobs) == len(os.listdir(folder))
    return best


def time_run(folder, out):
    """(seconds to the first output, seconds in all) of one compress.py run."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "compress.py"), str(folder), "--out-dir",
         str(out), "-k", "2", "-q"], cwd=ROOT)
    first = None
    while proc.poll() is None:
        if first is None and any(name.endswith(".png") for name in os.listdir(out)):
            first = time.perf_counter() - start
        time.sleep(0.01)
    total = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"compress.py exited with {proc.returncode}")
    return first if first is not None else total, total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 10000])
    parser.add_argument("--plan-only", action="store_true",
                        help="time the planning only, not the compress.py runs")
    options = parser.parse_args()
    print("| files | plan (s) | first output (s) | total (s) | total / file (ms) |")
    print("|---:|---:|---:|---:|---:|")
    for n_files in options.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder, out = Path(tmp) / "in", Path(tmp) / "out"
            folder.mkdir()
            out.mkdir()
            make_files(folder, n_files)
            plan = time_planning(folder, out)
            if options.plan_only:
                print(f"| {n_files:,} | {plan:.3f} | | | |", flush=True)
                continue
            first, total = time_run(folder, out)
            print(f"| {n_files:,} | {plan:.3f} | {first:.2f} | {total:.1f} | "
                  f"{1000 * total / n_files:.2f} |", flush=True)


if __name__ == "__main__":
    main()
