"""Tests of the core k-means: hand-solved problems, the fast path against the
NumPy reference, and scikit-learn on real photo pixels."""

import itertools
import subprocess
import sys
import warnings

import numba
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from kmeans_core import (
    ConvergenceWarning,
    KMeans,
    NotFittedError,
    _kernels,
    _lloyd,
)
from kmeans_core.reference import lloyd as reference
from kmeans_core.reference import seeding as reference_seeding


def blobs(n_samples=600, n_features=3, n_centers=5, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    centers = rng.uniform(0, 10, size=(n_centers, n_features))
    labels = rng.integers(n_centers, size=n_samples)
    X = centers[labels] + rng.normal(scale=0.7, size=(n_samples, n_features))
    return X.astype(dtype)


@pytest.fixture(scope="module")
def china():
    from sklearn.datasets import load_sample_image

    return (load_sample_image("china.jpg").reshape(-1, 3) / 255).astype(np.float32)


# -- problems solved by hand --------------------------------------------------


def test_toy_problem_solved_by_hand():
    # Start: centres 0 and 1. Iteration 1 labels [0, 1, 1, 1] -> centres
    # 0 and 22/3. Iteration 2 labels [0, 0, 1, 1] -> centres 0.5 and 10.5.
    # Iteration 3 labels unchanged -> stop: n_iter_ = 3.
    X = np.array([[0.0], [1.0], [10.0], [11.0]])
    km = KMeans(n_clusters=2, init=np.array([[0.0], [1.0]]), record_history=True).fit(X)
    assert_array_equal(km.cluster_centers_, [[0.5], [10.5]])
    assert_array_equal(km.labels_, [0, 0, 1, 1])
    assert km.inertia_ == pytest.approx(4 * 0.25)
    assert km.n_iter_ == 3
    assert km.converged_
    # History: initial centres, then after each of the 3 updates.
    assert len(km.history_) == km.n_iter_ + 1
    assert_allclose(km.history_[1].centers, [[0.0], [22 / 3]])
    # Centres 0 and 1: squared distances 0, 0, 81, 100. Centres 0 and 22/3:
    # 0, 1, (8/3)^2, (11/3)^2. Centres 0.5 and 10.5: 0.25 each.
    assert [r.inertia for r in km.history_] == pytest.approx(
        [181.0, 1 + 64 / 9 + 121 / 9, 1.0, 1.0]
    )


def test_max_iter_one_runs_one_iteration():
    X = blobs()
    km = KMeans(n_clusters=5, init=X[:5], max_iter=1).fit(X)
    assert km.n_iter_ == 1
    assert not km.converged_
    # labels_ match the centres after that one update.
    assert_array_equal(km.labels_, km.predict(X))


def test_tol_compares_summed_squared_shift_with_scaled_variance():
    X = blobs(seed=3)
    init = X[:5].copy()
    history = []
    tol = 1e-2
    scaled = tol * X.var(axis=0).mean()
    _lloyd.lloyd(X, np.ones(len(X)), init, max_iter=300, tol=scaled, history=history)
    km = KMeans(n_clusters=5, init=init, tol=tol, record_history=True).fit(X)
    shifts = [((b.centers - a.centers) ** 2).sum()
              for a, b in zip(km.history_, km.history_[1:])]
    # Every shift but the last is above the threshold, the last at or below it
    # (or the labels stopped changing, in which case it is 0).
    assert all(s > scaled for s in shifts[:-1])
    assert shifts[-1] <= scaled
    assert km.n_iter_ == len(history) - 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scaled_tolerance_is_tol_times_mean_weighted_variance(dtype):
    X = blobs(n_samples=1000, seed=3, dtype=dtype)
    w = np.random.default_rng(3).integers(0, 5, len(X)).astype(dtype)
    repeated = np.repeat(X.astype(np.float64), w.astype(int), axis=0)
    expected = 1e-4 * repeated.var(axis=0).mean()
    assert _lloyd.scaled_tolerance(X, w, 1e-4) == pytest.approx(expected, rel=1e-9)
    assert _lloyd.scaled_tolerance(X, w, 0) == 0.0


def test_empty_cluster_takes_the_farthest_point():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0]])
    # The second centre is far from everything: its cluster is empty.
    centers = np.array([[0.0, 0.0], [100.0, 100.0]])
    w = np.ones(3)
    labels, distances, _ = reference.assign_labels(X, w, centers)
    new, _ = reference.update_centers(X, w, labels, distances, centers)
    # Row 2 (distance 100 from centre 0) moves to the empty cluster.
    assert_allclose(new, [[0.5, 0.0], [10.0, 0.0]])
    fast = np.empty_like(centers)
    labels32 = labels.astype(np.int32)
    sums, weights = reference.cluster_sums(X, w, labels32, 2)
    lower = np.ones(3)
    _kernels.update_centers(X, w, labels32, distances, lower, sums, weights,
                            centers, fast, np.empty(2))
    assert_array_equal(fast, new)
    # The row changed cluster, its sums moved with it, and it is searched again.
    assert labels32.tolist() == [0, 0, 1]
    assert_array_equal(weights, [2.0, 1.0])
    assert_array_equal(sums, [[1.0, 0.0], [10.0, 0.0]])
    assert lower[2] == 0.0
    km = KMeans(n_clusters=2, init=centers).fit(X)
    assert_allclose(km.cluster_centers_, [[0.5, 0.0], [10.0, 0.0]])


