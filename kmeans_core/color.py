"""sRGB <-> OKLab conversions and the perceptual error ``delta_e_ok``.

OKLab (Björn Ottosson, 2020, https://bottosson.github.io/posts/oklab/) is a
perceptual colour space: Euclidean distances in it follow perceived colour
differences far better than distances in sRGB. The conversion from sRGB is

1. the sRGB transfer function ("gamma") undone: encoded value -> linear light,
2. linear sRGB -> cone-like responses ``lms`` (Ottosson's matrix M1 composed
   with sRGB -> XYZ),
3. a cube root,
4. ``l'm's'`` -> ``(L, a, b)`` (Ottosson's matrix M2).

``oklab_to_srgb`` runs the same steps backwards with the exact inverse
matrices, so the two functions are inverses of each other to float precision
(about 1e-12 in float64, 1e-6 in float32). L is about 0 (black) to 1 (white);
a and b stay within about +-0.4 for sRGB colours, and are 0 for greys.

The transfer function is applied sign-symmetrically (``f(-x) = -f(x)``), as CSS
Color 4 does, so colours outside the sRGB gamut (negative channels) survive a
round trip instead of becoming NaN.
"""

import numpy as np

from ._validation import COLOR_SPACES, check_color_space  # noqa: F401 - re-exported

# Linear sRGB -> LMS (Ottosson 2020, "linear_srgb_to_oklab").
_LMS_FROM_LINEAR = np.array([
    [0.4122214708, 0.5363325363, 0.0514459929],
    [0.2119034982, 0.6806995451, 0.1073969566],
    [0.0883024619, 0.2817188376, 0.6299787005],
])
# Cube-rooted LMS -> OKLab (Ottosson's M2).
_OKLAB_FROM_LMS_ = np.array([
    [0.2104542553, 0.7936177850, -0.0040720468],
    [1.9779984951, -2.4285922050, 0.4505937099],
    [0.0259040371, 0.7827717662, -0.8086757660],
])
# The inverses are computed rather than copied from the (10-digit) published
# ones, so that a round trip is exact to float64 precision. They agree with
# Ottosson's published inverse matrices to about 1e-9.
_LINEAR_FROM_LMS = np.linalg.inv(_LMS_FROM_LINEAR)
_LMS__FROM_OKLAB = np.linalg.inv(_OKLAB_FROM_LMS_)

# COLOR_SPACES ("rgb", "oklab") lives with its check in _validation; it is
# importable from here too, where the spaces are defined.


def _check_colors(x, name, *, encoded):
    """``x`` as a new float array of shape (..., 3): the one entry check.

    float32 and float64 are kept (float16 becomes float32). For sRGB input
    (``encoded=True``) uint8 becomes float64 in [0, 1] (divided by 255) and
    other integer dtypes are refused, their range being ambiguous; for OKLab
    input integers are taken as they are (float64) and uint8 is refused.
    Always returns a new array, so inputs are never modified.
    """
    x = np.asarray(x)
    if x.ndim == 0 or x.shape[-1] != 3:
        raise ValueError(
            f"{name} must have shape (..., 3), three channels last; got shape "
            f"{x.shape}"
        )
    if x.dtype == np.float16:
        return x.astype(np.float32)
    if x.dtype in (np.float32, np.float64):
        return x.copy()
    if encoded and x.dtype == np.uint8:
        return x / 255.0
    if not encoded and x.dtype != np.uint8 and np.issubdtype(x.dtype, np.integer):
        return x.astype(np.float64)
    expected = "uint8 (0-255) or float (0-1)" if encoded else "float"
    raise ValueError(f"{name} must be {expected}; got dtype {x.dtype}")


def _decode_srgb(v):
    """sRGB transfer function undone, in place: encoded -> linear light."""
    a = np.abs(v)
    linear = np.where(a <= 0.04045, a / 12.92, ((a + 0.055) / 1.055) ** 2.4)
    return np.copysign(linear, v, out=v)


