"""Numba kernels for k-means: each makes one pass over the data and nothing else.

The layer below the drivers in ``_lloyd.py``. Kernels take caller-allocated
buffers for everything of size ``n_samples``; the comment on each argument says
whether it is read (IN), written (OUT) or both (INOUT).

Threads: the kernels are serial and release the GIL (``nogil=True``), except
``assign_shares``, which runs shares of the assignment on numba's thread pool
(``prange``); ``_parallel.py`` decides how many. Serial kernels compile in a
fraction of the time of ``parallel=True`` ones, which is what the first run
after install pays, so only that one loop is parallel.

Determinism: rows are split into chunks whose size depends only on
``n_samples``, never on the number of threads. Each chunk writes its own slot
(list of changed labels), and the slots are combined in chunk order
afterwards, so a result is the same bit for bit with 1 or 2 threads.

Precision: distances are computed in the dtype of ``X`` (float32 is the fast
path), always as ``((0 + d_0**2) + d_1**2) + ...`` in feature order, so every
kernel rounds a distance the same way; sums over many rows (inertia, weighted
coordinate sums) are accumulated in float64.

SIMD: a search for the nearest centre runs on a block of up to ``BLOCK`` rows
at once, with the rows innermost, so the compiler turns the loop into vector
instructions (16 float32 rows in one AVX-512 register) without any
reordering of the arithmetic.

``reference/lloyd.py`` holds a plain NumPy version of every step here.
"""

import numpy as np
from numba import njit, prange

# Chunks hold at least this many rows ...
_MIN_CHUNK_ROWS = 1024
# ... and there are at most this many, so per-chunk slots stay few.
_MAX_CHUNKS = 64
# Rows searched together (see "SIMD" above).
BLOCK = 64
# Rows tested together by the bound test of ``scan_chunks``.
_SCAN_BLOCK = 256
# Relative safety margin on the pruning test, far above float32 rounding, so a
# row is only skipped when no other centre can be as near (ties included).
_PRUNE_MARGIN = 1e-5


@njit(cache=True, nogil=True)
def chunk_rows(n_samples):
    """Rows per chunk for ``n_samples`` rows (independent of the thread count)."""
    per_chunk = (n_samples + _MAX_CHUNKS - 1) // _MAX_CHUNKS
    return max(_MIN_CHUNK_ROWS, per_chunk)


@njit(cache=True, nogil=True)
def _search_block(X, rows, n_rows, centers_t, n_centers, xb, dist, best, second, arg):
    """Nearest and second-nearest of the first ``n_centers`` centres, for each row.

    X          IN  (n_samples, n_features)
    rows       IN  (BLOCK,) int64, the rows to search: ``rows[:n_rows]``
    centers_t  IN  (n_features, >= n_centers), the centres transposed
    xb         OUT (n_features, BLOCK) scratch: the rows, transposed
    dist       OUT (BLOCK,) scratch
    best       OUT (BLOCK,) squared distance to the nearest centre
    second     OUT (BLOCK,) squared distance to the second nearest (inf if k=1)
    arg        OUT (BLOCK,) int32 index of the nearest (lowest index on a tie)
    """
    n_features = centers_t.shape[0]
    n_clusters = n_centers
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


# The assignment runs in four steps, so that the rows needing a search can
# be grouped by their own centre and searched among that centre's
# neighbours only:
#
# 1. ``scan_chunks``: each row's bound test; the rows that fail it are
#    listed as pending (threads over chunks).
# 2. ``group_pending``: the pending rows sorted by their own centre
#    (one counting sort).
# 3. ``search_groups``: each group searched among the centres near its own
#    centre, SIMD over blocks of its rows (threads over the sorted rows).
# 4. ``collect_chunks``: the new labels recorded, with the list of rows that
#    changed label, in row order (threads over chunks).


