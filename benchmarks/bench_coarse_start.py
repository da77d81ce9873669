"""The coarse start of ``_palette.fit_colors``: a k-means fit on an image's
distinct colours, directly and coarse to fine (first on every 4th colour,
then on all of them), at k = 16, 64 and 256.

Images: sklearn's china.jpg and flower.jpg upscaled (Pillow, bicubic) to
2 to 12 megapixels, and samples/astronaut.jpg upscaled to 3000 x 3000 with
Gaussian noise (sigma 3) as a sensor adds it. For each: the distinct
colours, the time of each way (best of 3, numba on 2 threads, kernels
loaded), the iterations (coarse: on the quarter + on all the colours) and
the inertia of the coarse-to-fine fit relative to the direct one.

    python benchmarks/bench_coarse_start.py [--k 256] [--threads 2]
"""

import argparse
import time
from pathlib import Path

import numba
import numpy as np
from PIL import Image
from sklearn.datasets import load_sample_image

from kmeans_core import KMeans
from kmeans_core._palette import _COARSE_STEP, make_model, weighted_colors

ROOT = Path(__file__).resolve().parent.parent


def images():
    def upscale(name, size):
        return np.asarray(Image.fromarray(load_sample_image(name)).resize(
            size, Image.Resampling.BICUBIC))

    yield "china 1600x1200", upscale("china.jpg", (1600, 1200))
    yield "china 2000x1500", upscale("china.jpg", (2000, 1500))
    yield "china 2828x2121", upscale("china.jpg", (2828, 2121))
    yield "china 4000x3000", upscale("china.jpg", (4000, 3000))
    yield "flower 4000x3000", upscale("flower.jpg", (4000, 3000))
    astronaut = np.asarray(Image.open(ROOT / "samples" / "astronaut.jpg").convert("RGB")
                           .resize((3000, 3000), Image.Resampling.BICUBIC))
    noise = np.random.default_rng(0).normal(0, 3, astronaut.shape)
    yield "astronaut 3000x3000 noisy", np.clip(astronaut + noise, 0, 255).astype(np.uint8)


def best(function, *args, repeat=3):
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = function(*args)
        times.append(time.perf_counter() - start)
    return min(times), out


def direct(X, w, k):
    return make_model("kmeans", k, random_state=0, max_iter=300, tol=1e-4,
                      batch_size=None, record_history=False).fit(X, sample_weight=w)


def coarse_to_fine(X, w, k):
    """``_palette.fit_colors``'s way, also below its threshold, with both models."""
    coarse = direct(np.ascontiguousarray(X[::_COARSE_STEP]),
                    np.ascontiguousarray(w[::_COARSE_STEP]), k)
    fine = KMeans(k, init=coarse.cluster_centers_, n_init=1, max_iter=300,
                  tol=1e-4).fit(X, sample_weight=w)
    return coarse, fine


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    numba.set_num_threads(args.threads)
    print("| image | colours | k | direct ms | iterations | coarse to fine ms "
          "| iterations | speed-up | inertia ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, pixels in images():
        X, w = weighted_colors(pixels, "rgb")[4:]
        for k in args.k:
            direct(X[:5000], w[:5000], k)  # kernels loaded
            direct_s, plain = best(direct, X, w, k)
            both_s, (coarse, fine) = best(coarse_to_fine, X, w, k)
            print(f"| {name} | {len(X):,} | {k} | {1e3 * direct_s:.0f} | "
                  f"{plain.n_iter_} | {1e3 * both_s:.0f} | "
                  f"{coarse.n_iter_} + {fine.n_iter_} | {direct_s / both_s:.2f}x | "
                  f"{fine.inertia_ / plain.inertia_:.4f} |", flush=True)


if __name__ == "__main__":
    main()
