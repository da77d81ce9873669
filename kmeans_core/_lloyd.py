"""Drivers: the k-means++ seeding loop and the Lloyd loop.

The middle layer. Inputs are already validated (C-contiguous, float32 or
float64, finite, weights >= 0); the drivers own the buffers, call the kernels
in ``_kernels.py`` and decide when to stop. ``reference/lloyd.py`` and
``reference/seeding.py`` are the NumPy version of the same loops.
"""

from typing import NamedTuple

import numpy as np

from . import _kernels, _kernels_seeding, _parallel


class IterationRecord(NamedTuple):
    """One step of a recorded k-means run.

    centers : ndarray of shape (n_clusters, n_features)
        The centres at this step.
    inertia : float
        Weighted sum of squared distances of the rows to these centres.
    """

    centers: np.ndarray
    inertia: float


def scaled_tolerance(X, sample_weight, tol):
    """``tol`` x the mean over features of the weighted variance of ``X``."""
    if tol == 0:
        return 0.0
    return float(tol * _kernels.mean_variance(X, sample_weight))


# Repeated rows are collapsed from this many rows on, when at most this
# fraction of them is distinct (finding them costs about 20 ns a row).
_COLLAPSE_MIN_ROWS = 16384
_COLLAPSE_MAX_DISTINCT = 0.8
_COLLAPSE_PROBE_ROWS = 4096


def row_index_dtype(n_samples):
    """The dtype of arrays of row numbers: int32 where it holds them (less
    memory to stream), int64 from 2**31 rows."""
    return np.int32 if n_samples < 2**31 else np.int64


