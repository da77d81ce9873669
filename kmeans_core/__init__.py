"""kmeans_core: image compression by colour quantization with a hand-written,
numba-accelerated k-means."""

from ._lloyd import IterationRecord
from .color import oklab_to_srgb, srgb_to_oklab
from .kmeans import ConvergenceWarning, KMeans, NotFittedError
from .minibatch import MiniBatchKMeans
from .quantize import QuantizeResult, quantize
from .io import load_image

__all__ = ["ConvergenceWarning", "IterationRecord", "KMeans", "NotFittedError",
           "oklab_to_srgb", "srgb_to_oklab"]
__all__ += ["QuantizeResult", "load_image", "quantize"]
__all__ += ["MiniBatchKMeans"]
__version__ = "0.1.0"
