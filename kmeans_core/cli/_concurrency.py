"""Running the jobs: in this process, or in ``--workers`` worker processes."""

import os
import signal

from ._compress import compress_file
from ._report import EXIT_INTERNAL, failed

_IN_JOB = False


def _worker_sigint(signum, frame):
    # Ctrl-C reaches every process of the terminal's group. A worker between
    # jobs ignores it (else multiprocessing prints a traceback); a worker in a
    # job stops, removing its temporary file, and the parent reports 130.
    if _IN_JOB:
        raise KeyboardInterrupt


def _init_worker(n_threads):
    signal.signal(signal.SIGINT, _worker_sigint)
    try:
        import numba

        numba.set_num_threads(max(1, min(n_threads, numba.config.NUMBA_NUM_THREADS)))
    except Exception:  # noqa: BLE001, S110 - thread count is only a performance hint
        pass


def _compress_in_worker(job):
    global _IN_JOB
    _IN_JOB = True
    try:
        return compress_file(job)
    finally:
        _IN_JOB = False


def run_jobs(jobs, workers):
    """Yield the FileReport of each job as it completes."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield compress_file(job)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    n_workers = min(workers, len(jobs))
    threads = max(1, (os.cpu_count() or 1) // n_workers)
    executor = ProcessPoolExecutor(
        n_workers, initializer=_init_worker, initargs=(threads,)
    )
    try:
        futures = [executor.submit(_compress_in_worker, job) for job in jobs]
        for future in as_completed(futures):
            job = jobs[futures.index(future)]
            try:
                yield future.result()
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - a worker died (killed, out of memory)
                yield failed(job.input, job.output, EXIT_INTERNAL,
                              f"internal error: worker failed: {type(exc).__name__}")
    except BaseException:
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    executor.shutdown(wait=True)


