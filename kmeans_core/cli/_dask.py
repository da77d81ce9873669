"""Batches on Dask distributed: ``--scheduler tcp://HOST:PORT`` or ``local``.

Dask is optional (``pip install ".[distributed]"``); ``require_distributed``
turns its absence into a usage error that says how to install it.

One task per file: the worker runs the same ``compress_file`` as a local
batch, which reads the input and writes the output itself (atomically,
through ``_atomic.write_atomic``) at a path it must see, and returns only the
small ``FileReport``. Reports are yielded as the tasks finish, so the
progress bar, the lines, JSON and exit codes are those of a local batch. A
failing file fails only itself (``compress_file`` never raises). A worker
that dies mid-task: Dask runs the task again elsewhere, and an output the
first run finished already holds exactly the same bytes, so it counts as
written (``Job.rerun_safe``) rather than "exists"; a task that
Dask gives up on (its worker died too often, ``KilledWorker``) is that file's
internal error (exit code 1). Closing the generator early (Ctrl-C, SIGTERM)
cancels every task not yet finished; a ``--scheduler local`` cluster is
shut down and the temporary files of the files it held are removed.

``--shared-palette`` on Dask (``count``): the colour counts of each file are
made on the workers (a map), summed on the cluster in a binary tree of
exact additions (a reduce: only counts travel, never pixels), and the one sum
comes back to the client, which fits the palette; the jobs then carry the
palette to the workers. Integer sums do not depend on their order, so the
palette, and every output, is byte for byte the one of a local run.
"""

import contextlib
import dataclasses
import logging
import os
import warnings

from .._atomic import remove_leftovers
from .._parallel import limit_process
from ..palettes import sum_counts
from ._args import UsageError
from ._compress import compress_file, count_file
from ._report import EXIT_INTERNAL, failed

INSTALL_HINT = ('pip install "dask[distributed]>=2024.1" (or pip install '
                '".[distributed]" in the kmeans_core folder)')


def require_distributed():
    """Import ``distributed``, or raise UsageError saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise UsageError(
            f"--scheduler needs Dask distributed, which is not installed: "
            f"{INSTALL_HINT}") from None
    return distributed


class DaskRunner:
    """A Dask client for one batch (and its LocalCluster for ``local``).

    Use as a context manager: the client (and cluster) close on exit.
    """

    def __init__(self, address, n_workers=None):
        self.address, self.n_workers = address, n_workers
        self.client = self.cluster = None

    def __enter__(self):
        distributed = require_distributed()
        # Dask's own log lines (connections closing, with tracebacks) are not
        # for the user of a command line: every outcome is in the reports.
        _quiet_dask_logs()
        try:
            if self.address == "local":
                n_workers = self.n_workers or min(2, os.cpu_count() or 1)
                with warnings.catch_warnings():
                    # "Port 8787 is already in use": the dashboard, unused here.
                    warnings.simplefilter("ignore", UserWarning)
                    self.cluster = distributed.LocalCluster(
                        n_workers=n_workers, threads_per_worker=1, processes=True,
                        dashboard_address=":0", silence_logs=logging.CRITICAL)
                self.client = distributed.Client(self.cluster)
                self.n_threads = max(1, (os.cpu_count() or 1) // n_workers)
            else:
                self.client = distributed.Client(self.address, timeout="10s")
                self.n_threads = None  # the cluster's own business
        except (OSError, TimeoutError, ValueError) as exc:
            self.__exit__(None, None, None)
            raise UsageError(
                f"--scheduler {self.address}: cannot connect: "
                f"{' '.join(str(exc).split()) or type(exc).__name__}") from None
        return self

    def __exit__(self, *exc_info):
        for thing in (self.client, self.cluster):
            if thing is not None:
                with contextlib.suppress(Exception):
                    thing.close()
        self.client = self.cluster = None

    def run(self, jobs):
        """Yield the FileReport of each job as its task finishes."""
        from distributed import as_completed

        futures = {
            self.client.submit(_task, compress_file, _absolute(job), self.n_threads,
                               key=f"compress-{job.index}-{os.getpid()}",
                               pure=False): job
            for job in jobs
        }
        finished = set()
        try:
            for future in as_completed(futures):
                job = futures[future]
                finished.add(future)
                report = _report_of(future, job)
                report.input, report.output = job.input, job.output  # as given
                yield report
        finally:
            left = [f for f in futures if f not in finished]
            if left:
                self.client.cancel(left)
                if self.cluster is not None:
                    # Our own cluster: stop it now, so no worker writes on.
                    self.__exit__(None, None, None)
                    for future in left:
                        remove_leftovers(futures[future].targets())

    def count(self, jobs):
        """``--shared-palette``: ``(total ColorCounts or None, counted jobs,
        failures)``, the counts summed in a tree on the cluster."""
        futures = [self.client.submit(_task, count_file, _absolute(job),
                                      self.n_threads,
                                      key=f"count-{job.index}-{os.getpid()}",
                                      pure=False)
                   for job in jobs]
        try:
            level = [self.client.submit(_leaf, future, pure=False)
                     for future in futures]
            while len(level) > 1:  # a binary tree of exact additions
                pairs = [level[i:i + 2] for i in range(0, len(level), 2)]
                level = [self.client.submit(_merge, *pair, pure=False)
                         if len(pair) == 2 else pair[0] for pair in pairs]
            total, failures = level[0].result()
        except Exception as exc:  # noqa: BLE001 - a worker lost too often
            raise RuntimeError(f"counting colours on the cluster failed: {exc}") \
                from None
        finally:
            self.client.cancel(futures)
        given = {_absolute(job).input: job for job in jobs}
        for report in failures:
            job = given[report.input]
            report.input, report.output = job.input, job.output  # as given
        bad = {report.input for report in failures}
        return total, [job for job in jobs if job.input not in bad], failures


def _absolute(job):
    """``job`` with absolute paths: a worker's working folder is its own."""
    def absolute(path):
        return None if path is None else os.path.abspath(path)

    return dataclasses.replace(job, input=absolute(job.input),
                               output=absolute(job.output),
                               plot=absolute(job.plot), animate=absolute(job.animate),
                               rerun_safe=True)


def _quiet_dask_logs():
    """Silence Dask's loggers in this process (they set their own levels)."""
    names = [name for name in logging.root.manager.loggerDict
             if name.split(".")[0] in ("distributed", "tornado")]
    for name in ("distributed", "tornado", *names):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _task(work, job, n_threads):
    """On a worker: ``work(job)`` with the k-means limited to ``n_threads``."""
    if n_threads is not None:
        limit_process(n_threads)
    return work(job)


def _leaf(result):
    counts, failure = result
    return counts, [] if failure is None else [failure]


def _merge(a, b):
    parts = [counts for counts, _ in (a, b) if counts is not None]
    total = sum_counts(parts) if parts else None
    return total, a[1] + b[1]


def _report_of(future, job):
    """The task's FileReport, or an internal error if Dask gave up on it."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - KilledWorker and the like
        remove_leftovers(job.targets())
        message = " ".join(str(exc).split()) or type(exc).__name__
        return failed(job.input, job.output, EXIT_INTERNAL,
                      f"internal error: the Dask task failed: "
                      f"{type(exc).__name__}: {message}")
