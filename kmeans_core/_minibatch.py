"""Drivers of mini-batch k-means: initialisation, the step, the fit loop.

The middle layer, beside ``_lloyd.py``. Inputs are already validated
(C-contiguous, float32 or float64, finite, weights >= 0). One step draws a
batch, labels it with ``_kernels.assign_labels`` (the kernel ``KMeans`` uses),
moves the centres with ``_kernels_minibatch.minibatch_update``, re-seeds
centres that have starved (``reassign_starved``) or else swaps a redundant
centre to where the batch is served worst (``swap_redundant``).
``reference.minibatch.minibatch_step`` is the NumPy version of the update.

Why the stopping rule counts steps, not samples
-----------------------------------------------
The loop watches an exponentially weighted average (EWA) of the mean squared
distance of each batch and stops after ``max_no_improvement`` steps in a row
without a new minimum of that average. scikit-learn smooths with
``alpha = 2 * batch_size / n_samples``, a window of one pass over the data; on
12 million pixels that is 12,000 steps, so the average keeps drifting down
long after the centres have settled and the rule never fires. Here the window
is one pass *or* ``MAX_EWA_WINDOW`` (300) steps, whichever is shorter: the same as
scikit-learn on small data, and independent of ``n_samples`` on large data,
where the noise of a batch, not the size of the data, is what the average has
to smooth out.
"""

from dataclasses import dataclass, field

import numpy as np

from . import _kernels
from ._kernels_minibatch import minibatch_update, swap_candidate
from ._lloyd import (
    BatchSampler,
    IterationRecord,
    kmeans_plusplus,
    random_init,
    sample_rows,
)

# The default batch size: large enough that the per-step overhead of Python is
# small next to the work of a step, small enough that a step is cheap.
DEFAULT_BATCH_SIZE = 4096
# Longest window of the EWA of the batch inertia, in steps (see the module doc).
MAX_EWA_WINDOW = 300


def default_init_size(batch_size, n_clusters):
    """Rows of the sample that k-means++ runs on: 3 batches, and >= 3 x n_clusters."""
    return max(3 * batch_size, 3 * n_clusters)


def ewa_alpha(n_samples, batch_size):
    """Smoothing factor of the EWA of batch inertia: a window of
    ``min(n_samples / batch_size, MAX_EWA_WINDOW)`` steps."""
    window = min(n_samples / batch_size, MAX_EWA_WINDOW)
    return min(1.0, 2.0 / (window + 1.0))


def initial_centers(X, sample_weight, n_clusters, init, n_init, init_size, rng,
                    sampler=None):
    """Best of ``n_init`` initialisations, judged on a held-out sample.

    Each initialisation runs ``init`` ("k-means++", "random" or an array of
    centres) on its own sample of ``init_size`` rows; the one whose centres
    give the lowest inertia on one further sample of ``init_size`` rows (drawn
    first, used by all) is kept.

    Returns ndarray of shape (n_clusters, n_features), dtype of ``X``.
    """
    if not isinstance(init, str):
        return np.array(init, dtype=X.dtype, order="C")
    return _best_init(X, sample_weight, n_clusters, init, n_init, init_size, rng,
                      sampler)


def _best_init(X, sample_weight, n_clusters, init, n_init, init_size, rng, sampler):
    X_valid, w_valid = sample_rows(X, sample_weight, init_size, rng, sampler)
    labels = np.empty(X_valid.shape[0], dtype=np.int32)
    distances = np.empty(X_valid.shape[0], dtype=X.dtype)
    best, best_inertia = None, np.inf
    for _ in range(n_init):
        X_init, w_init = sample_rows(X, sample_weight, init_size, rng, sampler)
        if init == "k-means++":
            centers = kmeans_plusplus(X_init, n_clusters, w_init, rng)
        else:
            centers = random_init(X_init, n_clusters, w_init, rng)
        inertia = _kernels.assign_labels(X_valid, w_valid, centers, labels, distances)
        if best is None or inertia < best_inertia:
            best, best_inertia = centers, inertia
    return np.ascontiguousarray(best)


