"""Greedy k-means++ seeding in plain NumPy: what ``_kernels_seeding.py``
does fast (``tests/test_seeding_kernels.py`` holds them equal)."""

import numpy as np


def kmeans_plusplus(X, n_clusters, sample_weight, rng):
    """Greedy k-means++ seeding.

    The first centre is a row drawn with probability proportional to its
    weight. Each further centre: draw ``2 + ln(n_clusters)`` candidate rows
    with probability proportional to weight x squared distance to the nearest
    centre so far, and keep the candidate that lowers the inertia most.
    """
    n_samples = len(X)
    w = sample_weight.astype(np.float64)
    n_trials = 2 + int(np.log(n_clusters))
    centers = np.empty((n_clusters, X.shape[1]), dtype=X.dtype)
    first = rng.choice(n_samples, p=w / w.sum())
    centers[0] = X[first]
    Xd = X.astype(np.float64)
    closest = ((Xd - Xd[first]) ** 2).sum(axis=1)
    potential = closest @ w
    for c in range(1, n_clusters):
        targets = rng.uniform(size=n_trials) * potential
        ids = np.searchsorted(np.cumsum(w * closest), targets)
        ids = np.minimum(ids, n_samples - 1)
        d2 = ((Xd[np.newaxis, :, :] - Xd[ids, np.newaxis, :]) ** 2).sum(axis=2)
        d2 = np.minimum(closest, d2)  # (n_trials, n_samples)
        potentials = d2 @ w
        best = potentials.argmin()
        centers[c] = X[ids[best]]
        closest, potential = d2[best], potentials[best]
    return centers


def kmeans_plusplus_greedy(X, sample_weight, first, n_start, uniforms, centers):
    """``_kernels_seeding.kmeans_plusplus_greedy``, in NumPy (same arguments).

    The rounds of ``kmeans_plusplus`` with the random numbers drawn before:
    ``first`` is the first centre's row (unless ``n_start`` centres are given
    in ``centers[:n_start]``), ``uniforms[r]`` the uniforms of round ``r``.
    Distances to the chosen centres are float64, those to the candidates in
    the dtype of ``X``, as in the kernel. Fills ``centers``; returns the
    final potential (the weighted sum of squared distances to the nearest
    centre).
    """
    n_samples = len(X)
    n_clusters = len(centers)
    w = sample_weight.astype(np.float64)
    n_done = max(n_start, 1)
    if n_start == 0:
        centers[0] = X[first]
    Xd = X.astype(np.float64)
    closest = np.full(n_samples, np.inf)
    for c in range(n_done):
        closest = np.minimum(closest, ((Xd - centers[c].astype(np.float64)) ** 2).sum(1))
    potential = closest @ w
    for r, c in enumerate(range(n_done, n_clusters)):
        targets = uniforms[r] * potential
        ids = np.minimum(np.searchsorted(np.cumsum(w * closest), targets), n_samples - 1)
        d = ((X[np.newaxis, :, :] - X[ids, np.newaxis, :]) ** 2).sum(axis=2)
        potentials = np.minimum(closest, d.astype(np.float64)) @ w
        best = int(potentials.argmin())
        centers[c] = X[ids[best]]
        closest = np.minimum(closest, ((Xd - Xd[ids[best]]) ** 2).sum(1))
        potential = potentials[best]
    return float(potential)
