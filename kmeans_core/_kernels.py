"""Numba kernels for k-means: each makes one pass over the data and nothing else.

The layer below the drivers in ``_lloyd.py``. Kernels take caller-allocated
buffers for everything of size ``n_samples``; the comment on each argument says
whether it is read (IN), written (OUT) or both (INOUT).

Threads: the kernels are serial and release the GIL (``nogil=True``); the
drivers split the rows into chunks and run ranges of chunks on threads
(``_threads.py``). Serial kernels compile in a fraction of the time of
``parallel=True`` ones, which is what the first run after install pays.

Determinism: rows are split into chunks whose size depends only on
``n_samples``, never on the number of threads. Each chunk writes its own slot
(inertia, list of changed labels), and the slots are combined in chunk order
afterwards, so a result is the same bit for bit with 1 or 2 threads.

Precision: distances are computed in the dtype of ``X`` (float32 is the fast
path), always as ``((0 + d_0**2) + d_1**2) + ...`` in feature order, so every
kernel rounds a distance the same way; sums over many rows (inertia, weighted
coordinate sums) are accumulated in float64.

SIMD: a search for the nearest centre runs on a block of up to ``BLOCK`` rows
at once, with the rows innermost, so the compiler turns the loop into vector
instructions (16 float32 rows in one AVX-512 register) without any
reordering of the arithmetic.

``_reference.py`` holds a plain NumPy version of every step here.
"""

import numpy as np
from numba import njit

# Chunks hold at least this many rows ...
_MIN_CHUNK_ROWS = 1024
# ... and there are at most this many, so per-chunk slots stay few.
_MAX_CHUNKS = 64
# Rows searched together (see "SIMD" above).
BLOCK = 64
# Relative safety margin on the pruning test, far above float32 rounding, so a
# row is only skipped when no other centre can be as near (ties included).
_PRUNE_MARGIN = 1e-5


@njit(cache=True, nogil=True)
def chunk_rows(n_samples):
    """Rows per chunk for ``n_samples`` rows (independent of the thread count)."""
    per_chunk = (n_samples + _MAX_CHUNKS - 1) // _MAX_CHUNKS
    return max(_MIN_CHUNK_ROWS, per_chunk)


@njit(cache=True, nogil=True)
def _search_block(X, rows, n_rows, centers_t, xb, dist, best, second, arg):
    """Nearest and second-nearest centre of the rows ``rows[:n_rows]``.

    X          IN  (n_samples, n_features)
    rows       IN  (BLOCK,) int64, the rows to search
    centers_t  IN  (n_features, n_clusters), the centres transposed
    xb         OUT (n_features, BLOCK) scratch: the rows, transposed
    dist       OUT (BLOCK,) scratch
    best       OUT (BLOCK,) squared distance to the nearest centre
    second     OUT (BLOCK,) squared distance to the second nearest (inf if k=1)
    arg        OUT (BLOCK,) int32 index of the nearest (lowest index on a tie)
    """
    n_features, n_clusters = centers_t.shape
    for f in range(n_features):
        for r in range(n_rows):
            xb[f, r] = X[rows[r], f]
    for r in range(n_rows):
        best[r] = np.inf
        second[r] = np.inf
        arg[r] = 0
    if n_features == 3:
        # Colours: the whole distance in one loop over the rows, in registers.
        for j in range(n_clusters):
            c0, c1, c2 = centers_t[0, j], centers_t[1, j], centers_t[2, j]
            for r in range(n_rows):
                diff = xb[0, r] - c0
                d = diff * diff
                diff = xb[1, r] - c1
                d += diff * diff
                diff = xb[2, r] - c2
                d += diff * diff
                _keep_two(d, j, r, best, second, arg)
        return
    for j in range(n_clusters):
        for r in range(n_rows):
            diff = xb[0, r] - centers_t[0, j]
            dist[r] = diff * diff
        for f in range(1, n_features):
            c = centers_t[f, j]
            for r in range(n_rows):
                diff = xb[f, r] - c
                dist[r] += diff * diff
        for r in range(n_rows):
            _keep_two(dist[r], j, r, best, second, arg)