@njit(cache=True, nogil=True)
def scan_chunks(X, center_info, prune, labels, distances, lower, pending,
                chunk_pending, first, step):
    """Step 1: find the rows of chunks ``first, first + step, ...`` that need a search.

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

    The test keeps a relative safety margin far above float32 rounding, so a
    row is only skipped when no other centre can be as near (ties included):
    the labels are exactly those of a full search. The distance to the own
    centre is always computed, in the dtype of ``X`` as in a search (3
    subtractions for a colour: cheaper than keeping an upper bound,
    measured). Rows with label -1, and every row without ``prune``, need a
    search. The loop has no branch on the test (the row is listed, and the
    count moves on only if it failed), and a centre's numbers share one
    cache line: 2.6x faster than with branches and separate arrays.

    X              IN    (n_samples, n_features) float32/float64
    center_info    IN    (n_clusters, >= n_features + 3) float64, per centre:
                         its coordinates, then ``half_gap`` (half the distance
                         to the nearest other centre), ``near_move`` (the
                         farthest move of a near centre since the last call)
                         and ``far_gap`` (the distance to the nearest centre
                         that is not near); see ``center_bounds``
    prune          IN    bool
    labels         IN    (n_samples,) int32; -1 where not yet known
    distances      OUT   (n_samples,) same dtype as X, squared distance to the
                         own centre (of labelled rows)
    lower          INOUT (n_samples,) float64, lower bound on the distance (not
                         squared) to the nearest centre other than the own one
    pending        OUT   (n_samples,) int32 (int64 from 2**31 rows): chunk c
                         lists the rows that need a
                         search from ``pending[start_c]`` on, in row order
    chunk_pending  OUT   (n_chunks,) int64, how many rows of each chunk
    """
    n_samples = X.shape[0]
    size = chunk_rows(n_samples)
    n_chunks = (n_samples + size - 1) // size
    for chunk in range(first, n_chunks, step):
        start = chunk * size
        end = min(start + size, n_samples)
        if prune and X.shape[1] == 3:
            n_pending = _scan_rows3(X, center_info, labels, distances, lower,
                                    pending, start, end)
        elif prune:
            n_pending = _scan_rows(X, center_info, labels, distances, lower,
                                   pending, start, end)
        else:
            for i in range(start, end):
                pending[i] = i
            n_pending = end - start
        chunk_pending[chunk] = n_pending


@njit(cache=True, nogil=True)
def _scan_rows(X, center_info, labels, distances, lower, pending, start, end):
    """The loop of ``scan_chunks`` over rows ``start`` to ``end``."""
    n_features = X.shape[1]
    to_x = X.dtype.type
    h, m, g = n_features, n_features + 1, n_features + 2
    n_pending = 0
    for i in range(start, end):
        own = labels[i]
        a = max(own, 0)
        diff = X[i, 0] - to_x(center_info[a, 0])
        d_own = diff * diff
        for f in range(1, n_features):
            diff = X[i, f] - to_x(center_info[a, f])
            d_own += diff * diff
        distances[i] = d_own
        u = np.sqrt(np.float64(d_own))
        bound = min(lower[i] - center_info[a, m], center_info[a, g] - u)
        lower[i] = bound
        keep = (own >= 0) & (u < max(center_info[a, h], bound) * (1.0 - _PRUNE_MARGIN))
        pending[start + n_pending] = i
        n_pending += 1 - keep
    return n_pending


@njit(cache=True, nogil=True)
def _scan_rows3(X, center_info, labels, distances, lower, pending, start, end):
    """``_scan_rows`` for 3 features (colours), written out (1.5x faster), in
    two loops per block of rows: the tests, then the list (1.2x faster)."""
    to_x = X.dtype.type
    h, m, g = 3, 4, 5
    n_pending = 0
    keep = np.empty(_SCAN_BLOCK, dtype=np.bool_)
    for block in range(start, end, _SCAN_BLOCK):
        block_end = min(block + _SCAN_BLOCK, end)
        for i in range(block, block_end):
            own = labels[i]
            a = max(own, 0)
            diff = X[i, 0] - to_x(center_info[a, 0])
            d_own = diff * diff
            diff = X[i, 1] - to_x(center_info[a, 1])
            d_own += diff * diff
            diff = X[i, 2] - to_x(center_info[a, 2])
            d_own += diff * diff
            distances[i] = d_own
            u = np.sqrt(np.float64(d_own))
            bound = min(lower[i] - center_info[a, m], center_info[a, g] - u)
            lower[i] = bound
            keep[i - block] = (own >= 0) & (
                u < max(center_info[a, h], bound) * (1.0 - _PRUNE_MARGIN))
        for i in range(block, block_end):
            pending[start + n_pending] = i
            n_pending += 1 - keep[i - block]
    return n_pending


