"""The built-in known-answer unpaired task ``unsharp``: what domains A and B are, and the crop split.

Domain A is natural photographs; domain B is the same kind of photograph after a fixed image
operator ``T``. The two training domains are *unpaired*: they are cut from disjoint halves of
the training photos, so no B image is ``T`` of an A image the networks see. Because ``T`` is
known, the quality of a trained ``G_A: A -> B`` is measured exactly on held-out photos,
``SSIM(G_A(x), T(x))`` (and PSNR), with no Inception network.

**The operator T (strong unsharp masking).** On an image ``x`` in [-1, 1] at the working
resolution, ``T(x) = clamp(x + AMOUNT * (x - G_SIGMA * x), -1, 1)`` where ``G_SIGMA *`` is a
Gaussian blur with ``SIGMA`` = 1.5 pixels (kernel 2*ceil(3 sigma)+1 = 11 taps, reflection
padding, each channel separately) and ``AMOUNT`` = 2. It needs spatial context (every output
pixel depends on an 11x11 neighbourhood), it is not a colour map, and it adds haloes at edges
that a discriminator can see. It is defined in pixels of the images the networks see, so it is
applied *after* resizing.

**The crop split (by photo, all shipped inside scikit-image, never downloaded).**

* training photos: astronaut, chelsea, coffee, rocket, retina, hubble_deep_field, ihc (the
  seven photos of the scorer's input batch). ``trainA`` = crops of the **left** half of each,
  ``trainB`` = ``T`` of crops of the **right** half (so A and B never share pixels);
* held-out photos, used for the label only: motorcycle_left (RGB), camera, coins, moon and
  brick (greyscale, as RGB). ``testA`` = crops of these, ``testB`` = ``T`` of the same crops
  (only for display: the label recomputes ``T`` from ``testA`` in floating point).

Crops follow :func:`autogas.images.crop_batch` (square, side 40-100 % of the short side,
seeded position, antialiased resize): training crops at CycleGAN's load size for the
resolution (``R * 286 // 256``, so the trainer's random ``R`` crop and flip act as usual),
test crops at ``R``. Seeds: ``trainA`` 1, ``trainB`` 2, ``testA`` 3 (fixed, not the build's
seed, so every build of a resolution sees the same task). :func:`materialize` writes the four
folders as PNG in CycleGAN's layout; training then reads them like any unpaired dataset.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from autogas.errors import AutogasError
from autogas.images import crop_batch, load_rgb
from autogas.train.data import load_size_for, to_uint8

SIGMA = 1.5
AMOUNT = 2.0
TRAIN_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "retina.jpg",
                "hubble_deep_field.jpg", "ihc.png")
TEST_PHOTOS = ("motorcycle_left.png", "camera.png", "coins.png", "moon.png", "brick.png")
SPLIT_SEEDS = {"trainA": 1, "trainB": 2, "testA": 3}
TASKS = ("unsharp",)


def gaussian_kernel(sigma: float = SIGMA) -> torch.Tensor:
    """Normalized 1-D Gaussian of ``2 * ceil(3 sigma) + 1`` taps."""
    radius = int(math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).float()


def operator_t(x: torch.Tensor) -> torch.Tensor:
    """``T`` of a ``N x 3 x H x W`` batch in [-1, 1] (see the module doc)."""
    k = gaussian_kernel().to(x)
    r = len(k) // 2
    c = x.shape[1]
    blurred = F.pad(x, (r, r, 0, 0), mode="reflect")
    blurred = F.conv2d(blurred, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    blurred = F.pad(blurred, (0, 0, r, r), mode="reflect")
    blurred = F.conv2d(blurred, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
    return (x + AMOUNT * (x - blurred)).clamp(-1, 1)


def _photo(name: str) -> np.ndarray:
    import skimage.data

    path = Path(skimage.data.__file__).parent / name
    if not path.is_file():
        raise AutogasError(f"scikit-image sample photo missing: {path}")
    return load_rgb(path)


@dataclasses.dataclass(frozen=True)
class KnownAnswerTask:
    """The ``unsharp`` task at one resolution: ``train_count`` crops per training domain and
    ``test_count`` held-out crops (the defaults are the built-in task's)."""

    resolution: int
    train_count: int = 256
    test_count: int = 40
    name: str = "unsharp"

    def __post_init__(self) -> None:
        if self.name not in TASKS:
            raise AutogasError(f"unknown task {self.name!r}; known: {', '.join(TASKS)}")
        if self.resolution < 16 or self.resolution % 4:
            raise AutogasError(f"task resolution must be a multiple of 4 and >= 16, got {self.resolution}")

    def describe(self) -> str:
        """Short text naming the task and its settings (stored with a cache)."""
        return (f"{self.name}(sigma={SIGMA},amount={AMOUNT},train={self.train_count},"
                f"test={self.test_count})")

    def crops(self) -> dict[str, torch.Tensor]:
        """``trainA``, ``trainB`` (already through ``T``) and ``testA`` crops in [-1, 1]."""
        train = [_photo(n) for n in TRAIN_PHOTOS]
        halves = {"trainA": [img[:, : img.shape[1] // 2] for img in train],
                  "trainB": [img[:, img.shape[1] // 2:] for img in train]}
        load = load_size_for(self.resolution)
        out = {split: crop_batch(images, self.train_count, load, SPLIT_SEEDS[split])
               for split, images in halves.items()}
        out["trainB"] = operator_t(out["trainB"])
        out["testA"] = crop_batch([_photo(n) for n in TEST_PHOTOS], self.test_count, self.resolution,
                                  SPLIT_SEEDS["testA"])
        return out

    def key(self) -> str:
        return hashlib.sha1(f"{self.describe()}@{self.resolution}".encode()).hexdigest()[:12]


def materialize(task: KnownAnswerTask, root: str | os.PathLike | None = None) -> Path:
    """The task's folders (``trainA``, ``trainB``, ``testA``, ``testB``) as PNG under ``root``
    (default: a folder in the system temp dir named after the task), written once: an existing
    complete folder is reused, a new one appears atomically (built aside, then renamed)."""
    base = Path(root) if root is not None else Path(tempfile.gettempdir())
    folder = base / f"autogas-task-{task.name}-{task.resolution}-{task.key()}"
    if (folder / "testB").is_dir():
        return folder
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=base))
    try:
        crops = task.crops()
        crops["testB"] = operator_t(crops["testA"])
        for split, batch in crops.items():
            (work / split).mkdir()
            for i, image in enumerate(to_uint8(batch)):
                Image.fromarray(image).save(work / split / f"{i:04d}.png")
        try:
            work.rename(folder)
        except OSError:  # another process finished first
            if not (folder / "testB").is_dir():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder
