"""Make the figures of docs/how-kmeans-works.md and the README with kmeans_core.

Run from the repository root:

    python docs/make_figures.py

Writes docs/images/*.png and docs/images/animation.gif, and prints the numbers
quoted in docs/how-kmeans-works.md. Every figure is drawn by this project's
code (``kmeans_core.plotting`` or the reference/driver functions named below);
the PNGs are then compressed by the project itself: quantized to at most 256
colours with ``kmeans_core.quantize`` and written as indexed PNGs with
``kmeans_core.io.encode_image``.
"""

import io
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kmeans_core import KMeans, quantize, unique_colors
from kmeans_core._lloyd import scaled_tolerance
from kmeans_core.io import encode_image, load_image
from kmeans_core.minibatch import MiniBatchKMeans
from kmeans_core.plotting import report_figure, save_animation
from kmeans_core.reference import lloyd as reference_lloyd
from kmeans_core.reference import seeding as reference_seeding

IMAGES = ROOT / "docs" / "images"
SAMPLE = ROOT / "samples" / "chelsea.jpg"
K = 16


def figure(*args, **kwargs):
    from matplotlib.figure import Figure

    return Figure(*args, layout="constrained", **kwargs)


def save_small_png(fig, name, dpi=80):
    """Render ``fig``, quantize it to <= 256 colours with kmeans_core, write it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    pixels = np.asarray(Image.open(buffer).convert("RGB"))
    data = encode_image(quantize(pixels, 256))
    (IMAGES / name).write_bytes(data)
    print(f"{name}: {pixels.shape[1]} x {pixels.shape[0]}, {len(data):,} bytes")


def blobs(seed=0):
    """Three 2-D clusters, the toy data of the small figures."""
    rng = np.random.default_rng(seed)
    means = np.array([[2.0, 2.0], [7.0, 3.0], [4.0, 7.5]])
    sizes = (60, 45, 45)
    return np.concatenate([rng.normal(m, 1.0, size=(n, 2))
                           for m, n in zip(means, sizes)])


COLORS = np.array(["tab:blue", "tab:orange", "tab:green"])


def assign_update_figure():
    """One Lloyd iteration on the toy data, with the reference's two steps."""
    X = blobs()
    w = np.ones(len(X))
    centers = np.array([[1.0, 8.0], [2.0, 7.0], [8.0, 1.0]])
    fig = figure(figsize=(11, 3.8))
    axes = fig.subplots(1, 3, sharex=True, sharey=True)
    labels, distances, _ = reference_lloyd.assign_labels(X, w, centers)
    new_centers, shift = reference_lloyd.update_centers(X, w, labels, distances, centers)

    axes[0].scatter(X[:, 0], X[:, 1], c="0.6", s=12)
    axes[0].set_title("centres (x) before the iteration")
    axes[1].scatter(X[:, 0], X[:, 1], c=COLORS[labels], s=12)
    axes[1].set_title("assignment: each point to its nearest centre")
    axes[2].scatter(X[:, 0], X[:, 1], c=COLORS[labels], s=12, alpha=0.4)
    for old, new in zip(centers, new_centers):
        axes[2].annotate("", new, old, arrowprops={"arrowstyle": "->", "lw": 1.5})
    axes[2].scatter(*new_centers.T, c=COLORS, marker="X", s=150, edgecolors="black")
    axes[2].set_title(f"update: centres to the means (shift {shift:.1f})")
    for ax in axes[:2]:
        ax.scatter(*centers.T, c=COLORS, marker="X", s=150, edgecolors="black")
    for ax in axes:
        ax.set_aspect("equal")
    save_small_png(fig, "assign-update.png")


def kmeanspp_figure():
    """k-means++ seeding (``reference.seeding.kmeans_plusplus``) next to a random start."""
    X = blobs(seed=1)
    w = np.ones(len(X))

    def random_rows(rng):
        return X[rng.choice(len(X), 3, replace=False)]

    def plusplus(rng):
        return reference_seeding.kmeans_plusplus(X, 3, w, rng)

    fig = figure(figsize=(8, 4.1))
    axes = fig.subplots(1, 2, sharex=True, sharey=True)
    for ax, seed_centers, title in ((axes[0], random_rows, "random rows"),
                                    (axes[1], plusplus, "k-means++ (greedy)")):
        # Mean inertia of the starting centres over 200 seeds, and seed 0 drawn.
        starts = [reference_lloyd.assign_labels(X, w, seed_centers(
            np.random.default_rng(seed)))[2] for seed in range(200)]
        centers = seed_centers(np.random.default_rng(0))
        ax.scatter(X[:, 0], X[:, 1], c="0.6", s=12)
        ax.scatter(*centers.T, c="tab:red", marker="X", s=150, edgecolors="black")
        for n, c in enumerate(centers, 1):
            ax.annotate(str(n), c, xytext=(7, 7), textcoords="offset points",
                        fontsize="large", fontweight="bold")
        ax.set_title(f"{title}\nstart inertia: mean {np.mean(starts):.0f}, "
                     f"worst {np.max(starts):.0f} (200 seeds)")
        ax.set_aspect("equal")
        print(f"{title}: start inertia mean {np.mean(starts):.0f}, median "
              f"{np.median(starts):.0f}, worst {np.max(starts):.0f}")
    save_small_png(fig, "kmeans-plusplus.png")


