"""Image files: the one image-folder lister, reading a file as RGB, and seeded square crops.

Used by the fixed input batches of :mod:`autogas.measure.inputs` and by training data
(:mod:`autogas.train.data`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from autogas.errors import AutogasError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm"}


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
