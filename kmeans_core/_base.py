"""What ``KMeans`` and ``MiniBatchKMeans`` share: the checks of ``init`` and
``n_init``, the methods that only need ``cluster_centers_``, and the
exceptions they raise."""

import warnings

import numpy as np

from . import _kernels
from ._validation import check_data, check_int, check_sample_weight


class ConvergenceWarning(UserWarning):
    """The fit found fewer distinct clusters than asked for."""


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted estimator was called before ``fit``."""


_INIT_NAMES = ("k-means++", "random")


class CentersMixin:
    """What ``KMeans`` and ``MiniBatchKMeans`` share: the checks of ``init`` and
    ``n_init``, and everything that only needs ``cluster_centers_``."""

    # n_init="auto" runs this many times with init="random" (once otherwise).
    _n_init_random = 10

    def _check_n_clusters(self, X):
        """``n_clusters`` is an int from 1 to the number of rows of ``X``."""
        check_int(self.n_clusters, "n_clusters", low=1)
        if self.n_clusters > X.shape[0]:
            raise ValueError(
                f"n_clusters={self.n_clusters} exceeds n_samples={X.shape[0]}"
            )

    def _check_init(self, X, stacklevel):
        """Set ``_init`` and ``_n_init`` from ``init`` and ``n_init``."""
        n_features = X.shape[1]
        if isinstance(self.init, str):
            if self.init not in _INIT_NAMES:
                raise ValueError(
                    f"init={self.init!r} is not 'k-means++', 'random' or an array"
                )
            self._init = self.init
        else:
            init = check_data(self.init, name="init", dtype=X.dtype)
            if init.shape != (self.n_clusters, n_features):
                raise ValueError(
                    f"init array has shape {init.shape}; expected (n_clusters, "
                    f"n_features) = ({self.n_clusters}, {n_features})"
                )
            self._init = init
        if self.n_init == "auto":
            random = isinstance(self._init, str) and self._init == "random"
            self._n_init = self._n_init_random if random else 1
        else:
            self._n_init = check_int(self.n_init, "n_init", low=1)
            if not isinstance(self.init, str) and self._n_init > 1:
                warnings.warn(
                    f"n_init={self.n_init} ignored: an init array runs once",
                    RuntimeWarning, stacklevel=stacklevel + 1,
                )
                self._n_init = 1

    def _check_fitted(self):
        if not hasattr(self, "cluster_centers_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit first"
            )

    def _check_test_data(self, X):
        self._check_fitted()
        X = check_data(X, dtype=self.cluster_centers_.dtype)
        n_features = self.cluster_centers_.shape[1]
        if X.shape[1] != n_features:
            raise ValueError(
                f"X has {X.shape[1]} features; this {type(self).__name__} was "
                f"fitted with {n_features}"
            )
        return X

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return ``labels_``: ndarray of shape (n_samples,).

        ``y`` is ignored (there for scikit-learn's pipelines).
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    def predict(self, X):
        """Index of the nearest centre of each row: ndarray (n_samples,), int32."""
        X = self._check_test_data(X)
        return assign(X, None, self.cluster_centers_)[0]

    def transform(self, X):
        """Euclidean distance of each row to each centre.

        Returns ndarray of shape (n_samples, n_clusters).
        """
        X = self._check_test_data(X)
        out = np.empty((X.shape[0], self.cluster_centers_.shape[0]), dtype=X.dtype)
        _kernels.squared_distances(X, self.cluster_centers_, out)
        return np.sqrt(out, out=out)

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, then return ``transform(X)``; ``y`` is ignored."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the inertia of ``X`` on the fitted centres (higher is better).

        ``y`` is ignored.
        """
        X = self._check_test_data(X)
        return -assign(X, sample_weight, self.cluster_centers_)[1]


def assign(X, sample_weight, centers):
    """Labels and inertia of validated ``X`` on ``centers``."""
    sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
    labels = np.empty(X.shape[0], dtype=np.int32)
    distances = np.empty(X.shape[0], dtype=X.dtype)
    inertia = _kernels.assign_labels(X, sample_weight, centers, labels, distances)
    return labels, float(inertia)


def warn_if_fewer_clusters(labels, sample_weight, n_clusters):
    """Warn when fewer than ``n_clusters`` clusters hold any weight."""
    if sample_weight.min() > 0:
        # Every row has weight: counting rows is enough, and much faster
        # than summing float weights on millions of rows.
        held = np.bincount(labels, minlength=n_clusters)
    else:
        held = np.bincount(labels, weights=sample_weight, minlength=n_clusters)
    n_distinct = np.count_nonzero(held)
    if n_distinct < n_clusters:
        warnings.warn(
            f"only {n_distinct} distinct clusters found for n_clusters="
            f"{n_clusters}: X has fewer distinct points than clusters; "
            "the extra centres duplicate data points",
            ConvergenceWarning, stacklevel=3,
        )
