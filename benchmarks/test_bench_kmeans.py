"""KMeans.fit against scikit-learn's KMeans (lloyd and elkan).

All pixels of china.jpg and flower.jpg as float32 in [0, 1], k = 16, 64, 256,
the same initial centres (``kmeans_core._lloyd.kmeans_plusplus``, seed 0) and
the same ``tol`` for every implementation, on the same number of threads. The
inertia of every result is recomputed the same way (float64, all pixels), and
the scikit-learn runs record how far their centres are from ours and how many
iterations each took. For scale, the lloyd rows also record how far
scikit-learn's own float32 and float64 runs end up apart.

    python -m pytest benchmarks/test_bench_kmeans.py
"""

from functools import cache

import numpy as np
import pytest
from conftest import label, load_pixels, record, rounds
from sklearn.cluster import KMeans as SKKMeans

from kmeans_core import KMeans
from kmeans_core._base import assign as _assign
from kmeans_core._lloyd import kmeans_plusplus

TOL = 1e-4
IMPLS = ("ours", "sklearn-lloyd", "sklearn-elkan")


@cache
def initial_centers(photo, k):
    """k-means++ centres of a photo's pixels, the same for every implementation."""
    X = load_pixels(photo)
    weights = np.ones(X.shape[0], dtype=X.dtype)
    centers = kmeans_plusplus(X, k, weights, np.random.default_rng(0))
    centers.flags.writeable = False
    return centers


@cache
def our_fit(photo, k):
    """Our fit, untimed: what the scikit-learn runs are compared with."""
    return make_fit("ours", load_pixels(photo), initial_centers(photo, k))()


@cache
def sklearn_precision_gap(photo, k):
    """Largest centre difference between scikit-learn's lloyd on float32 and on
    float64 pixels, from the same init: how far rounding alone moves the result
    (at k >= 64 Lloyd on a photo is chaotic), untimed."""
    X, init = load_pixels(photo), initial_centers(photo, k)
    runs = [
        SKKMeans(k, init=init.astype(dtype), n_init=1, tol=TOL,
                 algorithm="lloyd").fit(X.astype(dtype))
        for dtype in (np.float32, np.float64)
    ]
    return float(np.abs(runs[0].cluster_centers_ - runs[1].cluster_centers_).max())


def inertia(X, centers):
    """Sum of squared distances of the rows to their nearest centre, float64."""
    return _assign(X.astype(np.float64), None, centers.astype(np.float64))[1]


def make_fit(impl, X, init):
    k = init.shape[0]
    if impl == "ours":
        return lambda: KMeans(k, init=init, n_init=1, tol=TOL).fit(X)
    algorithm = impl.removeprefix("sklearn-")
    return lambda: SKKMeans(k, init=init, n_init=1, tol=TOL,
                            algorithm=algorithm).fit(X)


@pytest.mark.parametrize("impl", IMPLS)
def test_kmeans_fit(benchmark, photo, k, impl, pixels):
    label(benchmark, bench="kmeans-fit", case=f"{photo} k={k}", impl=impl)
    init = initial_centers(photo, k)
    fit = make_fit(impl, pixels, init)
    if impl == "ours":
        n_rounds = rounds(5)
    else:
        # scikit-learn at k=256 takes seconds per fit: fewer rounds.
        n_rounds = rounds(3 if k <= 16 else 1)
    model = benchmark.pedantic(fit, rounds=n_rounds, warmup_rounds=1, iterations=1)

    extra = {"n_iter": int(model.n_iter_), "n_samples": int(pixels.shape[0]),
             "k": k, "tol": TOL}
    if impl != "ours":
        ours = our_fit(photo, k)
        extra["n_iter_ours"] = int(ours.n_iter_)
        extra["max_center_diff"] = float(np.abs(
            ours.cluster_centers_.astype(np.float64) - model.cluster_centers_
        ).max())
    if impl == "sklearn-lloyd":
        extra["sklearn_f32_vs_f64_center_diff"] = sklearn_precision_gap(photo, k)
    record(benchmark, quality_name="inertia",
           quality=inertia(pixels, model.cluster_centers_), **extra)
