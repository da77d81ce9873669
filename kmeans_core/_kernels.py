"""Numba kernels for k-means: each makes one pass over the data and nothing else.

The layer below the drivers in ``_lloyd.py``. Kernels take caller-allocated
buffers for everything of size ``n_samples``; the comment on each argument says
whether it is read (IN), written (OUT) or both (INOUT).

Determinism: rows are split into chunks whose size depends only on
``n_samples``, never on the number of threads. Each chunk accumulates into its
own slot, and the slots are added in chunk order afterwards, so a result is the
same bit for bit with 1 or 2 threads.

Precision: distances are computed in the dtype of ``X`` (float32 is the fast
path); sums over many rows (inertia, weighted coordinate sums) are accumulated
in float64 so they do not lose digits on millions of pixels.

``_reference.py`` holds a plain NumPy version of every step here.
"""

import numpy as np
from numba import njit, prange

# Chunks hold at least this many rows ...
_MIN_CHUNK_ROWS = 1024
# ... and there are at most this many, so per-chunk buffers stay small.
_MAX_CHUNKS = 64


@njit(cache=True)
def chunk_rows(n_samples):
    """Rows per chunk for ``n_samples`` rows (independent of the thread count)."""
    per_chunk = (n_samples + _MAX_CHUNKS - 1) // _MAX_CHUNKS
    return max(_MIN_CHUNK_ROWS, per_chunk)


@njit(cache=True, inline="always")
def _nearest_two(X, i, centers_t, dist):
    """Nearest and second-nearest centre of row ``i``: (best, best_dist, second_dist).

    Squared distances in the dtype of X; the lowest index wins a tie.
    ``dist`` is an (n_clusters,) scratch buffer.
    """
    n_features, n_clusters = centers_t.shape
    dist[:] = 0
    for f in range(n_features):
        x = X[i, f]
        for j in range(n_clusters):
            diff = x - centers_t[f, j]
            dist[j] += diff * diff
    best = 0
    best_dist = dist[0]
    second_dist = np.inf
    for j in range(1, n_clusters):
        d = dist[j]
        if d < best_dist:
            second_dist = best_dist
            best_dist = d
            best = j
        elif d < second_dist:
            second_dist = d
    return best, best_dist, second_dist


@njit(parallel=True, cache=True)
def assign_labels(X, sample_weight, centers, labels, distances):
    """Label every row with its nearest centre and return the weighted inertia.

    X              IN  (n_samples, n_features) float32/float64
    sample_weight  IN  (n_samples,) same dtype as X
    centers        IN  (n_clusters, n_features) same dtype as X
    labels         OUT (n_samples,) int32, index of the nearest centre
                       (the lowest index on a tie)
    distances      OUT (n_samples,) same dtype as X, squared distance to it
    returns        float64, sum of sample_weight * distances
    """
    n_samples = X.shape[0]
    n_clusters = centers.shape[0]
    # (n_features, n_clusters): the innermost loop runs over contiguous
    # centres, which the compiler turns into SIMD instructions.
    centers_t = np.ascontiguousarray(centers.T)
    size = chunk_rows(n_samples)
    n_chunks = (n_samples + size - 1) // size
    chunk_inertia = np.zeros(n_chunks, dtype=np.float64)
    for chunk in prange(n_chunks):
        start = chunk * size
        end = min(start + size, n_samples)
        dist = np.empty(n_clusters, dtype=X.dtype)
        inertia = 0.0
        for i in range(start, end):
            best, best_dist, _ = _nearest_two(X, i, centers_t, dist)
            labels[i] = best
            distances[i] = best_dist
            inertia += sample_weight[i] * best_dist
        chunk_inertia[chunk] = inertia
    total = 0.0
    for chunk in range(n_chunks):
        total += chunk_inertia[chunk]
    return total


# Relative safety margin on the pruning test, far above float32 rounding, so a
# row is only skipped when no other centre can be as near (ties included).
_PRUNE_MARGIN = 1e-5