def test_fewer_distinct_points_than_clusters_warns_and_is_correct():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]] * 4)
    with pytest.warns(ConvergenceWarning, match="only 3 distinct clusters"):
        km = KMeans(n_clusters=5, random_state=0).fit(X)
    assert km.inertia_ == 0.0
    assert_allclose(km.transform(X).min(axis=1), 0.0)
    assert len(np.unique(km.labels_)) == 3


# -- fast path == NumPy reference ----------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_assignment_kernel_matches_reference(dtype):
    X = blobs(n_samples=3000, dtype=dtype, seed=1)
    rng = np.random.default_rng(0)
    centers = X[rng.choice(len(X), 7, replace=False)]
    w = rng.uniform(0.5, 2, len(X)).astype(dtype)
    ref_labels, ref_dist, ref_inertia = reference.assign_labels(X, w, centers)
    labels = np.empty(len(X), np.int32)
    dist = np.empty(len(X), dtype)
    inertia = _kernels.assign_labels(X, w, centers, labels, dist)
    assert_array_equal(labels, ref_labels)
    assert_allclose(dist, ref_dist, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert inertia == pytest.approx(ref_inertia, rel=1e-6)


@pytest.mark.parametrize("n_features, n_clusters", [(3, 12), (2, 12), (3, 40)])
def test_pruned_assignment_gives_the_same_labels_as_a_full_search(n_features,
                                                                  n_clusters):
    # Run Lloyd steps keeping Hamerly's bounds; at every step the pruned
    # assignment (bound test, then a search among near centres) must agree
    # exactly with the plain one and with the NumPy reference, its lower
    # bounds must hold, and it must skip rows.
    # With 40 centres, 16 are near each centre: both bounds are at work.
    X = blobs(n_samples=5000, n_centers=12, seed=21, dtype=np.float32)
    X = np.ascontiguousarray(X[:, :n_features])
    w = np.ones(len(X), np.float32)
    centers = X[:n_clusters].copy()
    assigner = _lloyd.Assigner(X, w, n_clusters)
    ref = reference.Assigner(X, w, n_clusters, n_near=_lloyd.N_NEAR)
    plain_labels, plain_dist = np.empty(len(X), np.int32), np.empty(len(X), np.float32)
    new = np.empty_like(centers)
    moved = np.zeros(n_clusters)
    sums, weights = np.zeros((n_clusters, n_features)), np.zeros(n_clusters)
    n_skipped = 0
    for step in range(8):
        n_changed = assigner.assign(centers, moved)
        inertia = assigner.inertia()
        ref_inertia, ref_changed = ref.assign(centers, moved)
        plain = _kernels.assign_labels(X, w, centers, plain_labels, plain_dist)
        assert_array_equal(assigner.labels, plain_labels)
        assert_array_equal(assigner.distances, plain_dist)
        assert inertia == plain
        assert_array_equal(ref.labels, plain_labels)
        assert ref_changed == n_changed
        assert_array_equal(ref.distances, assigner.distances)
        assert ref_inertia == pytest.approx(inertia, rel=1e-9)
        # The kernels' bounds after a search of near centres only may be
        # looser than the reference's exact second distances, never wrong.
        n_skipped += len(X) - int(assigner.chunk_pending.sum()) if step else 0
        # The lower bounds hold for these centres.
        d2 = ((X[:, None, :].astype(np.float64) - centers[None]) ** 2).sum(axis=2)
        d2[np.arange(len(X)), assigner.labels] = np.inf
        assert (assigner.lower <= np.sqrt(d2.min(axis=1)) * (1 + 1e-6)).all()
        # The incremental sums equal sums from scratch.
        _kernels.apply_label_changes(X, w, assigner.labels, assigner.changed,
                                     assigner.old_labels, assigner.chunk_changed,
                                     sums, weights)
        full_sums, full_weights = reference.cluster_sums(X, w, assigner.labels,
                                                          n_clusters)
        assert_allclose(sums, full_sums, rtol=1e-9)
        assert_array_equal(weights, full_weights)
        _kernels.update_centers(X, w, assigner.labels, assigner.distances,
                                assigner.lower, sums, weights, centers, new, moved)
        centers, new = new, centers
    assert moved.max() > 0  # the centres did move
    assert n_skipped > 0.5 * 7 * len(X)  # and most rows were not searched


def test_nearest_centers_with_a_guess_gives_a_full_search():
    # A guess (right, wrong or random) only saves work: the labels and
    # distances are those of a full search.
    X = blobs(n_samples=5000, n_centers=12, seed=23, dtype=np.float32)
    w = np.ones(len(X), np.float32)
    centers = X[:40].copy()
    labels, distances, inertia = _lloyd.nearest_centers(X, w, centers)
    rng = np.random.default_rng(0)
    for guess in (labels, rng.integers(0, 40, len(X)), np.zeros(len(X), int)):
        got = _lloyd.nearest_centers(X, w, centers, guess)
        assert_array_equal(got[0], labels)
        assert_array_equal(got[1], distances)
        assert got[2] == pytest.approx(inertia, rel=1e-9)


def test_update_kernel_matches_reference():
    X = blobs(n_samples=3000, seed=2)
    w = np.random.default_rng(1).uniform(0, 3, len(X))
    centers = X[:6].copy()
    labels, dist, _ = reference.assign_labels(X, w, centers)
    ref_centers, ref_shift = reference.update_centers(X, w, labels, dist, centers)
    new = np.empty_like(centers)
    labels = labels.astype(np.int32)
    sums, weights = reference.cluster_sums(X, w, labels, 6)
    moved = np.empty(6)
    shift = _kernels.update_centers(X, w, labels, dist, np.zeros(len(X)), sums,
                                    weights, centers, new, moved)
    assert_allclose(new, ref_centers, rtol=1e-12)
    assert_allclose(moved, np.sqrt(((new - centers) ** 2).sum(axis=1)), rtol=1e-12)
    assert shift == pytest.approx(ref_shift, rel=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unique_rows_kernel_matches_reference(dtype):
    rng = np.random.default_rng(3)
    X = rng.integers(0, 4, (3000, 3)).astype(dtype)  # 64 distinct rows, repeated
    X[5] = -0.0  # the same value as 0.0, other bits: another row (by bits)
    w = rng.uniform(0.5, 2.0, len(X)).astype(dtype)
    first = np.empty(len(X), np.int32)
    inverse = np.empty(len(X), np.int32)
    weights = np.empty(len(X))
    bits = X.view(np.uint32 if dtype == np.float32 else np.uint64)
    n_unique = _kernels.unique_rows(bits, w, first, inverse, weights)
    ref_first, ref_inverse, ref_weights = reference.unique_rows(X, w)
    assert n_unique == len(ref_first)
    assert_array_equal(first[:n_unique], ref_first)
    assert_array_equal(inverse, ref_inverse)
    assert_allclose(weights[:n_unique], ref_weights, rtol=1e-12)
    assert_array_equal(X[first[:n_unique]][inverse], X)


def test_kmeans_plusplus_matches_reference():
    X = blobs(n_samples=2000, seed=4)
    w = np.random.default_rng(2).uniform(0.1, 1, len(X))
    fast = _lloyd.kmeans_plusplus(X, 9, w, np.random.default_rng(7))
    ref = reference_seeding.kmeans_plusplus(X, 9, w, np.random.default_rng(7))
    assert_array_equal(fast, ref)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lloyd_matches_reference(dtype):
    X = blobs(n_samples=2000, seed=5, dtype=dtype)
    w = np.ones(len(X), dtype)
    init = X[:8].copy()
    ref_centers, ref_labels, ref_inertia, ref_n_iter = reference.lloyd(
        X, w, init, max_iter=300, tol=1e-4)
    km = KMeans(n_clusters=8, init=init).fit(X)
    assert km.n_iter_ == ref_n_iter
    assert_array_equal(km.labels_, ref_labels)
    assert_allclose(km.cluster_centers_, ref_centers, rtol=1e-5, atol=1e-6)
    assert km.inertia_ == pytest.approx(ref_inertia, rel=1e-5)


# -- scikit-learn on real data -------------------------------------------------


# At k >= 64 the photo's many near-equidistant pixels make Lloyd chaotic: one
# pixel labelled differently by a rounding difference moves the path (even
# scikit-learn's float32 and float64 runs end up 5e-3 apart); there we compare
# the inertia only.
@pytest.mark.parametrize("k", [8, 16])
def test_same_result_as_sklearn_lloyd_on_china(china, k):
    from sklearn.cluster import KMeans as SKKMeans

    init = _lloyd.kmeans_plusplus(china, k, np.ones(len(china), np.float32),
                                  np.random.default_rng(0))
    ours = KMeans(n_clusters=k, init=init, tol=1e-4).fit(china)
    ref = SKKMeans(n_clusters=k, init=init, n_init=1, tol=1e-4, algorithm="lloyd").fit(china)
    assert_allclose(ours.cluster_centers_, ref.cluster_centers_, atol=1e-3)
    assert abs(ours.n_iter_ - ref.n_iter_) <= 1
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-4)


def test_same_inertia_as_sklearn_lloyd_on_china_k64(china):
    from sklearn.cluster import KMeans as SKKMeans

    init = _lloyd.kmeans_plusplus(china, 64, np.ones(len(china), np.float32),
                                  np.random.default_rng(0))
    ours = KMeans(n_clusters=64, init=init, tol=1e-4).fit(china)
    ref = SKKMeans(n_clusters=64, init=init, n_init=1, tol=1e-4, algorithm="lloyd").fit(china)
    assert abs(ours.n_iter_ - ref.n_iter_) <= 1
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-3)
    assert_allclose(ours.cluster_centers_, ref.cluster_centers_, atol=1e-2)


