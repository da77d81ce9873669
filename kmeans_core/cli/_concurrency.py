"""Running the jobs, in this process or in ``--workers`` worker processes.

``run_jobs`` starts its own worker processes, each with a pipe to the
parent, and hands each one job at a time: a file not yet handed out is
never started after a stop, and the parent always knows which file each
worker holds. Jobs go out in input order, except the last two per worker,
which go largest input file first (``hand_out_order``).

- Stop (a stop signal in the parent, see ``_signals``): the pool's stop
  callback sends every worker SIGTERM, on which it removes its temporary
  file and exits; one still running after ``_GRACE`` seconds is killed, and
  the temporary files of the jobs it held are removed by the parent. Workers
  ignore SIGINT and SIGHUP themselves (a terminal sends those to the whole
  process group): the parent decides. They are forked with the stop signals
  blocked, and set their own handlers before they unblock them.
- An error in the parent (or ``KeyboardInterrupt`` when ``main`` is called
  as a function): the generator is closed, and the workers are stopped the
  same way before it returns.
- A worker that dies (the out-of-memory killer, a crash in a decoder): the
  file it held fails with exit code 1, a new worker takes its place, and the
  batch goes on.
- A parent that dies without a word (SIGKILL): on Linux each worker asked
  the kernel for SIGTERM when its parent dies (``PR_SET_PDEATHSIG``);
  everywhere, a watcher thread in each worker sees its parent change
  (``os.getppid``) within ``_WATCH`` seconds and stops it the same way.
"""

import os
import signal
import sys
import threading
import time

from .._atomic import remove_leftovers
from . import _signals
from ._report import EXIT_INTERNAL, failed

# Seconds a stopped worker gets to remove its temporary file before SIGKILL.
_GRACE = 1.0
# Seconds between two looks of a worker's watcher at its parent.
_WATCH = 0.25
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
# Workers that may die before taking their first file before the batch
# gives up on them.
_MAX_IDLE_DEATHS = 8


def default_workers(n_jobs):
    """Worker processes for ``n_jobs`` files when ``--workers`` is not given:
    one per core, at most one per file.

    A file's k-means shares two cores through threads, but its decoding,
    colour counting, seeding and PNG encoding run on one: two files at once
    keep both cores busy (20 photos at k = 256: 1.70 s instead of 2.73 s on
    the 2-core development machine).
    """
    return max(1, min(os.cpu_count() or 1, n_jobs))


def run_jobs(jobs, workers):
    """Yield the FileReport of each job as it completes.

    ``workers`` None: ``default_workers``. ``workers`` <= 1 (or one job): in
    this process, in order. Otherwise in ``min(workers, len(jobs))`` worker
    processes (see the module notes); closing the generator early (an
    exception in the caller, a signal) stops and reaps every worker before it
    returns.
    """
    from ._compress import compress_file  # numba: see kmeans_core/__init__

    if workers is None:
        workers = default_workers(len(jobs))
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield compress_file(job)
        return
    yield from _Pool(min(workers, len(jobs))).run(jobs)


def hand_out_order(jobs, n_workers):
    """The order in which ``n_workers`` workers are handed ``jobs``.

    Input order, except that the last ``2 * n_workers`` jobs go by
    decreasing input file size (a stand-in for the work), so that no worker
    is left alone with a large file while the others are done: 20 photos on
    2 workers, simulated with their measured times, end 29 ms sooner (913
    against 942 ms). The reports are still printed in input order.
    """
    tail = 2 * n_workers
    if len(jobs) <= n_workers:
        return list(jobs)

    def size(job):
        try:
            return os.path.getsize(job.input)
        except OSError:
            return 0

    head, last = list(jobs[:-tail]), list(jobs[-tail:])
    return head + sorted(last, key=size, reverse=True)


class _Worker:
    """One worker process, its end of the pipe, and the job it holds."""

    def __init__(self, context, n_threads):
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(child, n_threads, os.getpid()),
            name="kmeans-compress worker", daemon=True)
        with _signals.blocked():  # the worker sets its own handlers first
            self.process.start()
        self.pid = self.process.pid
        child.close()
        self.job = None


