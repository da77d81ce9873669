"""How many threads the assignment runs on, and running it on them.

The one runtime mechanism of the library for threads. Its contract:

- **What runs in parallel.** Only the assignment step of Lloyd's iterations
  (``_kernels.assign_chunks``). Its rows are cut into chunks whose size
  depends only on ``n_samples``; share ``t`` of ``T`` takes the chunks
  ``t, t + T, ...`` (interleaved, because a photo's colours come sorted and
  contiguous halves can hold very different work). Each chunk writes only its
  own rows and slots, so the labels and distances do not depend on ``T``.
- **Who runs the shares.** With one share, the calling thread, serially
  (``_kernels.assign_chunks``): numba's thread pool is never started. With
  more, numba's own pool, through ``prange`` (``_kernels.assign_shares``):
  the call returns when every share is done, and a Ctrl-C raises
  ``KeyboardInterrupt`` when it returns (a few milliseconds). No Python
  thread is started and nothing is shared between calls, so nothing can be
  left waiting when a call is interrupted or the interpreter exits.
- **How many.** numba's count (``numba.set_num_threads``,
  ``NUMBA_NUM_THREADS``), lowered by ``limit_process`` (a worker process of
  the command line, which shares the cores with its siblings) and by
  ``at_most`` (the calling thread only, for work too small to share), and
  never more than half the chunks.
- **Fork.** GNU OpenMP (numba's usual pool on Linux) cannot run in a process
  forked from one that started it: a process that forks workers after a
  parallel assignment gives them one thread each (``pool_started``).
- **Waiting between assignments.** GNU OpenMP's threads spin before they
  sleep, 300,000 polls by default. On a machine busy with other work the
  spinning threads take the cores from the ones with work: ``quantize`` of
  china.jpg at k = 256 took 955 ms (median) instead of 47 ms with two other
  processes running. Before numba starts its pool, ``GOMP_SPINCOUNT`` is set
  to ``_SPIN_COUNT`` (10,000 polls, a few microseconds) unless the user set
  it or ``OMP_WAIT_POLICY``: 93 ms under that load, and idle the same as
  the default (48 against 47 ms, ``benchmarks/bench_threads.py``).
- **Off switch.** ``KMEANS_CORE_THREADS=1`` (any whole number caps the count)
  runs every assignment serially on the calling thread.

What it earns (``python benchmarks/bench_threads.py``, 2 cores, idle):
``KMeans.fit`` on china.jpg at k = 256 takes 31.5 ms on two threads against
47.6 ms on one, ``quantize`` 38.0 against 57.3 ms; every row of the report
runs in 0.60 to 0.73 of its one-thread time. On a machine busy with other
work the one-thread time is the better (docs/cli.md, "Threads on a busy
machine").
"""

import os
import threading
from contextlib import contextmanager

import numba
from numba.np.ufunc import parallel as _numba_parallel

from . import _kernels

# Polls of an idle GNU OpenMP thread before it sleeps (see the module notes).
_SPIN_COUNT = "10000"

# Limits below numba's count: for the whole process (``limit_process``) and
# for the calling thread only (``at_most``).
_process_limit = None
_local = threading.local()


def _env_limit():
    value = os.environ.get("KMEANS_CORE_THREADS", "").strip()
    if not value:
        return None
    try:
        return max(1, int(value))
    except ValueError:
        return None


def pool_started():
    """Whether numba's thread pool has started in this process."""
    return bool(getattr(_numba_parallel, "_is_initialized", True))


def n_threads():
    """The number of threads an assignment may use.

    numba's count is read without starting numba's thread pool:
    ``numba.get_num_threads`` would start it (about 22 ms a process). Until
    it has started, the count is numba's default, ``NUMBA_NUM_THREADS``.
    """
    if pool_started():
        n = numba.get_num_threads()
    else:
        n = numba.config.NUMBA_NUM_THREADS
    for limit in (_env_limit(), _process_limit, getattr(_local, "limit", None)):
        if limit is not None:
            n = min(n, limit)
    return max(1, n)


def limit_process(n):
    """Let every assignment of this process use at most ``n`` threads."""
    global _process_limit
    _process_limit = max(1, int(n))


@contextmanager
def at_most(n):
    """Within this block, assignments of the calling thread use at most
    ``n`` threads."""
    saved = getattr(_local, "limit", None)
    _local.limit = n if saved is None else min(saved, n)
    try:
        yield
    finally:
        _local.limit = saved


def n_shares(n_chunks):
    """Shares to cut an assignment of ``n_chunks`` chunks into: ``n_threads``,
    at most half the chunks, at least one."""
    return max(1, min(n_threads(), n_chunks // 2))


def assign(state, prune, shares):
    """``_kernels.assign_chunks`` over all chunks, in ``shares`` shares.

    ``state`` is the tuple of arrays ``assign_chunks`` takes before
    ``prune`` (``_lloyd.Assigner`` holds them).
    """
    if shares <= 1:
        _kernels.assign_chunks(*state, prune, 0, 1)
        return
    if not pool_started() and not (os.environ.get("GOMP_SPINCOUNT")
                                   or os.environ.get("OMP_WAIT_POLICY")):
        os.environ["GOMP_SPINCOUNT"] = _SPIN_COUNT  # read when the pool starts
    _kernels.assign_shares(*state, prune, shares)
