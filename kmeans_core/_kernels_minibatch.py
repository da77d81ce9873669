"""Numba kernel of the mini-batch k-means update: one pass over one batch.

The assignment of a batch is ``_kernels.assign_labels``, the same kernel that
serves ``KMeans``; this module only adds the incremental centre update.
``_reference.minibatch_step`` is the NumPy version of both together.

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