class _Pool:
    def __init__(self, n_workers):
        self.n_workers = n_workers
        # Each worker limits its k-means threads so that the workers share the
        # cores, to one if this process has started numba's thread pool
        # (GNU OpenMP cannot run in a child forked after that: _parallel).
        from .._parallel import pool_started

        self.n_threads = 1 if pool_started() else max(1, (os.cpu_count() or 1)
                                                        // n_workers)
        import multiprocessing  # here: a lone input never needs it (8 ms)

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
        self.context = multiprocessing.get_context(method)
        self.workers = []

    def run(self, jobs):
        with _signals.on_stop(self._stop_now):
            yield from self._run(jobs)

    def _run(self, jobs):
        # pop() hands out the jobs in hand_out_order.
        pending = list(reversed(hand_out_order(jobs, self.n_workers)))
        idle_deaths = 0
        try:
            self.workers = [_Worker(self.context, self.n_threads)
                            for _ in range(self.n_workers)]
            while pending or any(w.job is not None for w in self.workers):
                if idle_deaths > _MAX_IDLE_DEATHS:
                    # Workers die before taking any file: renewing them would
                    # go on for ever. The files not started fail instead.
                    for job in reversed(pending):
                        yield failed(job.input, job.output, EXIT_INTERNAL,
                                     "internal error: worker processes keep dying "
                                     "before they start a file")
                    pending = []
                for worker in self.workers:
                    if worker.job is None and pending:
                        worker.job = pending.pop()
                        try:
                            worker.conn.send(worker.job)
                        except OSError:  # died idle: the job was not started
                            pending.append(worker.job)
                            worker.job = None
                            idle_deaths += 1
                ready = _wait([w.conn for w in self.workers]
                              + [w.process.sentinel for w in self.workers])
                for worker in self.workers:
                    report = self._collect(worker, ready)
                    if report is not None:
                        yield report
                # A dead worker is replaced while there is work left for it.
                alive = [w for w in self.workers if w.process.is_alive()
                         or w.job is not None]
                n_new = min(self.n_workers - len(alive), len(pending))
                self.workers = alive + [_Worker(self.context, self.n_threads)
                                        for _ in range(n_new)]
        finally:
            self._stop()

    def _collect(self, worker, ready):
        """The report ``worker`` sent, a failure if it died, or None."""
        if worker.conn in ready:
            try:
                report = worker.conn.recv()
            except (EOFError, OSError):
                report = None  # died: the sentinel says so too
            else:
                worker.job = None
                return report
        if worker.process.sentinel in ready or not worker.process.is_alive():
            worker.process.join()
            job, worker.job = worker.job, None
            if job is not None:
                remove_leftovers(job.targets())
                return failed(job.input, job.output, EXIT_INTERNAL,
                              "internal error: the worker process compressing it "
                              f"died ({_how(worker.process.exitcode)})")
        return None

    def _stop(self):
        """Stop every worker within about ``_GRACE`` seconds; leave nothing."""
        for worker in self.workers:
            worker.conn.close()  # an idle worker sees the end of its pipe
            if worker.process.is_alive():
                _signal(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + _GRACE
        for worker in self.workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                _signal(worker.pid, signal.SIGKILL)
                worker.process.join()
            if worker.job is not None:
                remove_leftovers(worker.job.targets())
        self.workers = []

    def _stop_now(self):
        """``_stop`` for the stop-signal handler, which may have interrupted
        this pool anywhere: system calls on the workers' pids only."""
        workers = list(self.workers)
        for worker in workers:
            _signal(worker.pid, signal.SIGTERM)
        alive, deadline = workers, time.monotonic() + _GRACE
        while alive and time.monotonic() < deadline:
            alive = [w for w in alive if not _reaped(w.pid)]
            if alive:
                time.sleep(0.005)
        for worker in alive:
            _signal(worker.pid, signal.SIGKILL)
        for worker in workers:
            job = worker.job
            if job is not None:
                remove_leftovers(job.targets())


def _reaped(pid):
    """Whether the child ``pid`` has ended (and is reaped now)."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] != 0
    except ChildProcessError:  # reaped already
        return True


def _wait(objects):
    """``multiprocessing.connection.wait``, imported when a batch needs it."""
    from multiprocessing.connection import wait

    return wait(objects)


def _signal(pid, signum):
    try:
        os.kill(pid, signum)
    except OSError:  # already gone
        pass


def _how(exitcode):
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


# -- inside a worker process -------------------------------------------------


def _worker_main(conn, n_threads, parent_pid):
    """A worker's life: take a job, send its report, until told to stop."""
    _signals.worker()  # SIGTERM ends it, SIGINT and SIGHUP are the parent's
    # Imported before the fork already (numba: see kmeans_core/__init__).
    from .._parallel import limit_process
    from ._compress import compress_file

    _watch_parent(parent_pid)
    limit_process(n_threads)  # the workers share the cores
    try:
        while True:
            job = conn.recv()
            conn.send(compress_file(job))
    except (EOFError, OSError):
        pass  # the parent is gone


def _watch_parent(parent_pid):
    """Stop this worker when its parent dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        try:
            # The C library's prctl, among the symbols the process has
            # loaded (ctypes.util.find_library would run ldconfig: 2 ms).
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watcher below is enough
    if os.getppid() != parent_pid:  # died before prctl: nobody would tell us
        os.kill(os.getpid(), signal.SIGTERM)

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(_WATCH)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent watcher", daemon=True).start()
