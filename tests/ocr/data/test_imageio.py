"""The simplejpeg / OpenCV decode paths give Pillow's pixels and EXIF orientation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocrtop.ocr.data import imageio
from ocrtop.ocr.data.imageio import exif_matrix, load_image, load_image_pillow
from ocrtop.ocr.geometry import apply_matrix

RNG = np.random.default_rng(0)
STORED = RNG.integers(0, 256, (40, 60, 3), dtype=np.uint8)


def _save(path: Path, image: Image.Image, orientation: int | None = None) -> Path:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    image.save(path, exif=exif, quality=90)
    return path


@pytest.mark.parametrize("suffix", ["png", "jpg"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_same_pixels_and_orientation_as_pillow(
    tmp_path: Path, suffix: str, orientation: int
) -> None:
    path = _save(tmp_path / f"a.{suffix}", Image.fromarray(STORED), orientation)
    rgb, stored_size, matrix = load_image(path)
    reference = load_image_pillow(path)  # Pillow's own exif_transpose, a peer decoder
    assert rgb.shape == reference.shape and np.array_equal(rgb, reference)
    assert stored_size == (40, 60)
    assert np.array_equal(matrix, exif_matrix(orientation, 60, 40))
    # The matrix carries a stored pixel to where the turned image shows it.
    if suffix == "png":  # lossless: the exact pixel value moves with its coordinates
        x, y = apply_matrix(matrix, np.array([[7.5, 3.5]]))[0] - 0.5
        assert np.array_equal(rgb[round(y), round(x)], STORED[3, 7])


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "LA"])
def test_other_pixel_modes_convert_like_pillow(tmp_path: Path, mode: str) -> None:
    image = Image.fromarray(STORED).convert(mode)
    path = _save(tmp_path / "m.png", image)
    assert np.array_equal(load_image(path)[0], load_image_pillow(path))


def test_pillow_fallback_when_opencv_cannot_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _save(tmp_path / "f.jpg", Image.fromarray(STORED), 6)
    monkeypatch.setattr(imageio, "decode_simplejpeg", lambda data: None)
    monkeypatch.setattr(imageio, "decode_opencv", lambda data: None)
    rgb, stored_size, matrix = load_image(path)
    assert np.array_equal(rgb, load_image_pillow(path)) and rgb.shape[:2] == (60, 40)
    assert stored_size == (40, 60) and np.array_equal(matrix, exif_matrix(6, 60, 40))


def test_jpeg_goes_through_simplejpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _save(tmp_path / "s.jpg", Image.fromarray(STORED), 3)
    calls: list[int] = []
    original = imageio.decode_simplejpeg

    def spy(data: bytes) -> np.ndarray | None:
        out = original(data)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(imageio, "decode_simplejpeg", spy)
    monkeypatch.setattr(imageio, "decode_opencv", lambda data: pytest.fail("OpenCV asked"))
    assert np.array_equal(load_image(path)[0], load_image_pillow(path)) and calls == [True]
    data = path.read_bytes()
    assert imageio.decode_simplejpeg(b"\x89PNG" + data) is None  # not a JPEG: not tried
    assert imageio.decode_simplejpeg(data[:40]) is None  # a JPEG it refuses: None, no raise


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_other_jpeg_modes_decode_like_pillow(tmp_path: Path, mode: str) -> None:
    """Grey and CMYK JPEGs come out RGB like Pillow's (CMYK: up to 2 levels of rounding)."""
    path = _save(tmp_path / f"{mode}.jpg", Image.fromarray(STORED).convert(mode))
    rgb = load_image(path)[0]
    reference = load_image_pillow(path)
    assert rgb.shape == reference.shape
    assert np.abs(rgb.astype(int) - reference).max() <= (0 if mode == "L" else 2)


def test_png_without_exif_never_asks_pillow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pillow's PNG reader decodes the whole file looking for a late eXIf chunk."""
    path = _save(tmp_path / "n.png", Image.fromarray(STORED))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("Pillow was asked")

    monkeypatch.setattr(imageio.Image, "open", refuse)
    assert np.array_equal(load_image(path)[0], STORED)


def test_unreadable_file_names_the_path(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image at all")
    with pytest.raises(OSError, match=r"broken\.jpg"):
        load_image(broken)
    with pytest.raises(OSError, match=r"missing\.png"):
        load_image(tmp_path / "missing.png")
