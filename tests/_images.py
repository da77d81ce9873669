"""Test images: the sample photos, and small files of every kind the loader handles.

Each ``make_*`` function writes one small file into a folder and returns its
path, so a test can read it back with ``load_image``.
"""

import hashlib
import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SAMPLE_NAMES = ("chelsea", "coffee", "astronaut")
RED, BLUE = (255, 0, 0), (0, 0, 255)


def sample_path(name):
    return SAMPLES / f"{name}.jpg"


def china():
    """scikit-learn's china.jpg, (427, 640, 3) uint8."""
    from sklearn.datasets import load_sample_image

    return load_sample_image("china.jpg")


def file_digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def png_chunks(data):
    """(type, payload) of every chunk of a PNG file given as bytes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8].decode("ascii")
        chunks.append((kind, data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return chunks


def png_header(data):
    """(width, height, bit_depth, colour_type) from the IHDR chunk."""
    kind, payload = png_chunks(data)[0]
    assert kind == "IHDR"
    width, height, bit_depth, colour_type = struct.unpack(">IIBB", payload[:10])
    return width, height, bit_depth, colour_type


def two_halves(width=40, height=20, left=RED, right=BLUE):
    """(height, width, 3) uint8: left half one colour, right half another."""
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    pixels[:, : width // 2] = left
    pixels[:, width // 2:] = right
    return pixels


def make_exif_rotated_jpeg(folder, orientation=6):
    """A 40 x 20 JPEG, red left half and blue right half, with an EXIF
    orientation tag (6: the viewer turns it 90 degrees clockwise) and a
    second tag (the camera maker) that should survive as metadata."""
    path = Path(folder) / f"rotated{orientation}.jpg"
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"
    Image.fromarray(two_halves()).save(path, quality=95, exif=exif.tobytes(),
                                       dpi=(300, 300))
    return path


def make_grey_png(folder):
    """8 x 4 "L" image with values 0, 10, ..., 310 mod 256 row by row."""
    path = Path(folder) / "grey.png"
    values = (np.arange(32, dtype=np.int64) * 10 % 256).astype(np.uint8).reshape(4, 8)
    Image.fromarray(values).save(path)
    return path, values


def make_bilevel_png(folder):
    """6 x 4 mode "1" image, a checkerboard."""
    path = Path(folder) / "bilevel.png"
    board = (np.indices((4, 6)).sum(axis=0) % 2).astype(bool)
    Image.fromarray(board).save(path)
    return path, board


def make_palette_png_with_transparency(folder):
    """4 x 2 "P" image with 3 palette entries, entry 2 transparent via tRNS."""
    path = Path(folder) / "palette.png"
    indices = np.array([[0, 1, 2, 2], [1, 0, 2, 1]], dtype=np.uint8)
    image = Image.frombytes("P", (4, 2), indices.tobytes())
    image.putpalette([255, 0, 0, 0, 255, 0, 9, 9, 9])
    image.save(path, transparency=2)
    return path, indices


def make_palette_png_opaque(folder):
    path = Path(folder) / "palette_opaque.png"
    indices = np.array([[0, 1], [1, 0]], dtype=np.uint8)
    image = Image.frombytes("P", (2, 2), indices.tobytes())
    image.putpalette([255, 0, 0, 0, 255, 0])
    image.save(path)
    return path, indices


def make_16bit_png(folder):
    """3 x 2 16-bit greyscale PNG ("I;16")."""
    path = Path(folder) / "grey16.png"
    values = np.array([[0, 257, 65535], [257 * 100, 128, 65535 - 257]], dtype=np.uint16)
    Image.fromarray(values).save(path)
    return path, values


def make_int32_tiff(folder, values):
    path = Path(folder) / "int32.tif"
    Image.fromarray(np.asarray(values, dtype=np.int32)).save(path)
    return path


def make_float_tiff(folder, values):
    path = Path(folder) / "float.tif"
    Image.fromarray(np.asarray(values, dtype=np.float32)).save(path)
    return path


def make_cmyk_jpeg(folder):
    """16 x 8 CMYK JPEG, left half pure red (C=0 M=255 Y=255 K=0), right half
    black (K=255)."""
    path = Path(folder) / "cmyk.jpg"
    image = Image.new("CMYK", (16, 8), (0, 255, 255, 0))
    image.paste((0, 0, 0, 255), (8, 0, 16, 8))
    image.save(path, quality=95)
    return path


def make_rgba_png(folder, *, opaque=False):
    """6 x 4 RGBA PNG: alpha 255 everywhere if ``opaque``, else a gradient of
    alpha along the rows with a fully transparent first row."""
    path = Path(folder) / ("rgba_opaque.png" if opaque else "rgba.png")
    pixels = np.zeros((4, 6, 4), dtype=np.uint8)
    pixels[..., 0] = 200
    pixels[..., 1] = np.arange(6, dtype=np.uint8) * 40
    pixels[..., 2] = 30
    pixels[..., 3] = 255 if opaque else np.array([0, 80, 160, 255])[:, np.newaxis]
    Image.fromarray(pixels).save(path)
    return path, pixels


def make_la_png(folder):
    """4 x 2 "LA" PNG with one half-transparent pixel."""
    path = Path(folder) / "la.png"
    pixels = np.zeros((2, 4, 2), dtype=np.uint8)
    pixels[..., 0] = [[0, 50, 100, 150], [200, 250, 25, 75]]
    pixels[..., 1] = 255
    pixels[1, 2, 1] = 128
    Image.frombytes("LA", (4, 2), pixels.tobytes()).save(path)
    return path, pixels


def make_animated_gif(folder):
    """Three 8 x 8 frames: red, green, blue."""
    path = Path(folder) / "animated.gif"
    frames = [Image.new("RGB", (8, 8), colour)
              for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100,
                   loop=0)
    return path


def write_png(path, width, height, raw, *, color_type=0, interlace=0):
    """Write a PNG of 8-bit samples whose IDAT is ``raw`` (filter bytes and
    pixels, as the PNG format lays them out) compressed, whatever the header
    says: the way to make files the header and the data disagree on."""

    def chunk(kind, payload):
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(
            ">I", zlib.crc32(body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, interlace)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                           + chunk(b"IDAT", zlib.compress(raw))
                           + chunk(b"IEND", b""))
    return Path(path)


def make_bomb_png(folder, width, height):
    """A PNG whose header claims ``width`` x ``height`` pixels of 8-bit grey
    but whose image data is one compressed row: decoding it fails, reading
    the header does not."""
    return write_png(Path(folder) / f"bomb_{width}x{height}.png", width, height,
                     b"\x00" * (width + 1))


def make_short_png(folder, width=100, height=100, rows=10, *, interlace=0):
    """An RGB PNG whose header gives ``height`` rows and whose complete
    compressed stream holds ``rows`` of them (interlaced: the first bytes of
    the Adam7 passes). Pillow decodes it without an error, the rest black."""
    row = b"\x00" + bytes([200, 50, 50]) * width
    return write_png(Path(folder) / f"short_{rows}of{height}.png", width, height,
                     row * rows, color_type=2, interlace=interlace)


def encode(pixels, fmt, **options):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt, **options)
    return buffer.getvalue()