@njit(cache=True, nogil=True)
def group_pending(labels, pending, chunk_pending, order, group_start, first, step):
    """Step 2: sort the pending rows of chunks ``first, first + step, ...`` by centre.

    A counting sort. Group 0 holds the rows with no label yet (-1), group
    ``a + 1`` those of centre ``a``; within a group the rows stay in row
    order. The positions written start at ``base = first x (rows in ceil(n_chunks
    / step) chunks)``, so that threads with different ``first`` write apart.

    labels         IN  (n_samples,) int32
    pending, chunk_pending  IN  from ``scan_chunks``
    order          OUT (>= (n_chunks + step) x chunk_size,) int32 or int64:
                       ``order[group_start[g]:group_start[g + 1]]`` are the
                       positions in ``pending`` of group g
    group_start    OUT (n_clusters + 2,) int64, from ``base`` on
    returns        int, the number of pending rows
    """
    size = chunk_rows(labels.shape[0])
    n_chunks = chunk_pending.shape[0]
    n_groups = group_start.shape[0] - 1
    for g in range(n_groups + 1):
        group_start[g] = 0
    group_start[0] = first * size * ((n_chunks + step - 1) // step)
    for chunk in range(first, n_chunks, step):
        start = chunk * size
        for m in range(start, start + chunk_pending[chunk]):
            group_start[labels[pending[m]] + 2] += 1
    for g in range(1, n_groups + 1):
        group_start[g] += group_start[g - 1]
    fill = np.empty(n_groups, dtype=np.int64)
    for g in range(n_groups):
        fill[g] = group_start[g]
    for chunk in range(first, n_chunks, step):
        start = chunk * size
        for m in range(start, start + chunk_pending[chunk]):
            g = labels[pending[m]] + 1
            order[fill[g]] = m
            fill[g] += 1
    return group_start[n_groups] - group_start[0]


@njit(cache=True, nogil=True)
def search_groups(X, centers_t, center_dist, labels, distances, lower, pending,
                  order, group_start, result_label, result_best, q_lo, q_hi):
    """Step 3: search the sorted pending rows ``q_lo`` to ``q_hi``.

    The rows of centre ``a`` are searched a block of ``BLOCK`` at a time,
    each block among the centres ``j`` with ``|c_j - c_a| <= 2 u_max``
    (Elkan 2003), ``u_max`` the largest distance of the block's rows to
    ``a``, and ``a`` itself: any other centre is farther
    from each row than ``a`` is, so the nearest is exactly that of a full
    search (a relative safety margin covers rounding). The row's new
    ``lower`` is its exact distance to the second nearest candidate, or
    less: ``|c_j - c_a| - u`` for the nearest centre left out (triangle
    inequality). Rows with no label yet are searched among all centres.

    X             IN    (n_samples, n_features)
    centers_t     IN    (n_features, n_clusters), the centres transposed
    center_dist   IN    (n_clusters, n_clusters) float64, squared distances
                        between centres (from ``center_bounds``)
    labels        IN    (n_samples,) int32
    distances     IN    (n_samples,) squared distance to the own centre
    lower         OUT   (n_samples,) float64, for the searched rows
    pending, order, group_start  IN  from ``scan_chunks`` and ``group_pending``
    result_label  OUT   (n_samples,) int32, the nearest centre of
                        ``pending[m]`` at ``result_label[m]``
    result_best   OUT   (n_samples,) dtype of X, its squared distance
    """
    n_features, n_clusters = centers_t.shape
    rows = np.empty(BLOCK, dtype=np.int64)
    xb = np.empty((n_features, BLOCK), dtype=X.dtype)
    dist = np.empty(BLOCK, dtype=X.dtype)
    best = np.empty(BLOCK, dtype=X.dtype)
    second = np.empty(BLOCK, dtype=X.dtype)
    arg = np.empty(BLOCK, dtype=np.int32)
    candidates = np.empty(n_clusters, dtype=np.int64)
    candidates_t = np.empty((n_features, n_clusters), dtype=X.dtype)
    g = 0
    q = q_lo
    while q < q_hi:
        while group_start[g + 1] <= q:
            g += 1
        g_end = min(group_start[g + 1], q_hi)
        own = g - 1
        for block in range(q, g_end, BLOCK):
            n_rows = min(BLOCK, g_end - block)
            for r in range(n_rows):
                rows[r] = pending[order[block + r]]
            far = np.inf
            if own < 0:
                n_candidates = n_clusters
                search_t = centers_t
            else:
                # The candidates of this block's rows: the reach of its own
                # farthest row, often well inside that of the whole group.
                u_max = 0.0
                for r in range(n_rows):
                    u_max = max(u_max, np.float64(distances[rows[r]]))
                reach = 4.0 * u_max * (1.0 + _PRUNE_MARGIN) ** 2  # (2 u_max)**2
                # Branch-free: list every centre, move on only past candidates
                # (4x faster than with a branch at k = 256).
                far_sq = np.inf
                n_candidates = 0
                for j in range(n_clusters):
                    d = center_dist[own, j]
                    inside = (j == own) | (d <= reach)
                    candidates[n_candidates] = j
                    n_candidates += inside
                    far_sq = min(far_sq, np.inf if inside else d)
                for c in range(n_candidates):
                    for f in range(n_features):
                        candidates_t[f, c] = centers_t[f, candidates[c]]
                far = np.sqrt(far_sq)
                search_t = candidates_t
            _search_block(X, rows, n_rows, search_t, n_candidates, xb, dist, best,
                          second, arg)
            for r in range(n_rows):
                row = rows[r]
                m = order[block + r]
                bound = np.sqrt(np.float64(second[r]))
                if own < 0:
                    result_label[m] = arg[r]
                else:
                    result_label[m] = candidates[arg[r]]
                    u = np.sqrt(np.float64(distances[row]))
                    bound = min(bound, far - u)
                result_best[m] = best[r]
                lower[row] = bound
        q = g_end


@njit(cache=True, nogil=True)
def collect_chunks(labels, distances, pending, chunk_pending, result_label,
                   result_best, changed, old_labels, chunk_changed, first, step):
    """Step 4: record the searched rows' labels, and which rows changed label.

    Chunks ``first, first + step, ...``.

    labels         INOUT (n_samples,) int32
    distances      OUT   (n_samples,) squared distance to the own centre
    pending, chunk_pending, result_label, result_best  IN  from steps 1 and 3
    changed        OUT   (n_samples,) int32 or int64: chunk c lists the rows
                         whose label changed from ``changed[start_c]`` on, in
                         row order
    old_labels     OUT   (n_samples,) int32, their label before (-1: none)
    chunk_changed  OUT   (n_chunks,) int64, how many rows of each chunk changed
    """
    size = chunk_rows(labels.shape[0])
    for chunk in range(first, chunk_pending.shape[0], step):
        start = chunk * size
        n_changed = 0
        for m in range(start, start + chunk_pending[chunk]):
            row = pending[m]
            new = result_label[m]
            if new != labels[row]:
                changed[start + n_changed] = row
                old_labels[start + n_changed] = labels[row]
                n_changed += 1
                labels[row] = new
            distances[row] = result_best[m]
        chunk_changed[chunk] = n_changed


@njit(cache=True, nogil=True)
def assign_chunks(X, centers_t, center_info, center_dist, labels, distances, lower,
                  pending, chunk_pending, order, result_label, result_best, changed,
                  old_labels, chunk_changed, prune, first, step):
    """The four steps of the assignment for chunks ``first, first + step, ...``.

    One call per thread and iteration: a thread groups and searches the rows
    of its own chunks, so the threads meet once per assignment, not once per
    step. Thread t of T takes every T-th chunk from chunk t: photos' colours
    come sorted, and contiguous halves can hold very different work. (Which
    rows share a group, and so the candidates and the new lower bounds, then
    depend on the split; the labels and distances do not.) The inertia is
    not summed here: Lloyd's iterations do not need it, and
    ``weighted_inertia`` sums it when asked. Arguments as in the four steps.
    """
    scan_chunks(X, center_info, prune, labels, distances, lower, pending,
                chunk_pending, first, step)
    group_start = np.empty(centers_t.shape[1] + 2, dtype=np.int64)
    n_pending = group_pending(labels, pending, chunk_pending, order, group_start,
                              first, step)
    base = group_start[0]
    search_groups(X, centers_t, center_dist, labels, distances, lower, pending,
                  order, group_start, result_label, result_best, base,
                  base + n_pending)
    collect_chunks(labels, distances, pending, chunk_pending, result_label,
                   result_best, changed, old_labels, chunk_changed, first, step)


@njit(cache=True, nogil=True, parallel=True)
def assign_shares(X, centers_t, center_info, center_dist, labels, distances, lower,
                  pending, chunk_pending, order, result_label, result_best, changed,
                  old_labels, chunk_changed, prune, n_shares):
    """``assign_chunks`` in ``n_shares`` shares on numba's thread pool
    (``prange``): share t takes chunks ``t, t + n_shares, ...``. Arguments
    as in ``assign_chunks``; ``_parallel.py`` decides ``n_shares``."""
    for t in prange(n_shares):
        assign_chunks(X, centers_t, center_info, center_dist, labels, distances,
                      lower, pending, chunk_pending, order, result_label,
                      result_best, changed, old_labels, chunk_changed, prune, t,
                      n_shares)


@njit(cache=True, nogil=True)
def weighted_inertia(sample_weight, distances):
    """Sum of ``sample_weight * distances`` in float64, in a fixed order.

    Four running sums over the rows in turn (rows 0, 4, 8, ... in the first),
    added at the end: the same result on any number of threads, and four
    additions in flight instead of one.

    sample_weight  IN  (n_samples,)
    distances      IN  (n_samples,)
    """
    n = distances.shape[0]
    s0 = s1 = s2 = s3 = 0.0
    n4 = n - n % 4
    for i in range(0, n4, 4):
        s0 += np.float64(sample_weight[i]) * np.float64(distances[i])
        s1 += np.float64(sample_weight[i + 1]) * np.float64(distances[i + 1])
        s2 += np.float64(sample_weight[i + 2]) * np.float64(distances[i + 2])
        s3 += np.float64(sample_weight[i + 3]) * np.float64(distances[i + 3])
    for i in range(n4, n):
        s0 += np.float64(sample_weight[i]) * np.float64(distances[i])
    return (s0 + s1) + (s2 + s3)


@njit(cache=True, nogil=True)
def assign_labels(X, sample_weight, centers, labels, distances):
    """Label every row with its nearest centre and return the weighted inertia.

    One thread; ``_lloyd.nearest_centers`` runs the assignment on several.

    X              IN  (n_samples, n_features) float32/float64
    sample_weight  IN  (n_samples,) same dtype as X
    centers        IN  (n_clusters, n_features) same dtype as X
    labels         OUT (n_samples,) int32, index of the nearest centre
                       (the lowest index on a tie)
    distances      OUT (n_samples,) same dtype as X, squared distance to it
    returns        float64, sum of sample_weight * distances
    """
    n_samples = X.shape[0]
    size = chunk_rows(n_samples)
    n_chunks = (n_samples + size - 1) // size
    chunk_pending = np.empty(n_chunks, dtype=np.int64)
    chunk_changed = np.empty(n_chunks, dtype=np.int64)
    pending = np.empty(n_samples, dtype=np.int32)
    order = np.empty((n_chunks + 1) * size, dtype=np.int32)
    result_label = np.empty(n_samples, dtype=np.int32)
    result_best = np.empty(n_samples, dtype=X.dtype)
    changed = np.empty(n_samples, dtype=np.int32)
    old_labels = np.empty(n_samples, dtype=np.int32)
    lower = np.empty(n_samples, dtype=np.float64)
    labels[:] = -1
    assign_chunks(X, np.ascontiguousarray(centers.T), np.zeros((1, 1)),
                  np.zeros((1, 1)), labels, distances, lower, pending,
                  chunk_pending, order, result_label, result_best, changed,
                  old_labels, chunk_changed, False, 0, 1)
    return weighted_inertia(sample_weight, distances)


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
        # Farthest first, the first in row order on a tie: one scan per
        # empty cluster (few), no sort of all rows.
        taken = np.zeros(X.shape[0], dtype=np.bool_)
        for j in range(n_clusters):
            if not relocated[j]:
                continue
            i = -1
            for row in range(X.shape[0]):
                if not taken[row] and (i < 0 or distances[row] > distances[i]):
                    i = row
            taken[i] = True
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


@njit(cache=True, nogil=True, fastmath={"nnan", "nsz"})
def center_bounds(centers, moved, n_near, center_info, center_dist):
    """What the pruning test of ``assign_chunks`` needs to know of the centres.

    The near centres of a centre ``a`` are the other centres within a radius
    ``r_a`` of it. The bounds hold for any radius; a good one holds about
    ``n_near`` centres, and is kept from call to call (it is the last column
    of ``center_info``): while it holds between ``3/4 n_near`` and ``3/2
    n_near`` centres it stays, otherwise it becomes the distance of the
    ``n_near``-th nearest other centre (the first call sets it that way).
    So most calls make one branch-free pass over the other centres per
    centre, with no sort (at k = 256, 16x faster than selecting the
    ``n_near`` nearest every time). With ``n_near >= n_clusters - 1`` every
    other centre is near.

    fastmath allows no NaN and ignores the sign of zero, so that the minima
    and maxima vectorize; the distances are computed with no reordering.

    centers      IN    (n_clusters, n_features)
    moved        IN    (n_clusters,) float64, how far each centre moved last
    n_near       IN    int >= 1
    center_info  INOUT (n_clusters, >= n_features + 4) float64, per centre: its
                       coordinates, then half the distance (not squared) to
                       the nearest other centre (inf when k = 1), the farthest
                       move of a near centre, the distance to the nearest
                       centre that is not near (inf when all are near), and
                       in the last column the squared radius (0 on the first
                       call: not chosen yet)
    center_dist  OUT   (n_clusters, n_clusters) float64, squared distances
                       between centres (inf on the diagonal)
    """
    n_clusters, n_features = centers.shape
    n_near = min(n_near, n_clusters - 1)
    n_min, n_max = (3 * n_near) // 4, (3 * n_near) // 2
    radius_col = center_info.shape[1] - 1
    # Loops, not slices or astype: the kernel compiles in 0.5 s instead of
    # 2.5 s (the first run after install pays it), and runs faster.
    centers_t = np.empty((n_features, n_clusters))
    for f in range(n_features):
        for j in range(n_clusters):
            centers_t[f, j] = centers[j, f]
    d = np.empty(n_clusters)
    nearest_d = np.empty(n_near)
    for a in range(n_clusters):
        for j in range(n_clusters):
            d[j] = 0.0
        for f in range(n_features):
            c = centers_t[f, a]
            for j in range(n_clusters):
                diff = c - centers_t[f, j]
                d[j] += diff * diff
        d[a] = np.inf  # a centre is not its own neighbour
        for j in range(n_clusters):
            center_dist[a, j] = d[j]
        radius = center_info[a, radius_col]
        if n_near >= n_clusters - 1:
            radius = np.inf
        elif radius == 0.0 or not n_min <= _count_within(d, radius) <= n_max:
            # The n_near-th nearest other centre (insertion into a short
            # sorted list).
            for m in range(n_near):
                nearest_d[m] = np.inf
            for j in range(n_clusters):
                dj = d[j]
                m = n_near - 1
                if dj >= nearest_d[m]:
                    continue
                while m > 0 and nearest_d[m - 1] > dj:
                    nearest_d[m] = nearest_d[m - 1]
                    m -= 1
                nearest_d[m] = dj
            radius = nearest_d[n_near - 1]
        nearest = np.inf
        near_move = 0.0
        far = np.inf
        for j in range(n_clusters):
            dj = d[j]
            inside = (dj <= radius) & (j != a)
            nearest = min(nearest, dj)
            near_move = max(near_move, moved[j] if inside else 0.0)
            far = min(far, np.inf if inside else dj)
        for f in range(n_features):
            center_info[a, f] = centers[a, f]
        center_info[a, n_features] = 0.5 * np.sqrt(nearest)
        center_info[a, n_features + 1] = near_move
        center_info[a, n_features + 2] = np.sqrt(far)
        center_info[a, radius_col] = radius


@njit(cache=True, nogil=True, fastmath={"nnan", "nsz"})
def _count_within(d, radius):
    """How many of ``d`` are at most ``radius``."""
    n = 0
    for j in range(d.shape[0]):
        n += d[j] <= radius
    return n


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
def unique_rows(bits, sample_weight, first, inverse, weights):
    """Distinct rows of ``X`` by their bits, in order of first appearance.

    An open-addressing hash table of the rows' bit patterns (``X.view`` as
    unsigned integers of the same width): one pass, no sort.

    bits           IN  (n_samples, n_features) uint32 or uint64, the rows' bits
    sample_weight  IN  (n_samples,)
    first          OUT (n_samples,) int32 or int64: ``first[:n_unique]`` is the
                       first row of each distinct row
    inverse        OUT (n_samples,) same dtype, each row's distinct row
    weights        OUT (n_samples,) float64: ``weights[:n_unique]`` the total
                       weight of each distinct row
    returns        int, n_unique
    """
    n_samples, n_features = bits.shape
    # At most two thirds full: a smaller table misses the caches less
    # (china.jpg's pixels: 5.4 ms with twice as many slots as rows, 4.1 ms).
    size = 1
    while 2 * size < 3 * n_samples:
        size *= 2
    mask = size - 1
    table = np.full(size, -1, dtype=first.dtype)
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
                weights[n_unique] = sample_weight[i]
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
                weights[u] += sample_weight[i]
                break
            slot = (slot + 1) & mask
    return n_unique
