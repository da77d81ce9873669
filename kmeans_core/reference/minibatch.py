"""A mini-batch k-means step in plain NumPy: what ``_kernels_minibatch.py``
does fast (``tests/test_minibatch.py`` holds them equal)."""

import numpy as np

from .lloyd import assign_labels


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