@njit(cache=True, nogil=True, inline="always")
def _keep_two(d, j, r, best, second, arg):
    """Fold distance ``d`` to centre ``j`` into row ``r``'s nearest two.

    Branch-free, so the loop around it vectorizes: a strictly smaller
    distance takes the lead (the lowest index wins a tie), and the old
    leader becomes second.
    """
    b = best[r]
    second[r] = min(second[r], max(b, d))
    arg[r] = np.int32(j) if d < b else arg[r]
    best[r] = min(b, d)


@njit(cache=True, nogil=True)
def assign_chunks(X, sample_weight, centers_t, half_gap, near_move, far_gap, prune,
                  labels, distances, lower, changed, old_labels, chunk_changed,
                  chunk_inertia, chunk_lo, chunk_hi):
    """Label the rows of chunks ``chunk_lo`` to ``chunk_hi`` with their nearest centre.

    With ``prune``, a row keeps its label without a search when its distance
    ``u`` to its own centre ``a`` is below either of two bounds (Hamerly
    2010), each of which proves that no other centre is nearer:

    - half the distance from ``a`` to the nearest other centre;
    - the row's lower bound on the distance to every other centre
      (``lower``). It is first brought up to date: the near centres of ``a``
      (its ``n_near`` nearest, see ``center_bounds``) came at most
      ``near_move[a]`` nearer, and every other centre is at least
      ``far_gap[a] - u`` away (triangle inequality), so
      ``lower = min(lower - near_move[a], far_gap[a] - u)``. Only the moves
      of nearby centres loosen a row's bound, not the farthest move of all.

    The tests keep a relative safety margin far above float32 rounding, and
    a search is exact, so the labels are exactly those of a full search; only
    the work differs. A searched row gets its exact distance to the second
    nearest centre as ``lower``. The distance to the own centre is always
    computed (3 subtractions for a colour: cheaper than keeping an upper
    bound, measured), so ``distances`` and the inertia are exact. Rows with
    label -1, and every row without ``prune``, are searched.

    X              IN    (n_samples, n_features) float32/float64
    sample_weight  IN    (n_samples,) same dtype as X
    centers_t      IN    (n_features, n_clusters) same dtype, centres transposed
    half_gap       IN    (n_clusters,) float64, half the distance (not squared)
                         from each centre to its nearest other centre
    near_move      IN    (n_clusters,) float64, the farthest move of a near
                         centre since the last call (zeros the first time)
    far_gap        IN    (n_clusters,) float64, the distance to the nearest
                         centre that is not near
    prune          IN    bool
    labels         INOUT (n_samples,) int32; -1 where not yet known
    distances      OUT   (n_samples,) same dtype as X, squared distance to the
                         own centre
    lower          INOUT (n_samples,) float64, lower bound on the distance (not
                         squared) to the nearest centre other than the own one
    changed        OUT   (n_samples,) int64: chunk c lists the rows whose label
                         changed from ``changed[start_c]`` on, in row order
    old_labels     OUT   (n_samples,) int32, their label before (-1: none)
    chunk_changed  OUT   (n_chunks,) int64, how many rows of each chunk changed
    chunk_inertia  OUT   (n_chunks,) float64, sum of weight x distance per chunk
    """
    n_samples, n_features = X.shape
    size = chunk_rows(n_samples)
    rows = np.empty(BLOCK, dtype=np.int64)
    xb = np.empty((n_features, BLOCK), dtype=X.dtype)
    dist = np.empty(BLOCK, dtype=X.dtype)
    best = np.empty(BLOCK, dtype=X.dtype)
    second = np.empty(BLOCK, dtype=X.dtype)
    arg = np.empty(BLOCK, dtype=np.int32)
    for chunk in range(chunk_lo, chunk_hi):
        start = chunk * size
        end = min(start + size, n_samples)
        inertia = 0.0
        n_changed = 0
        n_rows = 0
        for i in range(start, end + 1):
            if i < end:
                own = labels[i]
                if prune and own >= 0:
                    diff = X[i, 0] - centers_t[0, own]
                    d_own = diff * diff
                    for f in range(1, n_features):
                        diff = X[i, f] - centers_t[f, own]
                        d_own += diff * diff
                    u = np.sqrt(np.float64(d_own))
                    lower[i] = min(lower[i] - near_move[own], far_gap[own] - u)
                    if u < max(half_gap[own], lower[i]) * (1.0 - _PRUNE_MARGIN):
                        distances[i] = d_own
                        inertia += sample_weight[i] * d_own
                        continue
                rows[n_rows] = i
                n_rows += 1
                if n_rows < BLOCK:
                    continue
            if n_rows == 0:
                continue
            _search_block(X, rows, n_rows, centers_t, xb, dist, best, second, arg)
            for r in range(n_rows):
                row = rows[r]
                if arg[r] != labels[row]:
                    changed[start + n_changed] = row
                    old_labels[start + n_changed] = labels[row]
                    n_changed += 1
                    labels[row] = arg[r]
                distances[row] = best[r]
                lower[row] = np.sqrt(np.float64(second[r]))
                inertia += sample_weight[row] * best[r]
            n_rows = 0
        chunk_inertia[chunk] = inertia
        chunk_changed[chunk] = n_changed


