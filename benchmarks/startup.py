"""Start-up cost of kmeans_core: numba compile on a cold cache, and import plus
a first small fit with a warm cache, each timed as a whole new process.

    python benchmarks/startup.py
"""

import os
import subprocess
import sys
import tempfile
import time

SNIPPET = """
import time
t0 = time.perf_counter()
import numpy as np
from kmeans_core import KMeans
t1 = time.perf_counter()
X = np.random.default_rng(0).random((2000, 3), dtype=np.float32)
KMeans(n_clusters=8, random_state=0).fit(X)
t2 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f}")
"""


def run(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", SNIPPET], env=env, check=True,
                         capture_output=True, text=True).stdout
    total = time.perf_counter() - start
    import_s, fit_s = map(float, out.split())
    return total, import_s, fit_s


def main():
    with tempfile.TemporaryDirectory() as cache_dir:
        cold = run(cache_dir)
        warm = [run(cache_dir) for _ in range(3)]
    print("| cache | whole process (s) | import kmeans_core (s) | first fit, 2000 x 3, k=8 (s) |")
    print("|---|---|---|---|")
    print(f"| cold (compiles) | {cold[0]:.2f} | {cold[1]:.2f} | {cold[2]:.2f} |")
    best = min(warm)
    print(f"| warm (best of 3) | {best[0]:.2f} | {best[1]:.2f} | {best[2]:.2f} |")


if __name__ == "__main__":
    main()
