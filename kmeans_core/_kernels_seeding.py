"""Numba kernel for greedy k-means++ seeding: the whole loop in one call.

Run as one Python step and two kernel launches per centre, seeding 256
centres cost more in launches and thread wake-ups than in arithmetic (69 ms on
an 8,192-row sample). ``kmeans_plusplus_greedy`` runs every round in one
serial call (3 ms) and skips the work that cannot change anything:

- The rows are put once into spatial blocks of ``_BLOCK_ROWS`` rows (a
  counting sort on a coarse grid code, Z-order), the leaves of a binary tree
  whose every node has the bounding box of its rows and the largest squared
  distance of those rows to their nearest centre so far (``node_max``). A
  candidate (or new centre) whose squared distance to a node's box is at least
  ``node_max`` cannot bring any of its rows nearer, so the whole subtree is
  skipped. The box distance is computed with the same operations, in the same
  order and dtype, as the row distances, and rounding is monotone, so the
  test is exact: skipping never changes a result.
- A candidate's potential is the total weighted distance minus its gain,
  ``sum_i w_i * max(0, closest_i - d(x_i, c)^2)`` over the rows of the blocks
  it can reach: mathematically ``sum_i w_i * min(closest_i, d(x_i, c)^2)``,
  the potential of ``reference.seeding.kmeans_plusplus``. Within a block the rows run in
  SIMD lanes (one loop for 3 features, colours, and one for any number).
- The draws descend a tree of partial sums of ``w_i * closest_i`` over the
  rows in their original order (the leaves); after each new centre only the
  sums above the rows that came nearer are recomputed.

Arithmetic: distances from candidates to rows are computed in the dtype of
``X`` (float32: a SIMD register of rows per instruction); distances to chosen
centres, the weighted sums and the cumulative sums in float64, as
``reference.seeding.kmeans_plusplus`` computes them. The targets of a round scale with the previous round's best
potential, as in ``reference.seeding.kmeans_plusplus``. Only the order of the float64
additions differs, so both pick the same centres except where two sums differ
by a rounding error (a near tie between candidates, or a target within
rounding of a cumulative sum). With integer-valued data and weights (colours
in 0-255 with pixel counts, totals below 2**52) every sum and every step of
the descent is exact, and the centres are identical.

``tests/test_seeding_kernels.py`` holds the plain NumPy version and checks the
kernel against it; ``_lloyd.kmeans_plusplus`` draws the random numbers and calls it.
"""

import numpy as np
from numba import njit

# Rows per spatial block (a multiple of the SIMD width).
_BLOCK_ROWS = 64
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
def _box_distance(lo, hi, node, point):
    """Squared distance from ``point`` to the box of ``node``, in the dtype of ``lo``.

    Summed over the features in order from zero, like a row distance, so it
    is never larger than the computed distance of any row in the box.
    """
    zero = lo[node, 0] - lo[node, 0]  # 0 in the dtype of lo
    d = zero
    for f in range(lo.shape[1]):
        # At most one of the two differences is positive (lo <= hi).
        gap = max(max(lo[node, f] - point[f], point[f] - hi[node, f]), zero)
        d += gap * gap
    return d


# Distances from one point to the rows of the blocks found, and the gains of
# a candidate. One function per case, each with a single loop over the rows of
# a block that compiles to SIMD instructions: RGB rows (3 features), RGBA rows
# (4), and any width (one pass per feature). Every distance is summed over the
# features in order from zero, in the dtype of ``point``, like
# ``_box_distance``. Block indices are
# unsigned, so that indexing has no negative-index wraparound to block
# vectorization.
#
# The ``_distances_*`` functions:
#   Xt        IN  (n_features, n_padded) the rows in spatial order
#   blocks    IN  (n_leaves,) int64, the blocks to visit come first
#   n_found   IN  int, how many
#   point     IN  (n_features,)
#   dist      OUT (n_padded,) dtype of point, written in the blocks visited
# The ``_gain_*`` functions return sum_rows w_p * max(closest_p - d, 0) over
# the blocks visited, with closest_p and w_p (n_padded,) float64 IN and
# gain_rows (_BLOCK_ROWS,) float64 scratch: row r of every block adds into
# gain_rows[r] (across rows, in SIMD), and the slots are added in order.