def convergence_figure(image):
    """The stopping rule of ``_lloyd.lloyd`` on the sample photo, step by step."""
    colors, counts, _ = unique_colors(image)
    X = colors.astype(np.float32)
    w = counts.astype(np.float32)
    km = KMeans(K, random_state=0, record_history=True).fit(X, sample_weight=w)
    centers = np.stack([r.centers for r in km.history_]).astype(np.float64)
    shifts = ((centers[1:] - centers[:-1]) ** 2).sum(axis=(1, 2))
    threshold = scaled_tolerance(X, w, km.tol)
    variance = threshold / km.tol
    fig = figure(figsize=(7, 3.6))
    ax = fig.subplots()
    steps = np.arange(1, len(shifts) + 1)
    ax.semilogy(steps, np.maximum(shifts, 1e-6), "o-",
                label="summed squared centre shift")
    ax.axhline(threshold, color="tab:red", linestyle="--",
               label=f"tol x mean variance = 1e-4 x {variance:.0f}")
    ax.set_xlabel("iteration (centre update)")
    ax.set_ylabel("0-255 units squared")
    ax.set_title(f"{SAMPLE.name}, k={K}: stops after {km.n_iter_} iterations")
    ax.legend()
    save_small_png(fig, "convergence.png")
    print(f"convergence: n_iter={km.n_iter_}, converged={km.converged_}, "
          f"mean variance={variance:.1f}, threshold={threshold:.4f}, "
          f"last shifts={np.round(shifts[-3:], 4).tolist()}")


def weighted_unique_numbers(image):
    """All pixels vs unique colours weighted by their counts: the same fit."""
    pixels = image.reshape(-1, 3).astype(np.float32)
    colors, counts, _ = unique_colors(image)
    init = reference_seeding.kmeans_plusplus(colors.astype(np.float64), K,
                                      counts.astype(np.float64),
                                      np.random.default_rng(0)).astype(np.float32)
    a = KMeans(K, init=init).fit(pixels)
    b = KMeans(K, init=init).fit(colors.astype(np.float32),
                                 sample_weight=counts.astype(np.float32))
    diff = float(np.abs(a.cluster_centers_ - b.cluster_centers_).max())
    print(f"weighted unique colours: {len(pixels):,} pixels, {len(colors):,} "
          f"colours; n_iter {a.n_iter_} vs {b.n_iter_}; inertia {a.inertia_:.6g} "
          f"vs {b.inertia_:.6g}; largest centre difference {diff:.2e}")


def minibatch_figure(image):
    """Lloyd vs mini-batch k-means on the sample photo's weighted colours."""
    colors, counts, _ = unique_colors(image)
    X = colors.astype(np.float32)
    w = counts.astype(np.float32)
    km = KMeans(K, random_state=0, record_history=True).fit(X, sample_weight=w)
    mb = MiniBatchKMeans(K, batch_size=1024, random_state=0,
                         record_history=True).fit(X, sample_weight=w)
    fig = figure(figsize=(7, 3.6))
    ax = fig.subplots()
    n_pixels = float(w.sum())
    # x: rows read so far, the work done. A Lloyd iteration reads every
    # distinct colour once, a mini-batch step reads 1024 rows. Record i holds
    # the centres before update i + 1, so it is plotted after i updates.
    lloyd = np.array([r.inertia for r in km.history_[1:]]) / n_pixels
    batch = np.array([r.inertia for r in mb.history_[1:]]) / n_pixels
    ax.plot(np.arange(1, len(batch) + 1) * 1024, batch, ".-",
            color="tab:orange", linewidth=1,
            label=f"mini-batch, batch 1024 ({mb.n_steps_} steps)")
    ax.plot(np.arange(1, len(lloyd) + 1) * len(X), lloyd, ".-", color="tab:blue",
            label=f"Lloyd ({km.n_iter_} iterations of {len(X):,} colours)")
    ax.set_xscale("log")
    ax.set_xlabel("rows read (log scale)")
    ax.set_ylabel("inertia / pixel")
    ax.set_title(f"{SAMPLE.name}, k={K}: final {km.inertia_ / n_pixels:.1f} (Lloyd) "
                 f"vs {mb.inertia_ / n_pixels:.1f} (mini-batch)")
    ax.legend()
    save_small_png(fig, "minibatch.png")
    print(f"minibatch: steps={mb.n_steps_}, rows read={mb.n_steps_ * 1024:,}, "
          f"Lloyd rows read={km.n_iter_ * len(X):,}, n_iter_={mb.n_iter_}, inertia/pixel "
          f"{mb.inertia_ / n_pixels:.2f} vs Lloyd {km.inertia_ / n_pixels:.2f}")


def report_and_animation(image):
    result = quantize(image, K, record_history=True)
    fig = report_figure(image, result, title=f"{SAMPLE.name}, k = {K}",
                        n_bytes=len(encode_image(result)),
                        original_bytes=SAMPLE.stat().st_size)
    save_small_png(fig, "report.png", dpi=72)
    with tempfile.TemporaryDirectory() as tmp:
        gif = Path(tmp) / "animation.gif"
        n = save_animation(image, result, gif)
        data = gif.read_bytes()
    (IMAGES / "animation.gif").write_bytes(data)
    print(f"animation.gif: {n} frames ({len(result.history)} records), "
          f"{len(data):,} bytes")


def main():
    IMAGES.mkdir(parents=True, exist_ok=True)
    image = load_image(SAMPLE).pixels
    assign_update_figure()
    kmeanspp_figure()
    convergence_figure(image)
    weighted_unique_numbers(image)
    minibatch_figure(image)
    report_and_animation(image)


if __name__ == "__main__":
    main()
