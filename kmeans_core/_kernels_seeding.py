"""Numba kernel for greedy k-means++ seeding: the whole loop in one call.

``_lloyd.kmeans_plusplus`` runs one Python step and two parallel kernel
launches per centre; at 256 centres the launches and thread wake-ups cost more
than the arithmetic. ``kmeans_plusplus_greedy`` runs every round in one serial
call and skips the work that cannot change anything:

- The rows are put once into small spatial blocks (a counting sort on a coarse
  grid code, Z-order), each with its bounding box and the largest squared
  distance of its rows to their nearest centre so far (``block_max``). A
  candidate (or new centre) whose squared distance to the box is at least
  ``block_max`` cannot bring any row of the block nearer, so the block is
  skipped. The box distance is computed with the same operations, in the same
  order and dtype, as the row distances, and rounding is monotone, so the test
  is exact: skipping never changes a result.
- A candidate's potential is computed as the total weighted distance minus its
  gain, ``sum_i w_i * max(0, closest_i - d(x_i, c)^2)``, over the rows of the
  blocks it can reach. Mathematically this is ``sum_i w_i * min(closest_i,
  d(x_i, c)^2)``, the potential of ``_lloyd.kmeans_plusplus``.
- The draws walk a two-level cumulative sum in the original row order: sums
  of blocks of ``_SEARCH_ROWS`` rows (recomputed only where a row changed),
  then the rows of the one block that holds the target.

Arithmetic: distances from candidates to rows are computed in the dtype of
``X`` (float32: eight rows per SIMD instruction), exactly as in
``_kernels.candidate_potentials``; distances to chosen centres, the weighted
sums and the cumulative sums in float64, as in ``_kernels.update_closest`` and
``np.cumsum``. Only the order of the float64 additions differs from
``_lloyd.kmeans_plusplus``, so both pick the same centres except where two
sums differ by a rounding error (a near tie between candidates, or a target
within rounding of a cumulative sum); with integer-valued data and weights
(colours in 0-255 with pixel counts) every sum is exact and the centres are
identical.

``tests/test_seeding_kernels.py`` holds the plain NumPy version and checks the
kernel against it and against ``_lloyd.kmeans_plusplus``.
"""

import numpy as np
from numba import njit

# Rows per spatial block (a multiple of the SIMD width).
_BLOCK_ROWS = 32
# Rows per block of the cumulative-weight search.
_SEARCH_ROWS = 64
# Bits of the grid code that orders the rows into spatial blocks.
_GRID_BITS = 15


@njit(cache=True, nogil=True)
def spatial_order(X):
    """Row order that keeps nearby rows together: a Z-order on a coarse grid.

    Each of the first ``min(n_features, 15)`` features is cut into
    ``2**(15 // n_dims)`` equal cells between its minimum and maximum; rows
    are sorted (stably, by counting sort) on the interleaved bits of their
    cells.

    X        IN (n_samples, n_features)
    returns  (n_samples,) int64, the rows in their new order
    """
    n_samples, n_features = X.shape
    n_dims = min(n_features, _GRID_BITS)
    bits = _GRID_BITS // n_dims
    n_cells = 1 << bits
    lo = np.empty(n_dims, dtype=np.float64)
    scale = np.empty(n_dims, dtype=np.float64)
    for f in range(n_dims):
        low = np.inf
        high = -np.inf
        for i in range(n_samples):
            v = np.float64(X[i, f])
            low = min(low, v)
            high = max(high, v)
        lo[f] = low
        scale[f] = n_cells / (high - low) if high > low else 0.0
    codes = np.empty(n_samples, dtype=np.int64)
    cell = np.empty(n_dims, dtype=np.int64)
    for i in range(n_samples):
        for f in range(n_dims):
            c = int((np.float64(X[i, f]) - lo[f]) * scale[f])
            cell[f] = min(max(c, 0), n_cells - 1)
        code = 0
        for b in range(bits - 1, -1, -1):
            for f in range(n_dims):
                code = (code << 1) | ((cell[f] >> b) & 1)
        codes[i] = code
    counts = np.zeros((1 << (bits * n_dims)) + 1, dtype=np.int64)
    for i in range(n_samples):
        counts[codes[i] + 1] += 1
    for c in range(1, counts.size):
        counts[c] += counts[c - 1]
    order = np.empty(n_samples, dtype=np.int64)
    for i in range(n_samples):
        order[counts[codes[i]]] = i
        counts[codes[i]] += 1
    return order


@njit(cache=True, nogil=True, inline="always")
def _box_distance(lo, hi, b, point):
    """Squared distance from ``point`` to the box ``b``, in the dtype of ``lo``.

    Summed over the features in order from zero, like a row distance, so it
    is never larger than the computed distance of any row in the box.
    """
    zero = lo[b, 0] - lo[b, 0]  # 0 in the dtype of lo
    d = zero
    for f in range(lo.shape[1]):
        gap = zero
        if point[f] < lo[b, f]:
            gap = lo[b, f] - point[f]
        elif point[f] > hi[b, f]:
            gap = point[f] - hi[b, f]
        d += gap * gap
    return d


