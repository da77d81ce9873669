"""The public ``KMeans`` estimator: validates input, then runs the drivers."""

import warnings

import numpy as np

from . import _kernels
from ._lloyd import (
    kmeans_plusplus,
    lloyd,
    random_init,
    sample_rows,
    scaled_tolerance,
)
from ._validation import (
    check_data,
    check_int,
    check_random_state,
    check_sample_weight,
    check_tol,
)


class ConvergenceWarning(UserWarning):
    """The fit found fewer distinct clusters than asked for."""


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted estimator was called before ``fit``."""


_INIT_NAMES = ("k-means++", "random")


class _CentersMixin:
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
        return _assign(X, None, self.cluster_centers_)[0]

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
        return -_assign(X, sample_weight, self.cluster_centers_)[1]


class KMeans(_CentersMixin):
    """K-means clustering with Lloyd's algorithm, accelerated with numba.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters (centres) to find, >= 1.
    init : {"k-means++", "random"} or array-like of shape (n_clusters, n_features), \
default="k-means++"
        How the centres start. "k-means++": greedy k-means++, which draws
        ``2 + ln(n_clusters)`` candidates per centre with probability
        proportional to weight x squared distance to the nearest centre so
        far, and keeps the one that lowers the inertia most. "random":
        ``n_clusters`` distinct rows drawn with probability proportional to
        their weight. An array: these exact centres.
    n_init : "auto" or int, default="auto"
        Number of runs from different initial centres; the run with the
        lowest inertia is kept. "auto" is 1 for "k-means++" and an array, and
        10 for "random". An array ``init`` always runs once.
    max_iter : int, default=300
        Maximum number of Lloyd iterations of one run.
    tol : float, default=1e-4
        Convergence threshold. A run stops at the first iteration where the
        labels are the same as in the iteration before, or where the sum over
        all centres of the squared distance each centre moved is at most
        ``tol`` x the mean over features of the (weighted) variance of ``X``.
        Unless the labels stopped changing, one final assignment then makes
        ``labels_`` match ``cluster_centers_``.
    random_state : None, int or numpy.random.Generator, default=None
        Seed of the initialisation. An int makes ``fit`` deterministic.
    record_history : bool, default=False
        Keep the centres and inertia of every iteration of the kept run in
        ``history_``.
    init_size : int or None, default=None
        Run the seeding ("k-means++" or "random") on a sample of this many
        rows, drawn with replacement in proportion to ``sample_weight``,
        instead of on all rows; Lloyd's iterations always use all rows. A
        sample of a few thousand rows seeds about as well as all of them, at a
        fraction of the cost (``quantize`` uses ``32 x n_clusters``, at least
        4,096). None, or a value >= n_samples: all rows. Must be >=
        n_clusters.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        The centres, in the dtype of ``X`` (float32 or float64).
    labels_ : ndarray of shape (n_samples,), int32
        Index of the nearest centre of each row.
    inertia_ : float
        Sum over rows of weight x squared distance to the nearest centre.
    n_iter_ : int
        Number of Lloyd iterations (centre updates) of the kept run.
    converged_ : bool
        Whether the kept run stopped by the convergence threshold rather than
        by ``max_iter``.
    history_ : list of IterationRecord
        Only with ``record_history=True``: ``n_iter_ + 1`` records of
        ``(centers, inertia)``: the initial centres, then the centres after
        each update, each with the inertia of its assignment.

    Notes
    -----
    Runs on all cores numba is allowed to use (``numba.set_num_threads``); the
    result does not depend on how many. Integer ``sample_weight`` gives the
    same result as repeating rows, which is how ``quantize`` clusters an
    image's unique colours weighted by their counts.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeans_core import KMeans
    >>> X = np.array([[0.0], [1.0], [10.0], [11.0]])
    >>> km = KMeans(n_clusters=2, init=np.array([[0.0], [1.0]])).fit(X)
    >>> km.cluster_centers_.ravel().tolist(), km.labels_.tolist(), km.n_iter_
    ([0.5, 10.5], [0, 0, 1, 1], 3)
    """

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto",
                 max_iter=300, tol=1e-4, random_state=None, record_history=False,
                 init_size=None):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.record_history = record_history
        self.init_size = init_size

    def __repr__(self):
        init = self.init if isinstance(self.init, str) else "array"
        return (f"KMeans(n_clusters={self.n_clusters}, init={init!r}, "
                f"n_init={self.n_init!r}, max_iter={self.max_iter}, "
                f"tol={self.tol}, random_state={self.random_state!r}, "
                f"init_size={self.init_size!r})")

    # -- checks --------------------------------------------------------------

    def _check_params(self, X):
        self._check_n_clusters(X)
        check_int(self.max_iter, "max_iter", low=1)
        self._tol = check_tol(self.tol)
        self._check_init(X, stacklevel=3)
        if self.init_size is not None:
            check_int(self.init_size, "init_size", low=self.n_clusters)

    # -- fitting -------------------------------------------------------------

    def _initial_centers(self, X, sample_weight, rng):
        if not isinstance(self._init, str):
            return self._init
        if self.init_size is not None and self.init_size < X.shape[0]:
            X, sample_weight = sample_rows(X, sample_weight, self.init_size, rng)
        if self._init == "k-means++":
            return kmeans_plusplus(X, self.n_clusters, sample_weight, rng)
        return random_init(X, self.n_clusters, sample_weight, rng)

    def fit(self, X, y=None, sample_weight=None):
        """Compute the k-means clustering of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to cluster. float32 and float64 are kept; other numbers
            become float64. Never modified.
        y : ignored
            Not used; there so that scikit-learn's pipelines can pass it.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row; None gives every row weight 1.

        Returns
        -------
        self : KMeans
        """
        X = check_data(X)
        self._check_params(X)
        sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        rng = check_random_state(self.random_state)
        tol = scaled_tolerance(X, sample_weight, self._tol)

        best = None
        for _ in range(self._n_init):
            history = [] if self.record_history else None
            centers = self._initial_centers(X, sample_weight, rng)
            run = lloyd(X, sample_weight, centers, max_iter=self.max_iter,
                        tol=tol, history=history)
            if best is None or run[2] < best[0][2]:
                best = (run, history)
        (centers, labels, inertia, n_iter, converged), history = best

        self.cluster_centers_ = centers
        self.labels_ = labels
        self.inertia_ = float(inertia)
        self.n_iter_ = int(n_iter)
        self.converged_ = bool(converged)
        if self.record_history:
            self.history_ = history
        _warn_if_fewer_clusters(labels, sample_weight, self.n_clusters)
        return self


def _assign(X, sample_weight, centers):
    """Labels and inertia of validated ``X`` on ``centers``."""
    sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
    labels = np.empty(X.shape[0], dtype=np.int32)
    distances = np.empty(X.shape[0], dtype=X.dtype)
    inertia = _kernels.assign_labels(X, sample_weight, centers, labels, distances)
    return labels, float(inertia)


def _warn_if_fewer_clusters(labels, sample_weight, n_clusters):
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