@njit(parallel=True, cache=True)
def assign_labels_pruned(X, sample_weight, centers, neighbors, neighbor_dist, drift,
                         moved, labels, distances, lower):
    """``assign_labels`` that skips the work that cannot change a label.

    Two bounds from the triangle inequality, with ``u`` the distance of a row
    to its own centre ``a``:

    - Hamerly (2010): a row keeps its label without any search when ``u`` is
      below both half the gap from ``a`` to its nearest other centre and the
      row's lower bound on the distance to every other centre (``lower``).
    - Elkan (2003): a centre ``j`` with ``|c_j - c_a| >= 2u`` cannot be nearer
      than ``a``, so a search only visits the other centres in order of their
      distance from ``a`` until they are that far.

    Both tests keep a relative safety margin far above float32 rounding, and
    ties go to the lowest index, so the labels are exactly those of a full
    search; only the work differs. The distance to the own centre is always
    recomputed, so ``distances`` and the inertia are exact.

    X              IN    (n_samples, n_features)
    sample_weight  IN    (n_samples,)
    centers        IN    (n_clusters, n_features)
    neighbors      IN    (n_clusters, n_clusters - 1) int32, the other centres
                         of each centre, nearest first
    neighbor_dist  IN    (n_clusters, n_clusters - 1) float64, their distances
                         (not squared), when the tables were made
    drift          IN    float64, how much nearer two centres may have come
                         since the tables were made (twice the longest path
                         a centre travelled); the tables stay valid bounds
    moved          IN    (n_clusters,) float64, how far each centre moved since
                         the last call (zeros the first time)
    labels         INOUT (n_samples,) int32; -1 where not yet known
    distances      OUT   (n_samples,) squared distance to the own centre
    lower          INOUT (n_samples,) float64, lower bound on the distance (not
                         squared) to the nearest centre other than the own one:
                         first lowered by the farthest move of those centres
                         (Hamerly's update), then set anew for searched rows
    returns        float64 inertia
    """
    n_samples, n_features = X.shape
    n_clusters = centers.shape[0]
    n_others = n_clusters - 1
    centers_t = np.ascontiguousarray(centers.T)
    # The two farthest moves: a row's other centres came at most the farthest
    # move of a centre not its own nearer.
    farthest = 0
    for j in range(1, n_clusters):
        if moved[j] > moved[farthest]:
            farthest = j
    second_move = 0.0
    for j in range(n_clusters):
        if j != farthest:
            second_move = max(second_move, moved[j])
    size = chunk_rows(n_samples)
    n_chunks = (n_samples + size - 1) // size
    chunk_inertia = np.zeros(n_chunks, dtype=np.float64)
    for chunk in prange(n_chunks):
        start = chunk * size
        end = min(start + size, n_samples)
        dist = np.empty(n_clusters, dtype=X.dtype)
        inertia = 0.0
        for i in range(start, end):
            own = labels[i]
            if own >= 0:
                lower[i] -= second_move if own == farthest else moved[farthest]
            else:
                best, best_dist, second_dist = _nearest_two(X, i, centers_t, dist)
                labels[i] = best
                distances[i] = best_dist
                lower[i] = np.sqrt(np.float64(second_dist))
                inertia += sample_weight[i] * best_dist
                continue
            # Accumulated in dist[own], so rounded exactly as in a search.
            dist[own] = 0
            for f in range(n_features):
                diff = X[i, f] - centers_t[f, own]
                dist[own] += diff * diff
            d_own = dist[own]
            gap = (neighbor_dist[own, 0] - drift) * 0.5 if n_others > 0 else np.inf
            bound = max(gap, lower[i]) * (1.0 - _PRUNE_MARGIN)
            # u < bound, compared squared (bound > 0) to save a square root.
            if bound > 0.0 and np.float64(d_own) < bound * bound:
                distances[i] = d_own
                inertia += sample_weight[i] * d_own
                continue
            u = np.sqrt(np.float64(d_own))
            best = own
            best_dist = d_own
            second_dist = np.inf
            # Centres at least this far from the own one cannot win.
            reach = 2.0 * u * (1.0 + _PRUNE_MARGIN)
            unvisited = np.inf
            for m in range(n_others):
                # This centre and all after it are at least this far from own.
                apart = neighbor_dist[own, m] - drift
                if apart > reach:
                    unvisited = apart - u
                    break
                j = neighbors[own, m]
                dist[j] = 0
                for f in range(n_features):
                    diff = X[i, f] - centers_t[f, j]
                    dist[j] += diff * diff
                d = dist[j]
                if d < best_dist or (d == best_dist and j < best):
                    second_dist = best_dist
                    best_dist = d
                    best = j
                elif d < second_dist:
                    second_dist = d
            labels[i] = best
            distances[i] = best_dist
            lower[i] = min(np.sqrt(np.float64(second_dist)), unvisited)
            inertia += sample_weight[i] * best_dist
        chunk_inertia[chunk] = inertia
    total = 0.0
    for chunk in range(n_chunks):
        total += chunk_inertia[chunk]
    return total


