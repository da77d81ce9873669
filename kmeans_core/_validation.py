"""Input checks shared by the public estimators and functions.

Each error names the offending value, so a user can see what to change.
"""

import math
import numbers

import numpy as np


def check_data(X, *, name="X", dtype=None):
    """Return ``X`` as a C-contiguous 2-D float32 or float64 array.

    float32 and float64 are kept (float32 is the fast path); any other real
    dtype, and object arrays that hold numbers, become float64, unless
    ``dtype`` asks for a given one. Complex numbers are refused (ValueError),
    and so are sparse matrices (TypeError: densify with ``X.toarray()``). The
    caller's array is never modified: a copy is made whenever a conversion is
    needed.
    """
    if hasattr(X, "toarray") or (hasattr(X, "format") and hasattr(X, "nnz")):
        raise TypeError(
            f"{name} is a sparse matrix ({type(X).__name__}); sparse matrices are "
            f"not supported: densify it with {name}.toarray()"
        )
    try:
        X = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} cannot be read as an array: {exc}") from None
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features); got ndim={X.ndim} "
            f"with shape {X.shape}. Reshape your data either using "
            "array.reshape(-1, 1) if your data has a single feature or "
            "array.reshape(1, -1) if it contains a single sample"
        )
    for axis, what in enumerate(("sample(s)", "feature(s)")):
        if X.shape[axis] == 0:
            raise ValueError(
                f"{name} is empty: 0 {what} (shape={X.shape}) while a minimum "
                "of 1 is required."
            )
    if np.iscomplexobj(X):
        raise ValueError(
            f"Complex data not supported: {name} has dtype {X.dtype}; pass real "
            f"numbers, for example {name}.real and {name}.imag as separate features"
        )
    if X.dtype == object:
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"{name} has dtype object and does not hold only numbers: {exc}"
            ) from None
    if dtype is None:
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == np.bool_):
        raise ValueError(f"{name} must hold numbers; got dtype {X.dtype}")
    X = np.ascontiguousarray(X, dtype=dtype)
    if not np.isfinite(X).all():
        row = int(np.flatnonzero(~np.isfinite(X).all(axis=1))[0])
        raise ValueError(f"{name} contains NaN or infinity (first in row {row})")
    return X


def feature_names(X):
    """The column names of a data frame ``X`` (anything with a ``columns``
    attribute, as pandas and polars have), as an object array, when they are
    all strings; None otherwise.

    A mix of string and other names is refused, as scikit-learn does: the
    names could not be compared.
    """
    columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray):
        return None
    names = np.asarray(list(columns), dtype=object)
    if names.ndim != 1 or len(names) == 0:
        return None
    is_str = [isinstance(n, str) for n in names]
    if all(is_str):
        return names
    if any(is_str):
        kinds = sorted({type(n).__name__ for n in names})
        raise TypeError(
            "Feature names are only supported if all input features have string "
            f"names, but X has {kinds} as column name types; convert them all to "
            "strings, for example with X.columns = X.columns.astype(str)"
        )
    return None


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
        raise ValueError(
            "sample_weight sums to 0 (every weight is zero); at least one row "
            "needs a weight > 0"
        )
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


def check_bool(value, name):
    """``value`` as a bool, or a ValueError naming it (0 and 1 are no bools)."""
    if not isinstance(value, (bool, np.bool_)):
        # ValueError, not TypeError: every bad parameter value raises ValueError.
        raise ValueError(f"{name}={value!r} must be True or False")  # noqa: TRY004
    return bool(value)


def check_real(value, name, *, low=None, high=None, low_open=False, unit=None):
    """``value`` as a float in a range, or a ValueError naming it.

    The one "number in a range" check of the package. ``low`` and ``high``
    are inclusive bounds (``low_open=True``: ``value > low``); None is no
    bound. A bool, NaN or anything not a real number is refused.

    Examples
    --------
    >>> check_real(0.5, "level", low=0, high=1)
    0.5
    >>> check_real(2, "level", low=0, high=1)
    Traceback (most recent call last):
    ...
    ValueError: level=2 must be a number in [0, 1]
    >>> check_real(0, "target_psnr", low=0, low_open=True, unit="dB")
    Traceback (most recent call last):
    ...
    ValueError: target_psnr=0 must be a number of dB > 0
    """
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Real)
          and not math.isnan(value))
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        what = "a number" if unit is None else f"a number of {unit}"
        if low is not None and high is not None:
            bounds = f"in {'(' if low_open else '['}{low}, {high}]"
        elif low is not None:
            bounds = f"{'>' if low_open else '>='} {low}"
        else:
            bounds = f"<= {high}" if high is not None else ""
        raise ValueError(f"{name}={value!r} must be {what} {bounds}".rstrip())
    return float(value)


def check_tol(tol):
    """``tol`` as a float >= 0."""
    return check_real(tol, "tol", low=0)


COLOR_SPACES = ("rgb", "oklab")


def check_color_space(color_space):
    """``color_space`` if it is "rgb" or "oklab", else a ValueError naming it.

    Examples
    --------
    >>> check_color_space("lab")
    Traceback (most recent call last):
    ...
    ValueError: color_space='lab' is not 'rgb' or 'oklab'
    """
    if not isinstance(color_space, str) or color_space not in COLOR_SPACES:
        raise ValueError(f"color_space={color_space!r} is not 'rgb' or 'oklab'")
    return color_space


def check_dither(dither):
    """The dithering level: None -> 0.0, else a float in [0, 1] (``check_real``).

    Examples
    --------
    >>> check_dither(None), check_dither(1)
    (0.0, 1.0)
    >>> check_dither(2)
    Traceback (most recent call last):
    ...
    ValueError: dither=2 must be a number in [0, 1] or None
    """
    if dither is None:
        return 0.0
    try:
        return check_real(dither, "dither", low=0, high=1)
    except ValueError as exc:
        raise ValueError(f"{exc} or None") from None


def check_image(image):
    """``image`` as an (H, W, 3|4) uint8 array, or a ValueError naming it."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8 (0-255); got dtype {image.dtype}")
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(
            f"image must have shape (H, W, 3) or (H, W, 4); got {image.shape}"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image is empty: shape {image.shape}")
    return image
