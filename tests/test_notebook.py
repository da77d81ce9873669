"""Tests of the interactive widget and of examples/interactive.ipynb."""

import base64
import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kmeans_core import quantize, widgets
from kmeans_core.io import load_image

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "examples" / "interactive.ipynb"


@pytest.fixture
def folder(tmp_path):
    """Two small images and a file that is not one."""
    rng = np.random.default_rng(0)
    for name, size in (("b.png", (20, 28)), ("a.jpg", (16, 16))):
        pixels = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_list_images_sorted_images_only(folder):
    assert [p.name for p in widgets.list_images(folder)] == ["a.jpg", "b.png"]


def test_list_images_errors_name_the_folder(tmp_path):
    with pytest.raises(ValueError, match="missing.*is not a folder"):
        widgets.list_images(tmp_path / "missing")
    with pytest.raises(ValueError, match="holds no images"):
        widgets.list_images(tmp_path)


def test_default_folder_is_the_bundled_samples():
    folder = widgets.samples_folder()
    assert folder == REPO / "samples"
    assert "chelsea.jpg" in [p.name for p in widgets.list_images()]


@pytest.mark.parametrize("method", ["kmeans", "minibatch"])
def test_render_matches_quantize_and_shows_the_comparison(folder, method):
    path = folder / "b.png"
    fig, result = widgets.render(path, 5, method)
    expected = quantize(load_image(path).pixels, 5, method=method, random_state=0)
    np.testing.assert_array_equal(result.palette, expected.palette)
    np.testing.assert_array_equal(result.indices, expected.indices)
    assert len(fig.subfigs) == 1  # no colour space unless asked for
    _, right = fig.subfigs[0].axes
    assert right.get_title().startswith(f"Compressed ({method}): 5 colours")
    fig, _ = widgets.render(path, 5, method, show_color_space=True)
    assert len(fig.subfigs) == 3


def test_results_are_cached_per_image_k_and_method(folder):
    path = folder / "a.jpg"
    _, first = widgets.compress_cached(path, 3)
    _, again = widgets.compress_cached(str(path), 3, "kmeans")
    assert again is first
    assert widgets.compress_cached(path, 4)[1] is not first
    assert widgets.compress_cached(path, 3, "minibatch")[1] is not first
    # A changed file is compressed again.
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(path)
    os.utime(path, ns=(0, 0))
    assert widgets.compress_cached(path, 3)[1] is not first


def test_widget_controls_and_callback(folder):
    box = widgets.interactive_compression(folder)
    (image, method), (k, color_space), output = (
        box.children[0].children, box.children[1].children, box.children[2])
    assert image.options == (("a.jpg", str(folder / "a.jpg")),
                             ("b.png", str(folder / "b.png")))
    assert (k.min, k.max, k.value, k.continuous_update) == (1, 256, 16, False)
    assert [value for _, value in method.options] == ["kmeans", "minibatch"]
    assert method.value == "kmeans" and color_space.value is False

    before = widgets._compress.cache_info().misses
    image.value = str(folder / "b.png")
    k.value = 7
    method.value = "minibatch"
    after = widgets._compress.cache_info()
    assert after.misses >= before + 2
    # The output holds one PNG of the current choice.
    (shown,) = output.outputs
    assert "image/png" in shown["data"]
    _, result = widgets.compress_cached(folder / "b.png", 7, "minibatch")
    assert len(result.palette) <= 7


def test_widget_reports_an_unreadable_image_in_its_output(folder):
    (folder / "z.png").write_bytes(b"not a png")
    box = widgets.interactive_compression(folder)
    image = box.children[0].children[0]
    image.value = str(folder / "z.png")
    (shown,) = box.children[2].outputs
    assert shown["name"] == "stdout" and shown["text"].startswith("error: ")


def test_notebook_runs_top_to_bottom(monkeypatch):
    import nbclient
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    # The kernel imports this checkout of kmeans_core, whatever is installed.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError if a cell fails

    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    outputs = [o for cell in code for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    mimes = [set(o.get("data", {})) for o in outputs]
    assert sum("image/png" in m for m in mimes) >= 1  # the report figure
    assert sum("image/gif" in m or "image/png" in m for m in mimes) >= 2
    # The NumPy reference replays the recorded iterations exactly.
    replay = "".join(o.get("text", "") for cell in code for o in cell.outputs
                     if "kmeans_core.reference" in cell.source)
    assert replay.count("the same as the recorded ones") == 3, replay
    assert "NOT" not in replay
    # The last cell displays the widget, and the widget drew the compressed
    # image (its output area holds a PNG, not an error): a widget view alone
    # is displayed whatever the widget does.
    assert "application/vnd.jupyter.widget-view+json" in code[-1].outputs[0]["data"]
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    shown = [out for model in state.values() if model["model_name"] == "OutputModel"
             for out in model["state"]["outputs"]]
    assert len(shown) == 1 and shown[0]["output_type"] == "display_data", shown
    png = base64.b64decode(shown[0]["data"]["image/png"])
    with Image.open(io.BytesIO(png)) as im:
        assert im.format == "PNG" and im.size[0] > 300
