"""The assignment on numba's threads (``_parallel.py``)."""

import os
import signal
import subprocess
import sys
import threading

import numba
import numpy as np
import pytest
from numpy.testing import assert_array_equal

from kmeans_core import KMeans, _kernels, _lloyd, _parallel

two_threads_needed = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                                        reason="numba has a single thread here")


@pytest.fixture
def two_threads():
    before = numba.get_num_threads()
    numba.set_num_threads(2)
    yield
    numba.set_num_threads(before)


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


@two_threads_needed
@pytest.mark.parametrize("threads", [1, 2])
def test_shares_give_the_labels_of_a_full_search_at_every_step(two_threads, threads):
    X, w, centers = _data()
    moved = np.zeros(len(centers))
    with _parallel.at_most(threads):
        assigner = _lloyd.Assigner(X, w, len(centers))
    assert assigner.n_chunks >= 4 and assigner.n_shares == threads
    rng = np.random.default_rng(1)
    for _ in range(6):
        assigner.assign(centers, moved)
        assert_array_equal(assigner.labels, _full_search(X, w, centers))
        step = rng.normal(0, 2, centers.shape).astype(np.float32)
        centers = centers + step
        moved = np.sqrt((step.astype(np.float64) ** 2).sum(axis=1))


def test_never_more_shares_than_half_the_chunks(two_threads):
    X, w, centers = _data(n_samples=3000)  # 3 chunks of 1024 rows
    assert _lloyd.Assigner(X, w, len(centers)).n_shares == 1


@two_threads_needed
def test_thread_limits_of_the_process_and_of_a_block(two_threads, monkeypatch):
    assert _parallel.n_threads() == 2
    with _parallel.at_most(1):
        assert _parallel.n_threads() == 1
        seen = []
        other = threading.Thread(target=lambda: seen.append(_parallel.n_threads()))
        other.start()
        other.join()
        assert seen == [2]  # the block limits its own thread only
        with _parallel.at_most(2):
            assert _parallel.n_threads() == 1  # a block never raises a limit
    assert _parallel.n_threads() == 2
    monkeypatch.setattr(_parallel, "_process_limit", None)
    _parallel.limit_process(1)  # a worker process of the command line
    assert _parallel.n_threads() == 1
    X, w, centers = _data()
    assert _lloyd.Assigner(X, w, len(centers)).n_shares == 1
    monkeypatch.setattr(_parallel, "_process_limit", None)
    monkeypatch.setenv("KMEANS_CORE_THREADS", "1")  # the off switch
    assert _parallel.n_threads() == 1
    monkeypatch.setenv("KMEANS_CORE_THREADS", "many")  # not a number: ignored
    assert _parallel.n_threads() == 2
    monkeypatch.delenv("KMEANS_CORE_THREADS")
    numba.set_num_threads(1)
    assert _parallel.n_threads() == 1  # numba's own setting still counts


def _run(script, **env):
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True,
                          text=True, timeout=300, check=False,
                          env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


_FIT_AND_SAY_IF_THE_POOL_STARTED = (
    "import numpy as np\n"
    "from kmeans_core import KMeans, _parallel\n"
    "X = np.random.default_rng(0).uniform(0, 255, (20000, 3)).astype(np.float32)\n"
    "print(_parallel.n_threads(), _parallel.pool_started())\n"
    "KMeans(8, n_init=1, random_state=0).fit(X)\n"
    "print(_parallel.pool_started())\n"
)


@two_threads_needed
def test_the_thread_count_is_read_without_starting_numbas_pool():
    # Reading the count does not start numba's thread pool (about 22 ms);
    # the first assignment in shares does.
    out = _run(_FIT_AND_SAY_IF_THE_POOL_STARTED)
    assert out == [str(numba.config.NUMBA_NUM_THREADS), "False", "True"]


def test_the_off_switch_never_starts_numbas_pool():
    out = _run(_FIT_AND_SAY_IF_THE_POOL_STARTED, KMEANS_CORE_THREADS="1")
    assert out == ["1", "False", "False"]


@two_threads_needed
def test_an_interrupted_fit_leaves_the_next_one_working(two_threads):
    # Ctrl-C during fits on two threads comes out as KeyboardInterrupt (where
    # the parallel call returns), and the next fit gives the result of an
    # uninterrupted one. A thread sends SIGINT every few milliseconds until
    # one lands; the handler raises for the first only, so a signal still on
    # its way when the sender stops cannot break the fit after.
    X, _, _ = _data(n_samples=60_000)
    model = KMeans(64, n_init=1, random_state=0, tol=0)
    expected = model.fit(X).cluster_centers_.copy()
    landed = threading.Event()

    def raise_once(signum, frame):
        if not landed.is_set():
            landed.set()
            raise KeyboardInterrupt

    def send():
        while not landed.wait(0.003):
            os.kill(os.getpid(), signal.SIGINT)

    previous = signal.signal(signal.SIGINT, raise_once)
    sender = threading.Thread(target=send)
    try:
        sender.start()
        with pytest.raises(KeyboardInterrupt):
            for _ in range(100_000):
                model.fit(X)
        sender.join()
        assert_array_equal(model.fit(X).cluster_centers_, expected)
    finally:
        landed.set()
        sender.join()
        signal.signal(signal.SIGINT, previous)


_SAY_SPIN_COUNT = (
    "import os\n"
    + _FIT_AND_SAY_IF_THE_POOL_STARTED
    + "print(os.environ.get('GOMP_SPINCOUNT'))\n"
)


@two_threads_needed
@pytest.mark.parametrize("env, expected", [
    ({}, _parallel._SPIN_COUNT),  # set before the pool starts
    ({"GOMP_SPINCOUNT": "77"}, "77"),  # the user's own
    ({"OMP_WAIT_POLICY": "passive"}, "None"),  # the user's own policy
])
def test_idle_threads_spin_briefly_unless_the_user_says(env, expected):
    clean = {k: v for k, v in os.environ.items()
             if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    proc = subprocess.run([sys.executable, "-c", _SAY_SPIN_COUNT], capture_output=True,
                          text=True, timeout=300, check=False, env={**clean, **env})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-1] == expected
