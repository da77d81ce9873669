"""Start-up mechanisms of the command line: what makes a short run shorter.

Each can be turned off for a measurement or a bug hunt, by name, in
``KMEANS_CORE_STARTUP_OFF`` (comma-separated; ``all`` for every one):

- ``prefetch``: a lone input is decoded on a thread while numba loads
  (``_prefetch``).
- ``warm-up``: the k-means kernels are loaded from numba's cache on one
  thread while another decodes (``_compress.warm_up``).
- ``split-compile``: the first run after install compiles the kernels in
  two other processes at once (``kmeans_core._jit.compile_kernels``);
  off, the job compiles them itself.
- ``gc-freeze``: the objects the imports made are frozen out of the garbage
  collector's reach (``gc.freeze``), after the imports and before exit.
- ``one-thread``: a lone input under ``ONE_THREAD_PIXELS`` runs its k-means
  on one thread, so numba's thread pool never starts.
- ``no-scipy-linalg``: numba finishes loading without importing
  ``scipy.linalg`` (``kmeans_core._jit.load_numba_without_scipy_linalg``).

``benchmarks/bench_startup.py`` measures what each earns on the report's
whole-process rows.
"""

import os

MECHANISMS = ("prefetch", "warm-up", "split-compile", "gc-freeze", "one-thread",
              "no-scipy-linalg")

# A lone input of fewer pixels is compressed on one thread: in a process
# that compresses one small image, a second thread saves less than starting
# numba's thread pool costs (about 22 ms). chelsea.jpg (0.14 megapixels) at
# k = 16: the fit takes 21 ms on one thread, 17 ms on two; china.jpg (0.27
# megapixels) at k = 64, the case closest to even: 76 and 55 ms.
ONE_THREAD_PIXELS = 300_000


def on(name):
    """Whether the start-up mechanism ``name`` is on (see the module notes)."""
    assert name in MECHANISMS, name
    off = {part.strip() for part in
           os.environ.get("KMEANS_CORE_STARTUP_OFF", "").split(",")}
    return name not in off and "all" not in off