@njit(cache=True, nogil=True)
def _add_center(Xt, order, lo64, hi64, center64, closest_p, closest, block_max,
                dirty, dist):
    """Lower every row's ``closest`` with the new centre ``center64``.

    Xt         IN    (n_features, n_padded) the rows in spatial order
    order      IN    (n_samples,) int64, original index of each spatial row
    lo64, hi64 IN    (n_blocks, n_features) float64 bounding boxes
    center64   IN    (n_features,) float64
    closest_p  INOUT (n_padded,) float64, in spatial order
    closest    INOUT (n_samples,) float64, in original order
    block_max  INOUT (n_blocks,) float64
    dirty      INOUT (n_samples // _SEARCH_ROWS + 1,) bool, search blocks
                     with a changed row are set
    dist       OUT   (_BLOCK_ROWS,) float64 scratch
    """
    n_features = Xt.shape[0]
    n_samples = order.shape[0]
    for b in range(block_max.shape[0]):
        if _box_distance(lo64, hi64, b, center64) >= block_max[b]:
            continue
        start = b * _BLOCK_ROWS
        dist[:] = 0.0
        for f in range(n_features):
            c = center64[f]
            for r in range(_BLOCK_ROWS):
                diff = np.float64(Xt[f, start + r]) - c
                dist[r] += diff * diff
        high = 0.0
        for r in range(_BLOCK_ROWS):
            j = start + r
            if dist[r] < closest_p[j]:
                closest_p[j] = dist[r]
                if j < n_samples:
                    i = order[j]
                    closest[i] = dist[r]
                    dirty[i // _SEARCH_ROWS] = True
            high = max(high, closest_p[j])
        block_max[b] = high


@njit(cache=True, nogil=True)
def _search_sums(weighted, closest, w, dirty, sums, prefix):
    """Refresh the weighted distances and sums of the changed search blocks.

    weighted  INOUT (n_samples,) float64, w * closest
    closest   IN    (n_samples,) float64
    w         IN    (n_samples,) float64
    dirty     INOUT (n_search,) bool, cleared
    sums      INOUT (n_search,) float64, sum of ``weighted`` over each block
    prefix    OUT   (n_search,) float64, running total of ``sums`` up to and
                    including each block
    returns   float64, the total
    """
    n_samples = closest.shape[0]
    for s in range(sums.shape[0]):
        if dirty[s]:
            dirty[s] = False
            end = min((s + 1) * _SEARCH_ROWS, n_samples)
            total = 0.0
            for i in range(s * _SEARCH_ROWS, end):
                weighted[i] = w[i] * closest[i]
                total += weighted[i]
            sums[s] = total
    running = 0.0
    for s in range(sums.shape[0]):
        running += sums[s]
        prefix[s] = running
    return running


@njit(cache=True, nogil=True)
def _draw(weighted, prefix, target):
    """First row whose cumulative weighted distance reaches ``target``.

    The cumulative sum is the total of the search blocks before the row's
    block plus the row's running sum within it. When rounding keeps the
    running sum of the block below ``target``, the last row of the block with
    a positive weighted distance; past the end, the last row.
    """
    n_samples = weighted.shape[0]
    n_search = prefix.shape[0]
    # First block whose running total reaches target (binary search, left).
    low, high = 0, n_search
    while low < high:
        mid = (low + high) // 2
        if prefix[mid] < target:
            low = mid + 1
        else:
            high = mid
    if low == n_search:
        return n_samples - 1
    running = prefix[low - 1] if low > 0 else 0.0
    start = low * _SEARCH_ROWS
    end = min(start + _SEARCH_ROWS, n_samples)
    last = end - 1
    for i in range(start, end):
        if weighted[i] > 0.0:
            last = i
        running += weighted[i]
        if running >= target:
            return i
    return last


@njit(cache=True, nogil=True)
def kmeans_plusplus_greedy(X, sample_weight, first, n_start, uniforms, centers):
    """Greedy k-means++ seeding, every round in one call.

    Round ``r`` draws ``n_trials`` candidate rows: candidate ``t`` is the first
    row whose cumulative ``sample_weight * closest`` (in row order) reaches
    ``uniforms[r, t] * potential`` (the row index clipped to ``n_samples -
    1``), where ``closest`` is each row's squared distance to its nearest
    centre so far and ``potential`` the weighted sum of ``closest``. The
    candidate with the lowest potential ``sum_i w_i * min(closest_i,
    d(x_i, c)^2)`` (the first on a tie) becomes the next centre. These are the
    draws and choices of ``_lloyd.kmeans_plusplus`` given the same uniforms.

    X              IN    (n_samples, n_features) float32/float64, C-contiguous
    sample_weight  IN    (n_samples,) same dtype as X, >= 0, positive sum
    first          IN    int, row of the first centre (unused if n_start > 0)
    n_start        IN    int, centres already chosen in centers[:n_start]
                         (a warm start); 0 to start from row ``first``
    uniforms       IN    (n_clusters - max(n_start, 1), n_trials) float64 in
                         [0, 1): ``rng.uniform(size=(n_rounds, n_trials))``
                         gives the numbers of one ``rng.uniform(size=n_trials)``
                         per round
    centers        INOUT (n_clusters, n_features) same dtype as X; rows from
                         max(n_start, 1) on are written
    returns        float64, the potential (weighted inertia) of all the centres
    """
    n_samples, n_features = X.shape
    n_clusters = centers.shape[0]
    n_trials = uniforms.shape[1]
    dtype = X.dtype

    # The rows in spatial blocks, transposed: the innermost loops run over
    # contiguous rows. Padding rows repeat the last row, weigh 0 and stay at
    # distance 0, so they never count.
    order = spatial_order(X)
    n_blocks = (n_samples + _BLOCK_ROWS - 1) // _BLOCK_ROWS
    n_padded = n_blocks * _BLOCK_ROWS
    Xt = np.empty((n_features, n_padded), dtype=dtype)
    w_p = np.zeros(n_padded, dtype=np.float64)
    closest_p = np.zeros(n_padded, dtype=np.float64)
    for j in range(n_padded):
        i = order[min(j, n_samples - 1)]
        for f in range(n_features):
            Xt[f, j] = X[i, f]
        if j < n_samples:
            w_p[j] = sample_weight[i]
            closest_p[j] = np.inf
    lo = np.empty((n_blocks, n_features), dtype=dtype)
    hi = np.empty((n_blocks, n_features), dtype=dtype)
    for b in range(n_blocks):
        for f in range(n_features):
            low = Xt[f, b * _BLOCK_ROWS]
            high = low
            for r in range(1, _BLOCK_ROWS):
                v = Xt[f, b * _BLOCK_ROWS + r]
                low = min(low, v)
                high = max(high, v)
            lo[b, f] = low
            hi[b, f] = high
    lo64 = lo.astype(np.float64)
    hi64 = hi.astype(np.float64)
    block_max = np.full(n_blocks, np.inf)

    w = np.empty(n_samples, dtype=np.float64)
    for i in range(n_samples):
        w[i] = sample_weight[i]
    closest = np.full(n_samples, np.inf)
    weighted = np.empty(n_samples, dtype=np.float64)
    n_search = (n_samples + _SEARCH_ROWS - 1) // _SEARCH_ROWS
    dirty = np.ones(n_search, dtype=np.bool_)
    sums = np.zeros(n_search, dtype=np.float64)
    prefix = np.empty(n_search, dtype=np.float64)
    dist = np.empty(_BLOCK_ROWS, dtype=np.float64)
    center64 = np.empty(n_features, dtype=np.float64)

    if n_start == 0:
        for f in range(n_features):
            centers[0, f] = X[first, f]
        n_done = 1
    else:
        n_done = n_start
    for c in range(n_done):
        for f in range(n_features):
            center64[f] = centers[c, f]
        _add_center(Xt, order, lo64, hi64, center64, closest_p, closest,
                    block_max, dirty, dist)
    potential = _search_sums(weighted, closest, w, dirty, sums, prefix)

    ids = np.empty(n_trials, dtype=np.int64)
    candidates = np.empty((n_trials, n_features), dtype=dtype)
    gains = np.empty((n_trials, _BLOCK_ROWS), dtype=np.float64)
    d = np.empty(_BLOCK_ROWS, dtype=dtype)
    for c in range(n_done, n_clusters):
        total = potential
        for t in range(n_trials):
            ids[t] = _draw(weighted, prefix, uniforms[c - n_done, t] * total)
            for f in range(n_features):
                candidates[t, f] = X[ids[t], f]

        # Gain of each candidate: how much it would lower the potential.
        gains[:] = 0.0
        for b in range(n_blocks):
            start = b * _BLOCK_ROWS
            for t in range(n_trials):
                if np.float64(_box_distance(lo, hi, b, candidates[t])) >= block_max[b]:
                    continue
                d[:] = 0
                for f in range(n_features):
                    x = candidates[t, f]
                    for r in range(_BLOCK_ROWS):
                        diff = Xt[f, start + r] - x
                        d[r] += diff * diff
                for r in range(_BLOCK_ROWS):
                    gain = closest_p[start + r] - np.float64(d[r])
                    gains[t, r] += w_p[start + r] * max(gain, 0.0)

        best = 0
        best_potential = np.inf
        for t in range(n_trials):
            gain = 0.0
            for r in range(_BLOCK_ROWS):
                gain += gains[t, r]
            p = total - gain
            if p < best_potential:
                best = t
                best_potential = p
        for f in range(n_features):
            centers[c, f] = candidates[best, f]
            center64[f] = candidates[best, f]
        _add_center(Xt, order, lo64, hi64, center64, closest_p, closest,
                    block_max, dirty, dist)
        _search_sums(weighted, closest, w, dirty, sums, prefix)
        potential = best_potential
    return potential
