"""kmeans_core: image compression by colour quantization with a hand-written,
numba-accelerated k-means.

The names below are imported on first use (PEP 562), so that ``import
kmeans_core.io`` or the command line's argument parsing does not wait for
numba: ``compress.py --help`` answers without it, and ``compress.py`` on a
single image decodes it on a thread while numba loads.
"""

import importlib

# Public name -> the module that defines it.
_HOMES = {
    "ColorCounts": "palettes",
    "ConvergenceWarning": "kmeans",
    "IterationRecord": "_lloyd",
    "KMeans": "kmeans",
    "MiniBatchKMeans": "minibatch",
    "NotFittedError": "kmeans",
    "QualityTooLowError": "quality",
    "QuantizeResult": "_quantize",
    "apply_palette": "palettes",
    "color_counts": "palettes",
    "fit_palette": "palettes",
    "load_image": "io",
    "oklab_to_srgb": "color",
    "quantize": "_quantize",
    "quantize_to_psnr": "quality",
    "srgb_to_oklab": "color",
    "sum_counts": "palettes",
    "unique_colors": "_palette",
}

__all__ = list(_HOMES)
__version__ = "0.1.0"


def __getattr__(name):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'kmeans_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
