"""What ``KMeans`` and ``MiniBatchKMeans`` share: the checks of ``init`` and
``n_init``, the methods that only need ``cluster_centers_``, the exceptions
they raise, and what makes them scikit-learn estimators (``get_params``,
``set_params``, ``__repr__``, ``__sklearn_tags__``).

scikit-learn is never imported here at module level: only
``__sklearn_tags__``, which only scikit-learn calls, imports it.
"""

import inspect
import sys
import warnings

import numpy as np

from . import _kernels
from ._lloyd import nearest_centers
from ._validation import check_data, check_int, check_sample_weight, feature_names


class ConvergenceWarning(UserWarning):
    """The fit found fewer distinct clusters than asked for.

    Once ``sklearn.exceptions`` has been imported (by the user; this package
    never imports it), the warning issued is also a
    ``sklearn.exceptions.ConvergenceWarning``, so filters on either catch it.
    """


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted estimator was called before ``fit``.

    Both a ``ValueError`` and an ``AttributeError``, like scikit-learn's. Once
    ``sklearn.exceptions`` has been imported (by the user; this package never
    imports it), the error raised is also a ``sklearn.exceptions.NotFittedError``,
    so ``except`` on either catches it.
    """


_COMPATIBLE = {}


def sklearn_compatible(cls):
    """``cls``, or, when ``sklearn.exceptions`` is already imported, a subclass
    of both ``cls`` and scikit-learn's class of the same name.

    Raise or warn with the returned class: ``except``/``warnings`` filters on
    our class and on scikit-learn's then both match. Without scikit-learn
    loaded nobody can catch its class, so ``cls`` itself is enough.
    """
    sk_exceptions = sys.modules.get("sklearn.exceptions")
    sk_cls = getattr(sk_exceptions, cls.__name__, None)
    if sk_cls is None:
        return cls
    if (cls, sk_cls) not in _COMPATIBLE:
        _COMPATIBLE[cls, sk_cls] = type(cls.__name__, (cls, sk_cls), {
            "__module__": cls.__module__, "__doc__": cls.__doc__,
            "__reduce__": _reduce_compatible,
        })
    return _COMPATIBLE[cls, sk_cls]


def _reduce_compatible(self):
    # Pickle as "our class, made compatible again where it is unpickled".
    return _rebuild_compatible, (type(self).__mro__[1], self.args)


def _rebuild_compatible(cls, args):
    return sklearn_compatible(cls)(*args)


_INIT_NAMES = ("k-means++", "random")


class KMeansBase:
    """What ``KMeans`` and ``MiniBatchKMeans`` share: the scikit-learn
    estimator protocol, the checks of ``init`` and ``n_init``, and everything
    that only needs ``cluster_centers_``.

    The parameters are the arguments of the subclass's ``__init__``, each
    stored unchanged under its own name (scikit-learn's convention, which
    ``get_params``, ``set_params``, ``clone`` and ``__repr__`` rely on).
    """

    # n_init="auto" runs this many times with init="random" or a callable
    # (once otherwise).
    _n_init_random = 10

    # -- the scikit-learn estimator protocol ---------------------------------

    @classmethod
    def _param_defaults(cls):
        """Parameter name -> default, from the signature of ``__init__``."""
        signature = inspect.signature(cls.__init__)
        return {name: p.default for name, p in signature.parameters.items()
                if name != "self" and p.kind != p.VAR_KEYWORD}

    def get_params(self, deep=True):
        """The parameters of this estimator.

        Parameters
        ----------
        deep : bool, default=True
            Accepted for scikit-learn; no parameter is itself an estimator,
            so it changes nothing.

        Returns
        -------
        params : dict
            Parameter name -> value.
        """
        return {name: getattr(self, name) for name in sorted(self._param_defaults())}

    def set_params(self, **params):
        """Set parameters by name; checked only at the next ``fit``.

        Returns
        -------
        self : estimator instance
        """
        valid = self._param_defaults()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {self!r}. "
                    f"Valid parameters are: {sorted(valid)!r}."
                )
            setattr(self, name, value)
        return self

    def __repr__(self):
        """``Name(param=value, ...)`` with the parameters not at their default,
        in alphabetical order, as scikit-learn prints estimators."""
        changed = [
            f"{name}={value!r}"
            for name, default in sorted(self._param_defaults().items())
            if (value := getattr(self, name)) is not default
            and repr(value) != repr(default)
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):
        """scikit-learn's tags: a clusterer and transformer of dense input
        that keeps float32 and float64. Only scikit-learn calls this."""
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags

        return Tags(
            estimator_type="clusterer",
            target_tags=TargetTags(required=False),
            transformer_tags=TransformerTags(preserves_dtype=["float64", "float32"]),
            input_tags=InputTags(sparse=False, allow_nan=False),
        )

    # -- checks ----------------------------------------------------------------

    def _check_n_clusters(self, X):
        """``n_clusters`` is an int from 1 to the number of rows of ``X``."""
        check_int(self.n_clusters, "n_clusters", low=1)
        if self.n_clusters > X.shape[0]:
            raise ValueError(
                f"n_clusters={self.n_clusters} exceeds n_samples={X.shape[0]}"
            )

    def _check_init(self, X, stacklevel):
        """Set ``_init`` and ``_n_init`` from ``init`` and ``n_init``."""
        if isinstance(self.init, str):
            if self.init not in _INIT_NAMES:
                raise ValueError(
                    f"init={self.init!r} is not 'k-means++', 'random', a callable "
                    "or an array"
                )
            self._init = self.init
        elif callable(self.init):
            self._init = self.init
        else:
            self._init = self._check_centers(self.init, X, "init array")
        if self.n_init == "auto":
            # As scikit-learn: several runs for "random" and a callable, one
            # for "k-means++" and an array.
            several = callable(self._init) or (
                isinstance(self._init, str) and self._init == "random")
            self._n_init = self._n_init_random if several else 1
        else:
            self._n_init = check_int(self.n_init, "n_init", low=1)
            array = not isinstance(self._init, str) and not callable(self._init)
            if array and self._n_init > 1:
                warnings.warn(
                    f"n_init={self.n_init} ignored: an init array runs once",
                    RuntimeWarning, stacklevel=stacklevel + 1,
                )
                self._n_init = 1

    def _check_centers(self, centers, X, what):
        """``centers`` as an array in the dtype of ``X``, of shape
        (n_clusters, n_features), or a ValueError naming ``what``."""
        centers = check_data(centers, name=what, dtype=X.dtype)
        if centers.shape != (self.n_clusters, X.shape[1]):
            raise ValueError(
                f"{what} has shape {centers.shape}; expected (n_clusters, "
                f"n_features) = ({self.n_clusters}, {X.shape[1]})"
            )
        return centers

    def _call_init(self, X, rng):
        """Centres from a callable ``init``, called as scikit-learn calls it:
        ``init(X, n_clusters, random_state=numpy.random.RandomState)``, the
        RandomState seeded from ``rng``."""
        random_state = np.random.RandomState(rng.integers(2**32))
        centers = self.init(X, self.n_clusters, random_state=random_state)
        return self._check_centers(centers, X, "the array returned by init")

    def _check_verbose(self):
        """``verbose`` is a bool or an int >= 0."""
        if not isinstance(self.verbose, (bool, np.bool_)):
            check_int(self.verbose, "verbose", low=0)

    def _check_fitted(self):
        if not hasattr(self, "cluster_centers_"):
            raise sklearn_compatible(NotFittedError)(
                f"this {type(self).__name__} is not fitted yet; call fit first"
            )

    def _check_fit_data(self, X):
        """``X`` checked by ``check_data``; sets ``n_features_in_`` and, for a
        data frame with string column names, ``feature_names_in_``."""
        names = feature_names(X)
        X = check_data(X)
        self.n_features_in_ = X.shape[1]
        if names is None:
            self.__dict__.pop("feature_names_in_", None)
        else:
            self.feature_names_in_ = names
        return X

    def _check_test_data(self, X):
        """``X`` checked against the fit: converted to the dtype of the centres,
        with as many features (and the same column names) as in ``fit``."""
        self._check_fitted()
        self._check_feature_names(feature_names(X))
        X = check_data(X, dtype=self.cluster_centers_.dtype)
        n_features = self.cluster_centers_.shape[1]
        if X.shape[1] != n_features:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is "
                f"expecting {n_features} features as input"
            )
        return X

    def _check_feature_names(self, names):
        """Column names of new data against ``feature_names_in_``: a warning
        when only one of the two has names, an error when they differ."""
        fitted = getattr(self, "feature_names_in_", None)
        cls = type(self).__name__
        if names is None and fitted is None:
            return
        if fitted is None:
            warnings.warn(f"X has feature names, but {cls} was fitted without "
                          "feature names", UserWarning, stacklevel=4)
        elif names is None:
            warnings.warn(f"X does not have valid feature names, but {cls} was "
                          "fitted with feature names", UserWarning, stacklevel=4)
        elif len(names) != len(fitted) or (names != fitted).any():
            # scikit-learn's message, which its checks match.
            first = "The feature names should match those that were passed during fit."
            lines = [first]
            unseen = sorted(set(names) - set(fitted))
            missing = sorted(set(fitted) - set(names))
            for title, group in [("Feature names unseen at fit time:", unseen),
                                 ("Feature names seen at fit time, yet now missing:",
                                  missing)]:
                if group:
                    lines += [title, *(f"- {name}" for name in group[:5])]
                    lines += ["- ..."] if len(group) > 5 else []
            if not unseen and not missing:
                lines.append("Feature names must be in the same order as they were "
                             "in fit.")
            raise ValueError("\n".join(lines) + "\n")

    def get_feature_names_out(self, input_features=None):
        """Names of the columns of ``transform``: the class name in lower case
        followed by the index of the centre (``kmeans0``, ``kmeans1``, ...).

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked: if given, it must equal ``feature_names_in_`` (or,
            fitted without names, have ``n_features_in_`` entries).

        Returns
        -------
        feature_names_out : ndarray of str objects, shape (n_clusters,)
        """
        self._check_fitted()
        if input_features is not None:
            input_features = np.asarray(input_features, dtype=object)
            fitted = getattr(self, "feature_names_in_", None)
            if fitted is not None and not np.array_equal(input_features, fitted):
                raise ValueError(
                    "input_features is not equal to feature_names_in_: got "
                    f"{input_features.tolist()}, fitted with {fitted.tolist()}"
                )
            if len(input_features) != self.n_features_in_:
                raise ValueError(
                    "input_features should have length equal to number of "
                    f"features ({self.n_features_in_}), got {len(input_features)}"
                )
        prefix = type(self).__name__.lower()
        n_out = self.cluster_centers_.shape[0]
        return np.asarray([f"{prefix}{i}" for i in range(n_out)], dtype=object)

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return ``labels_``: ndarray of shape (n_samples,).

        ``y`` is ignored (there for scikit-learn's pipelines).
        """
        self.fit(X, sample_weight=sample_weight)
        if not hasattr(self, "labels_"):  # MiniBatchKMeans(compute_labels=False)
            return self.predict(X)
        return self.labels_

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


class VerboseHistory(list):
    """The ``history`` list the drivers fill, printing one line per record as
    it comes, for ``verbose``; the drivers only call ``append``.

    ``line(i, record)`` makes the line of the ``i``-th record (from 0).
    """

    def __init__(self, line):
        super().__init__()
        self._line = line

    def append(self, record):
        print(self._line(len(self), record), flush=True)
        super().append(record)


def assign(X, sample_weight, centers):
    """Labels and inertia of validated ``X`` on ``centers``."""
    sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
    labels, _, inertia = nearest_centers(X, sample_weight, centers)
    return labels, inertia


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
            sklearn_compatible(ConvergenceWarning), stacklevel=3,
        )