def test_same_result_as_sklearn_lloyd_on_blobs():
    from sklearn.cluster import KMeans as SKKMeans

    X = blobs(n_samples=5000, n_features=4, n_centers=12, seed=9)
    init = X[:12].copy()
    ours = KMeans(n_clusters=12, init=init, tol=1e-6).fit(X)
    ref = SKKMeans(n_clusters=12, init=init, n_init=1, tol=1e-6, algorithm="lloyd").fit(X)
    assert_allclose(ours.cluster_centers_, ref.cluster_centers_, atol=1e-3)
    assert abs(ours.n_iter_ - ref.n_iter_) <= 1


def test_kmeans_plusplus_quality_matches_sklearn(china):
    from sklearn.cluster import KMeans as SKKMeans

    ours = [KMeans(32, random_state=s).fit(china).inertia_ for s in range(5)]
    ref = [SKKMeans(32, n_init=1, random_state=s).fit(china).inertia_ for s in range(5)]
    assert np.median(ours) <= 1.01 * np.median(ref)


# -- properties ------------------------------------------------------------------


def test_integer_weights_equal_repeated_rows():
    X = blobs(n_samples=400, seed=6)
    counts = np.random.default_rng(3).integers(1, 5, len(X))
    init = X[:6].copy()
    weighted = KMeans(n_clusters=6, init=init).fit(X, sample_weight=counts)
    repeated = KMeans(n_clusters=6, init=init).fit(np.repeat(X, counts, axis=0))
    assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, rtol=1e-10)
    assert weighted.n_iter_ == repeated.n_iter_
    assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=1e-10)
    assert_array_equal(np.repeat(weighted.labels_, counts), repeated.labels_)


