"""The image-folder source of ``runners/predict.py``: EXIF-aware loading and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocrtop.ocr.lightning.predict import ImageFolderSource, resolve_device


def test_lists_images_sorted_and_maps_back_to_the_stored_frame(tmp_path: Path) -> None:
    Image.new("RGB", (40, 20), "white").save(tmp_path / "b.png")
    rotated = Image.new("RGB", (40, 20), "white")
    exif = rotated.getexif()
    exif[0x0112] = 6  # stored sideways: displayed rotated 90 degrees clockwise
    rotated.save(tmp_path / "a.jpg", exif=exif)
    (tmp_path / "notes.txt").write_text("not an image")

    source = ImageFolderSource(tmp_path)
    assert source.filenames == ["a.jpg", "b.png"]
    page = source.load(0)
    assert page.image.shape == (40, 20, 3)  # upright: portrait
    assert page.orig_size == (20, 40) and page.words == []
    # The upright top-left corner is a corner of the stored image.
    corner = page.to_stored @ np.array([0.0, 0.0, 1.0])
    assert tuple(np.round(corner[:2])) in {(0, 0), (40, 0), (0, 20), (40, 20)}


def test_missing_or_empty_folder_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="input_dir") as info:
        ImageFolderSource(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(info.value)
    with pytest.raises(FileNotFoundError, match="no images"):
        ImageFolderSource(tmp_path)


def test_device_auto_without_gpu_is_cpu() -> None:
    import torch

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"