def collapse_duplicates(X, sample_weight, n_clusters):
    """Repeated rows of ``X`` as one row each, weighted by their total weight.

    Clustering the distinct rows with summed weights has exactly the
    objective of clustering every row (integer weights equal repeated rows),
    on fewer rows: a photo's 273,280 pixels are 96,615 distinct colours.
    Returns ``(X, sample_weight, inverse)``, where ``X[inverse]`` gives back
    the rows, or the input and ``None`` when collapsing would not pay: fewer
    than ``_COLLAPSE_MIN_ROWS`` rows, mostly distinct rows, fewer distinct
    rows than ``n_clusters``, or a total weight that the dtype of ``X`` would
    round.
    """
    n_samples = X.shape[0]
    if n_samples < _COLLAPSE_MIN_ROWS:
        return X, sample_weight, None
    bits = X.view(np.uint32 if X.dtype == np.float32 else np.uint64)
    # A look at every n-th row first: rows already distinct (an image's
    # distinct colours) are not hashed in full for nothing. In NumPy, by a
    # hash of each row's bits: distinct hashes are distinct rows, and equal
    # ones only send the rows to the full count. (The kernel would cost a
    # load from numba's cache, about 3 ms, for 0.1 ms of work.)
    probe = bits[::n_samples // _COLLAPSE_PROBE_ROWS]
    hashes = probe[:, 0].astype(np.uint64)
    for f in range(1, probe.shape[1]):
        hashes = hashes * np.uint64(0x9E3779B97F4A7C15) + probe[:, f]  # wraps
    if len(np.unique(hashes)) == len(probe):
        return X, sample_weight, None
    rows = row_index_dtype(n_samples)
    first, inverse = np.empty(n_samples, dtype=rows), np.empty(n_samples, dtype=rows)
    weights = np.empty(n_samples)
    n_unique = _kernels.unique_rows(bits, sample_weight, first, inverse, weights)
    if n_unique > _COLLAPSE_MAX_DISTINCT * n_samples or n_unique < n_clusters:
        return X, sample_weight, None
    weights = weights[:n_unique]
    rounded = weights.astype(X.dtype)
    if not np.array_equal(rounded, weights):
        return X, sample_weight, None
    return X[first[:n_unique]], rounded, inverse


def kmeans_plusplus(X, n_clusters, sample_weight, rng, *, start=None):
    """Greedy k-means++ seeding; see ``reference.seeding.kmeans_plusplus``.

    The random numbers are drawn here, all at once (the same numbers, in the
    same order, as one draw per round); the rounds run in one numba call,
    ``_kernels_seeding.kmeans_plusplus_greedy``.

    Parameters
    ----------
    start : ndarray of shape (n_start, n_features), optional
        Centres already chosen (for example a smaller fit's, to warm-start a
        larger one); seeding adds ``n_clusters - n_start`` more.

    Returns the centres, ndarray of shape (n_clusters, n_features), ``start``
    first.
    """
    n_samples, n_features = X.shape
    n_trials = 2 + int(np.log(n_clusters))
    centers = np.empty((n_clusters, n_features), dtype=X.dtype)
    if start is None or len(start) == 0:
        w = sample_weight.astype(np.float64)
        first, n_start = int(rng.choice(n_samples, p=w / w.sum())), 0
    else:
        first, n_start = 0, len(start)
        centers[:n_start] = start
    uniforms = rng.uniform(size=(n_clusters - max(n_start, 1), n_trials))
    _kernels_seeding.kmeans_plusplus_greedy(X, sample_weight, first, n_start,
                                            uniforms, centers)
    return centers


def random_init(X, n_clusters, sample_weight, rng):
    """``n_clusters`` distinct rows drawn with probability proportional to weight."""
    w = sample_weight.astype(np.float64)
    n_candidates = np.count_nonzero(w)
    if n_candidates < n_clusters:
        # Too few weighted rows: fill up with rows of zero weight.
        ids = np.concatenate([np.flatnonzero(w), np.flatnonzero(w == 0)])[:n_clusters]
        rng.shuffle(ids)
    else:
        ids = rng.choice(len(X), size=n_clusters, replace=False, p=w / w.sum())
    return X[ids].copy()


class BatchSampler:
    """Draws row indices with probability proportional to ``sample_weight``.

    With equal weights a row is ``floor(u * n_samples)`` for a uniform ``u``;
    otherwise the row whose slice of the cumulative weight holds
    ``u * total_weight``. Both take one uniform per row from the generator, and
    for integer weights the second picks, row for row, the same values as the
    first would on the data with every row repeated ``weight`` times (in
    order): unique colours with their counts draw the same batches as all the
    pixels.
    """

    def __init__(self, sample_weight):
        self.n_samples = len(sample_weight)
        w = sample_weight.astype(np.float64)
        self.total_weight = float(w.sum())
        self.uniform = bool(np.all(w == w[0]))
        if self.uniform:
            self._cumulative = None
        else:
            self._cumulative = np.cumsum(w)
            self._total = float(self._cumulative[-1])
            self._last = int(np.flatnonzero(w)[-1])

    def draw(self, rng, size):
        """``size`` row indices (with replacement), ndarray of int64."""
        u = rng.random(size)
        if self._cumulative is None:
            ids = (u * self.n_samples).astype(np.int64)
            return np.minimum(ids, self.n_samples - 1, out=ids)
        ids = np.searchsorted(self._cumulative, u * self._total, side="right")
        # u * total can round up to total: stay on a row of positive weight.
        return np.minimum(ids, self._last, out=ids)


def sample_rows(X, sample_weight, size, rng, sampler=None):
    """A sample of ``size`` rows drawn in proportion to weight, with unit weights.

    When ``size >= n_samples`` and the weights are all equal, the data itself
    is returned, with its weights.
    """
    sampler = sampler or BatchSampler(sample_weight)
    if size >= X.shape[0] and sampler.uniform:
        return X, sample_weight
    ids = sampler.draw(rng, size)
    return np.take(X, ids, axis=0), np.ones(size, dtype=X.dtype)


# The near centres of a centre, whose moves loosen the bounds of its rows
# (``_kernels.center_bounds``): about 16 (those within a radius that holds
# 12 to 24) makes the fewest rows searched on photos at k = 64 to 256; with
# fewer centres, all are near (Hamerly's own bound).
N_NEAR = 16


class Assigner:
    """Buffers and bounds of the assignment step of one data set.

    ``assign`` labels every row with its nearest centre: the first call
    searches every row, later calls skip the rows whose label cannot have
    changed (Hamerly's test, see ``_kernels.assign_chunks``) given how far
    each centre ``moved`` since the call before. It records which rows
    changed label, so the clusters' sums are updated incrementally.

    The assignment runs on ``_parallel.n_shares`` threads, decided when the
    assigner is made; nothing runs between calls, so there is nothing to
    close.
    """

    def __init__(self, X, sample_weight, n_clusters):
        n_samples = X.shape[0]
        self.X, self.sample_weight = X, sample_weight
        # The kernel's Python function: the same sizes, with no kernel to
        # load from numba's cache (about 3 ms a process).
        chunk_size = _kernels.chunk_rows.py_func(n_samples)
        self.n_chunks = -(-n_samples // chunk_size)
        self.n_shares = _parallel.n_shares(self.n_chunks)
        self.labels = np.full(n_samples, -1, dtype=np.int32)
        self.distances = np.empty(n_samples, dtype=X.dtype)
        self.lower = np.zeros(n_samples, dtype=np.float64)
        rows = row_index_dtype(n_samples)
        self.changed = np.empty(n_samples, dtype=rows)
        self.old_labels = np.empty(n_samples, dtype=np.int32)
        self.pending = np.empty(n_samples, dtype=rows)
        # Room for every thread's sorted rows (see _kernels.group_pending).
        self.order = np.empty(2 * self.n_chunks * chunk_size, dtype=rows)
        self.result_label = np.empty(n_samples, dtype=np.int32)
        self.result_best = np.empty(n_samples, dtype=X.dtype)
        self.chunk_pending = np.zeros(self.n_chunks, dtype=np.int64)
        self.chunk_changed = np.zeros(self.n_chunks, dtype=np.int64)
        self.centers_t = np.empty((X.shape[1], n_clusters), dtype=X.dtype)
        # A centre's coordinates, bounds and radius in one 64-byte row for 3
        # features (see _kernels.center_bounds).
        width = -(-(X.shape[1] + 4) // 8) * 8
        self.center_info = np.zeros((n_clusters, width), dtype=np.float64)
        self.center_dist = np.empty((n_clusters, n_clusters), dtype=np.float64)

    def assign(self, centers, moved, prune=True):
        """Assign every row; returns the number of rows that changed label.

        The four steps of ``_kernels.assign_chunks`` (scan, group, search,
        collect), each share of the chunks on its own thread.
        """
        if prune:
            # One pass per centre: on one thread (0.09 ms at k = 256).
            _kernels.center_bounds(centers, moved, N_NEAR, self.center_info,
                                   self.center_dist)
        self.centers_t[:] = centers.T
        _parallel.assign(
            (self.X, self.centers_t, self.center_info, self.center_dist,
             self.labels, self.distances, self.lower, self.pending,
             self.chunk_pending, self.order, self.result_label, self.result_best,
             self.changed, self.old_labels, self.chunk_changed),
            prune, self.n_shares)
        return int(self.chunk_changed.sum())

    def inertia(self):
        """Sum of weight x squared distance to the own centre, of the last
        assignment."""
        return float(_kernels.weighted_inertia(self.sample_weight, self.distances))


def nearest_centers(X, sample_weight, centers, guess=None):
    """Nearest centre of every row, on all threads: ``(labels, distances, inertia)``.

    ``guess``, optional (n_samples,) int labels, probably right (a fit's
    labels for its centres rounded): a row whose distance to its guessed
    centre is below half the gap to that centre's nearest neighbour keeps it
    without a search, and the others are searched among nearby centres
    only. The labels are exactly those of a full search either way.
    """
    n_clusters = centers.shape[0]
    assigner = Assigner(X, sample_weight, n_clusters)
    if guess is None:
        assigner.assign(centers, np.zeros(n_clusters), prune=False)
    else:
        assigner.labels[:] = guess
        assigner.assign(centers, np.zeros(n_clusters))
    return assigner.labels, assigner.distances, assigner.inertia()


def lloyd(X, sample_weight, centers_init, *, max_iter, tol, history=None):
    """Lloyd's iterations from ``centers_init``.

    Each iteration assigns every row to its nearest centre, then moves every
    centre to the weighted mean of its rows. It stops when the labels are the
    same as in the previous iteration, or when the summed squared shift of the
    centres is at most ``tol`` (already scaled, see ``scaled_tolerance``), or
    after ``max_iter`` iterations. Unless the labels stopped changing, one more
    assignment makes the labels match the final centres.

    The work of an iteration is proportional to the rows that need a search,
    not to all rows: the assignment skips rows whose centre cannot have
    changed (Hamerly's bounds), and the clusters' sums are updated only for
    the rows that changed label (``_kernels.apply_label_changes``).

    Parameters
    ----------
    history : list or None
        When a list, an ``IterationRecord`` is appended for the initial centres
        and after every update: ``n_iter + 1`` records in all.

    Returns
    -------
    centers, labels, inertia, n_iter, converged
    """
    n_clusters, n_features = centers_init.shape
    centers = np.array(centers_init, dtype=X.dtype, order="C")
    centers_new = np.empty_like(centers)
    sums = np.zeros((n_clusters, n_features), dtype=np.float64)
    weight_in_clusters = np.zeros(n_clusters, dtype=np.float64)
    # How far each centre moved in the last update: a centre moving by p
    # comes at most p nearer to any row.
    moved = np.zeros(n_clusters, dtype=np.float64)
    assigner = Assigner(X, sample_weight, n_clusters)
    converged = strict = False
    for i in range(max_iter):
        n_changed = assigner.assign(centers, moved)
        if history is not None:
            history.append(IterationRecord(centers.copy(), assigner.inertia()))
        _kernels.apply_label_changes(
            X, sample_weight, assigner.labels, assigner.changed,
            assigner.old_labels, assigner.chunk_changed, sums, weight_in_clusters,
        )
        if i > 0 and n_changed == 0:
            # The labels did not change, so neither do the centres.
            converged = strict = True
            break
        shift = _kernels.update_centers(
            X, sample_weight, assigner.labels, assigner.distances, assigner.lower,
            sums, weight_in_clusters, centers, centers_new, moved,
        )
        centers, centers_new = centers_new, centers
        if shift <= tol:
            converged = True
            break

    if not strict:
        assigner.assign(centers, moved)
    inertia = assigner.inertia()
    if history is not None:
        history.append(IterationRecord(centers.copy(), inertia))
    return centers, assigner.labels, inertia, i + 1, converged
