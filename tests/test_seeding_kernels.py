"""The one-call k-means++ kernel picks the centres of the step-by-step seeding.

``kmeans_plusplus_greedy`` takes its random numbers from the caller: the first
row, and one (n_rounds, n_trials) array of uniforms. ``seed_like_lloyd`` draws
them from a generator exactly as ``_lloyd.kmeans_plusplus`` does, and runs the
kernel or ``reference.seeding.kmeans_plusplus_greedy``, the plain NumPy version of the step-by-step
seeding on the same arguments, so the two can be compared centre for centre.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from kmeans_core import _lloyd
from kmeans_core._kernels_seeding import kmeans_plusplus_greedy, spatial_order
from kmeans_core.reference import seeding as reference


def seed_like_lloyd(X, n_clusters, sample_weight, rng, start=None, seeding=None):
    """``_lloyd.kmeans_plusplus`` on top of ``kmeans_plusplus_greedy``.

    Draws the first row and the uniforms from ``rng`` in the order the
    step-by-step seeding draws them. Returns (centers, potential).
    """
    seeding = seeding or kmeans_plusplus_greedy
    n_samples = len(X)
    w = sample_weight.astype(np.float64)
    n_trials = 2 + int(np.log(n_clusters))
    centers = np.empty((n_clusters, X.shape[1]), dtype=X.dtype)
    if start is None or len(start) == 0:
        first, n_start = int(rng.choice(n_samples, p=w / w.sum())), 0
    else:
        first, n_start = 0, len(start)
        centers[:n_start] = start
    uniforms = rng.uniform(size=(n_clusters - max(n_start, 1), n_trials))
    potential = seeding(X, sample_weight, first, n_start, uniforms, centers)
    return centers, potential


def blobs(n_samples=600, n_features=3, n_centers=5, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    centers = rng.uniform(0, 10, size=(n_centers, n_features))
    labels = rng.integers(n_centers, size=n_samples)
    X = centers[labels] + rng.normal(scale=0.7, size=(n_samples, n_features))
    return X.astype(dtype)


def colours(n_samples=3000, n_features=3, seed=0, dtype=np.float32):
    """Integer 0-255 values with integer weights, like quantize's sample."""
    rng = np.random.default_rng(seed)
    X = rng.normal(128, 50, size=(n_samples, n_features)).clip(0, 255).round()
    return X.astype(dtype), rng.integers(1, 20, n_samples).astype(dtype)


CASES = {
    # name: (X, sample_weight, n_clusters)
    "blobs unit weights": (blobs(700, seed=1), np.ones(700), 9),
    "blobs uniform weights": (blobs(2000, seed=4),
                              np.random.default_rng(2).uniform(0.1, 1, 2000), 9),
    "float32 blobs": (blobs(1500, seed=5, dtype=np.float32),
                      np.random.default_rng(3).uniform(0, 2, 1500).astype(np.float32), 20),
    "colours, integer weights": (*colours(3000), 64),
    "RGBA colours": (*colours(2000, n_features=4, seed=2), 40),
    "one feature": (blobs(500, n_features=1, seed=6), np.ones(500), 12),
    "two features": (blobs(500, n_features=2, seed=7), np.ones(500), 12),
    "five features": (blobs(800, n_features=5, seed=8, dtype=np.float32),
                      np.ones(800, np.float32), 15),
    "k=1": (blobs(300, seed=9), np.ones(300), 1),
    "one row": (np.array([[1.0, 2.0, 3.0]]), np.ones(1), 1),
}


def _zero_weights():
    X = blobs(1000, seed=10)
    w = np.random.default_rng(4).uniform(0.5, 2, 1000)
    w[::3] = 0.0
    return X, w


def _duplicates():
    """Few distinct rows, repeated: fewer distinct points than clusters."""
    rng = np.random.default_rng(11)
    base = rng.integers(0, 5, size=(6, 3)).astype(np.float64)
    return base[rng.integers(0, 6, 400)], np.ones(400)


CASES["zero weights"] = (*_zero_weights(), 10)
CASES["duplicates, k > distinct rows"] = (*_duplicates(), 10)


@pytest.mark.parametrize("name", list(CASES))
def test_lloyd_kmeans_plusplus_picks_the_step_by_step_centres(name):
    # The driver, on the kernel, against the NumPy step-by-step seeding.
    X, w, k = CASES[name]
    for seed in range(3):
        expected = seed_like_lloyd(X, k, w, np.random.default_rng(seed),
                                   seeding=reference.kmeans_plusplus_greedy)[0]
        centers = _lloyd.kmeans_plusplus(X, k, w, np.random.default_rng(seed))
        assert_array_equal(centers, expected)


