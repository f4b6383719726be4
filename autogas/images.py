"""Image files: the one image-folder lister, the one image reader, and seeded square crops.

Used by the fixed input batches of :mod:`autogas.measure.inputs` and by training data
(:mod:`autogas.train.data`). Every image file is read by :func:`open_rgb8`, which maps any
pixel mode to 8-bit RGB by its value range: 16-bit grey (PIL modes ``I;16*``, and ``I``, the
mode PIL gives 16-bit data it widens) is scaled by 255/65535, so full white stays white (PIL's
own ``convert("RGB")`` clips such values and saturates the image); floating-point images (``F``)
have no agreed range and are refused; alpha is dropped; palette, grey, bilevel, CMYK and YCbCr
go through PIL's colour conversion. Images with a side under :data:`MIN_IMAGE_SIDE` pixels are
refused (they hold almost no content, and a 1x1 image gives constant inputs and NaN proxy
scores); larger images smaller than a crop are upscaled (bilinear here, bicubic in training).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from autogas.errors import AutogasError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm"})
MIN_IMAGE_SIDE = 8  # pixels on the shorter side
SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})


def folder_image_paths(folder: str | Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name."""
    root = Path(folder)
    if not root.is_dir():
        raise AutogasError(f"image folder not found: {root}")
    paths = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise AutogasError(f"image folder has no images: {root}")
    return paths


def to_rgb8(img: Image.Image) -> Image.Image:
    """``img`` as 8-bit RGB, scaled by its mode's value range (see the module doc)."""
    if img.mode in SIXTEEN_BIT_MODES:
        values = np.asarray(img, dtype=np.float64)
        grey = np.clip(np.rint(values * (255.0 / 65535.0)), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, mode="L").convert("RGB")
    if img.mode == "F":
        raise ValueError("floating-point pixels (mode F) have no agreed range; save it as 8- or 16-bit")
    return img.convert("RGB")


def open_rgb8(path: str | Path) -> Image.Image:
    """The image file at ``path`` as 8-bit RGB; :class:`AutogasError` naming the file if it cannot
    be read, has an unsupported mode, or a side under :data:`MIN_IMAGE_SIDE` pixels."""
    try:
        with Image.open(path) as img:
            if min(img.size) < MIN_IMAGE_SIDE:
                raise ValueError(f"it is {img.size[0]}x{img.size[1]} pixels; images need at least "
                                 f"{MIN_IMAGE_SIDE} on each side (larger ones smaller than the crop "
                                 "are upscaled)")
            return to_rgb8(img)
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise AutogasError(f"cannot read image {path}: {err}") from None


def load_rgb(path: Path) -> np.ndarray:
    """An image file as an H x W x 3 float32 array in [0, 1] (:func:`open_rgb8`)."""
    return np.asarray(open_rgb8(path), dtype=np.float32) / 255.0


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
