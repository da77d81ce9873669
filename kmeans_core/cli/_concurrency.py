"""Running the jobs, in this process or in ``--workers`` worker processes;
stopping cleanly on a signal.

Signals. ``handle_signals`` makes SIGINT (Ctrl-C), SIGTERM (``kill``,
``timeout``, ``docker stop``) and SIGHUP (the terminal closed) raise
``Interrupted`` in the main process, wherever it is: a temporary file being
written is removed on the way out (``_files.save_atomic``) and the command
exits with 128 + the signal number (130, 143, 129). The first signal disarms
all three, so a second Ctrl-C cannot break the cleanup of the first.

Workers. ``run_jobs`` starts its own worker processes, each with a pipe to
the parent, and hands each one job at a time: a file not yet handed out is
never started after a stop, and the parent always knows which file each
worker holds. Jobs go out in input order, except the last two per worker,
which go largest input file first (``hand_out_order``).

- Stop (a signal in the parent): every worker gets SIGTERM, which raises
  ``KeyboardInterrupt`` in it, so it removes its temporary file and exits;
  one still running after ``_GRACE`` seconds is killed, and the temporary
  files of the jobs it held are removed by the parent. Workers ignore SIGINT
  and SIGHUP themselves (a terminal sends those to the whole process group):
  the parent decides.
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
from contextlib import contextmanager

from ._files import hold_interrupt, remove_temporary_files
from ._report import EXIT_INTERNAL, failed

_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
    if hasattr(signal, name)
)
# Seconds a stopped worker gets to remove its temporary file before SIGKILL.
_GRACE = 1.0
# Seconds between two looks of a worker's watcher at its parent.
_WATCH = 0.25
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
# Workers that may die before taking their first file before the batch
# gives up on them.
_MAX_IDLE_DEATHS = 8


class Interrupted(KeyboardInterrupt):
    """A signal asked the command to stop; ``signum`` says which.

    A ``KeyboardInterrupt``, so everything that cleans up on Ctrl-C cleans
    up on SIGTERM and SIGHUP too.
    """

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def interrupt_behind(exc):
    """The KeyboardInterrupt in the chain of causes of ``exc``, or None.

    A stop signal can come out wrapped in another exception, and is still
    the signal: raised while a numba kernel returns its arrays, CPython wraps
    it (once or twice) in "SystemError: ... returned a result with an
    exception set"; raised while a pybind11 extension module (matplotlib's,
    for ``--plot``) initialises on import, pybind11 wraps it in
    "ImportError: initialization failed".
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _disarm():
    """Ignore further stop signals (the first one is being handled)."""
    for signum in _SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


_received = []  # the stop signal received, if any


def _raise_interrupted(signum, frame):
    _disarm()
    _received.append(signum)
    exc = Interrupted(signum)
    if not hold_interrupt(exc):  # a temporary file is being created
        raise exc


@contextmanager
def handle_signals():
    """Within this block, SIGINT, SIGTERM and SIGHUP raise ``Interrupted``.

    The previous handlers come back on exit, unless a signal came: then
    later ones stay ignored until the process exits (a third Ctrl-C after
    the cleanup must not kill it with a different status). Only the main
    thread can set handlers; elsewhere nothing changes. Within the block
    (and in the worker processes forked in it) a stop raised inside a
    callback from C is raised again (``_raise_again``).
    """
    saved = {}
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:
        for signum in _SIGNALS:
            saved[signum] = signal.signal(signum, _raise_interrupted)
        _hooks.append(sys.unraisablehook)
        sys.unraisablehook = _raise_again
    try:
        yield
    finally:
        if main_thread:
            sys.unraisablehook = _hooks.pop()
        if not _received:
            for signum, handler in saved.items():
                signal.signal(signum, handler)


_pending = []  # a stop swallowed by a callback from C, to raise again
_hooks = []  # the unraisable hooks that handle_signals replaced


def _raise_again(unraisable):
    """``sys.unraisablehook`` within ``handle_signals``.

    A stop signal's exception raised while Python code runs as a callback
    from C (llvmlite calls one while numba loads a kernel from its cache)
    cannot leave the callback: Python would print it ("Exception ignored
    ...") and go on, the stop lost, and the first signal disarmed the
    others. It is raised again at the next Python event of the main thread
    outside this hook (``_raise_pending``, set as the thread's profile
    function for the moment): where the call into C returns, or in the next
    callback, which passes it on here again. Anything else goes to the hook
    before.
    """
    exc = unraisable.exc_value
    if (not isinstance(exc, KeyboardInterrupt)
            or threading.current_thread() is not threading.main_thread()):
        (_hooks[-1] if _hooks else sys.__unraisablehook__)(unraisable)
        return
    if not _pending:
        _pending.append((exc, sys.getprofile()))
    sys.setprofile(_raise_pending)


def _raise_pending(frame, event, arg):
    if frame.f_code is _raise_again.__code__:
        return  # the hook's own return
    exc, profile = _pending.pop()
    sys.setprofile(profile)
    if not hold_interrupt(exc):  # a temporary file is being created
        raise exc


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
        self.process.start()
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
        # pop() hands out the jobs in hand_out_order.
        pending = list(reversed(hand_out_order(jobs, self.n_workers)))
        finished, idle_deaths = False, 0
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
            finished = True
        finally:
            self._stop(disarm=not finished)

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
                remove_temporary_files(job)
                return failed(job.input, job.output, EXIT_INTERNAL,
                              "internal error: the worker process compressing it "
                              f"died ({_how(worker.process.exitcode)})")
        return None

    def _stop(self, disarm):
        """Stop every worker within about ``_GRACE`` seconds; leave nothing.

        ``disarm``: the batch is being cut short (a signal, an error), and a
        second Ctrl-C must not cut this cleanup short too.
        """
        if disarm and threading.current_thread() is threading.main_thread():
            _disarm()
        for worker in self.workers:
            worker.conn.close()  # an idle worker sees the end of its pipe
            if worker.process.is_alive():
                _signal(worker.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + _GRACE
        for worker in self.workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                _signal(worker.process.pid, signal.SIGKILL)
                worker.process.join()
            if worker.job is not None:
                remove_temporary_files(worker.job)
        self.workers = []


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
    # Imported before the fork already (numba: see kmeans_core/__init__).
    from .._parallel import limit_process
    from ._compress import compress_file

    for signum in _SIGNALS:
        # The parent decides on Ctrl-C and hangups, which a terminal sends to
        # the whole group; SIGTERM (from the parent, or on its death) stops.
        signal.signal(signum, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)
    _watch_parent(parent_pid)
    limit_process(n_threads)  # the workers share the cores
    try:
        while True:
            job = conn.recv()
            conn.send(compress_file(job))
    except (KeyboardInterrupt, EOFError, OSError):
        pass  # stopped, or the parent is gone; the temporary file is removed


def _stop_worker(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    exc = KeyboardInterrupt()
    if not hold_interrupt(exc):  # a temporary file is being created
        raise exc


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
