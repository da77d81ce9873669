"""Running the assignment on several threads.

The kernels in ``_kernels.py`` are serial and release the GIL. The
assignment takes every ``step``-th chunk of the rows from ``first`` on, so
thread ``t`` of ``T`` runs ``first=t, step=T`` (interleaved chunks spread
work that is unevenly spread over the rows). Every chunk writes only its own
rows and slots, so the result does not depend on the number of threads, which
is numba's (``numba.set_num_threads``; see ``n_threads``).

A ``Team`` is the calling thread and ``T - 1`` helper threads, started for
one k-means run. Between tasks a helper polls a shared counter without the
GIL (``_kernels.serve_assign_chunks``) instead of sleeping: a Lloyd iteration
on a photo's colours takes about a millisecond, and waking a sleeping thread
costs a good part of that on a virtual machine (the idle virtual CPU halts,
and the host takes its time to run it again): Lloyd on china.jpg at k = 64
took 69.6 ms on one thread, 61 ms on two with a thread pool's sleeping
workers, 38 ms with polling helpers. A helper with no task for
``_SPIN_SECONDS`` sleeps on an event, and the next task wakes it.

A helper's share of a task is run by whichever thread claims it first
(``_atomics.claim``): when the calling thread is done with its own share
and the helper has not started (the operating system has not run it yet,
on a machine busy with other work), the caller runs it too.
"""

import threading
import time
import weakref
from contextlib import contextmanager

import numba
import numpy as np
from numba.np.ufunc import parallel as _numba_parallel

from . import _atomics, _kernels
from ._kernels import CLAIMED, DONE, POSTED, SERVE_STOPPED, SERVING, TASK_ARG

# A helper polls this long after its last task before it sleeps ...
_SPIN_SECONDS = 0.005
# ... and the calling thread returns to Python this often while it waits for
# the helpers, to see signals (Ctrl-C).
_WAIT_SECONDS = 0.0002
# A sleeping helper looks this often whether its team is still referenced.
_ORPHAN_CHECK_SECONDS = 1.0

_spins_per_second = None


# Limits below numba's count: for the whole process (``limit_process``, a
# worker process of the command line), and for the calling thread only
# (``at_most``, for work too small to share).
_process_limit = None
_local = threading.local()


def n_threads():
    """The number of threads numba is allowed to use, within ``limit_process``
    and ``at_most``.

    numba's count (``numba.set_num_threads``) is read without starting
    numba's threading layer, which nothing here uses: ``numba.get_num_threads``
    would start it (about 22 ms a process). Until a ``numba.set_num_threads``
    has started it, the count is numba's default, ``NUMBA_NUM_THREADS``.
    """
    if getattr(_numba_parallel, "_is_initialized", True):
        n = numba.get_num_threads()
    else:
        n = numba.config.NUMBA_NUM_THREADS
    for limit in (_process_limit, getattr(_local, "limit", None)):
        if limit is not None:
            n = min(n, limit)
    return max(1, n)


def limit_process(n):
    """Let every k-means of this process use at most ``n`` threads."""
    global _process_limit
    _process_limit = max(1, int(n))


@contextmanager
def at_most(n):
    """Within this block, k-means runs of the calling thread use at most
    ``n`` threads."""
    saved = getattr(_local, "limit", None)
    _local.limit = n if saved is None else min(saved, n)
    try:
        yield
    finally:
        _local.limit = saved


def _spins(seconds):
    """How many polls of ``_atomics.spin_while`` take about ``seconds``
    (measured on the first call, on the calling thread alone)."""
    global _spins_per_second
    if _spins_per_second is None:
        control = np.zeros(1, dtype=np.int64)
        _atomics.spin_while(control, 0, 0, 1000)  # compiled or loaded
        n_spins = 100_000
        start = time.perf_counter()
        _atomics.spin_while(control, 0, 0, n_spins)
        _spins_per_second = n_spins / max(time.perf_counter() - start, 1e-6)
    return max(1000, int(seconds * _spins_per_second))