@dataclass
class MiniBatchState:
    """Everything a run carries from one step to the next (and ``partial_fit``
    from one call to the next).

    centers : (n_clusters, n_features), dtype of X
    weight_sums : (n_clusters,) float64, weight each centre has absorbed
    """

    centers: np.ndarray
    weight_sums: np.ndarray
    n_steps: int = 0
    n_since_reassign: float = 0.0
    _centers_new: np.ndarray = field(default=None, repr=False)
    _sums: np.ndarray = field(default=None, repr=False)
    _batch_weights: np.ndarray = field(default=None, repr=False)

    @classmethod
    def start(cls, centers):
        centers = np.array(centers, order="C")
        n_clusters, n_features = centers.shape
        return cls(
            centers=centers,
            weight_sums=np.zeros(n_clusters, dtype=np.float64),
            _centers_new=np.empty_like(centers),
            _sums=np.empty((n_clusters, n_features), dtype=np.float64),
            _batch_weights=np.empty(n_clusters, dtype=np.float64),
        )

    def step(self, X, sample_weight, rng, reassignment_ratio, labels, distances):
        """One mini-batch step on the batch ``X``; see ``reference.minibatch.minibatch_step``.

        labels, distances : OUT buffers of shape (batch_size,)

        Returns ``(inertia, shift)``: the weighted inertia of the batch on the
        centres before the step, and the summed squared distance the centres
        moved (re-seeding included).
        """
        inertia = _kernels.assign_labels(X, sample_weight, self.centers, labels,
                                         distances)
        shift = minibatch_update(
            X, sample_weight, labels, self.centers, self._centers_new,
            self.weight_sums, self._sums, self._batch_weights,
        )
        self.centers, self._centers_new = self._centers_new, self.centers
        self.n_steps += 1
        self.n_since_reassign += X.shape[0]
        n_clusters = self.centers.shape[0]
        if reassignment_ratio > 0 and (
            self.n_since_reassign >= 10 * n_clusters or not self.weight_sums.all()
        ):
            self.n_since_reassign = 0
            n_moved, moved = reassign_starved(X, sample_weight, distances,
                                              self.centers, self.weight_sums,
                                              reassignment_ratio, rng)
            if n_moved == 0:
                moved = swap_redundant(X, sample_weight, distances, self.centers,
                                       self.weight_sums, rng)
            shift += moved
        return inertia, shift