@njit(parallel=True, cache=True)
def weighted_sums(X, sample_weight, labels, sums, weight_in_clusters):
    """Weighted coordinate sum and total weight of the rows of each cluster.

    X                   IN  (n_samples, n_features)
    sample_weight       IN  (n_samples,)
    labels              IN  (n_samples,) int32
    sums                OUT (n_clusters, n_features) float64
    weight_in_clusters  OUT (n_clusters,) float64
    """
    n_samples, n_features = X.shape
    n_clusters = sums.shape[0]
    size = chunk_rows(n_samples)
    n_chunks = (n_samples + size - 1) // size
    partial_sums = np.zeros((n_chunks, n_clusters, n_features), dtype=np.float64)
    partial_weights = np.zeros((n_chunks, n_clusters), dtype=np.float64)
    for chunk in prange(n_chunks):
        start = chunk * size
        end = min(start + size, n_samples)
        for i in range(start, end):
            j = labels[i]
            w = np.float64(sample_weight[i])
            partial_weights[chunk, j] += w
            for f in range(n_features):
                partial_sums[chunk, j, f] += w * X[i, f]
    sums[:] = 0.0
    weight_in_clusters[:] = 0.0
    for chunk in range(n_chunks):
        for j in range(n_clusters):
            weight_in_clusters[j] += partial_weights[chunk, j]
            for f in range(n_features):
                sums[j, f] += partial_sums[chunk, j, f]


@njit(cache=True)
def update_centers(X, sample_weight, labels, distances, centers_old, centers_new,
                   sums, weight_in_clusters):
    """Move every centre to the weighted mean of its rows; return the shift.

    A cluster left with no weight takes the row farthest from its own centre
    (the next farthest for the next empty cluster), which leaves its old
    cluster.

    X                   IN  (n_samples, n_features)
    sample_weight       IN  (n_samples,)
    labels              IN  (n_samples,) int32, from ``assign_labels``
    distances           IN  (n_samples,), from ``assign_labels``
    centers_old         IN  (n_clusters, n_features)
    centers_new         OUT (n_clusters, n_features)
    sums                OUT (n_clusters, n_features) float64 scratch
    weight_in_clusters  OUT (n_clusters,) float64
    returns             float64, sum over clusters of the squared centre shift
    """
    n_clusters, n_features = centers_old.shape
    weighted_sums(X, sample_weight, labels, sums, weight_in_clusters)

    relocated = np.zeros(n_clusters, dtype=np.bool_)
    n_empty = 0
    for j in range(n_clusters):
        if weight_in_clusters[j] == 0.0:
            relocated[j] = True
            n_empty += 1
    if n_empty > 0:
        # Farthest first; a stable sort keeps equal distances in row order.
        farthest = np.argsort(-distances, kind="mergesort")[:n_empty]
        k = 0
        for j in range(n_clusters):
            if not relocated[j]:
                continue
            i = farthest[k]
            k += 1
            w = np.float64(sample_weight[i])
            old = labels[i]
            weight_in_clusters[old] -= w
            weight_in_clusters[j] = w
            for f in range(n_features):
                sums[old, f] -= w * X[i, f]
                sums[j, f] = w * X[i, f]
                # A row of zero weight still gives the cluster its place.
                centers_new[j, f] = X[i, f]

    shift = 0.0
    for j in range(n_clusters):
        w = weight_in_clusters[j]
        for f in range(n_features):
            if w > 0.0:
                centers_new[j, f] = sums[j, f] / w
            elif not relocated[j]:
                centers_new[j, f] = centers_old[j, f]
            diff = np.float64(centers_new[j, f]) - np.float64(centers_old[j, f])
            shift += diff * diff
    return shift