class Team:
    """``_kernels.assign_chunks`` on ``n_threads`` threads, over fixed buffers.

    ``args`` are the arguments of ``assign_chunks`` without ``prune``,
    ``first`` and ``step``; they must stay the same arrays for the team's
    life (their contents change). ``close`` stops the helpers.
    """

    def __init__(self, args, n_threads):
        self.args = args
        self.n_threads = n_threads
        # One 64-byte row per helper: POSTED, DONE, SERVING, TASK_ARG, CLAIMED.
        self.control = np.zeros((max(n_threads - 1, 1), 8), dtype=np.int64)
        self.wake = [threading.Event() for _ in range(n_threads - 1)]
        self.posted = 0
        # Measured here, before any helper runs, so that none disturbs it.
        n_spins = _spins(_SPIN_SECONDS) if n_threads > 1 else 0
        # The helpers hold the team weakly: a team dropped without ``close``
        # (no finaliser: a stop signal raised inside one would be lost) is
        # collected, and its sleeping helpers see that and leave.
        team = weakref.ref(self)
        for t in range(n_threads - 1):
            self.control[t, SERVING] = 1
            threading.Thread(target=_serve,
                             args=(team, args, self.control[t], self.wake[t],
                                   t + 1, n_threads, n_spins),
                             daemon=True, name=f"kmeans-helper-{t + 1}").start()

    def _share(self, prune, first):
        """Thread ``first``'s share of an assignment, on the calling thread."""
        a = self.args
        _kernels.assign_chunks(*a[:4], prune, *a[4:], first, self.n_threads)

    def run(self, prune):
        """One assignment, every thread on its share of the chunks."""
        if self.n_threads <= 1:
            self._share(prune, 0)
            return
        self.posted += 1
        for t in range(self.n_threads - 1):
            control = self.control[t]
            _atomics.store(control, TASK_ARG, int(prune))
            _atomics.store(control, POSTED, self.posted)
            # The helper clears SERVING, then looks for a task once more:
            # sequentially consistent, one of the two sees the other.
            if not _atomics.load(control, SERVING):
                self.wake[t].set()
        try:
            self._share(prune, 0)
            # A helper that has not started its share yet (descheduled on
            # a machine busy with other work) does not keep this thread
            # waiting: whichever claims the share first runs it.
            for t in range(self.n_threads - 1):
                if _atomics.claim(self.control[t], CLAIMED, self.posted - 1,
                                  self.posted):
                    self._share(prune, t + 1)
                    _atomics.store(self.control[t], DONE, self.posted)
        finally:  # the helpers write the same buffers: let them finish
            self._wait()

    def _wait(self):
        """Wait for the helpers' last task, even through a Ctrl-C (raised after)."""
        n_spins = _spins(_WAIT_SECONDS)
        interrupted = None
        for t in range(self.n_threads - 1):
            while True:
                try:
                    if _atomics.spin_while(self.control[t], DONE, self.posted - 1,
                                           n_spins) == self.posted:
                        break
                except KeyboardInterrupt as exc:
                    interrupted = exc
        if interrupted is not None:
            raise interrupted

    def close(self):
        """Stop the helpers (they finish no task: none is running)."""
        for t in range(self.n_threads - 1):
            _atomics.store(self.control[t], POSTED, -1)
            self.wake[t].set()
        self.n_threads = 1


def _serve(team, args, control, wake, first, n_threads, n_spins):
    """A helper's life: run its share of each task posted in ``control``
    until told to stop, or until its ``team`` (a weak reference) is gone."""
    while True:
        status = _kernels.serve_assign_chunks(control, n_spins, *args, first,
                                              n_threads)
        if status == SERVE_STOPPED:
            return
        while not wake.wait(_ORPHAN_CHECK_SECONDS):
            if team() is None:
                return
        wake.clear()
        _atomics.store(control, SERVING, 1)
