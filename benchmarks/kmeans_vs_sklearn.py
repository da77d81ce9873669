"""KMeans.fit against scikit-learn's lloyd on the pixels of china.jpg, from the
same initial centres, compile time excluded (one warm-up fit first).

    python benchmarks/kmeans_vs_sklearn.py [k ...]
"""

import sys
import time

import numpy as np
from sklearn.cluster import KMeans as SKKMeans
from sklearn.datasets import load_sample_image

from kmeans_core import KMeans
from kmeans_core._lloyd import kmeans_plusplus


def best_time(fit, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        model = fit()
        times.append(time.perf_counter() - start)
    return min(times), model


def main(ks):
    X = (load_sample_image("china.jpg").reshape(-1, 3) / 255).astype(np.float32)
    w = np.ones(len(X), np.float32)
    KMeans(4, random_state=0).fit(X[:1000])  # compile / load the kernels
    print(f"china.jpg: {len(X):,} pixels, float32, tol=1e-4, same init\n")
    print("| k | ours (s) | sklearn lloyd (s) | speed-up | ours n_iter "
          "| sklearn n_iter | ours inertia | sklearn inertia |")
    print("|---|---|---|---|---|---|---|---|")
    for k in ks:
        init = kmeans_plusplus(X, k, w, np.random.default_rng(0))
        ours_fit = KMeans(k, init=init, tol=1e-4)
        ref_fit = SKKMeans(k, init=init, n_init=1, tol=1e-4, algorithm="lloyd")
        t_ours, ours = best_time(lambda est=ours_fit: est.fit(X), 3)
        t_ref, ref = best_time(lambda est=ref_fit: est.fit(X), 1)
        print(f"| {k} | {t_ours:.3f} | {t_ref:.3f} | {t_ref / t_ours:.1f}x "
              f"| {ours.n_iter_} | {ref.n_iter_} | {ours.inertia_:.2f} "
              f"| {ref.inertia_:.2f} |")


if __name__ == "__main__":
    main([int(k) for k in sys.argv[1:]] or [64])
