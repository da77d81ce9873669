"""The command line: ``compress.py [options] FILE|DIR ...``.

Each input image is loaded (``kmeans_core.io.load_image``), quantized to
``-k`` colours (``kmeans_core.quantize``; with ``--psnr``/``--quality``, to the
fewest colours reaching a PSNR target, ``kmeans_core.quality``), optionally
in OKLab and dithered, encoded as an indexed PNG or a GIF
(``kmeans_core.io.encode_image``) and written beside the input as
``NAME-k16.png`` (``NAME-psnr33.png``), or to ``-o FILE`` / ``--out-dir DIR``. ``--help`` is the
single source of the option docs; ``docs/cli.md`` explains the design.

Three stages, each in the module its name promises, so each can be tested
on its own:

1. ``_args``: ``build_parser`` / ``parse_args``, strict argparse types and
   ranges; a bad option is one line on stderr and exit code 2, before any
   work.
2. ``_files``: ``plan_jobs`` expands folders, names the outputs and checks
   everything that can be checked before clustering (input missing, output
   exists, output folder missing, output would overwrite an input ...). A
   file that fails here gets its report at once and costs no clustering.
3. ``_compress``: ``compress_file``, the work for one file, run in this
   process or in a worker process (``_concurrency``, ``--workers``). It never
   raises (except on Ctrl-C): every failure becomes a ``FileReport``
   (``_report``, which also prints) with an exit code and a one-line message.

With ``--shared-palette`` one palette is fitted on the summed colour counts
of all the inputs between stages 2 and 3 (``_shared``), and every job maps
its image onto it; ``--palette-from FILE`` reads the palette before stage 2.

With ``--scheduler`` stage 3 runs as Dask tasks instead (``_dask``), one
per file, with the same reports.

Outputs are written to a temporary file in the target folder and renamed
into place (``kmeans_core._atomic``), so a failure or a stop signal leaves no
partial file; an existing file is replaced only with ``--force`` and an
input never. Stop signals: ``_signals``; worker processes: ``_concurrency``.
"""

import gc
import os
import signal
import sys
import time

# Only what handling a stop signal needs is imported before the handlers
# are set (``_signals``); the rest of the command line is imported in
# ``_main`` (numpy and Pillow with ``_args``, 0.13 s), and the numba side of
# the package after the arguments are checked and, for a lone input, after
# its decoding has started (``_prefetch``).
from . import _signals, _startup

__all__ = ["main"]


def main(argv=None):
    """Run ``compress.py`` with ``argv`` (default ``sys.argv[1:]``).

    Returns the exit code instead of exiting; ``compress.py`` passes it to
    ``sys.exit``. Run as the program (no ``argv``), a stop signal ends the
    process from its handler (``_signals``); called with ``argv``, Ctrl-C
    comes out of the work as ``KeyboardInterrupt`` and is reported here.
    """
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "compress.py"
    if prog in ("", "-c", "__main__.py", "-m"):
        prog = "compress.py"
    if argv is None:
        _signals.install(prog)
    try:
        return _main_reporting_errors(argv, prog)
    finally:
        if argv is None and _startup.on("gc-freeze"):
            # Run as the program (compress.py, kmeans-compress), which exits
            # next: the interpreter's exit then skips what this run made, as
            # the collections skipped the imports' objects (20 ms of a small
            # photo's 0.55 s, median of 9).
            gc.freeze()


def _main_reporting_errors(argv, prog):
    """``_main``, with Ctrl-C, a closed stdout and any error as exit codes."""
    from ._report import EXIT_INTERNAL, one_line

    try:
        return _main(argv, prog)
    except KeyboardInterrupt:
        print(_signals.message(prog, signal.SIGINT), file=sys.stderr)
        return _signals.exit_code(signal.SIGINT)
    except BrokenPipeError:
        # stdout closed early (e.g. piped to head): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_INTERNAL
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        print(one_line(f"{prog}: error: internal error: {type(exc).__name__}: {exc}"),
              file=sys.stderr)
        return EXIT_INTERNAL


_frozen = False


def _freeze_imported_objects():
    """Keep the garbage collector off the objects that imports created.

    numba's type system alone is some 70,000 long-lived Python objects that
    the collector tracks. Every full collection walked them all again (12 to
    25 ms each), and so did the interpreter's exit: samples/chelsea.jpg at
    -k 16 took 0.72 s, 0.59 s with them frozen (``gc.freeze``; median of 9
    runs each), and 20 photos at -k 256 1.52 s instead of 1.40 s. Worker
    processes are forked after this, so they share the frozen objects too.
    Once per process: a second call (a test calling ``main`` again) would
    freeze the garbage of the first run.
    """
    global _frozen
    if not _frozen and _startup.on("gc-freeze"):
        gc.freeze()
        _frozen = True