def test_repeated_rows_are_collapsed_with_their_weights():
    # 40,000 rows of 500 distinct points: fit works on the 500 points with
    # their counts (the same objective), and the labels come back per row.
    rng = np.random.default_rng(6)
    points = blobs(n_samples=500, seed=6, dtype=np.float32)
    rows = rng.integers(0, 500, 40_000)
    X = points[rows]
    init = points[:8].copy()
    X_c, w_c, inverse = _lloyd.collapse_duplicates(X, np.ones(len(X), np.float32), 8)
    assert len(X_c) == len(np.unique(rows)) and inverse is not None
    assert_array_equal(X_c[inverse], X)
    assert w_c.sum() == len(X)
    km = KMeans(8, init=init).fit(X)
    counts = np.bincount(rows, minlength=500).astype(np.float32)
    ref = KMeans(8, init=init).fit(points, sample_weight=counts)
    assert_allclose(km.cluster_centers_, ref.cluster_centers_, rtol=1e-6)
    assert km.n_iter_ == ref.n_iter_
    assert km.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)
    assert_array_equal(km.labels_, ref.labels_[rows])
    # Mostly distinct rows, or too few of them, are left as they are.
    assert _lloyd.collapse_duplicates(X[:1000], np.ones(1000, np.float32), 8)[2] is None
    distinct = rng.random((20_000, 3)).astype(np.float32)
    assert _lloyd.collapse_duplicates(distinct, np.ones(20_000, np.float32), 8)[2] is None
    # Weights whose sums float32 would round are not collapsed.
    w = np.full(len(X), 0.1, np.float32)
    assert _lloyd.collapse_duplicates(X, w, 8)[2] is None