@njit(cache=True, nogil=True)
def _distances_rgb(Xt, blocks, n_found, point, dist):
    x0, x1, x2 = Xt[0], Xt[1], Xt[2]
    p0, p1, p2 = point[0], point[1], point[2]
    zero = p0 - p0
    for k in range(n_found):
        start = np.uint64(blocks[k] * _BLOCK_ROWS)
        for j in range(start, start + np.uint64(_BLOCK_ROWS)):
            a = x0[j] - p0
            b = x1[j] - p1
            c = x2[j] - p2
            dist[j] = zero + a * a + b * b + c * c


@njit(cache=True, nogil=True)
def _distances_any(Xt, blocks, n_found, point, dist):
    zero = point[0] - point[0]
    for k in range(n_found):
        start = np.uint64(blocks[k] * _BLOCK_ROWS)
        end = start + np.uint64(_BLOCK_ROWS)
        for j in range(start, end):
            dist[j] = zero
        for f in range(Xt.shape[0]):
            x = Xt[f]
            p = point[f]
            for j in range(start, end):
                diff = x[j] - p
                dist[j] += diff * diff


@njit(cache=True, nogil=True)
def _distances(Xt, blocks, n_found, point, dist):
    """Dispatch to ``_distances_rgb`` or ``_any`` (see above)."""
    if Xt.shape[0] == 3:
        _distances_rgb(Xt, blocks, n_found, point, dist)
    else:
        _distances_any(Xt, blocks, n_found, point, dist)


@njit(cache=True, nogil=True)
def _gain_rgb(Xt, blocks, n_found, point, closest_p, w_p, gain_rows):
    x0, x1, x2 = Xt[0], Xt[1], Xt[2]
    p0, p1, p2 = point[0], point[1], point[2]
    zero = p0 - p0
    gain_rows[:] = 0.0
    for k in range(n_found):
        start = np.uint64(blocks[k] * _BLOCK_ROWS)
        for r in range(np.uint64(_BLOCK_ROWS)):
            j = start + r
            a = x0[j] - p0
            b = x1[j] - p1
            c = x2[j] - p2
            gain = closest_p[j] - np.float64(zero + a * a + b * b + c * c)
            gain_rows[r] += w_p[j] * max(0.0, gain)
    total = 0.0
    for r in range(_BLOCK_ROWS):
        total += gain_rows[r]
    return total


@njit(cache=True, nogil=True)
def _gain_any(Xt, blocks, n_found, point, closest_p, w_p, gain_rows, dist):
    _distances_any(Xt, blocks, n_found, point, dist)
    gain_rows[:] = 0.0
    for k in range(n_found):
        start = np.uint64(blocks[k] * _BLOCK_ROWS)
        for r in range(np.uint64(_BLOCK_ROWS)):
            j = start + r
            gain = closest_p[j] - np.float64(dist[j])
            gain_rows[r] += w_p[j] * max(0.0, gain)
    total = 0.0
    for r in range(_BLOCK_ROWS):
        total += gain_rows[r]
    return total


@njit(cache=True, nogil=True)
def _gain(Xt, blocks, n_found, point, closest_p, w_p, gain_rows, dist):
    """Dispatch to ``_gain_rgb`` or ``_any`` (see above).

    dist  OUT (n_padded,) scratch in the dtype of point, for ``_gain_any``
    """
    if Xt.shape[0] == 3:
        return _gain_rgb(Xt, blocks, n_found, point, closest_p, w_p, gain_rows)
    return _gain_any(Xt, blocks, n_found, point, closest_p, w_p, gain_rows, dist)


@njit(cache=True, nogil=True)
def _reachable_blocks(lo, hi, node_max, point, stack, blocks):
    """The blocks holding a row that ``point`` could bring nearer, left to right.

    Walks the tree of blocks from the root and skips every node whose box is
    at least its ``node_max`` away from ``point``.

    lo, hi    IN  (2 * n_leaves, n_features) boxes of the tree nodes (node 1
                  is the root, node n_leaves + b is block b)
    node_max  IN  (2 * n_leaves,) float64, largest ``closest`` under each node
                  (-inf for the empty leaves past the last block)
    point     IN  (n_features,) same dtype as lo
    stack     OUT (2 * n_leaves,) int64 scratch
    blocks    OUT (n_leaves,) int64, the blocks found come first
    returns   int, how many blocks were found
    """
    n_leaves = node_max.shape[0] // 2
    n_found = 0
    stack[0] = 1
    top = 1
    while top > 0:
        top -= 1
        node = stack[top]
        if np.float64(_box_distance(lo, hi, node, point)) >= node_max[node]:
            continue
        if node >= n_leaves:
            blocks[n_found] = node - n_leaves
            n_found += 1
        else:
            stack[top] = 2 * node + 1
            stack[top + 1] = 2 * node
            top += 2
    return n_found