def _encode_srgb(v):
    """sRGB transfer function, in place: linear light -> encoded."""
    a = np.abs(v)
    encoded = np.where(a <= 0.0031308, a * 12.92, 1.055 * a ** (1 / 2.4) - 0.055)
    return np.copysign(encoded, v, out=v)


def _apply(matrix, x):
    """``matrix @ x[..., :]`` for every colour, in the dtype of ``x``.

    With ``einsum``, not ``@``: a BLAS product of a million colours wakes
    OpenBLAS's threads, which then spin for about 0.1 s and take a core from
    the k-means threads.
    """
    return np.einsum("...j,ij->...i", x, matrix.astype(x.dtype))


def srgb_to_oklab(rgb):
    """Convert sRGB colours to OKLab.

    Parameters
    ----------
    rgb : array-like of shape (..., 3)
        sRGB colours, channels last: uint8 in 0-255, or floats in [0, 1]
        (values outside are converted too, sign-symmetrically). Never
        modified.

    Returns
    -------
    lab : ndarray of shape (..., 3)
        ``(L, a, b)``; float32 for float32 (and float16) input, else float64.

    See Also
    --------
    oklab_to_srgb : the inverse.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeans_core import srgb_to_oklab
    >>> np.round(srgb_to_oklab(np.array([[255, 255, 255], [255, 0, 0]], np.uint8)), 4)
    array([[1.    , 0.    , 0.    ],
           [0.628 , 0.2249, 0.1258]])
    """
    x = _check_colors(rgb, "rgb", encoded=True)
    lms = _apply(_LMS_FROM_LINEAR, _decode_srgb(x))
    return _apply(_OKLAB_FROM_LMS_, np.cbrt(lms))


def oklab_to_srgb(lab, *, clip=False):
    """Convert OKLab colours to sRGB floats.

    Parameters
    ----------
    lab : array-like of shape (..., 3)
        ``(L, a, b)`` colours, float. Never modified.
    clip : bool, default=False
        Clip the result to [0, 1]. Without it, colours outside the sRGB gamut
        come back with channels below 0 or above 1, so that
        ``oklab_to_srgb(srgb_to_oklab(x))`` gives back ``x`` exactly (to float
        precision) for any ``x``.

    Returns
    -------
    rgb : ndarray of shape (..., 3)
        sRGB in [0, 1] for in-gamut colours; float32 for float32 input, else
        float64. ``np.rint(rgb * 255).astype(np.uint8)`` after ``clip=True``
        gives 8-bit colours.

    See Also
    --------
    srgb_to_oklab : the inverse.

    Examples
    --------
    >>> from kmeans_core import oklab_to_srgb
    >>> np.round(oklab_to_srgb([0.627955, 0.224863, 0.125846]), 4)
    array([1., 0., 0.])
    >>> oklab_to_srgb([[1.2, 0.0, 0.0]], clip=True)
    array([[1., 1., 1.]])
    """
    x = _check_colors(lab, "lab", encoded=False)
    lms = _apply(_LMS__FROM_OKLAB, x) ** 3
    rgb = _encode_srgb(_apply(_LINEAR_FROM_LMS, lms))
    if clip:
        np.clip(rgb, 0.0, 1.0, out=rgb)
    return rgb


