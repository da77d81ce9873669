"""The public ``KMeans`` estimator: validates input, then runs the drivers."""


from ._base import (
    ConvergenceWarning,
    KMeansBase,
    NotFittedError,
    VerboseHistory,
    warn_if_fewer_clusters,
)
from ._lloyd import (
    collapse_duplicates,
    kmeans_plusplus,
    lloyd,
    random_init,
    sample_rows,
    scaled_tolerance,
)
from ._validation import (
    check_bool,
    check_int,
    check_random_state,
    check_sample_weight,
    check_tol,
)

__all__ = ["ConvergenceWarning", "KMeans", "NotFittedError"]


class KMeans(KMeansBase):
    """K-means clustering with Lloyd's algorithm, accelerated with numba.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters (centres) to find, >= 1.
    init : {"k-means++", "random"}, callable or array-like of shape \
(n_clusters, n_features), default="k-means++"
        How the centres start. "k-means++": greedy k-means++, which draws
        ``2 + ln(n_clusters)`` candidates per centre with probability
        proportional to weight x squared distance to the nearest centre so
        far, and keeps the one that lowers the inertia most. "random":
        ``n_clusters`` distinct rows drawn with probability proportional to
        their weight. A callable, as in scikit-learn: called as
        ``init(X, n_clusters, random_state=random_state)`` (``random_state`` a
        ``numpy.random.RandomState`` seeded from ``random_state``), it returns
        the centres. An array: these exact centres.
    n_init : "auto" or int, default="auto"
        Number of runs from different initial centres; the run with the
        lowest inertia is kept. "auto" is 1 for "k-means++" and an array, and
        10 for "random" and a callable. An array ``init`` always runs once.
    max_iter : int, default=300
        Maximum number of Lloyd iterations of one run.
    tol : float, default=1e-4
        Convergence threshold. A run stops at the first iteration where the
        labels are the same as in the iteration before, or where the sum over
        all centres of the squared distance each centre moved is at most
        ``tol`` x the mean over features of the (weighted) variance of ``X``.
        Unless the labels stopped changing, one final assignment then makes
        ``labels_`` match ``cluster_centers_``.
    verbose : int, default=0
        When > 0, print "Initialization complete", then a line with the
        inertia of every iteration, then why the run stopped.
    random_state : None, int or numpy.random.Generator, default=None
        Seed of the initialisation. An int makes ``fit`` deterministic.
    copy_x : bool, default=True
        Accepted for scikit-learn; ``X`` is never modified, whatever its
        value (scikit-learn centres ``X`` in place when it is False).
    algorithm : {"lloyd", "elkan"}, default="lloyd"
        Accepted for scikit-learn; both run the same exact Lloyd iterations,
        which skip distance computations with Hamerly's bound and Elkan's
        centre-centre test (see Notes). The result does not depend on it.
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
        Number of Lloyd iterations (centre updates) of the kept run, counted
        as scikit-learn counts them (its "strict convergence" iteration, where
        the labels stopped changing, included).
    converged_ : bool
        Whether the kept run stopped by the convergence threshold rather than
        by ``max_iter``.
    n_features_in_ : int
        Number of features (columns) of the ``X`` of ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,), dtype object
        Only when ``X`` had string column names (a pandas or polars data
        frame): those names. New data must then have the same.
    history_ : list of IterationRecord
        Only with ``record_history=True``: ``n_iter_ + 1`` records of
        ``(centers, inertia)``: the initial centres, then the centres after
        each update, each with the inertia of its assignment.

    Notes
    -----
    Every iteration assigns each row to its nearest centre exactly, as a full
    search would, but skips rows whose centre cannot have changed (Hamerly's
    bound) and centres too far from a row's own (Elkan's test): the pruning of
    both of scikit-learn's algorithms in one, hence one ``algorithm``.

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
                 max_iter=300, tol=1e-4, verbose=0, random_state=None, copy_x=True,
                 algorithm="lloyd", record_history=False, init_size=None):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.record_history = record_history
        self.init_size = init_size

    # -- checks --------------------------------------------------------------

    def _check_params(self, X):
        self._check_n_clusters(X)
        check_int(self.max_iter, "max_iter", low=1)
        self._tol = check_tol(self.tol)
        self._check_init(X, stacklevel=3)
        if self.init_size is not None:
            check_int(self.init_size, "init_size", low=self.n_clusters)
        self._check_verbose()
        check_bool(self.copy_x, "copy_x")
        if self.algorithm not in ("lloyd", "elkan"):
            raise ValueError(f"algorithm={self.algorithm!r} is not 'lloyd' or 'elkan'")

    # -- fitting -------------------------------------------------------------

    def _initial_centers(self, X, sample_weight, rng):
        if not isinstance(self._init, str) and not callable(self._init):
            return self._init
        if self.init_size is not None and self.init_size < X.shape[0]:
            X, sample_weight = sample_rows(X, sample_weight, self.init_size, rng)
        if callable(self._init):
            return self._call_init(X, rng)
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
        X = self._check_fit_data(X)
        self._check_params(X)
        sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        rng = check_random_state(self.random_state)
        # Repeated rows (a photo's pixels) become one weighted row each: the
        # same objective on fewer rows (and the same weighted variance);
        # labels are mapped back below.
        X, sample_weight, inverse = collapse_duplicates(X, sample_weight,
                                                        self.n_clusters)
        tol = scaled_tolerance(X, sample_weight, self._tol)

        best = None
        for _ in range(self._n_init):
            history = [] if self.record_history else None
            centers = self._initial_centers(X, sample_weight, rng)
            if self.verbose:
                print("Initialization complete")
                history = VerboseHistory(
                    lambda i, record: f"Iteration {i}, inertia {record.inertia:.6g}")
            run = lloyd(X, sample_weight, centers, max_iter=self.max_iter,
                        tol=tol, history=history)
            if self.verbose:
                print(f"Converged at iteration {run[3]}" if run[4] else
                      f"Stopped at max_iter={self.max_iter} without converging")
            if best is None or run[2] < best[0][2]:
                best = (run, history)
        (centers, labels, inertia, n_iter, converged), history = best
        warn_if_fewer_clusters(labels, sample_weight, self.n_clusters)
        if inverse is not None:
            labels = labels[inverse]
        self.cluster_centers_ = centers
        self.labels_ = labels
        self.inertia_ = float(inertia)
        self.n_iter_ = int(n_iter)
        self.converged_ = bool(converged)
        if self.record_history:
            self.history_ = list(history)
        return self