def reassign_starved(X, sample_weight, distances, centers, weight_sums,
                     reassignment_ratio, rng):
    """Re-seed the centres whose weight is below ``reassignment_ratio`` x the largest.

    The new centres are rows of the batch drawn without replacement with
    probability proportional to weight x squared distance to their nearest
    centre (k-means++ style): a starved centre moves to where the batch is
    served worst. At most half the batch size of centres move at once. Each
    moved centre gets the smallest weight of the centres that stay, so it is
    neither starved again at once nor pinned where it lands. When no centre
    starved, the step calls ``swap_redundant`` instead.

    centers      INOUT (n_clusters, n_features)
    weight_sums  INOUT (n_clusters,) float64
    returns      (int, float64): how many centres moved, and the summed
                 squared distance they jumped
    """
    n_samples = X.shape[0]
    to_reassign = weight_sums < reassignment_ratio * weight_sums.max()
    n_reassign = int(to_reassign.sum())
    if n_reassign > n_samples // 2:
        keep = np.argsort(weight_sums, kind="stable")[n_samples // 2:]
        to_reassign[keep] = False
        n_reassign = int(to_reassign.sum())
    if n_reassign == 0:
        return 0, 0.0
    p = distances.astype(np.float64) * sample_weight
    if np.count_nonzero(p) >= n_reassign:
        rows = rng.choice(n_samples, size=n_reassign, replace=False, p=p / p.sum())
    else:
        rows = rng.choice(n_samples, size=n_reassign, replace=False)
    rows = np.sort(rows)
    old = centers[to_reassign].astype(np.float64)
    centers[to_reassign] = X[rows]
    weight_sums[to_reassign] = weight_sums[~to_reassign].min()
    return n_reassign, float(((centers[to_reassign] - old) ** 2).sum())


def minibatch_fit(X, sample_weight, centers_init, *, batch_size, max_steps, tol,
                  max_no_improvement, reassignment_ratio, rng, sampler=None,
                  history=None, n_rows=None):
    """Mini-batch k-means from ``centers_init`` on batches drawn from ``X``.

    Each step draws ``batch_size`` rows in proportion to ``sample_weight``
    (``BatchSampler``) and updates with unit weights. The run stops

    - when ``tol`` > 0 (already scaled, see ``_lloyd.scaled_tolerance``) and a
      step moves the centres by a summed squared distance <= ``tol``;
    - when ``max_no_improvement`` is not None and the EWA of the mean squared
      distance of the batches (window: ``ewa_alpha``) has not reached a new
      minimum for that many steps in a row (the first step, which measures
      the initial centres, is not counted);
    - after ``max_steps`` steps.

    Parameters
    ----------
    n_rows : int or None
        Rows in a pass, which sets the window of the EWA; None: ``n_samples``.
    history : list or None
        When a list, one ``IterationRecord`` per step is appended: the centres
        before the step, with the inertia of the batch scaled to the total
        weight of ``X`` (an estimate of the full inertia).

    Returns
    -------
    state : MiniBatchState
    converged : bool, whether a stopping rule fired before ``max_steps``
    """
    n_samples = X.shape[0]
    sampler = sampler or BatchSampler(sample_weight)
    state = MiniBatchState.start(centers_init)
    unit_weight = np.ones(batch_size, dtype=X.dtype)
    labels = np.empty(batch_size, dtype=np.int32)
    distances = np.empty(batch_size, dtype=X.dtype)
    alpha = ewa_alpha(n_rows or n_samples, batch_size)
    converged = _fit_loop(X, state, sampler, unit_weight, labels, distances, alpha,
                          max_steps, tol, max_no_improvement, reassignment_ratio, rng,
                          history)
    return state, converged


def _fit_loop(X, state, sampler, unit_weight, labels, distances, alpha, max_steps,
              tol, max_no_improvement, reassignment_ratio, rng, history):
    """The loop of ``minibatch_fit``; returns ``converged``."""
    batch_size = len(unit_weight)
    warm_up = 1 / alpha
    ewa = ewa_min = None
    no_improvement = 0
    converged = False
    for step in range(max_steps):
        ids = sampler.draw(rng, batch_size)
        if history is not None:
            centers = state.centers.copy()
        # np.take: 4x faster than X[ids] for a batch of rows.
        inertia, shift = state.step(np.take(X, ids, axis=0), unit_weight, rng,
                                    reassignment_ratio, labels, distances)
        mean_inertia = inertia / batch_size
        if history is not None:
            history.append(IterationRecord(centers,
                                           mean_inertia * sampler.total_weight))
        if step == 0:
            continue  # that batch measured the initial centres
        # A plain mean of the batches until there are 1 / alpha of them, so
        # the average does not start from one noisy batch.
        ewa = mean_inertia if ewa is None else ewa + max(alpha, 1 / step) * (
            mean_inertia - ewa)
        if tol > 0 and shift <= tol:
            converged = True
            break
        if step < warm_up:
            continue  # the average is not yet a full window
        if ewa_min is None or ewa < ewa_min:
            ewa_min = ewa
            no_improvement = 0
        else:
            no_improvement += 1
        if max_no_improvement is not None and no_improvement >= max_no_improvement:
            converged = True
            break
    return converged


def minibatch_pass(X, sample_weight, state, *, batch_size, reassignment_ratio, rng,
                   history=None):
    """One pass over ``X`` in mini-batches of ``batch_size`` (``partial_fit``).

    The rows are taken in a random order, each exactly once, with their own
    weights in the update. ``history`` as in ``minibatch_fit``, with the batch
    inertia scaled to the total weight of ``X``.
    """
    n_samples = X.shape[0]
    total_weight = float(sample_weight.sum(dtype=np.float64))
    order = rng.permutation(n_samples)
    labels = np.empty(min(batch_size, n_samples), dtype=np.int32)
    distances = np.empty_like(labels, dtype=X.dtype)
    for start in range(0, n_samples, batch_size):
        ids = np.sort(order[start:start + batch_size])
        Xb, wb = np.take(X, ids, axis=0), sample_weight[ids]
        if history is not None:
            centers = state.centers.copy()
        n = len(ids)
        inertia, _ = state.step(Xb, wb, rng, reassignment_ratio, labels[:n],
                                distances[:n])
        if history is not None:
            batch_weight = float(wb.sum(dtype=np.float64))
            estimate = (inertia / batch_weight * total_weight if batch_weight
                        else 0.0)
            history.append(IterationRecord(centers, estimate))
    return state


def swap_redundant(X, sample_weight, distances, centers, weight_sums, rng):
    """Merge the two centres that cost least to merge, if a new centre pays more.

    A candidate row of the batch is drawn with probability proportional to
    weight x squared distance to its nearest centre. Its gain is how much the
    batch's inertia would drop with a centre on it, scaled from the batch to
    all the weight seen so far. The cost of merging centres a and b into their
    weighted mean is Ward's ``W_a W_b / (W_a + W_b) |c_a - c_b|^2`` (``W``:
    the weight each has absorbed). When the gain is larger, a and b merge and
    b moves to the candidate, with the weight of the batch rows it takes over
    (small, so it settles quickly where it lands).

    This lets the centres follow data whose distribution changes, such as
    the chunks of an image fed top to bottom to ``partial_fit``.

    centers      INOUT (n_clusters, n_features)
    weight_sums  INOUT (n_clusters,) float64
    returns      float64, summed squared distance the centres moved
    """
    n_clusters = centers.shape[0]
    if n_clusters < 2:
        return 0.0
    row, gain, a, b, cost, candidate_weight = swap_candidate(
        X, sample_weight, distances, centers, weight_sums, rng.random())
    if row < 0 or not gain > cost:
        return 0.0
    W = weight_sums
    pair_weight = W[a] + W[b]
    C = centers.astype(np.float64)
    merged = (W[a] * C[a] + W[b] * C[b]) / pair_weight if pair_weight > 0 else C[a]
    old = C[[a, b]]
    centers[a] = merged
    centers[b] = X[row]
    weight_sums[a] = pair_weight
    weight_sums[b] = candidate_weight
    return float(((centers[[a, b]].astype(np.float64) - old) ** 2).sum())
