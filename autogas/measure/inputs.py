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

import torch

from autogas.errors import AutogasError
from autogas.images import crop_batch, folder_image_paths, load_rgb

PACKAGED_IMAGES = (
    "astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "retina.jpg",
    "hubble_deep_field.jpg", "ihc.png",
)


def packaged_image_paths() -> list[Path]:
    """Paths of the sample photographs inside the installed scikit-image package."""
    import skimage.data

    root = Path(skimage.data.__file__).parent
    paths = [root / name for name in PACKAGED_IMAGES]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise AutogasError(f"scikit-image sample images missing from {root}: {', '.join(missing)}")
    return paths


def input_batch(source: str = "images", batch: int = 16, resolution: int = 64, seed: int = 0) -> torch.Tensor:
    """The fixed input batch: ``source`` is ``images`` (packaged photos), ``noise`` or a folder path."""
    if batch < 1 or resolution < 8:
        raise AutogasError(f"batch must be >= 1 and resolution >= 8 (got {batch}, {resolution})")
    if source == "noise":
        gen = torch.Generator().manual_seed(seed)
        return torch.rand(batch, 3, resolution, resolution, generator=gen) * 2 - 1
    paths = packaged_image_paths() if source == "images" else folder_image_paths(source)
    return crop_batch([load_rgb(p) for p in paths], batch, resolution, seed)