@njit(parallel=True, cache=True)
def update_closest(X, center, closest_dist_sq):
    """Lower each row's squared distance to its nearest chosen centre.

    X                IN    (n_samples, n_features)
    center           IN    (n_features,) the newly chosen centre
    closest_dist_sq  INOUT (n_samples,) float64
    """
    n_samples, n_features = X.shape
    for i in prange(n_samples):
        d = 0.0
        for f in range(n_features):
            diff = np.float64(X[i, f]) - np.float64(center[f])
            d += diff * diff
        closest_dist_sq[i] = min(closest_dist_sq[i], d)


@njit(parallel=True, cache=True)
def candidate_potentials(X, sample_weight, closest_dist_sq, candidates):
    """k-means++ potential of each candidate centre.

    The potential of candidate c is sum_i w_i * min(closest_i, |x_i - c|^2):
    the inertia if c were added to the centres chosen so far. Distances are
    computed in the dtype of X (float32: eight candidates in one SIMD
    register), the sums in float64.

    X                IN (n_samples, n_features)
    sample_weight    IN (n_samples,)
    closest_dist_sq  IN (n_samples,) float64
    candidates       IN (n_candidates, n_features)
    returns          (n_candidates,) float64
    """
    n_samples, n_features = X.shape
    n_candidates = candidates.shape[0]
    # (n_features, n_candidates): the inner loop runs over contiguous
    # candidates.
    candidates_t = np.ascontiguousarray(candidates.T)
    size = chunk_rows(n_samples)
    n_chunks = (n_samples + size - 1) // size
    partial = np.zeros((n_chunks, n_candidates), dtype=np.float64)
    for chunk in prange(n_chunks):
        start = chunk * size
        end = min(start + size, n_samples)
        d = np.empty(n_candidates, dtype=X.dtype)
        acc = np.zeros(n_candidates, dtype=np.float64)
        for i in range(start, end):
            d[:] = 0
            for f in range(n_features):
                x = X[i, f]
                for c in range(n_candidates):
                    diff = x - candidates_t[f, c]
                    d[c] += diff * diff
            w = np.float64(sample_weight[i])
            closest = closest_dist_sq[i]
            for c in range(n_candidates):
                acc[c] += w * min(np.float64(d[c]), closest)
        partial[chunk] = acc
    potentials = np.zeros(n_candidates, dtype=np.float64)
    for chunk in range(n_chunks):
        for c in range(n_candidates):
            potentials[c] += partial[chunk, c]
    return potentials


@njit(parallel=True, cache=True)
def squared_distances(X, centers, out):
    """Squared euclidean distance from every row to every centre.

    X        IN  (n_samples, n_features)
    centers  IN  (n_clusters, n_features)
    out      OUT (n_samples, n_clusters), dtype of X
    """
    n_samples, n_features = X.shape
    n_clusters = centers.shape[0]
    for i in prange(n_samples):
        for j in range(n_clusters):
            d = 0.0
            for f in range(n_features):
                diff = X[i, f] - centers[j, f]
                d += diff * diff
            out[i, j] = d


@njit(parallel=True, cache=True)
def center_neighbors(centers, neighbors, neighbor_dist):
    """For each centre, the other centres nearest first, and their distances.

    centers        IN  (n_clusters, n_features)
    neighbors      OUT (n_clusters, n_clusters - 1) int32
    neighbor_dist  OUT (n_clusters, n_clusters - 1) float64, distances (not
                       squared), increasing along each row
    """
    n_clusters, n_features = centers.shape
    for a in prange(n_clusters):
        gaps = np.empty(n_clusters, dtype=np.float64)
        for j in range(n_clusters):
            d = 0.0
            for f in range(n_features):
                diff = np.float64(centers[a, f]) - np.float64(centers[j, f])
                d += diff * diff
            gaps[j] = np.sqrt(d)
        gaps[a] = np.inf  # a centre is not its own neighbour
        order = np.argsort(gaps)
        for m in range(n_clusters - 1):
            neighbors[a, m] = order[m]
            neighbor_dist[a, m] = gaps[order[m]]
