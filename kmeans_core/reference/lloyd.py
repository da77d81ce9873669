"""Lloyd's k-means in plain NumPy: what ``_kernels.py`` does fast.

Read top to bottom: the assignment (every row to its nearest centre), the
update (every centre to the mean of its rows), the Lloyd loop that ties
them, the assignment again with Hamerly's bounds (which rows need no
search), and repeated rows clustered once. ``tests/test_kmeans.py`` holds
the kernels equal to these.
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


def cluster_sums(X, sample_weight, labels, n_clusters):
    """Weighted coordinate sum and total weight of each cluster's rows.

    Returns ``(sums, weights)``: (n_clusters, n_features) and (n_clusters,),
    float64. (The Lloyd driver keeps them up to date instead, moving only the
    rows that changed label: ``_kernels.apply_label_changes``.)
    """
    w = sample_weight.astype(np.float64)
    weights = np.bincount(labels, weights=w, minlength=n_clusters)
    sums = np.zeros((n_clusters, X.shape[1]))
    np.add.at(sums, labels, w[:, np.newaxis] * X)
    return sums, weights


def update_centers(X, sample_weight, labels, distances, centers_old):
    """Weighted mean of each cluster's rows; returns ``(centers, shift)``.

    An empty cluster takes the row farthest from its own centre (the next
    farthest for the next empty cluster). ``shift`` is the sum of the squared
    distances the centres moved.
    """
    w = sample_weight.astype(np.float64)
    sums, weights = cluster_sums(X, sample_weight, labels, len(centers_old))

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


class Assigner:
    """The assignment with Hamerly's bounds (``_lloyd.Assigner``), in NumPy.

    Keeps, for every row, its label and a lower bound ``lower`` on its
    distance (not squared) to every centre but its own. Call ``assign`` with
    the centres and how far each moved since the last call. A row is not
    searched when its distance ``u`` to its own centre ``a`` is below either
    of two bounds, each of which proves that no other centre is nearer:

    - half the distance from ``a`` to the nearest other centre (if another
      centre were nearer than ``u``, it would be within ``2u`` of ``a``);
    - ``lower``, first brought up to date: the ``n_near`` centres nearest to
      ``a`` came at most as much nearer as the farthest of them moved, and
      every other centre ``j`` is at least ``|c_j - c_a| - u`` away.

    Searched rows get the exact nearest centre and, as ``lower``, their
    exact distance to the second nearest. ``searched`` shows which rows the
    last call searched.
    """

    def __init__(self, X, sample_weight, n_clusters, n_near=16):
        self.X, self.sample_weight, self.n_near = X, sample_weight, n_near
        self.labels = np.full(len(X), -1)
        self.lower = np.zeros(len(X))
        self.searched = np.ones(len(X), dtype=bool)

    def assign(self, centers, moved):
        """Returns ``(inertia, n_changed)``; updates labels and bounds."""
        X, own = self.X, self.labels
        known = own >= 0
        a = np.maximum(own, 0)
        n_clusters = len(centers)
        gaps = np.sqrt(((centers[:, None, :].astype(np.float64) - centers[None]) ** 2)
                       .sum(axis=2))
        np.fill_diagonal(gaps, np.inf)
        order = np.argsort(gaps, axis=1, kind="stable")[:, :n_clusters - 1]
        sorted_gaps = np.take_along_axis(gaps, order, axis=1)
        n_near = min(self.n_near, n_clusters - 1)
        half_gap = 0.5 * sorted_gaps[:, 0] if n_clusters > 1 else np.full(1, np.inf)
        near_move = moved[order[:, :n_near]].max(axis=1, initial=0.0)
        far_gap = (sorted_gaps[:, n_near] if n_near < n_clusters - 1
                   else np.full(n_clusters, np.inf))

        d_own = ((X - centers[a]) ** 2).sum(axis=1)
        u = np.sqrt(d_own.astype(np.float64))
        lower = np.minimum(self.lower - near_move[a], far_gap[a] - u)
        self.lower = np.where(known, lower, self.lower)
        bound = np.maximum(half_gap[a], self.lower) * (1 - 1e-5)
        skip = known & (u < bound)
        self.searched = ~skip

        d2 = ((X[:, np.newaxis, :] - centers[np.newaxis, :, :]) ** 2).sum(axis=2)
        rows = np.flatnonzero(self.searched)
        nearest = d2[rows].argmin(axis=1)  # the lowest index wins a tie
        n_changed = int((nearest != own[rows]).sum())
        self.labels = own.copy()
        self.labels[rows] = nearest
        self.distances = d_own
        self.distances[rows] = d2[rows, nearest]
        d2[rows, nearest] = np.inf  # the second nearest is the lower bound
        self.lower[rows] = np.sqrt(d2[rows].min(axis=1).astype(np.float64))
        inertia = float(np.sum(self.sample_weight.astype(np.float64) * self.distances))
        return inertia, n_changed


def unique_rows(X, sample_weight):
    """Distinct rows of ``X``, in order of first appearance, and their total
    weight (``_kernels.unique_rows`` finds them with a hash table of the
    rows' bits, in one pass).

    Returns ``(first, inverse, weights)``: the first row of each distinct
    row, each row's distinct row (``X[first][inverse]`` is ``X``), and the
    summed ``sample_weight`` of each distinct row, float64.
    """
    bits = np.ascontiguousarray(X).view(f"V{X.dtype.itemsize * X.shape[1]}").ravel()
    _, first, inverse = np.unique(bits, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # by first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    inverse = rank[inverse.ravel()]
    weights = np.bincount(inverse, weights=sample_weight.astype(np.float64),
                          minlength=len(order))
    return first[order], inverse, weights
