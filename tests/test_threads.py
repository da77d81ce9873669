"""The helper threads of the assignment (``_threads.Team``)."""

import gc
import threading
import time
import weakref

import numba
import numpy as np
import pytest
from numpy.testing import assert_array_equal

from kmeans_core import _atomics, _kernels, _lloyd, _threads

pytestmark = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                                reason="numba has a single thread here")


@pytest.fixture
def two_threads():
    before = numba.get_num_threads()
    numba.set_num_threads(2)
    yield
    numba.set_num_threads(before)


def _helpers_alive():
    return [t for t in threading.enumerate() if t.name.startswith("kmeans-helper")]


def _data(n_samples=20_000, n_clusters=24, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 255, (n_samples, 3)).astype(np.float32)
    w = rng.uniform(0.5, 2.0, n_samples).astype(np.float32)
    return X, w, X[rng.choice(n_samples, n_clusters, replace=False)].copy()


def _full_search(X, w, centers):
    labels = np.empty(len(X), np.int32)
    distances = np.empty(len(X), X.dtype)
    _kernels.assign_labels(X, w, centers, labels, distances)
    return labels


def test_atomics_load_and_store():
    control = np.zeros(4, dtype=np.int64)
    _atomics.store(control, 2, 7)
    assert control.tolist() == [0, 0, 7, 0]
    assert _atomics.load(control, 2) == 7
    # Returns at once when the value differs, after n_spins polls otherwise.
    assert _atomics.spin_while(control, 2, 0, 10**12) == 7
    assert _atomics.spin_while(control, 2, 7, 100) == 7


def test_team_labels_equal_a_full_search_at_every_step(two_threads):
    X, w, centers = _data()
    moved = np.zeros(len(centers))
    with _lloyd.Assigner(X, w, len(centers)) as assigner:
        assert assigner.n_chunks >= 4
        rng = np.random.default_rng(1)
        for _ in range(6):
            assigner.assign(centers, moved)
            assert assigner._team.n_threads == 2
            assert_array_equal(assigner.labels, _full_search(X, w, centers))
            step = rng.normal(0, 2, centers.shape).astype(np.float32)
            centers = centers + step
            moved = np.sqrt((step.astype(np.float64) ** 2).sum(axis=1))