def test_zero_weight_rows_do_not_move_centres():
    X = blobs(n_samples=300, seed=7)
    outliers = np.full((5, 3), 1000.0)
    init = X[:4].copy()
    plain = KMeans(n_clusters=4, init=init).fit(X)
    padded = KMeans(n_clusters=4, init=init).fit(
        np.vstack([X, outliers]), sample_weight=np.r_[np.ones(300), np.zeros(5)])
    assert_allclose(plain.cluster_centers_, padded.cluster_centers_)


def test_float32_close_to_float64():
    X = blobs(n_samples=2000, seed=8)
    km64 = KMeans(n_clusters=5, random_state=0).fit(X)
    km32 = KMeans(n_clusters=5, random_state=0).fit(X.astype(np.float32))
    assert km32.cluster_centers_.dtype == np.float32
    assert km64.cluster_centers_.dtype == np.float64
    assert_allclose(km32.cluster_centers_, km64.cluster_centers_, rtol=1e-4, atol=1e-4)
    assert km32.inertia_ == pytest.approx(km64.inertia_, rel=1e-4)


def test_same_result_with_one_or_two_threads():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has a single thread here: nothing to compare")
    X = blobs(n_samples=200_000, seed=10, dtype=np.float32)  # many chunks
    w = np.random.default_rng(4).uniform(0.5, 1.5, len(X)).astype(np.float32)
    before = numba.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            km = KMeans(n_clusters=8, random_state=1).fit(X, sample_weight=w)
            results.append((km.cluster_centers_, km.labels_, km.inertia_, km.n_iter_))
    finally:
        numba.set_num_threads(before)
    (c1, l1, i1, n1), (c2, l2, i2, n2) = results
    assert_array_equal(c1, c2)
    assert_array_equal(l1, l2)
    assert i1 == i2 and n1 == n2


def test_deterministic_for_a_seed_and_different_across_seeds():
    X = blobs(n_samples=1000, n_centers=20, seed=11)
    a = KMeans(n_clusters=10, random_state=5).fit(X)
    b = KMeans(n_clusters=10, random_state=5).fit(X)
    c = KMeans(n_clusters=10, random_state=6).fit(X)
    assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert not np.array_equal(a.cluster_centers_, c.cluster_centers_)


def test_n_init_keeps_the_lowest_inertia():
    X = blobs(n_samples=800, n_centers=12, seed=12)
    best = KMeans(n_clusters=8, init="random", n_init=5,
                  random_state=np.random.default_rng(0)).fit(X)
    rng = np.random.default_rng(0)
    singles = [KMeans(n_clusters=8, init="random", n_init=1, random_state=rng).fit(X).inertia_
               for _ in range(5)]
    assert best.inertia_ == min(singles)
    assert len(set(singles)) > 1  # the runs really differ


def test_inputs_are_not_modified():
    X = blobs(n_samples=500, seed=13, dtype=np.float32)
    w = np.random.default_rng(5).uniform(0, 2, len(X)).astype(np.float32)
    init = X[:4].copy()
    copies = X.copy(), w.copy(), init.copy()
    km = KMeans(n_clusters=4, init=init).fit(X, sample_weight=w)
    km.predict(X), km.transform(X), km.score(X, sample_weight=w)
    for original, copy in zip((X, w, init), copies):
        assert_array_equal(original, copy)


