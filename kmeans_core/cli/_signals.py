"""Stop signals of the command line: SIGINT (Ctrl-C), SIGTERM (``kill``,
``timeout``, ``docker stop``) and SIGHUP (the terminal closed).

The contract:

- **Who installs.** The program only (``compress.py``, ``kmeans-compress``:
  ``main()`` with no arguments), first thing, in the main thread, before the
  package's heavy imports (``install``). A signal the process inherited as
  ignored (``nohup``) stays ignored. ``main(argv)`` called as a function
  installs nothing: Ctrl-C is then Python's ``KeyboardInterrupt``, which
  ``main`` reports as exit code 130. ``KMEANS_CORE_SIGNALS=0`` is the off
  switch: Python's defaults (SIGTERM and SIGHUP then kill the process where
  it stands, leaving its temporary files).
- **What a signal does.** It ends the process, from the handler itself,
  which runs in the main thread between two Python instructions (or where a
  blocking call is interrupted) and raises nothing: it ignores further stop
  signals (a second Ctrl-C cannot cut the cleanup short), runs the stop
  callbacks (``on_stop``) newest first, removes the temporary files being
  written (``_atomic.remove_unfinished``), prints one line (``compress.py:
  interrupted``), flushes stdout and stderr and leaves with
  ``os._exit(128 + signum)``: 130, 143, 129. No exception travels through
  code not written for one (an import, a callback from C), and the
  interpreter never finalizes while a thread (the decoding thread, a
  progress bar's monitor) still runs Python code, which is how a stop could
  crash at exit before ("Fatal Python error: PyThreadState_Get ...
  finalizing").
- **Stop callbacks** (``on_stop``) run in the handler: they must be quick
  (the worker pool's waits at most ``_concurrency._GRACE`` seconds), must
  not raise (what they raise is ignored) and may find the state they clean
  half-built, since the signal can land anywhere.
- **Children.** ``worker`` sets a worker process's signals: SIGINT and
  SIGHUP ignored (a terminal sends them to the whole group: the parent
  decides), SIGTERM (from the parent, from the kernel when the parent dies,
  or from anyone) removes the worker's temporary files and ends it with
  ``os._exit(143)``. ``blocked`` holds the three signals back while a child
  is forked, so that none lands in the child before it has set its own
  handlers; the child unblocks them (``worker``).
"""

import os
import signal
import sys
from contextlib import contextmanager, suppress

from ._report import EXIT_INTERRUPTED

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
    if hasattr(signal, name)
)
_WHAT = {"SIGINT": "interrupted", "SIGTERM": "terminated (SIGTERM)",
         "SIGHUP": "hangup (SIGHUP)"}

_state = {"prog": None, "pid": None}
_callbacks = []


def message(prog, signum):
    """The one line a stop prints."""
    name = signal.Signals(signum).name
    return f"{prog}: {_WHAT.get(name, f'stopped by {name}')}"


def exit_code(signum):
    """The exit code of a stop by ``signum``: 128 + its number (130, 143, 129)."""
    return EXIT_INTERRUPTED - signal.SIGINT + signum


def enabled():
    """Whether the handlers are to be installed (the off switch)."""
    return os.environ.get("KMEANS_CORE_SIGNALS", "1").strip() != "0"


def install(prog):
    """Make SIGINT, SIGTERM and SIGHUP end this process cleanly (see the
    module notes), except those it inherited as ignored."""
    if not enabled():
        return
    _state["prog"], _state["pid"] = prog, os.getpid()
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) != signal.SIG_IGN:
            signal.signal(signum, _stop)


def installed():
    """Whether ``install`` set the handlers in this process."""
    return _state["pid"] == os.getpid()


@contextmanager
def on_stop(callback):
    """Within this block, a stop signal runs ``callback()`` before the
    process ends (newest first)."""
    _callbacks.append(callback)
    try:
        yield
    finally:
        _callbacks.remove(callback)


def _stop(signum, frame):
    """The handler: end the process cleanly (see the module notes)."""
    for other in STOP_SIGNALS:
        signal.signal(other, signal.SIG_IGN)
    if os.getpid() == _state["pid"]:  # not a child forked with it
        for callback in reversed(list(_callbacks)):
            with suppress(BaseException):  # the stop goes on
                callback()
    _end(signum, message(_state["prog"] or "compress.py", signum))


def _end(signum, line):
    """Remove this process's temporary files, print ``line``, flush, leave."""
    from .._atomic import remove_unfinished

    remove_unfinished()
    for stream in (sys.stdout, sys.stderr):
        with suppress(Exception):  # closed, or a write this signal interrupted
            stream.flush()
    if line:
        with suppress(OSError):
            os.write(2, (line + "\n").encode(errors="replace"))
    os._exit(exit_code(signum))


@contextmanager
def blocked():
    """Hold the stop signals back in this thread within the block (while a
    child is forked); they are delivered when it ends."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def worker():
    """A worker process's signals (see the module notes); then unblock the
    stop signals that ``blocked`` held back across the fork."""
    for signum in STOP_SIGNALS:
        if signum != signal.SIGTERM:
            signal.signal(signum, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _stop_worker(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _end(signum, None)