def _main(argv, prog):
    from . import _prefetch
    from ._args import UsageError, parse_args
    from ._files import plan_jobs
    from ._report import EXIT_INPUT, EXIT_OK, EXIT_USAGE, one_line

    try:
        args = parse_args(argv, prog)
        if args.scheduler is not None:
            from ._dask import require_distributed

            require_distributed()  # before any work: exit 2 if missing
        if args.palette_from is not None:
            from ._shared import PaletteFileError, read_palette

            try:
                args.palette = read_palette(args.palette_from)
            except PaletteFileError as exc:
                print(one_line(f"{prog}: error: --palette-from {exc}"), file=sys.stderr)
                return EXIT_INPUT
            args.colors = len(args.palette)
        jobs, failures = plan_jobs(args)
    except UsageError as exc:
        print(one_line(f"{prog}: error: {exc} (see --help)"), file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    try:
        return _compress_all(args, prog, jobs, failures)
    finally:
        _prefetch.forget()


def _compress_all(args, prog, jobs, failures):
    from . import _prefetch
    from ._args import UsageError
    from ._concurrency import run_jobs
    from ._report import EXIT_USAGE, format_summary, one_line, worst_exit_code

    start = time.perf_counter()
    lone = len(jobs) == 1 and args.scheduler is None and not args.shared_palette
    if lone and _startup.on("prefetch"):
        # In this process (run_jobs): decode while numba loads (_prefetch).
        _prefetch.start(jobs[0])
    from .._jit import cache_is_cold, compile_kernels, load_numba_without_scipy_linalg

    if _startup.on("no-scipy-linalg"):
        load_numba_without_scipy_linalg()
    _freeze_imported_objects()
    cold = bool(jobs) and cache_is_cold()
    if cold and not args.quiet:
        print(f"{prog}: first run: compiling the k-means kernels, once "
              "(about 8 s; later runs load them from the cache)", file=sys.stderr,
              flush=True)
    if (lone and not cold and jobs[0].method == "kmeans" and _prefetch.running()
            and _startup.on("warm-up")):
        # The kernels load from the cache meanwhile. Only those of the
        # default method, which cache_is_cold found cached: a kernel
        # compiling now would set warning filters (numba does) beside the
        # decoding thread's (see _prefetch).
        from ._compress import warm_up

        warm_up(jobs[0])
    _prefetch.wait()  # see _prefetch: before the job sets warning filters
    if cold and args.scheduler is None and _startup.on("split-compile"):
        # On two cores (see _jit), then the job loads them; a stop signal
        # meanwhile kills the compiling processes.
        compile_kernels(on_stop=_signals.on_stop)
    from contextlib import ExitStack

    with ExitStack() as stack:
        n_pixels = _prefetch.pixel_count(jobs[0]) if lone else None
        if (n_pixels is not None and n_pixels < _startup.ONE_THREAD_PIXELS
                and _startup.on("one-thread")):
            from .._parallel import at_most

            stack.enter_context(at_most(1))
        if args.scheduler is None or not jobs:
            run, count = (lambda jobs: run_jobs(jobs, args.workers)), None
        else:
            from ._dask import DaskRunner

            n_workers = args.workers
            try:
                runner = stack.enter_context(DaskRunner(args.scheduler, n_workers))
            except UsageError as exc:
                print(one_line(f"{prog}: error: {exc}"), file=sys.stderr)
                return EXIT_USAGE
            run, count = runner.run, runner.count
        if args.shared_palette:
            from ._shared import share_palette

            # Counted and fitted before any output is written; a file that
            # cannot be read fails here and takes no part in the fit.
            jobs, unreadable = share_palette(jobs, args, count)
            failures = sorted(failures + unreadable, key=lambda r: r.input)
        reports = _run(args, prog, jobs, failures, run)
    if len(reports) > 1 and not args.quiet and not args.json:
        print(format_summary(reports, time.perf_counter() - start), flush=True)
    return worst_exit_code(r.exit_code for r in reports)


def _run(args, prog, jobs, failures, run):
    """Print the failures, then each job's report in input order as the
    results of ``run(jobs)`` come in; the list of all reports."""
    from contextlib import closing

    from ._report import Printer

    printer = Printer(prog, quiet=args.quiet, as_json=args.json,
                      progress_total=len(jobs) + len(failures))
    reports = []
    try:
        for report in failures:
            reports.append(report)
            printer.report(report)
        position = {job.input: i for i, job in enumerate(jobs)}
        done, next_position = {}, 0
        # closing(): whatever stops this loop, the workers are reaped first.
        with closing(run(jobs)) as results:
            for report in results:
                done[position[report.input]] = report
                while next_position in done:
                    reports.append(done[next_position])
                    printer.report(done.pop(next_position))
                    next_position += 1
    finally:
        printer.close()
    return reports


if __name__ == "__main__":
    sys.exit(main())