@njit(cache=True, nogil=True)
def _add_center(Xt, order, w, lo64, hi64, center64, closest_p, sums, node_max,
                changed, stack, blocks, dist):
    """Lower every row's ``closest`` with the new centre ``center64``.

    Xt         IN    (n_features, n_padded) the rows in spatial order
    order      IN    (n_samples,) int64, original index of each spatial row
    lo64, hi64 IN    (2 * n_leaves, n_features) float64 boxes of the tree
    center64   IN    (n_features,) float64
    closest_p  INOUT (n_padded,) float64, in spatial order
    w          IN    (n_samples,) float64 weights in original order
    sums       INOUT (2 * n_top,) float64 cumulative-sum tree (see
                     ``_refresh_sums``): the leaves of changed rows are set
    node_max   INOUT (2 * n_leaves,) float64
    changed    OUT   (n_top,) int64, the leaves of the changed rows
    returns    int, how many rows changed
    stack      OUT   (2 * n_leaves,) int64 scratch
    blocks     OUT   (n_leaves,) int64 scratch
    dist       OUT   (n_padded,) float64 scratch
    """
    n_samples = np.uint64(order.shape[0])
    n_leaves = node_max.shape[0] // 2
    n_top = sums.shape[0] // 2
    n_changed = 0
    n_found = _reachable_blocks(lo64, hi64, node_max, center64, stack, blocks)
    _distances(Xt, blocks, n_found, center64, dist)
    for k in range(n_found):
        b = blocks[k]
        start = np.uint64(b * _BLOCK_ROWS)
        high = 0.0
        for j in range(start, start + np.uint64(_BLOCK_ROWS)):
            if dist[j] < closest_p[j]:
                closest_p[j] = dist[j]
                if j < n_samples:
                    i = order[j]
                    sums[n_top + i] = w[i] * dist[j]
                    changed[n_changed] = n_top + i
                    n_changed += 1
            high = max(high, closest_p[j])
        node = n_leaves + b
        node_max[node] = high
        node //= 2
        while node >= 1:
            node_max[node] = max(node_max[2 * node], node_max[2 * node + 1])
            node //= 2
    return n_changed


@njit(cache=True, nogil=True)
def _refresh_sums(sums, changed, n_changed, mark):
    """Recompute the sums above the changed leaves of the cumulative-sum tree.

    sums       INOUT (2 * n_top,) float64; leaf n_top + i holds w_i * closest_i
                     (0 past the last row), node m holds sums[2m] + sums[2m+1]
    changed    INOUT (n_top,) int64, the changed leaves first (overwritten)
    n_changed  IN    int
    mark       INOUT (2 * n_top,) bool scratch, all False on entry and exit

    Level by level, each node at most once, so every sum is the same
    function of the leaves whatever the order of the changes.
    """
    n = n_changed
    while n > 0 and changed[0] > 1:
        m = 0
        for k in range(n):
            parent = changed[k] // 2
            if not mark[parent]:
                mark[parent] = True
                changed[m] = parent
                m += 1
        for k in range(m):
            node = changed[k]
            mark[node] = False
            sums[node] = sums[2 * node] + sums[2 * node + 1]
        n = m


