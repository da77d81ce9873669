"""Running a chunked kernel on several threads.

The kernels in ``_kernels.py`` are serial and release the GIL; a kernel that
works on the chunks ``chunk_lo`` to ``chunk_hi`` of its rows is run here on
contiguous ranges of chunks, one range per thread (``run_chunks``), and one
that takes every ``step``-th chunk from ``first`` on interleaved chunks
(``run_interleaved``). Every chunk writes only its own rows and slots, so
the result does not depend on the number of threads. The number of threads
is numba's (``numba.set_num_threads``).
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numba

_pool = None
_pool_size = 0


def n_threads():
    """The number of threads numba is allowed to use."""
    return numba.get_num_threads()


def _executor(size):
    global _pool, _pool_size
    if _pool is None or _pool_size < size:
        if _pool is not None:
            _pool.shutdown(wait=False)
        _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="kmeans")
        _pool_size = size
    return _pool


def _forget_pool():
    """A forked child has none of its parent's threads: start afresh."""
    global _pool, _pool_size
    _pool, _pool_size = None, 0


os.register_at_fork(after_in_child=_forget_pool)


def _run(kernel, calls):
    """``kernel(*call)`` for every call, the first in the calling thread."""
    pool = _executor(len(calls) - 1)
    futures = [pool.submit(kernel, *call) for call in calls[1:]]
    try:
        kernel(*calls[0])
    finally:  # the other threads write the same buffers: let them finish
        for future in futures:
            future.result()


def run_chunks(kernel, n_chunks, *args, min_chunks_per_thread=2):
    """``kernel(*args, chunk_lo, chunk_hi)`` over all ``n_chunks`` chunks.

    The chunks are split into one contiguous range per thread (fewer threads
    when there are fewer than ``min_chunks_per_thread`` chunks each); the
    calling thread runs the first range.
    """
    threads = min(n_threads(), n_chunks // min_chunks_per_thread)
    if threads <= 1:
        kernel(*args, 0, n_chunks)
        return
    bounds = [n_chunks * t // threads for t in range(threads + 1)]
    _run(kernel, [(*args, bounds[t], bounds[t + 1]) for t in range(threads)])


def run_interleaved(kernel, n_chunks, *args, min_chunks_per_thread=2):
    """``kernel(*args, first, step)`` over all ``n_chunks`` chunks.

    Thread ``t`` of ``T`` runs the chunks ``t, t + T, t + 2T, ...``
    (``first=t, step=T``), which spreads work that is unevenly spread over
    the rows; the calling thread runs ``first=0``.
    """
    threads = min(n_threads(), n_chunks // min_chunks_per_thread)
    if threads <= 1:
        kernel(*args, 0, 1)
        return
    _run(kernel, [(*args, t, threads) for t in range(threads)])
