"""The fixed input batch every network sees: natural-image crops, noise, or a user's folder.

Default (``images``): the seven RGB photographs shipped inside scikit-image's wheel
(astronaut, chelsea, coffee, rocket, retina, hubble_deep_field, immunohistochemistry), read
from the installed package (never downloaded). Sample ``i`` of the batch is a square crop of
image ``i mod 7`` whose side (40–100 % of the image's short side) and position are drawn from
``numpy.random.default_rng(seed)``, resized to ``resolution`` with antialiased bilinear
interpolation, and scaled to [-1, 1] (mean 0.5, std 0.5, as TransNAS-Bench-101 trains).
``noise`` is uniform in [-1, 1]; a directory uses its images (sorted by name) the same way.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from autogas.errors import AutogasError

PACKAGED_IMAGES = (
    "astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "retina.jpg",
    "hubble_deep_field.jpg", "ihc.png",
)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm"}


def packaged_image_paths() -> list[Path]:
    """Paths of the sample photographs inside the installed scikit-image package."""
    import skimage.data

    root = Path(skimage.data.__file__).parent
    paths = [root / name for name in PACKAGED_IMAGES]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise AutogasError(f"scikit-image sample images missing from {root}: {', '.join(missing)}")
    return paths


def folder_image_paths(folder: str | Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name."""
    root = Path(folder)
    if not root.is_dir():
        raise AutogasError(f"image folder not found: {root}")
    paths = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise AutogasError(f"image folder has no images: {root}")
    return paths


def load_rgb(path: Path) -> np.ndarray:
    """An image file as an H x W x 3 float32 array in [0, 1] (clear error if unreadable)."""
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError) as err:
        raise AutogasError(f"cannot read image {path}: {err}") from None


def crop_batch(images: list[np.ndarray], batch: int, resolution: int, seed: int) -> torch.Tensor:
    """Deterministic square crops of ``images`` (H x W x 3 in [0, 1]) as a B x 3 x R x R batch in [-1, 1]."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(batch):
        img = images[i % len(images)]
        h, w = img.shape[:2]
        side = max(1, int(round(min(h, w) * rng.uniform(0.4, 1.0))))
        top = int(rng.integers(0, h - side + 1))
        left = int(rng.integers(0, w - side + 1))
        crop = torch.from_numpy(np.ascontiguousarray(img[top:top + side, left:left + side]))
        crop = crop.permute(2, 0, 1).unsqueeze(0)
        crop = F.interpolate(crop, size=(resolution, resolution), mode="bilinear",
                             align_corners=False, antialias=True)
        out.append(crop[0])
    return (torch.stack(out).clamp(0, 1) - 0.5) / 0.5


def input_batch(source: str = "images", batch: int = 16, resolution: int = 64, seed: int = 0) -> torch.Tensor:
    """The fixed input batch: ``source`` is ``images`` (packaged photos), ``noise`` or a folder path."""
    if batch < 1 or resolution < 8:
        raise AutogasError(f"batch must be >= 1 and resolution >= 8 (got {batch}, {resolution})")
    if source == "noise":
        gen = torch.Generator().manual_seed(seed)
        return torch.rand(batch, 3, resolution, resolution, generator=gen) * 2 - 1
    paths = packaged_image_paths() if source == "images" else folder_image_paths(source)
    return crop_batch([load_rgb(p) for p in paths], batch, resolution, seed)