@njit(cache=True, nogil=True)
def _draw(sums, target, n_samples):
    """Row of the cumulative weighted distance ``target``, from the sum tree.

    From the root, go to the left child when ``target`` is at most its sum,
    otherwise subtract that sum and go right: the first row whose cumulative
    sum reaches ``target`` (row 0 for ``target <= 0``, the last row for a
    target beyond the total), like ``np.searchsorted(np.cumsum(w * closest),
    target)`` clipped to ``n_samples - 1``. With integer-valued sums (and a
    total below 2**52) every subtraction is exact, so the row is the same.
    """
    n_top = sums.shape[0] // 2
    node = 1
    while node < n_top:
        left = sums[2 * node]
        if target <= left:
            node = 2 * node
        else:
            target -= left
            node = 2 * node + 1
    return min(node - n_top, n_samples - 1)


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
    draws and choices of the step-by-step seeding (``reference.seeding.kmeans_plusplus``) given the same uniforms.

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
    returns        float64, the potential of the last centre chosen (the
                   weighted inertia of all the centres, with the distances to
                   the last one in the dtype of X, as the step-by-step seeding computes it);
                   with no round to run, the float64 inertia of the centres
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

    # A complete binary tree over the blocks: node 1 is the root, node
    # n_leaves + b is block b, node m has the children 2m and 2m + 1. Each
    # node has the bounding box of its rows and the largest ``closest`` among
    # them (-inf for the leaves past the last block, which are never visited).
    n_leaves = 1
    while n_leaves < n_blocks:
        n_leaves *= 2
    n_nodes = 2 * n_leaves
    lo = np.zeros((n_nodes, n_features), dtype=dtype)
    hi = np.zeros((n_nodes, n_features), dtype=dtype)
    for b in range(n_blocks):
        node = n_leaves + b
        for f in range(n_features):
            low = Xt[f, b * _BLOCK_ROWS]
            high = low
            for r in range(1, _BLOCK_ROWS):
                v = Xt[f, b * _BLOCK_ROWS + r]
                low = min(low, v)
                high = max(high, v)
            lo[node, f] = low
            hi[node, f] = high
    node_max = np.full(n_nodes, -np.inf)
    node_max[n_leaves:n_leaves + n_blocks] = np.inf
    # first_leaf[m]: the leftmost leaf under node m. A node whose leftmost
    # leaf is past the last block has no rows and keeps -inf.
    first_leaf = np.arange(n_nodes, dtype=np.int64)
    for node in range(n_leaves - 1, 0, -1):
        left = 2 * node
        right = left + 1
        first_leaf[node] = first_leaf[left]
        if first_leaf[node] >= n_leaves + n_blocks:
            continue
        if first_leaf[right] >= n_leaves + n_blocks:
            right = left  # an empty child adds nothing to the box
        for f in range(n_features):
            lo[node, f] = min(lo[left, f], lo[right, f])
            hi[node, f] = max(hi[left, f], hi[right, f])
        node_max[node] = np.inf
    lo64 = lo.astype(np.float64)
    hi64 = hi.astype(np.float64)
    stack = np.empty(n_nodes, dtype=np.int64)
    blocks = np.empty(n_leaves, dtype=np.int64)

    w = np.empty(n_samples, dtype=np.float64)
    for i in range(n_samples):
        w[i] = sample_weight[i]
    # The cumulative-sum tree over the rows in original order.
    n_top = 1
    while n_top < n_samples:
        n_top *= 2
    sums = np.zeros(2 * n_top, dtype=np.float64)
    changed = np.empty(n_top, dtype=np.int64)
    mark = np.zeros(2 * n_top, dtype=np.bool_)
    dist = np.empty(n_padded, dtype=np.float64)
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
        n_changed = _add_center(Xt, order, w, lo64, hi64, center64, closest_p,
                                sums, node_max, changed, stack, blocks, dist)
        _refresh_sums(sums, changed, n_changed, mark)
    potential = sums[1]

    ids = np.empty(n_trials, dtype=np.int64)
    candidates = np.empty((n_trials, n_features), dtype=dtype)
    gain_rows = np.empty(_BLOCK_ROWS, dtype=np.float64)
    d = np.empty(n_padded, dtype=dtype)
    for c in range(n_done, n_clusters):
        # The targets scale with the potential of the last round's best
        # candidate (its distances in the dtype of X), as in
        # the step-by-step seeding; the candidates' potentials start from the
        # exact float64 total, the root of the sum tree.
        for t in range(n_trials):
            ids[t] = _draw(sums, uniforms[c - n_done, t] * potential, n_samples)
            for f in range(n_features):
                candidates[t, f] = X[ids[t], f]
        total = sums[1]

        # Gain of each candidate, how much it would lower the potential:
        # w * (closest - d) summed over the rows it brings nearer.
        best = 0
        best_potential = np.inf
        for t in range(n_trials):
            candidate = candidates[t]
            n_found = _reachable_blocks(lo, hi, node_max, candidate, stack, blocks)
            gain = _gain(Xt, blocks, n_found, candidate, closest_p, w_p, gain_rows, d)
            p = total - gain
            if p < best_potential:
                best = t
                best_potential = p
        for f in range(n_features):
            centers[c, f] = candidates[best, f]
            center64[f] = candidates[best, f]
        n_changed = _add_center(Xt, order, w, lo64, hi64, center64, closest_p,
                                sums, node_max, changed, stack, blocks, dist)
        _refresh_sums(sums, changed, n_changed, mark)
        potential = best_potential
    return potential