def test_a_sleeping_helper_is_woken_by_the_next_task(two_threads, monkeypatch):
    # The helper polls for a few microseconds only, then sleeps on its
    # event; each task must wake it and come back complete. The caller may
    # not take the helper's share, so only a woken helper can finish it.
    monkeypatch.setattr(_threads, "_SPIN_SECONDS", 0.0)
    monkeypatch.setattr(_threads._atomics, "claim", lambda *args: False)
    X, w, centers = _data(seed=3)
    failures, labels = [], []

    def three_tasks_after_sleeps():
        c = centers
        with _lloyd.Assigner(X, w, len(c)) as assigner:
            assigner.assign(c, np.zeros(len(c)), prune=False)
            team = assigner._team
            for step in range(3):
                deadline = time.monotonic() + 10  # however slow the machine
                while team.control[0, _kernels.SERVING] and time.monotonic() < deadline:
                    time.sleep(0.01)
                if team.control[0, _kernels.SERVING]:
                    failures.append(f"step {step}: the helper never slept")
                c = c + np.float32(0.5)
                assigner.assign(c, np.full(len(c), 0.5 * np.sqrt(3)))
                if team.control[0, _kernels.DONE] != step + 2:
                    failures.append(f"step {step}: the task was not counted")
                labels.append((c, assigner.labels.copy()))

    worker = threading.Thread(target=three_tasks_after_sleeps, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "a sleeping helper was not woken"
    assert failures == []
    assert len(labels) == 3
    for c, got in labels:
        assert_array_equal(got, _full_search(X, w, c))


def test_helpers_stop_when_the_run_ends(two_threads):
    X, w, centers = _data(seed=5)
    before = set(_helpers_alive())
    _lloyd.lloyd(X, w, centers, max_iter=5, tol=0.0)
    deadline = time.monotonic() + 5
    while set(_helpers_alive()) - before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not set(_helpers_alive()) - before


def test_helpers_of_an_assigner_dropped_unclosed_leave(two_threads, monkeypatch):
    # No finaliser closes the team (a stop signal raised inside one is
    # lost: CI once printed "Exception ignored in Assigner.__del__"); the
    # sleeping helpers find their team collected and leave on their own.
    monkeypatch.setattr(_threads, "_ORPHAN_CHECK_SECONDS", 0.05)
    assert not hasattr(_lloyd.Assigner, "__del__")
    assert not hasattr(_threads.Team, "__del__")
    X, w, centers = _data(seed=7)
    before = set(_helpers_alive())
    assigner = _lloyd.Assigner(X, w, len(centers))
    assigner.assign(centers, np.zeros(len(centers)), prune=False)
    mine = set(_helpers_alive()) - before
    assert len(mine) == 1
    team = weakref.ref(assigner._team)
    del assigner
    gc.collect()
    assert team() is None, "a helper keeps its team alive"
    deadline = time.monotonic() + 10
    while mine & set(_helpers_alive()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not mine & set(_helpers_alive())


def test_one_thread_starts_no_helper():
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        X, w, centers = _data(seed=6)
        # Helpers of earlier tests may still be on their way out: only new
        # ones count.
        helpers = set(_helpers_alive())
        with _lloyd.Assigner(X, w, len(centers)) as assigner:
            assigner.assign(centers, np.zeros(len(centers)), prune=False)
            assert assigner._team.n_threads == 1
            assert not set(_helpers_alive()) - helpers
    finally:
        numba.set_num_threads(before)


def test_the_caller_runs_a_share_its_helper_has_not_started(two_threads, monkeypatch):
    # A helper that never gets to run (on a machine busy with other work)
    # must not keep the calling thread waiting: the caller claims the
    # helper's share and runs it itself, and the result is the same.
    release = threading.Event()

    def descheduled(control, n_spins, *args):
        release.wait()
        return _kernels.SERVE_STOPPED

    monkeypatch.setattr(_threads._kernels, "serve_assign_chunks", descheduled)
    X, w, centers = _data(seed=4)
    moved = np.full(len(centers), 0.5 * np.sqrt(3))
    results = []

    def two_assignments():
        with _lloyd.Assigner(X, w, len(centers)) as assigner:
            assigner.assign(centers, np.zeros(len(centers)), prune=False)
            results.append(assigner.labels.copy())
            assigner.assign(centers + np.float32(0.5), moved)
            results.append(assigner.labels.copy())
            results.append(assigner._team.control[0].copy())

    # On a thread, so that a caller left waiting fails the test, not hangs it.
    worker = threading.Thread(target=two_assignments, daemon=True)
    worker.start()
    worker.join(timeout=30)
    release.set()
    assert not worker.is_alive(), "the caller waited for a helper that never ran"
    assert_array_equal(results[0], _full_search(X, w, centers))
    assert_array_equal(results[1], _full_search(X, w, centers + np.float32(0.5)))
    control = results[2]
    assert control[_kernels.CLAIMED] == control[_kernels.DONE] == 2


def test_atomics_claim_is_compare_and_swap():
    control = np.zeros(2, dtype=np.int64)
    assert _atomics.claim(control, 1, 0, 5)
    assert not _atomics.claim(control, 1, 0, 6)  # someone else was first
    assert control.tolist() == [0, 5]


def test_thread_count_leaves_numbas_threading_layer_alone():
    # A process that never calls numba.set_num_threads runs its k-means on
    # NUMBA_NUM_THREADS threads without starting numba's threading layer
    # (numba.get_num_threads would, about 22 ms, for threads nothing uses).
    import subprocess
    import sys

    script = (
        "import numpy as np\n"
        "import numba.np.ufunc.parallel as layer\n"
        "from kmeans_core import KMeans, _threads\n"
        "X = np.random.default_rng(0).uniform(0, 255, (20000, 3)).astype(np.float32)\n"
        "KMeans(8, n_init=1, random_state=0).fit(X)\n"
        "print(_threads.n_threads(), layer._is_initialized)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(numba.config.NUMBA_NUM_THREADS), "False"]


def test_thread_limits_of_the_process_and_of_a_block(two_threads, monkeypatch):
    assert _threads.n_threads() == 2
    with _threads.at_most(1):
        assert _threads.n_threads() == 1
        seen = []
        other = threading.Thread(target=lambda: seen.append(_threads.n_threads()))
        other.start()
        other.join()
        assert seen == [2]  # the block limits its own thread only
        with _threads.at_most(2):
            assert _threads.n_threads() == 1  # a block never raises a limit
    assert _threads.n_threads() == 2
    monkeypatch.setattr(_threads, "_process_limit", None)
    _threads.limit_process(1)  # a worker process of the command line
    assert _threads.n_threads() == 1
    X, w, centers = _data()
    with _lloyd.Assigner(X, w, len(centers)) as assigner:
        assigner.assign(centers, np.zeros(len(centers)), prune=False)
        assert assigner._team.n_threads == 1
    numba.set_num_threads(1)
    assert _threads.n_threads() == 1  # numba's own setting still counts
