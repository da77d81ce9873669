"""kmeans_core: image compression by colour quantization with a hand-written,
numba-accelerated k-means."""

from ._lloyd import IterationRecord
from .kmeans import ConvergenceWarning, KMeans, NotFittedError

__all__ = ["ConvergenceWarning", "IterationRecord", "KMeans", "NotFittedError"]
__version__ = "0.1.0"