def test_predict_transform_score_agree_with_fit():
    X = blobs(n_samples=700, n_features=4, seed=14)  # e.g. RGBA
    km = KMeans(n_clusters=6, random_state=0).fit(X)
    assert_array_equal(km.predict(X), km.labels_)
    assert_array_equal(km.fit_predict(X), km.labels_)
    D = km.transform(X)
    assert D.shape == (700, 6)
    expected = np.sqrt(((X[:, None, :] - km.cluster_centers_[None]) ** 2).sum(axis=2))
    assert_allclose(D, expected, rtol=1e-10)
    assert_array_equal(D.argmin(axis=1), km.labels_)
    assert km.score(X) == pytest.approx(-km.inertia_)


def test_history_records_every_iteration():
    X = blobs(n_samples=1000, seed=15)
    km = KMeans(n_clusters=5, random_state=2, record_history=True).fit(X)
    assert len(km.history_) == km.n_iter_ + 1
    assert_array_equal(km.history_[-1].centers, km.cluster_centers_)
    inertias = [r.inertia for r in km.history_]
    assert inertias[-1] == pytest.approx(km.inertia_)
    assert all(b <= a * (1 + 1e-12) for a, b in itertools.pairwise(inertias))
    assert not hasattr(KMeans(n_clusters=5).fit(X), "history_")


def test_integer_input_becomes_float64():
    X = (blobs(n_samples=200, seed=16) * 10).astype(np.int64)
    km = KMeans(n_clusters=3, random_state=0).fit(X)
    assert km.cluster_centers_.dtype == np.float64


def test_kernels_are_cached_module_level_functions():
    # Every jitted function of the kernel modules, found rather than listed,
    # so a new kernel cannot be missed. cache=True gives a FunctionCache,
    # cache=False a NullCache ("cache" is not among targetoptions at all).
    import importlib

    from numba.core.registry import CPUDispatcher

    kernels = []
    for module in ("_kernels", "_kernels_minibatch", "_kernels_dither",
                   "_kernels_seeding", "_kernels_colors"):
        module = importlib.import_module(f"kmeans_core.{module}")
        kernels += [(module.__name__, name, value) for name, value in vars(module).items()
                    if isinstance(value, CPUDispatcher)
                    and value.py_func.__module__ == module.__name__]
    assert len(kernels) >= 12
    for module, name, kernel in kernels:
        assert type(kernel._cache).__name__ == "FunctionCache", (module, name)


