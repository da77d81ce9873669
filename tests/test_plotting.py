"""Tests of kmeans_core.plotting: figures built headless, files written cleanly."""

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from kmeans_core import plotting, quantize, unique_colors
from kmeans_core.metrics import psnr


def make_image(height=24, width=32, seed=0, alpha=False):
    """A small smooth image with noise: many distinct colours, a few clusters."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 // (width - 1), y * 255 // (height - 1),
                      (x + y) * 255 // (width + height - 2)], axis=-1)
    image = image + rng.integers(-12, 13, size=image.shape)
    image = np.clip(image, 0, 255).astype(np.uint8)
    if alpha:
        a = np.full((height, width, 1), 255, dtype=np.uint8)
        a[: height // 4] = 0
        a[height // 4: height // 2] = 128
        image = np.concatenate([image, a], axis=-1)
    return image


@pytest.fixture(scope="module")
def image():
    return make_image()


@pytest.fixture(scope="module")
def result(image):
    return quantize(image, 4, record_history=True)


def facecolors(collection):
    return np.asarray(collection.get_facecolors())[:, :3]


# -- import cost ---------------------------------------------------------------


def test_importing_the_package_does_not_import_matplotlib():
    code = (
        "import sys, importlib\n"
        "import kmeans_core, kmeans_core.plotting, kmeans_core.widgets\n"
        "importlib.import_module('kmeans_core.cli')\n"
        "bad = [m for m in ('matplotlib', 'ipywidgets', 'IPython') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == ""


def test_no_pyplot_figures_are_left_behind(image, result, tmp_path):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plotting.report_figure(image, result)
    plotting.save_report(image, result, tmp_path / "r.png")
    plotting.save_animation(image, result, tmp_path / "a.gif", max_frames=2)
    assert plt.get_fignums() == before


# -- sampling ------------------------------------------------------------------


def test_sample_pixels_is_seeded_and_without_replacement(image):
    a = plotting.sample_pixels(image, 100, random_state=3)
    b = plotting.sample_pixels(image, 100, random_state=3)
    c = plotting.sample_pixels(image, 100, random_state=4)
    assert a.shape == (100,) and len(np.unique(a)) == 100
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= 0 and a.max() < image.shape[0] * image.shape[1]


def test_sample_pixels_takes_all_pixels_of_a_small_image(image):
    ids = plotting.sample_pixels(image, 10_000)
    np.testing.assert_array_equal(ids, np.arange(image.shape[0] * image.shape[1]))


def test_sample_pixels_leaves_out_transparent_pixels():
    rgba = make_image(alpha=True)
    ids = plotting.sample_pixels(rgba, 50, random_state=0)
    assert (rgba.reshape(-1, 4)[ids, 3] > 0).all()


def test_count_colors_agrees_with_unique_colors(image):
    assert plotting.count_colors(image) == len(unique_colors(image)[0])


@pytest.mark.parametrize("bad", [np.zeros((4, 5), np.uint8),
                                 np.zeros((4, 4, 2), np.uint8),
                                 np.zeros((4, 4, 3), np.float32)])
def test_bad_images_are_rejected_with_their_shape_or_dtype(bad):
    with pytest.raises(ValueError, match=r"shape|dtype"):
        plotting.plot_color_space(bad)


# -- colour space --------------------------------------------------------------


def test_color_space_has_three_labelled_panels_in_pixel_colours(image):
    centers = np.array([[10, 20, 30], [200, 100, 50]], dtype=np.float32)
    axes = plotting.plot_color_space(image, centers=centers, n_samples=200,
                                     random_state=1)
    assert len(axes) == 3
    assert [(ax.get_xlabel(), ax.get_ylabel()) for ax in axes] == [
        ("Red", "Green"), ("Red", "Blue"), ("Green", "Blue")]
    fig = axes[0].figure
    n_colors = len(unique_colors(image)[0])
    assert fig.get_suptitle() == f"Colour space: {n_colors:,} colours"

    sample = image.reshape(-1, 3)[plotting.sample_pixels(image, 200, random_state=1)]
    for ax, (x, y) in zip(axes, [(0, 1), (0, 2), (1, 2)]):
        points, marks = ax.collections
        np.testing.assert_array_equal(points.get_offsets(), sample[:, [x, y]])
        np.testing.assert_allclose(facecolors(points), sample / 255)
        # Centres: where they are, in their own colour, with a black rim.
        np.testing.assert_allclose(marks.get_offsets(), centers[:, [x, y]])
        np.testing.assert_allclose(facecolors(marks), centers / 255)
        np.testing.assert_allclose(np.asarray(marks.get_edgecolors())[:, :3], 0)
        assert marks.get_sizes()[0] > points.get_sizes()[0]


def test_color_space_paints_points_with_the_given_colours(image, result):
    compressed = result.to_image()
    axes = plotting.plot_color_space(image, colors=compressed, n_samples=300)
    ids = plotting.sample_pixels(image, 300)
    points = axes[0].collections[0]
    np.testing.assert_array_equal(points.get_offsets(),
                                  image.reshape(-1, 3)[ids][:, :2])
    np.testing.assert_allclose(facecolors(points),
                               compressed.reshape(-1, 3)[ids] / 255)
    assert axes[0].figure.get_suptitle() == (
        f"Colour space: {len(result.palette)} colours")


def test_color_space_draws_into_given_axes_with_the_title_in_the_middle(image):
    from matplotlib.figure import Figure

    fig = Figure()
    given = list(fig.subplots(1, 3))
    axes = plotting.plot_color_space(image, axes=given, title="Input colour space")
    assert axes == given
    assert given[1].get_title() == "Input colour space"
    assert fig.get_suptitle() == ""


def test_color_space_in_3d(image):
    (ax,) = plotting.plot_color_space(image, centers=[[0, 0, 0], [255, 255, 255]],
                                      three_d=True, n_samples=50)
    assert ax.name == "3d"
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel()) == (
        "Red", "Green", "Blue")
    assert len(ax.collections) == 2


def test_color_space_of_an_rgba_image_uses_rgb(image):
    rgba = make_image(alpha=True)
    axes = plotting.plot_color_space(rgba, centers=[[1, 2, 3, 255]], n_samples=40)
    points = axes[0].collections[0]
    ids = plotting.sample_pixels(rgba, 40)
    np.testing.assert_allclose(facecolors(points), rgba.reshape(-1, 4)[ids, :3] / 255)


# -- before / after ------------------------------------------------------------


def test_comparison_titles_name_colours_bytes_and_psnr(image, result):
    left, right = plotting.plot_comparison(image, result, n_bytes=1234,
                                           original_bytes=56789)
    n_in = len(unique_colors(image)[0])
    assert left.get_title() == f"Original: {n_in:,} colours, 56,789 bytes"
    quality = psnr(image, result.to_image())
    assert right.get_title() == (
        f"Compressed (kmeans): {len(result.palette)} colours, 1,234 bytes, "
        f"PSNR {quality:.1f} dB")
    np.testing.assert_array_equal(left.images[0].get_array(), image)
    np.testing.assert_array_equal(right.images[0].get_array(), result.to_image())


def test_comparison_of_an_exact_copy_says_psnr_inf():
    flat = np.zeros((4, 4, 3), np.uint8)
    flat[:2] = 200
    _, right = plotting.plot_comparison(flat, quantize(flat, 4))
    assert right.get_title().endswith("PSNR inf dB")


def test_report_figure_rows(image, result):
    fig = plotting.report_figure(image, result, title="photo.jpg")
    assert fig.get_suptitle() == "photo.jpg"
    top, before, after = fig.subfigs
    assert len(top.axes) == 2 and len(before.axes) == 3 and len(after.axes) == 3
    assert before.get_suptitle() == f"Input colour space: {result.n_colors_in:,} colours"
    assert after.get_suptitle() == f"Reduced colour space: {len(result.palette)} colours"
    marks = before.axes[0].collections[1]
    np.testing.assert_allclose(marks.get_offsets(), result.palette[:, :2])
    assert len(plotting.report_figure(image, result, color_space=False).subfigs) == 1


# -- files ---------------------------------------------------------------------


def drawn_area(path, colors):
    """Pixels of the image file ``path`` having each of the RGB ``colors``."""
    with Image.open(path) as im:
        pixels = np.asarray(im.convert("RGB")).reshape(-1, 3)
    found, counts = np.unique(pixels, axis=0, return_counts=True)
    area = {tuple(c): int(n) for c, n in zip(found.tolist(), counts)}
    return [area.get(tuple(int(v) for v in c[:3]), 0) for c in colors]


def test_save_report_writes_a_png(image, result, tmp_path):
    path = tmp_path / "report.png"
    assert plotting.save_report(image, result, path) is None
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert im.size[0] > 400 and im.size[1] > 400
    assert os.listdir(tmp_path) == ["report.png"]  # no temporary file left
    # The compressed image and the clusters are drawn in the palette's
    # colours: each covers a patch, not a stray pixel.
    assert min(drawn_area(path, result.palette)) > 1000


def test_save_report_of_an_rgba_image(tmp_path):
    rgba = make_image(alpha=True)
    result = quantize(rgba, 3)
    plotting.save_report(rgba, result, str(tmp_path / "rgba.png"))
    opaque = result.palette[result.palette[:, 3] == 255]
    assert len(opaque) >= 1 and min(drawn_area(tmp_path / "rgba.png", opaque)) > 1000


@pytest.mark.parametrize("save", ["report", "animation"])
def test_bad_plot_paths_raise_one_line_errors(image, result, tmp_path, save):
    suffix = ".png" if save == "report" else ".gif"

    def run(path):
        if save == "report":
            plotting.save_report(image, result, path)
        else:
            plotting.save_animation(image, result, path, max_frames=2)

    cases = [
        (tmp_path / "missing" / f"x{suffix}", ValueError, "does not exist"),
        (tmp_path / "x.txt", ValueError, "unsupported file type"),
    ]
    (tmp_path / "folder" / f"x{suffix}").mkdir(parents=True)
    cases.append((tmp_path / "folder" / f"x{suffix}", ValueError, "is a folder"))
    for path, error, words in cases:
        with pytest.raises(error, match=words) as info:
            run(path)
        assert "\n" not in str(info.value)
    assert not (tmp_path / "missing").exists()


def test_unwritable_folder_gives_a_one_line_oserror(image, result, tmp_path,
                                                    monkeypatch):
    from kmeans_core import _atomic

    real_open = os.open

    def refuse(path, flags, *args):  # creating the temporary file fails
        if os.path.basename(path).startswith(".r.png."):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(_atomic.os, "open", refuse)
    path = tmp_path / "r.png"
    with pytest.raises(OSError, match=f"cannot write in folder {tmp_path}: "
                       "Permission denied") as info:
        plotting.save_report(image, result, path)
    assert "\n" not in str(info.value)
    assert not path.exists()


# -- animation -----------------------------------------------------------------


@pytest.mark.parametrize("n_records, max_frames", [(1, 60), (5, 60), (60, 60),
                                                   (61, 60), (300, 60), (100, 6),
                                                   (10, 1), (10, 2)])
def test_select_frames(n_records, max_frames):
    frames = plotting.select_frames(n_records, max_frames)
    assert len(frames) == min(n_records, max_frames)
    assert frames[-1] == n_records - 1
    assert (np.diff(frames) > 0).all()
    if max_frames > 1:
        assert frames[0] == 0
        head = min(n_records, max_frames // 2)
        np.testing.assert_array_equal(frames[:head], np.arange(head))


def gif_frames(path):
    with Image.open(path) as im:
        frames = []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB")))
        return im.format, frames


@pytest.fixture(scope="module")
def animation(image, result, tmp_path_factory):
    folder = tmp_path_factory.mktemp("animation")
    path = folder / "kmeans.gif"
    n = plotting.save_animation(image, result, path)
    return folder, n, gif_frames(path)


def test_animation_has_one_frame_per_recorded_iteration(result, animation):
    folder, n, (fmt, frames) = animation
    assert len(result.history) == result.n_iter + 1 >= 3
    assert fmt == "GIF"
    assert n == len(frames) == len(result.history)
    for a, b in itertools.pairwise(frames):
        assert a.shape == b.shape
        assert not np.array_equal(a, b)
    assert os.listdir(folder) == ["kmeans.gif"]  # no temporary file left


def test_animation_image_panel_changes_with_the_centres(result, animation):
    frames = animation[2][1]
    # The image panel is the left quarter; the initial centres differ from the
    # final ones, so the image quantized with them does too.
    assert not np.allclose(result.history[0].centers, result.history[-1].centers)
    width = frames[0].shape[1]
    assert not np.array_equal(frames[0][:, : width // 4], frames[-1][:, : width // 4])


def test_animation_frames_follow_the_selection(image, result):
    chosen = [i for i, _ in plotting.animation_frames(image, result, max_frames=4)]
    assert chosen == plotting.select_frames(len(result.history), 4).tolist()


def test_animation_with_more_iterations_than_frames(tmp_path):
    image = make_image(16, 16, seed=5)
    result = quantize(image, 8, record_history=True, tol=0)
    assert len(result.history) > 3
    path = tmp_path / "a.gif"
    assert plotting.save_animation(image, result, path, max_frames=3) == 3
    assert len(gif_frames(path)[1]) == 3


def test_animation_of_an_rgba_image(tmp_path):
    rgba = make_image(12, 16, alpha=True)
    result = quantize(rgba, 2, record_history=True)
    n = plotting.save_animation(rgba, result, tmp_path / "a.gif")
    assert n == len(result.history)


def test_animation_needs_a_history(image, tmp_path):
    with pytest.raises(ValueError, match="record_history=True"):
        plotting.save_animation(image, quantize(image, 3), tmp_path / "a.gif")
    assert os.listdir(tmp_path) == []
