"""Input checks shared by the public estimators and functions.

Each error names the offending value, so a user can see what to change.
"""

import numbers

import numpy as np


def check_data(X, *, name="X", dtype=None):
    """Return ``X`` as a C-contiguous 2-D float32 or float64 array.

    float32 and float64 are kept (float32 is the fast path); any other dtype
    becomes float64, unless ``dtype`` asks for a given one. The caller's array
    is never modified: a copy is made whenever a conversion is needed.
    """
    try:
        X = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} cannot be read as an array: {exc}") from None
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features); got ndim={X.ndim} "
            f"with shape {X.shape}"
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {X.shape}")
    if dtype is None:
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == np.bool_):
        raise ValueError(f"{name} must hold numbers; got dtype {X.dtype}")
    X = np.ascontiguousarray(X, dtype=dtype)
    if not np.isfinite(X).all():
        row = int(np.flatnonzero(~np.isfinite(X).all(axis=1))[0])
        raise ValueError(f"{name} contains NaN or infinity (first in row {row})")
    return X


def check_sample_weight(sample_weight, n_samples, dtype):
    """Return weights of shape (n_samples,) in ``dtype``; ``None`` means ones."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=dtype)
    if isinstance(sample_weight, numbers.Number):
        sample_weight = np.full(n_samples, sample_weight)
    sample_weight = np.asarray(sample_weight)
    if sample_weight.ndim != 1 or sample_weight.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight has shape {sample_weight.shape}; expected "
            f"({n_samples},), one weight per row of X"
        )
    sample_weight = np.ascontiguousarray(sample_weight, dtype=dtype)
    if not np.isfinite(sample_weight).all():
        raise ValueError("sample_weight contains NaN or infinity")
    if (sample_weight < 0).any():
        i = int(np.flatnonzero(sample_weight < 0)[0])
        raise ValueError(
            f"sample_weight must be >= 0; sample_weight[{i}]={sample_weight[i]}"
        )
    if sample_weight.sum() <= 0:
        raise ValueError("sample_weight sums to 0; at least one row needs weight")
    return sample_weight


def check_random_state(random_state):
    """A ``numpy.random.Generator`` from None, an int seed or a Generator."""
    if random_state is None or isinstance(random_state, (numbers.Integral, np.integer)):
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    raise ValueError(
        f"random_state={random_state!r} is not None, an int or a numpy Generator"
    )


def check_int(value, name, *, low, high=None):
    """``value`` as an int in [low, high], or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        # ValueError, not TypeError: every bad parameter value raises ValueError.
        raise ValueError(f"{name}={value!r} must be an integer")  # noqa: TRY004
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name}={value} must be {bounds}")
    return int(value)


def check_tol(tol):
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol >= 0:
        raise ValueError(f"tol={tol!r} must be a number >= 0")
    return float(tol)