def test_import_does_not_load_sklearn_or_matplotlib():
    code = ("import sys, kmeans_core; "
            "print(sorted(m for m in ('sklearn', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_y_is_ignored_as_in_scikit_learn():
    # scikit-learn's pipelines call fit(X, y): y must not be taken as weights
    # (labels 0 would then be rows of weight 0).
    X = blobs(n_samples=300, seed=30)
    y = np.arange(300) % 3
    plain = KMeans(n_clusters=3, random_state=0).fit(X)
    with_y = KMeans(n_clusters=3, random_state=0).fit(X, y)
    assert_array_equal(with_y.cluster_centers_, plain.cluster_centers_)
    assert_array_equal(KMeans(3, random_state=0).fit_predict(X, y), plain.labels_)
    assert_array_equal(KMeans(3, random_state=0).fit_transform(X, y),
                       plain.transform(X))
    assert plain.score(X, y) == plain.score(X)


# -- errors name the offending value ---------------------------------------------


X_OK = np.arange(20, dtype=np.float64).reshape(10, 2)


@pytest.mark.parametrize("params, X, weight, message", [
    ({"n_clusters": 0}, X_OK, None, "n_clusters=0 must be >= 1"),
    ({"n_clusters": 11}, X_OK, None, "n_clusters=11 exceeds n_samples=10"),
    ({"n_clusters": 2.5}, X_OK, None, "n_clusters=2.5 must be an integer"),
    ({"n_clusters": 2}, X_OK.ravel(), None, r"must be 2-D .* ndim=1"),
    ({"n_clusters": 2}, X_OK[None], None, "ndim=3"),
    ({"n_clusters": 2}, np.empty((0, 3)), None, r"X is empty: 0 sample\(s\) \(shape=\(0, 3\)\)"),
    ({"n_clusters": 2}, np.where(X_OK == 7, np.nan, X_OK), None, "NaN or infinity .*row 3"),
    ({"n_clusters": 2}, np.where(X_OK == 0, np.inf, X_OK), None, "NaN or infinity .*row 0"),
    ({"n_clusters": 2, "init": "kmeans"}, X_OK, None, "init='kmeans' is not"),
    ({"n_clusters": 2, "init": np.zeros((3, 2))}, X_OK, None,
     r"init array has shape \(3, 2\); expected .* \(2, 2\)"),
    ({"n_clusters": 2, "init": np.zeros((2, 5))}, X_OK, None, r"shape \(2, 5\)"),
    ({"n_clusters": 2}, X_OK, -np.ones(10), r"sample_weight\[0\]=-1.0"),
    ({"n_clusters": 2}, X_OK, np.ones(9), r"sample_weight has shape \(9,\)"),
    ({"n_clusters": 2}, X_OK, np.zeros(10), "sums to 0"),
    ({"n_clusters": 2, "max_iter": 0}, X_OK, None, "max_iter=0 must be >= 1"),
    ({"n_clusters": 2, "tol": -1}, X_OK, None, "tol=-1 must be a number >= 0"),
    ({"n_clusters": 2, "n_init": 0}, X_OK, None, "n_init=0 must be >= 1"),
    ({"n_clusters": 2, "random_state": "x"}, X_OK, None, "random_state='x'"),
])
def test_bad_input_raises_value_error_naming_it(params, X, weight, message):
    with pytest.raises(ValueError, match=message):
        KMeans(**params).fit(X, sample_weight=weight)


def test_predict_checks_fitted_and_features():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        KMeans(2).predict(X_OK)
    km = KMeans(2, random_state=0).fit(X_OK)
    with pytest.raises(ValueError, match="X has 3 features, but KMeans is expecting 2"):
        km.predict(np.zeros((4, 3)))


def test_init_array_with_n_init_warns():
    with pytest.warns(RuntimeWarning, match="n_init=3 ignored"):
        KMeans(2, init=X_OK[:2], n_init=3).fit(X_OK)


def test_no_warning_on_a_normal_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        KMeans(3, random_state=0).fit(blobs(n_samples=300))


def test_kmeans_plusplus_continues_from_given_centres():
    X = blobs(n_samples=1500, seed=22)
    w = np.ones(len(X))
    # 3 and 7 centres both draw 2 + int(ln k) = 3 candidates per step.
    full = _lloyd.kmeans_plusplus(X, 7, w, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    first = _lloyd.kmeans_plusplus(X, 3, w, rng)
    more = _lloyd.kmeans_plusplus(X, 7, w, rng, start=first)
    assert_array_equal(more[:3], first)
    assert_array_equal(more, full)  # the same draws, continued


def test_init_size_seeds_on_a_weighted_sample():
    X = blobs(n_samples=20_000, n_centers=8, seed=23)
    counts = np.random.default_rng(6).integers(1, 4, len(X))
    full = KMeans(n_clusters=8, random_state=0).fit(X, sample_weight=counts)
    sampled = KMeans(n_clusters=8, random_state=0, init_size=500).fit(
        X, sample_weight=counts)
    again = KMeans(n_clusters=8, random_state=0, init_size=500).fit(
        X, sample_weight=counts)
    assert_array_equal(sampled.cluster_centers_, again.cluster_centers_)
    # Seeded on 500 rows, then Lloyd on all rows: as good a fit (median of
    # 5 seeds: a single k-means++ run can land in a worse local minimum).
    full_runs = [KMeans(n_clusters=8, random_state=s).fit(X, sample_weight=counts)
                 .inertia_ for s in range(5)]
    sampled_runs = [KMeans(n_clusters=8, random_state=s, init_size=500)
                    .fit(X, sample_weight=counts).inertia_ for s in range(5)]
    assert np.median(sampled_runs) <= 1.05 * np.median(full_runs)
    # A sample at least as large as X is X itself.
    whole = KMeans(n_clusters=8, random_state=0, init_size=len(X)).fit(
        X, sample_weight=counts)
    assert_array_equal(whole.cluster_centers_, full.cluster_centers_)


def test_init_size_below_n_clusters_is_refused():
    with pytest.raises(ValueError, match="init_size=3 must be >= 4"):
        KMeans(n_clusters=4, init_size=3).fit(X_OK)
