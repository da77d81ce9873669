"""Numba kernels of the mini-batch k-means update: one pass over one batch.

The assignment of a batch is ``_kernels.assign_labels``, the same kernel that
serves ``KMeans``; this module only adds the incremental centre update.
``reference.minibatch.minibatch_step`` is the NumPy version of both together.
``swap_candidate`` is the merge/swap test of ``_minibatch.swap_redundant``
in one pass (in NumPy it cost more than the assignment of the batch).

A batch is small (a few thousand rows), so the kernel runs on one thread: its
result cannot depend on the thread count.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def minibatch_update(X, sample_weight, labels, centers_old, centers_new,
                     weight_sums, sums, batch_weights):
    """Move each centre towards the rows of the batch labelled with it.

    Each centre is the weighted mean of every row it has ever been given: with
    ``W_j`` the weight it has absorbed so far (``weight_sums[j]``) and ``w_j``,
    ``s_j`` the weight and weighted coordinate sum of its rows in this batch,

        centre_j += (s_j - w_j * centre_j) / (W_j + w_j),   W_j += w_j

    so a centre that has seen much data moves little: its own learning rate
    ``w_j / (W_j + w_j)``. A centre with no row in the batch stays where it is.

    X              IN    (batch_size, n_features) float32/float64
    sample_weight  IN    (batch_size,) dtype of X
    labels         IN    (batch_size,) int32, from ``assign_labels``
    centers_old    IN    (n_clusters, n_features) dtype of X
    centers_new    OUT   (n_clusters, n_features) dtype of X
    weight_sums    INOUT (n_clusters,) float64, weight absorbed by each centre
    sums           OUT   (n_clusters, n_features) float64 scratch
    batch_weights  OUT   (n_clusters,) float64, weight of each centre's rows
                         in this batch
    returns        float64, sum over centres of the squared distance moved
    """
    n_samples, n_features = X.shape
    n_clusters = centers_old.shape[0]
    sums[:] = 0.0
    batch_weights[:] = 0.0
    for i in range(n_samples):
        j = labels[i]
        w = np.float64(sample_weight[i])
        batch_weights[j] += w
        for f in range(n_features):
            sums[j, f] += w * X[i, f]

    shift = 0.0
    for j in range(n_clusters):
        w = batch_weights[j]
        if w > 0.0:
            total = weight_sums[j] + w
            for f in range(n_features):
                old = np.float64(centers_old[j, f])
                new = old + (sums[j, f] - w * old) / total
                centers_new[j, f] = new
                diff = np.float64(centers_new[j, f]) - old
                shift += diff * diff
            weight_sums[j] = total
        else:
            for f in range(n_features):
                centers_new[j, f] = centers_old[j, f]
    return shift


@njit(cache=True, nogil=True)
def swap_candidate(X, sample_weight, distances, centers, weight_sums, u):
    """Draw a candidate row and find the two centres cheapest to merge.

    The candidate is the row where ``u`` falls in the cumulative
    ``weight x distance`` of the batch (as ``Generator.choice`` with these
    probabilities draws it from the uniform ``u``). Its gain is how much the
    batch's inertia would drop with a centre on it, scaled from the batch to
    all the weight seen so far; the cost of merging centres a and b is Ward's
    ``W_a W_b / (W_a + W_b) |c_a - c_b|^2`` (0 when both weights are 0).

    X             IN (batch_size, n_features)
    sample_weight IN (batch_size,)
    distances     IN (batch_size,) squared distance to the nearest centre
    centers       IN (n_clusters, n_features), n_clusters >= 2
    weight_sums   IN (n_clusters,) float64
    u             IN float64 in [0, 1)
    returns       (row, gain, a, b, cost, candidate_weight): row -1 when the
                  batch has no weight or no distance; ``candidate_weight`` is
                  the weight of the batch rows nearer to the candidate
    """
    n_rows, n_features = X.shape
    n_clusters = centers.shape[0]
    total = 0.0
    batch_weight = 0.0
    for i in range(n_rows):
        w = np.float64(sample_weight[i])
        total += w * np.float64(distances[i])
        batch_weight += w
    if total <= 0.0 or batch_weight <= 0.0:
        return -1, 0.0, 0, 0, 0.0, 0.0
    # Generator.choice: the cumulative probabilities, divided by their last
    # value, and the first row whose share exceeds u.
    last = 0.0
    for i in range(n_rows):
        last += np.float64(sample_weight[i]) * np.float64(distances[i]) / total
    cumulative = 0.0
    row = n_rows - 1
    for i in range(n_rows):
        cumulative += np.float64(sample_weight[i]) * np.float64(distances[i]) / total
        if cumulative / last > u:
            row = i
            break
    gain = 0.0
    candidate_weight = 0.0
    for i in range(n_rows):
        d_new = 0.0
        for f in range(n_features):
            diff = np.float64(X[i, f]) - np.float64(X[row, f])
            d_new += diff * diff
        if d_new < distances[i]:
            w = np.float64(sample_weight[i])
            gain += w * (np.float64(distances[i]) - d_new)
            candidate_weight += w
    seen = 0.0
    for j in range(n_clusters):
        seen += weight_sums[j]
    gain *= seen / batch_weight
    best_a, best_b, best_cost = 0, 1, np.inf
    for a in range(n_clusters):
        for b in range(n_clusters):
            if a == b:
                continue
            pair = weight_sums[a] + weight_sums[b]
            d2 = 0.0
            for f in range(n_features):
                diff = np.float64(centers[a, f]) - np.float64(centers[b, f])
                d2 += diff * diff
            cost = weight_sums[a] * weight_sums[b] / pair * d2 if pair > 0 else 0.0
            if cost < best_cost:
                best_a, best_b, best_cost = a, b, cost
    return row, gain, best_a, best_b, best_cost, candidate_weight