@pytest.mark.parametrize("name", list(CASES))
def test_same_centres_as_the_numpy_references(name):
    X, w, k = CASES[name]
    rng = np.random.default_rng(5)
    centers, potential = seed_like_lloyd(X, k, w, rng)
    expected, expected_potential = seed_like_lloyd(
        X, k, w, np.random.default_rng(5), seeding=reference.kmeans_plusplus_greedy)
    assert_array_equal(centers, expected)
    assert potential == pytest.approx(expected_potential, rel=1e-9, abs=1e-9)
    if X.dtype == np.float64:
        # The reference computes every distance in float64: the same for float64.
        ref = reference.kmeans_plusplus(X, k, w, np.random.default_rng(5))
        assert_array_equal(centers, ref)


def test_potential_is_the_weighted_inertia_of_the_centres():
    X, w, k = CASES["blobs uniform weights"]
    centers, potential = seed_like_lloyd(X, k, w, np.random.default_rng(0))
    d = ((X[:, np.newaxis, :] - centers[np.newaxis]) ** 2).sum(axis=2).min(axis=1)
    assert potential == pytest.approx(d @ w, rel=1e-9)


def test_zero_weight_rows_are_never_chosen():
    X, w, k = CASES["zero weights"]
    for seed in range(5):
        centers, _ = seed_like_lloyd(X, k, w, np.random.default_rng(seed))
        chosen = (X[:, np.newaxis, :] == centers[np.newaxis]).all(axis=2).any(axis=1)
        assert (w[chosen] > 0).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_warm_start_continues_the_draws(dtype):
    X = blobs(1500, seed=22, dtype=dtype)
    w = np.ones(len(X), dtype=dtype)
    # 3 and 7 centres both draw 2 + int(ln k) = 3 candidates per round.
    full, _ = seed_like_lloyd(X, 7, w, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    first, _ = seed_like_lloyd(X, 3, w, rng)
    more, _ = seed_like_lloyd(X, 7, w, rng, start=first)
    assert_array_equal(more[:3], first)
    assert_array_equal(more, full)
    # And as the NumPy version continues from start=.
    rng = np.random.default_rng(8)
    start = seed_like_lloyd(X, 3, w, rng, seeding=reference.kmeans_plusplus_greedy)[0]
    expected = seed_like_lloyd(X, 7, w, rng, start=start,
                               seeding=reference.kmeans_plusplus_greedy)[0]
    rng = np.random.default_rng(8)
    start, _ = seed_like_lloyd(X, 3, w, rng)
    centers, _ = seed_like_lloyd(X, 7, w, rng, start=start)
    assert_array_equal(centers, expected)


def test_warm_start_from_centres_not_in_the_data():
    X, w, _ = CASES["colours, integer weights"]
    start = np.array([[0, 0, 0], [255, 255, 255], [128, 64, 32]], dtype=X.dtype)
    expected = seed_like_lloyd(X, 20, w, np.random.default_rng(1), start=start,
                               seeding=reference.kmeans_plusplus_greedy)[0]
    centers, _ = seed_like_lloyd(X, 20, w, np.random.default_rng(1), start=start)
    assert_array_equal(centers, expected)


def test_deterministic_and_inputs_unmodified():
    X, w, k = CASES["colours, integer weights"]
    X_copy, w_copy = X.copy(), w.copy()
    rng = np.random.default_rng(0)
    uniforms = rng.uniform(size=(k - 1, 2 + int(np.log(k))))
    uniforms_copy = uniforms.copy()
    results = []
    for _ in range(2):
        centers = np.empty((k, 3), dtype=X.dtype)
        potential = kmeans_plusplus_greedy(X, w, 17, 0, uniforms, centers)
        results.append((centers, potential))
    assert_array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1]
    assert_array_equal(X, X_copy)
    assert_array_equal(w, w_copy)
    assert_array_equal(uniforms, uniforms_copy)
    assert_array_equal(results[0][0][0], X[17])


def test_quantize_sized_sample_matches_lloyd():
    """k=256 on an 8,192-row sample of integer colours: the quantize case."""
    X, w = colours(20_000, seed=3)
    X, w = _lloyd.sample_rows(X, w, 8192, np.random.default_rng(0))
    expected = seed_like_lloyd(X, 256, w, np.random.default_rng(1),
                               seeding=reference.kmeans_plusplus_greedy)[0]
    centers, potential = seed_like_lloyd(X, 256, w, np.random.default_rng(1))
    assert_array_equal(centers, expected)
    d = ((X[:, np.newaxis, :].astype(np.float64) - centers[np.newaxis]) ** 2)
    assert potential == pytest.approx(d.sum(axis=2).min(axis=1) @ w, rel=1e-12)


def test_spatial_order_is_a_permutation_that_groups_near_rows():
    X, _ = colours(5000, seed=4)
    order = spatial_order(X)
    assert_array_equal(np.sort(order), np.arange(len(X)))
    # Consecutive rows in the new order are far nearer than in the old one.
    step = np.abs(np.diff(X[order].astype(np.float64), axis=0)).sum(axis=1)
    random_step = np.abs(np.diff(X.astype(np.float64), axis=0)).sum(axis=1)
    assert np.median(step) < 0.25 * np.median(random_step)
    assert_allclose(X[order].sum(axis=0), X.sum(axis=0))
