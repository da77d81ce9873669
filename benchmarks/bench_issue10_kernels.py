"""Figures for issue 10: the one-call seeding kernel and the colour counting kernels.

1. k-means++ seeding on quantize's sample of china.jpg (the distinct colours,
   0-255 float32, weighted by pixel count; KMeans's init_size sample of
   max(4096, 32 k) rows, unit weights) at k = 16, 64, 256:
   ``_kernels_seeding.kmeans_plusplus_greedy`` (on float32, as quantize runs
   it) against ``reference.seeding.kmeans_plusplus``, the step-by-step seeding in
   NumPy (float64), and whether the kernel on float64 chose its centres.
   (The step-by-step loop that ``_lloyd.kmeans_plusplus`` ran before issue
   10 took 69 ms at k = 256; it now calls the kernel.)
2. Counting distinct colours: china.jpg (273,280 pixels) and a 12-megapixel
   photo (china.jpg upscaled to 4000 x 3000 with Pillow, bicubic):
   ``_kernels_colors.unique_rgb`` (the bitmap, on the pixels),
   ``unique_codes_hash`` (the RGBA way) and ``np.unique`` on the packed
   codes, and ``unique_colors`` on the image (``unique_rgb`` with a new
   array of indices each time).
3. Cold and warm start: import plus first call of both kernels in a fresh
   process, with an empty numba cache (compiling) and then with the cache.

Times are CPU seconds of the calling thread (``time.thread_time``) with numba
on one thread, the best of ``--repeat`` runs, so that other work on a shared
machine counts as little as possible; compile time is excluded from 1 and 2.

    python benchmarks/bench_issue10_kernels.py [--repeat 7] [--skip-large]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np
from PIL import Image
from sklearn.datasets import load_sample_image

from kmeans_core import _lloyd, unique_colors
from kmeans_core._kernels_colors import unique_codes_hash, unique_rgb
from kmeans_core._kernels_seeding import kmeans_plusplus_greedy
from kmeans_core._palette import pack_colors
from kmeans_core.reference import seeding as reference_seeding


def best_time(repeat, function, *args):
    """Smallest CPU time of the calling thread over ``repeat`` calls, in ms."""
    times = []
    for _ in range(repeat):
        start = time.thread_time()
        function(*args)
        times.append(time.thread_time() - start)
    return 1e3 * min(times)


def seeding_args(X, w, k, seed):
    """The draws of ``_lloyd.kmeans_plusplus`` (and of the reference) with
    generator ``seed``."""
    rng = np.random.default_rng(seed)
    wd = w.astype(np.float64)
    first = int(rng.choice(len(X), p=wd / wd.sum()))
    uniforms = rng.uniform(size=(k - 1, 2 + int(np.log(k))))
    return first, uniforms


def bench_seeding(china, repeat):
    colors, counts, _ = unique_colors(china)
    X_all, w_all = colors.astype(np.float32), counts.astype(np.float32)
    print("1. k-means++ seeding on quantize's sample of china.jpg")
    print(f"{'k':>5} {'rows':>6} {'kernel ms':>10} {'NumPy ms':>10} {'speed-up':>9} same")
    for k in (16, 64, 256):
        X, w = _lloyd.sample_rows(X_all, w_all, max(4096, 32 * k),
                                  np.random.default_rng(0))
        centers = np.empty((k, 3), dtype=X.dtype)
        first, uniforms = seeding_args(X, w, k, 1)
        kmeans_plusplus_greedy(X, w, first, 0, uniforms, centers)  # compile
        fast = best_time(repeat, kmeans_plusplus_greedy, X, w, first, 0, uniforms,
                         centers)
        X64, w64 = X.astype(np.float64), w.astype(np.float64)
        slow = best_time(max(3, repeat // 2), lambda X=X64, w=w64, k=k:
                         reference_seeding.kmeans_plusplus(X, k, w, np.random.default_rng(1)))
        expected = reference_seeding.kmeans_plusplus(X64, k, w64, np.random.default_rng(1))
        centers64 = np.empty((k, 3))
        kmeans_plusplus_greedy(X64, w64, first, 0, uniforms, centers64)
        same = np.array_equal(centers64, expected)
        print(f"{k:>5} {len(X):>6} {fast:>10.2f} {slow:>10.2f} {slow / fast:>8.1f}x {same}")


def bench_colors(name, image, repeat):
    codes = pack_colors(image)
    pixels = image.reshape(-1, 3)
    inverse = np.empty(len(codes), dtype=np.int32)
    unique_rgb(pixels[:10], inverse[:10])  # compile
    unique_codes_hash(codes[:10], inverse[:10])
    bitmap = best_time(repeat, unique_rgb, pixels, inverse)
    hashed = best_time(repeat, unique_codes_hash, codes, inverse)
    numpy = best_time(repeat, lambda: np.unique(codes, return_inverse=True,
                                                return_counts=True))
    today = best_time(repeat, unique_colors, image)
    n_colors = len(unique_rgb(pixels, inverse)[0])
    print(f"{name:<22} {len(codes):>10,} {n_colors:>10,} {bitmap:>7.1f} "
          f"{hashed:>7.1f} {numpy:>10.1f} {today:>14.1f}")


COLD_START = """
import time
start = time.perf_counter()
import numpy as np
from kmeans_core._kernels_colors import unique_codes_hash, unique_rgb
from kmeans_core._kernels_seeding import kmeans_plusplus_greedy
rng = np.random.default_rng(0)
X = rng.uniform(0, 255, (1000, 3)).astype(np.float32)
centers = np.empty((8, 3), np.float32)
kmeans_plusplus_greedy(X, np.ones(1000, np.float32), 0, 0, rng.uniform(size=(7, 4)), centers)
pixels = rng.integers(0, 256, (1000, 3)).astype(np.uint8)
unique_rgb(pixels, np.empty(1000, np.int32))
codes = rng.integers(0, 1 << 32, 1000, dtype=np.uint32)
unique_codes_hash(codes, np.empty(1000, np.int32))
print(f"{time.perf_counter() - start:.2f}")
"""


def bench_start():
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        runs = [subprocess.run([sys.executable, "-c", COLD_START], env=env,
                               capture_output=True, text=True, check=True).stdout.strip()
                for _ in range(2)]
    print("3. import + first call of both kernels (float32 RGB seeding, RGB and "
          f"32-bit counting), wall clock: cold (compiling) {runs[0]} s, "
          f"warm (numba cache) {runs[1]} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    numba.set_num_threads(1)
    china = load_sample_image("china.jpg")
    bench_seeding(china, args.repeat)
    print("\n2. Counting distinct colours (CPU ms)")
    print(f"{'image':<22} {'pixels':>10} {'colours':>10} {'bitmap':>7} "
          f"{'hash':>7} {'np.unique':>10} {'unique_colors':>14}")
    bench_colors("china.jpg", china, args.repeat)
    if not args.skip_large:
        large = np.asarray(Image.fromarray(china).resize((4000, 3000), Image.BICUBIC))
        bench_colors("12 MP (china upscaled)", large, max(2, args.repeat // 3))
    print()
    bench_start()


if __name__ == "__main__":
    main()
