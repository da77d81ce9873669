"""Start-up cost of kmeans_core, each figure a whole new process.

- ``compress.py`` on samples/chelsea.jpg (k = 16) with an empty numba cache
  (the first run after install: every kernel it runs compiles) and with the
  cache that run filled (best of 5).
- ``import kmeans_core`` plus a first small fit, cold and warm.
- The floor under any numba program: ``import numpy, numba`` and the first
  call of one trivial cached kernel, warm, with numba's BLAS check stopped
  before it imports ``scipy.linalg`` as compress.py does: what compress.py
  pays before it does any work; and the same with ``gc.freeze()`` before the
  exit, as compress.py does.
- Those imports, Pillow's, and every kernel of an RGB quantize at k = 16
  loaded from the cache (``_quantize.load_kernels``), frozen: what
  compress.py pays before it reads its image.

    python benchmarks/startup.py
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FIT = """
import numpy as np
from kmeans_core import KMeans
X = np.random.default_rng(0).random((2000, 3), dtype=np.float32)
KMeans(n_clusters=8, random_state=0).fit(X)
"""

FLOOR_MODULE = """
from numba import njit

@njit(cache=True)
def one(x):
    return x + 1
"""

FLOOR = """
import sys
sys.modules["scipy.linalg"] = None  # as compress.py: no BLAS check
import numpy
import numba.np.arraymath
del sys.modules["scipy.linalg"]
from floor_kernel import one
one(1)
"""

# The same, with the objects frozen out of the collector's reach before
# the exit, as compress.py does.
FLOOR_FROZEN = FLOOR + "import gc\ngc.freeze()\n"

# What compress.py must do before it reads its image: the same imports, and
# every kernel of an RGB quantize at k = 16 loaded (on a 17 x 17 image).
KERNELS = """
import sys
sys.modules["scipy.linalg"] = None
import numba.np.arraymath
del sys.modules["scipy.linalg"]
import PIL.Image
from kmeans_core._quantize import load_kernels
load_kernels(16)
import gc
gc.freeze()
"""


def timed(cmd, env, cwd=None):
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main():
    compress = [sys.executable, str(ROOT / "compress.py"),
                str(ROOT / "samples" / "chelsea.jpg"), "-o", "OUT", "--force", "-q"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "out.png")
        compress[compress.index("OUT")] = out
        (Path(tmp) / "floor_kernel.py").write_text(FLOOR_MODULE)
        for name, cmd, cwd in (
            ("compress.py chelsea.jpg -k 16", compress, None),
            ("import kmeans_core + fit 2000 x 3, k=8", [sys.executable, "-c", FIT],
             None),
            ("floor: numpy, numba, one cached kernel", [sys.executable, "-c", FLOOR],
             tmp),
            ("floor, gc frozen before the exit", [sys.executable, "-c", FLOOR_FROZEN],
             tmp),
            ("imports + load_kernels(16), gc frozen", [sys.executable, "-c", KERNELS],
             None),
        ):
            # Python's bytecode is written as by default (see conftest.py).
            env = {key: value for key, value in os.environ.items()
                   if key != "PYTHONDONTWRITEBYTECODE"}
            env.update(NUMBA_CACHE_DIR=str(Path(tmp) / f"cache{len(rows)}"), PYTHONPATH=tmp)
            cold = timed(cmd, env, cwd)
            warm = min(timed(cmd, env, cwd) for _ in range(5))
            rows.append((name, cold, warm))
    print("| process | cold numba cache (s) | warm, best of 5 (s) |")
    print("|---|---:|---:|")
    for name, cold, warm in rows:
        print(f"| {name} | {cold:.2f} | {warm:.2f} |")


if __name__ == "__main__":
    main()
