"""k-means in plain NumPy: the version to read first.

Every function here does, slowly and in a few lines, what a numba kernel in
``_kernels.py`` does fast; the tests hold the two equal. Read it top to bottom:
assignment, update, k-means++ seeding, and the Lloyd loop that ties them.
"""

import numpy as np


def assign_labels(X, sample_weight, centers):
    """Nearest centre of every row.

    Returns ``labels`` (n_samples,), ``distances`` (squared distance of each row
    to its centre) and ``inertia`` (their weighted sum).
    """
    # (n_samples, n_clusters) table of squared distances.
    d2 = ((X[:, np.newaxis, :] - centers[np.newaxis, :, :]) ** 2).sum(axis=2)
    labels = d2.argmin(axis=1)  # the lowest index wins a tie
    distances = d2[np.arange(len(X)), labels]
    inertia = float(np.sum(sample_weight.astype(np.float64) * distances))
    return labels, distances, inertia


def update_centers(X, sample_weight, labels, distances, centers_old):
    """Weighted mean of each cluster's rows; returns ``(centers, shift)``.

    An empty cluster takes the row farthest from its own centre (the next
    farthest for the next empty cluster). ``shift`` is the sum of the squared
    distances the centres moved.
    """
    n_clusters, n_features = centers_old.shape
    w = sample_weight.astype(np.float64)
    weights = np.bincount(labels, weights=w, minlength=n_clusters)
    sums = np.zeros((n_clusters, n_features))
    np.add.at(sums, labels, w[:, np.newaxis] * X)

    centers = centers_old.astype(np.float64)
    empty = np.flatnonzero(weights == 0)
    farthest = np.argsort(-distances, kind="stable")[: len(empty)]
    for j, i in zip(empty, farthest):
        sums[labels[i]] -= w[i] * X[i]  # row i leaves its cluster ...
        weights[labels[i]] -= w[i]
        sums[j] = w[i] * X[i]  # ... and founds cluster j
        weights[j] = w[i]
        centers[j] = X[i]

    full = weights > 0
    centers[full] = sums[full] / weights[full, np.newaxis]
    centers = centers.astype(X.dtype)
    shift = float(((centers.astype(np.float64) - centers_old) ** 2).sum())
    return centers, shift


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


def lloyd(X, sample_weight, centers, *, max_iter=300, tol=1e-4):
    """Lloyd's iterations from ``centers``.

    Stops when the labels no longer change, or when the summed squared shift of
    the centres is at most ``tol`` x the mean weighted per-feature variance of
    ``X``. Returns ``(centers, labels, inertia, n_iter)``.
    """
    w = sample_weight.astype(np.float64)
    mean = np.average(X, axis=0, weights=w)
    tol = tol * np.average((X - mean) ** 2, axis=0, weights=w).mean()
    labels_old = None
    for n_iter in range(1, max_iter + 1):
        labels, distances, inertia = assign_labels(X, sample_weight, centers)
        centers, shift = update_centers(X, sample_weight, labels, distances, centers)
        if labels_old is not None and np.array_equal(labels, labels_old):
            # Same labels as last time: the centres did not move either.
            return centers, labels, inertia, n_iter
        if shift <= tol:
            break
        labels_old = labels
    labels, _, inertia = assign_labels(X, sample_weight, centers)
    return centers, labels, inertia, n_iter


def minibatch_step(X, sample_weight, centers, weight_sums):
    """One step of mini-batch k-means on the batch ``X`` (re-seeding aside).

    Label the batch with the nearest centres, then move each centre towards
    its rows by its own learning rate: with ``W`` the weight the centre has
    absorbed before (``weight_sums``) and ``w``, ``s`` the weight and weighted
    sum of its rows in the batch, ``centre += (s - w * centre) / (W + w)``.
    The centre stays the weighted mean of every row it was ever given. (The
    re-seeding of starved centres is ``_minibatch.reassign_starved``, already
    plain NumPy.)

    Returns ``(centers, weight_sums, labels, inertia)``: the new centres in
    the dtype of ``X``, the new weight of each centre, and the labels and
    inertia of the batch on the centres before the step.
    """
    labels, _, inertia = assign_labels(X, sample_weight, centers)
    n_clusters, n_features = centers.shape
    w = sample_weight.astype(np.float64)
    batch_weights = np.bincount(labels, weights=w, minlength=n_clusters)
    sums = np.zeros((n_clusters, n_features))
    np.add.at(sums, labels, w[:, np.newaxis] * X)

    new_weight_sums = weight_sums + batch_weights
    new = centers.astype(np.float64)
    hit = batch_weights > 0  # a centre with no row in the batch stays put
    new[hit] += (sums[hit] - batch_weights[hit, np.newaxis] * new[hit]) / (
        new_weight_sums[hit, np.newaxis])
    return new.astype(X.dtype), new_weight_sums, labels, inertia