def delta_e_ok(rgb_a, rgb_b):
    """Mean OKLab distance (ΔE_OK) between two images of the same shape.

    The Euclidean distance between corresponding pixels in OKLab, averaged
    over pixels. A just noticeable difference is about 0.02 (1 is the
    distance from black to white).

    Parameters
    ----------
    rgb_a, rgb_b : array-like of shape (..., 3)
        sRGB images, e.g. (H, W, 3) uint8, same shape. An RGBA image must be
        sliced to ``[..., :3]`` first.

    Returns
    -------
    float

    Examples
    --------
    >>> from kmeans_core.color import delta_e_ok
    >>> a = np.zeros((2, 2, 3), np.uint8)
    >>> b = np.full((2, 2, 3), 255, np.uint8)
    >>> round(delta_e_ok(a, b), 6)
    1.0
    """
    a = np.asarray(rgb_a)
    b = np.asarray(rgb_b)
    if a.shape != b.shape:
        raise ValueError(
            f"rgb_a and rgb_b must have the same shape; got {a.shape} and {b.shape}"
        )
    if a.size == 0:
        raise ValueError(f"rgb_a is empty: shape {a.shape}")
    a = a.reshape(-1, a.shape[-1]) if a.ndim else a
    b = b.reshape(-1, b.shape[-1]) if b.ndim else b
    counts = None
    if a.dtype == np.uint8 and b.dtype == np.uint8 and a.shape[-1] == 3:
        # Convert each distinct pair of colours once: images repeat colours.
        keys = np.zeros(len(a), dtype=np.int64)
        for channel in np.concatenate([a, b], axis=1).T:
            keys = (keys << 8) | channel
        keys, first, counts = np.unique(keys, return_index=True, return_counts=True)
        a, b = a[first], b[first]
    lab_a = srgb_to_oklab(a)
    lab_b = srgb_to_oklab(b)
    distance = np.sqrt(((lab_a - lab_b) ** 2).sum(axis=-1))
    if counts is None:
        return float(distance.mean())
    return float(np.multiply(distance, counts).sum() / counts.sum())


def to_working_space(colors, color_space):
    """Colours in the space where clustering and dithering measure distances.

    Parameters
    ----------
    colors : ndarray of shape (..., C), uint8
        RGB (C = 3) or RGBA (C = 4) colours, 0-255.
    color_space : {"rgb", "oklab"}
        "rgb": the values themselves as float32 (0-255 units). "oklab": OKLab
        ``(L, a, b)`` as float32, with alpha (if any) as a fourth channel in
        [0, 1] (alpha / 255, on the scale of L).

    Returns
    -------
    ndarray of shape (..., C), float32

    See Also
    --------
    from_working_space : the way back, rounded and clipped to uint8.

    Examples
    --------
    >>> from kmeans_core.color import to_working_space
    >>> to_working_space(np.array([[255, 255, 255, 0]], np.uint8), "oklab").round(4)
    array([[1., 0., 0., 0.]], dtype=float32)
    """
    colors = _check_working(colors, color_space)
    if color_space == "rgb":
        return colors.astype(np.float32)
    out = np.empty(colors.shape, dtype=np.float32)
    out[..., :3] = srgb_to_oklab(colors[..., :3])
    if colors.shape[-1] == 4:
        out[..., 3] = colors[..., 3] / np.float32(255)
    return out


def from_working_space(values, color_space):
    """Working-space colours (e.g. k-means centres) back to uint8 RGB(A).

    Parameters
    ----------
    values : ndarray of shape (..., C), float
        As made by ``to_working_space`` (C = 3 or 4).
    color_space : {"rgb", "oklab"}

    Returns
    -------
    ndarray of shape (..., C), uint8
        Rounded to the nearest integer and clipped to 0-255; OKLab colours
        outside the sRGB gamut are clipped per channel.

    Examples
    --------
    >>> from kmeans_core.color import from_working_space
    >>> from_working_space(np.array([[1.0, 0.0, 0.0]]), "oklab")
    array([[255, 255, 255]], dtype=uint8)
    """
    values = np.asarray(values)
    check_color_space(color_space)
    if values.ndim == 0 or values.shape[-1] not in (3, 4):
        raise ValueError(
            f"values must have shape (..., 3) or (..., 4); got shape {values.shape}"
        )
    values = values.astype(np.float64)
    if color_space == "oklab":
        values[..., :3] = oklab_to_srgb(values[..., :3], clip=True) * 255.0
        values[..., 3:] *= 255.0
    return np.rint(np.clip(values, 0.0, 255.0)).astype(np.uint8)


def _check_working(colors, color_space):
    check_color_space(color_space)
    colors = np.asarray(colors)
    if colors.dtype != np.uint8:
        raise ValueError(f"colors must be uint8; got dtype {colors.dtype}")
    if colors.ndim == 0 or colors.shape[-1] not in (3, 4):
        raise ValueError(
            f"colors must have shape (..., 3) or (..., 4); got shape {colors.shape}"
        )
    return colors
