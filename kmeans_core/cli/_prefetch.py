"""Decoding a lone input while numba loads.

Before its first image a ``compress.py`` process imports numba and loads the
k-means kernels from numba's cache: about 0.45 s, nearly all of it holding
the GIL. Pillow decodes without the GIL. So when the command compresses one
file in this process, ``start`` decodes it on a thread of its own before the
command imports anything of numba (``kmeans_core`` imports its numba side on
first use), and ``_compress`` takes the result (``take``) instead of reading
the file: a 12-megapixel PNG (decoding 0.37 s) is ready when the kernels
are.

The thread runs ``io.load_animation`` as ``_compress._load`` would: the
same result, or the same exception, raised again by ``take``. The warnings
it gives are recorded and given again by ``take``, in the caller's thread,
where the report collects them. Python's warning filters are one for the
whole process and ``warnings.catch_warnings`` is not thread-safe, so while
the thread runs the main thread only imports and loads kernels (nothing of
which sets filters or warns; a warning it gave would be recorded with the
file's), and ``wait`` ends the thread before the job starts.
"""

import threading
import time
import warnings

from ..io import DEFAULT_MAX_PIXELS, load_animation

# (path, max_pixels) -> (thread, outcome): the input being decoded.
_started = {}


def max_pixels(job):
    """The ``max_pixels`` that ``job``'s input is loaded with."""
    return DEFAULT_MAX_PIXELS if job.max_pixels is None else job.max_pixels


def _key(job):
    return job.input, max_pixels(job)


def start(job):
    """Begin loading ``job``'s input (``load_animation``) on a thread."""
    path, limit = _key(job)
    outcome = {}

    def load():
        begun = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                outcome["loaded"] = load_animation(path, max_pixels=limit)
            except Exception as exc:  # noqa: BLE001 - raised again by take()
                outcome["error"] = exc
        outcome["warnings"] = caught
        outcome["seconds"] = time.perf_counter() - begun

    thread = threading.Thread(target=load, name="kmeans-decode", daemon=True)
    _started[path, limit] = (thread, outcome)
    thread.start()


def started(job):
    """Whether ``job``'s input was started here and not taken yet."""
    return _key(job) in _started


def _finished(job):
    """The outcome of the finished decoding of ``job``'s input, or {}."""
    entry = _started.get(_key(job))
    if entry is None or entry[0].is_alive():
        return {}
    return entry[1]


def seconds(job):
    """How long the finished decoding of ``job``'s input took (0.0 if none):
    counted in the file's time, as when it decodes in ``_compress``."""
    return _finished(job).get("seconds", 0.0)


def pixel_count(job):
    """The pixels (all frames) of ``job``'s input decoded here, or None if it
    was not, or not yet, or failed."""
    loaded = _finished(job).get("loaded")
    if loaded is None:
        return None
    return sum(frame.shape[0] * frame.shape[1] for frame in loaded.frames)


def running():
    """Whether a decode started here is still going on."""
    return any(thread.is_alive() for thread, _ in _started.values())


def wait():
    """Let every decode started here finish."""
    for thread, _ in _started.values():
        thread.join()


def take(job):
    """The ``LoadedAnimation`` started for ``job``'s input, or None if none was.

    Waits for the thread, gives its warnings again, and raises its
    exception, if any.
    """
    entry = _started.pop(_key(job), None)
    if entry is None:
        return None
    thread, outcome = entry
    thread.join()
    for caught in outcome.get("warnings", ()):
        warnings.warn_explicit(caught.message, caught.category, caught.filename,
                               caught.lineno)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["loaded"]


def forget():
    """Drop whatever was started and not taken (the job never loaded it)."""
    _started.clear()

