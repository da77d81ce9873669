"""kmeans_core: image compression by colour quantization with a hand-written,
numba-accelerated k-means."""

from ._lloyd import IterationRecord
from ._palette import unique_colors
from ._quantize import QuantizeResult, quantize
from .color import oklab_to_srgb, srgb_to_oklab
from .io import load_image
from .kmeans import ConvergenceWarning, KMeans, NotFittedError
from .minibatch import MiniBatchKMeans
from .palettes import ColorCounts, apply_palette, color_counts, fit_palette, sum_counts
from .quality import QualityTooLowError, quantize_to_psnr

__all__ = [
    "ColorCounts",
    "ConvergenceWarning",
    "IterationRecord",
    "KMeans",
    "MiniBatchKMeans",
    "NotFittedError",
    "QualityTooLowError",
    "QuantizeResult",
    "apply_palette",
    "color_counts",
    "fit_palette",
    "load_image",
    "oklab_to_srgb",
    "quantize",
    "quantize_to_psnr",
    "srgb_to_oklab",
    "sum_counts",
    "unique_colors",
]
__version__ = "0.1.0"