@njit(cache=True, nogil=True)
def assign_labels(X, sample_weight, centers, labels, distances):
    """Label every row with its nearest centre and return the weighted inertia.

    One thread; ``_lloyd.assign`` runs the same search on several.

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
    size = chunk_rows(n_samples)
    n_chunks = (n_samples + size - 1) // size
    chunk_inertia = np.empty(n_chunks, dtype=np.float64)
    chunk_changed = np.empty(n_chunks, dtype=np.int64)
    changed = np.empty(n_samples, dtype=np.int64)
    old_labels = np.empty(n_samples, dtype=np.int32)
    lower = np.empty(n_samples, dtype=np.float64)
    zeros = np.zeros(n_clusters)
    labels[:] = -1
    assign_chunks(X, sample_weight, np.ascontiguousarray(centers.T), zeros, zeros,
                  zeros, False, labels, distances, lower, changed, old_labels,
                  chunk_changed,
                  chunk_inertia, 0, n_chunks)
    return chunk_inertia.sum()


@njit(cache=True, nogil=True)
def apply_label_changes(X, sample_weight, labels, changed, old_labels,
                        chunk_changed, sums, weight_in_clusters):
    """Move the rows whose label changed between the clusters' sums.

    The changes are applied chunk after chunk, in row order, so the sums do
    not depend on the thread count. On the first call (every old label -1)
    this is the full weighted sum.

    X                   IN    (n_samples, n_features)
    sample_weight       IN    (n_samples,)
    labels              IN    (n_samples,) int32, the new labels
    changed, old_labels, chunk_changed  IN  from ``assign_chunks``
    sums                INOUT (n_clusters, n_features) float64, weighted
                              coordinate sum of each cluster's rows
    weight_in_clusters  INOUT (n_clusters,) float64, their total weight
    """
    n_samples, n_features = X.shape
    size = chunk_rows(n_samples)
    for chunk in range(chunk_changed.shape[0]):
        start = chunk * size
        for m in range(start, start + chunk_changed[chunk]):
            i = changed[m]
            w = np.float64(sample_weight[i])
            old = old_labels[m]
            new = labels[i]
            if old >= 0:
                weight_in_clusters[old] -= w
                for f in range(n_features):
                    sums[old, f] -= w * X[i, f]
            weight_in_clusters[new] += w
            for f in range(n_features):
                sums[new, f] += w * X[i, f]


@njit(cache=True, nogil=True)
def weighted_sums(X, sample_weight, labels, sums, weight_in_clusters):
    """Weighted coordinate sum and total weight of the rows of each cluster.

    X                   IN  (n_samples, n_features)
    sample_weight       IN  (n_samples,)
    labels              IN  (n_samples,) int32
    sums                OUT (n_clusters, n_features) float64
    weight_in_clusters  OUT (n_clusters,) float64
    """
    n_samples, n_features = X.shape
    sums[:] = 0.0
    weight_in_clusters[:] = 0.0
    for i in range(n_samples):
        j = labels[i]
        w = np.float64(sample_weight[i])
        weight_in_clusters[j] += w
        for f in range(n_features):
            sums[j, f] += w * X[i, f]


@njit(cache=True, nogil=True)
def update_centers(X, sample_weight, labels, distances, lower, sums,
                   weight_in_clusters, centers_old, centers_new, moved):
    """Move every centre to the weighted mean of its rows; return the shift.

    A cluster left with no weight takes the row farthest from its own centre
    (the next farthest for the next empty cluster): the row changes label,
    leaves its old cluster's sums and must be searched again (``lower`` 0).

    X                   IN    (n_samples, n_features)
    sample_weight       IN    (n_samples,)
    labels              INOUT (n_samples,) int32
    distances           IN    (n_samples,), from the assignment
    lower               INOUT (n_samples,) float64, the assignment's bounds
    sums                INOUT (n_clusters, n_features) float64, of the labels
    weight_in_clusters  INOUT (n_clusters,) float64
    centers_old         IN    (n_clusters, n_features)
    centers_new         OUT   (n_clusters, n_features)
    moved               OUT   (n_clusters,) float64, distance each centre moved
    returns             float64, sum over clusters of the squared centre shift
    """
    n_clusters, n_features = centers_old.shape
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
            labels[i] = j
            lower[i] = 0.0

    shift = 0.0
    for j in range(n_clusters):
        w = weight_in_clusters[j]
        moved_sq = 0.0
        for f in range(n_features):
            if w > 0.0:
                centers_new[j, f] = sums[j, f] / w
            elif not relocated[j]:
                centers_new[j, f] = centers_old[j, f]
            diff = np.float64(centers_new[j, f]) - np.float64(centers_old[j, f])
            moved_sq += diff * diff
        moved[j] = np.sqrt(moved_sq)
        shift += moved_sq
    return shift


@njit(cache=True, nogil=True)
def mean_variance(X, sample_weight):
    """Mean over features of the weighted variance of ``X``, float64.

    Two passes (mean, then squared deviations), in float64.

    X              IN (n_samples, n_features)
    sample_weight  IN (n_samples,), not all zero
    """
    n_samples, n_features = X.shape
    mean = np.zeros(n_features)
    total = 0.0
    for i in range(n_samples):
        w = np.float64(sample_weight[i])
        total += w
        for f in range(n_features):
            mean[f] += w * X[i, f]
    mean /= total
    variance = 0.0
    for i in range(n_samples):
        w = np.float64(sample_weight[i])
        for f in range(n_features):
            diff = np.float64(X[i, f]) - mean[f]
            variance += w * diff * diff
    return variance / total / n_features


@njit(cache=True, nogil=True)
def center_bounds(centers, moved, n_near, half_gap, near_move, far_gap, lo, hi):
    """What the pruning test of ``assign_chunks`` needs to know of the centres.

    The near centres of a centre ``a`` are the ``n_near`` other centres
    nearest to it (all others when ``n_near >= n_clusters - 1``; the lowest
    index first on a tie).

    centers    IN  (n_clusters, n_features)
    moved      IN  (n_clusters,) float64, how far each centre moved last
    n_near     IN  int >= 1
    half_gap   OUT (n_clusters,) float64, half the distance (not squared) to
                   the nearest other centre (inf when k = 1)
    near_move  OUT (n_clusters,) float64, the farthest move of a near centre
    far_gap    OUT (n_clusters,) float64, the distance to the nearest centre
                   that is not near (inf when all are near)
    lo, hi     IN  int, the centres to do: ``lo`` to ``hi`` (for threads)
    """
    n_clusters, n_features = centers.shape
    n_near = min(n_near, n_clusters - 1)
    centers_t = np.ascontiguousarray(centers.T).astype(np.float64)
    d = np.empty(n_clusters)
    # The n_near + 1 nearest others of one centre, nearest first.
    nearest_d = np.empty(n_near + 1)
    nearest_j = np.empty(n_near + 1, dtype=np.int64)
    for a in range(lo, hi):
        d[:] = 0.0
        for f in range(n_features):
            c = centers_t[f, a]
            for j in range(n_clusters):
                diff = c - centers_t[f, j]
                d[j] += diff * diff
        d[a] = np.inf  # a centre is not its own neighbour
        nearest_d[:] = np.inf
        nearest_j[:] = -1
        for j in range(n_clusters):
            dj = d[j]
            if dj >= nearest_d[n_near]:
                continue
            m = n_near  # insert j in order, dropping the last
            while m > 0 and nearest_d[m - 1] > dj:
                nearest_d[m] = nearest_d[m - 1]
                nearest_j[m] = nearest_j[m - 1]
                m -= 1
            nearest_d[m] = dj
            nearest_j[m] = j
        half_gap[a] = 0.5 * np.sqrt(nearest_d[0])
        far_gap[a] = np.sqrt(nearest_d[n_near])
        move = 0.0
        for m in range(n_near):
            if nearest_j[m] >= 0:
                move = max(move, moved[nearest_j[m]])
        near_move[a] = move


@njit(cache=True, nogil=True)
def update_closest(X, center, closest_dist_sq):
    """Lower each row's squared distance to its nearest chosen centre.

    X                IN    (n_samples, n_features)
    center           IN    (n_features,) the newly chosen centre
    closest_dist_sq  INOUT (n_samples,) float64
    """
    n_samples, n_features = X.shape
    for i in range(n_samples):
        d = 0.0
        for f in range(n_features):
            diff = np.float64(X[i, f]) - np.float64(center[f])
            d += diff * diff
        closest_dist_sq[i] = min(closest_dist_sq[i], d)


@njit(cache=True, nogil=True)
def candidate_potentials(X, sample_weight, closest_dist_sq, candidates):
    """k-means++ potential of each candidate centre.

    The potential of candidate c is sum_i w_i * min(closest_i, |x_i - c|^2):
    the inertia if c were added to the centres chosen so far. Distances are
    computed in the dtype of X, the sums in float64.

    X                IN (n_samples, n_features)
    sample_weight    IN (n_samples,)
    closest_dist_sq  IN (n_samples,) float64
    candidates       IN (n_candidates, n_features)
    returns          (n_candidates,) float64
    """
    n_samples, n_features = X.shape
    n_candidates = candidates.shape[0]
    candidates_t = np.ascontiguousarray(candidates.T)
    d = np.empty(n_candidates, dtype=X.dtype)
    potentials = np.zeros(n_candidates, dtype=np.float64)
    for i in range(n_samples):
        d[:] = 0
        for f in range(n_features):
            x = X[i, f]
            for c in range(n_candidates):
                diff = x - candidates_t[f, c]
                d[c] += diff * diff
        w = np.float64(sample_weight[i])
        closest = closest_dist_sq[i]
        for c in range(n_candidates):
            potentials[c] += w * min(np.float64(d[c]), closest)
    return potentials


@njit(cache=True, nogil=True)
def squared_distances(X, centers, out):
    """Squared euclidean distance from every row to every centre.

    X        IN  (n_samples, n_features)
    centers  IN  (n_clusters, n_features)
    out      OUT (n_samples, n_clusters), dtype of X
    """
    n_samples, n_features = X.shape
    n_clusters = centers.shape[0]
    for i in range(n_samples):
        for j in range(n_clusters):
            diff = X[i, 0] - centers[j, 0]
            d = diff * diff
            for f in range(1, n_features):
                diff = X[i, f] - centers[j, f]
                d += diff * diff
            out[i, j] = d


@njit(cache=True, nogil=True)
def unique_rows(bits, first, inverse):
    """Distinct rows of ``X`` by their bits, in order of first appearance.

    An open-addressing hash table of the rows' bit patterns (``X.view`` as
    unsigned integers of the same width): one pass, no sort.

    bits     IN  (n_samples, n_features) uint32 or uint64, the rows' bits
    first    OUT (n_samples,) int64: ``first[:n_unique]`` is the first row of
                 each distinct row
    inverse  OUT (n_samples,) int64, index of each row's distinct row
    returns  int, n_unique
    """
    n_samples, n_features = bits.shape
    size = 1
    while size < 2 * n_samples:
        size *= 2
    mask = size - 1
    table = np.full(size, -1, dtype=np.int64)
    n_unique = 0
    for i in range(n_samples):
        h = np.uint64(0x9E3779B97F4A7C15)
        for f in range(n_features):
            h = (h ^ np.uint64(bits[i, f])) * np.uint64(0xFF51AFD7ED558CCD)
            h ^= h >> np.uint64(29)
        slot = np.int64(h & np.uint64(mask))
        while True:
            u = table[slot]
            if u < 0:
                table[slot] = n_unique
                first[n_unique] = i
                inverse[i] = n_unique
                n_unique += 1
                break
            same = True
            row = first[u]
            for f in range(n_features):
                if bits[row, f] != bits[i, f]:
                    same = False
                    break
            if same:
                inverse[i] = u
                break
            slot = (slot + 1) & mask
    return n_unique
