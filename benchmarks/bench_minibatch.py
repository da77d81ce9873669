"""Figures for the mini-batch k-means closing note (issue 3): a plain script.

1. china.jpg (427 x 640 pixels, float32 in [0, 1]) at k = 16, 64, 256: time and
   inertia of our MiniBatchKMeans, scikit-learn's MiniBatchKMeans (same
   batch_size, n_init=1 as sklearn's "auto") and our KMeans. Median over the
   seeds 0, 1, 2 (KMeans: seed 0 only, unless --kmeans-seeds).
2. A 12-megapixel photo (china.jpg upscaled to 4000 x 3000 with Pillow,
   bicubic): time, passes, steps and inertia per pixel of our MiniBatchKMeans
   with its defaults, against our KMeans fitted on a random sample of 200,000
   pixels (its inertia per pixel on the sample, and on all the pixels).
   scikit-learn's MiniBatchKMeans is not run here: its early stopping never
   fires at this size and it takes over 400 s.

Compile time is excluded: every estimator is fitted once on a small sample
first. OpenMP threads wait passively (OMP_WAIT_POLICY=PASSIVE unless set), so
scikit-learn's threads do not spin against ours on a busy machine.

    python benchmarks/bench_minibatch.py [--batch-size 1024] [--skip-large]
"""

import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
from PIL import Image
from sklearn.cluster import MiniBatchKMeans as SKMiniBatchKMeans
from sklearn.datasets import load_sample_image

from kmeans_core import KMeans, MiniBatchKMeans
from kmeans_core._base import assign as _assign


def timed(cls, X, **params):
    """Fit ``cls(**params)`` on X; returns (model, seconds)."""
    model = cls(**params)
    start = time.perf_counter()
    model.fit(X)
    return model, time.perf_counter() - start


def inertia64(X, centers):
    """Inertia of X on centers recomputed in float64, the same for every model."""
    return _assign(X.astype(np.float64), None, centers.astype(np.float64))[1]


def china_pixels():
    return (load_sample_image("china.jpg").reshape(-1, 3) / np.float32(255)).astype(
        np.float32)


def warm_up(X, batch_size):
    small = X[:20_000]
    MiniBatchKMeans(8, batch_size=batch_size, random_state=0).fit(small)
    SKMiniBatchKMeans(8, batch_size=batch_size, random_state=0, n_init=1).fit(small)
    KMeans(8, random_state=0).fit(small)


def bench_china(ks, batch_size, seeds, kmeans_seeds):
    X = china_pixels()
    warm_up(X, batch_size)
    print(f"china.jpg: {X.shape[0]} pixels, batch_size={batch_size}, "
          f"median over seeds {list(seeds)}")
    print(f"{'k':>4} {'estimator':<22} {'time s':>8} {'inertia':>10} {'vs KMeans':>9} "
          f"{'steps':>6}")
    for k in ks:
        rows = {}
        estimators = {
            "ours MiniBatchKMeans": (MiniBatchKMeans, {}),
            "sklearn MiniBatchKMeans": (SKMiniBatchKMeans, {"n_init": 1}),
        }
        for name, (cls, extra) in estimators.items():
            runs = [timed(cls, X, n_clusters=k, batch_size=batch_size, random_state=s,
                          **extra) for s in seeds]
            rows[name] = (np.median([t for _, t in runs]),
                          np.median([inertia64(X, m.cluster_centers_) for m, _ in runs]),
                          np.median([m.n_steps_ for m, _ in runs]))
        runs = [timed(KMeans, X, n_clusters=k, random_state=s) for s in kmeans_seeds]
        rows["ours KMeans"] = (np.median([t for _, t in runs]),
                               np.median([inertia64(X, m.cluster_centers_)
                                          for m, _ in runs]),
                               np.median([m.n_iter_ for m, _ in runs]))
        reference = rows["ours KMeans"][1]
        for name, (seconds, inertia, steps) in rows.items():
            print(f"{k:>4} {name:<22} {seconds:>8.2f} {inertia:>10.2f} "
                  f"{inertia / reference:>9.3f} {steps:>6.0f}")
        ratio = rows["ours MiniBatchKMeans"][1] / rows["sklearn MiniBatchKMeans"][1]
        print(f"{k:>4} ours / sklearn MiniBatchKMeans inertia: {ratio:.4f}, time: "
              f"{rows['ours MiniBatchKMeans'][0] / rows['sklearn MiniBatchKMeans'][0]:.3f}")


def bench_large(ks, sample_size=200_000):
    image = Image.fromarray(load_sample_image("china.jpg")).resize(
        (4000, 3000), Image.BICUBIC)
    X = (np.asarray(image).reshape(-1, 3) / np.float32(255)).astype(np.float32)
    warm_up(X, 4096)
    rng = np.random.default_rng(0)
    sample = X[rng.choice(len(X), sample_size, replace=False)]
    print(f"\n12-megapixel photo: {X.shape[0]} pixels (china.jpg upscaled to 4000 x "
          f"3000), MiniBatchKMeans defaults (batch_size="
          f"{MiniBatchKMeans().batch_size}), seed 0")
    print(f"{'k':>4} {'time s':>8} {'passes':>6} {'steps':>6} {'inertia/px':>11} "
          f"{'KMeans on sample: s':>20} {'inertia/px sample':>18} {'on all px':>10} "
          f"{'ratio':>6}")
    for k in ks:
        model, seconds = timed(MiniBatchKMeans, X, n_clusters=k, random_state=0)
        km, km_seconds = timed(KMeans, sample, n_clusters=k, random_state=0)
        ours = model.inertia_ / len(X)
        km_sample = km.inertia_ / len(sample)
        km_all = -km.score(X) / len(X)
        print(f"{k:>4} {seconds:>8.2f} {model.n_iter_:>6} {model.n_steps_:>6} "
              f"{ours:>11.6f} {km_seconds:>20.2f} {km_sample:>18.6f} {km_all:>10.6f} "
              f"{ours / km_all:>6.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--ks", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--kmeans-seeds", type=int, default=1)
    parser.add_argument("--skip-china", action="store_true")
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    if not args.skip_china:
        bench_china(args.ks, args.batch_size, range(args.seeds),
                    range(args.kmeans_seeds))
    if not args.skip_large:
        bench_large(args.ks)


if __name__ == "__main__":
    main()
