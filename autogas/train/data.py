"""Unpaired image folders in the CycleGAN layout ``DIR/trainA``, ``trainB``, ``testA``, ``testB``.

Training images follow CycleGAN's ``resize_and_crop`` recipe: resize (bicubic) to a square
``load_size`` (286 for a 256 crop, i.e. ``resolution * 286 // 256``), take a random
``resolution`` crop, flip horizontally with probability 1/2, and map pixels to [-1, 1].
Test images are resized straight to ``resolution`` with no crop or flip.

Loading is *unaligned*: an epoch has ``max(|A|, |B|)`` steps; step ``i`` of a seeded
permutation gives A image ``i mod |A|``, and the B image is drawn at random. Every random
choice of an epoch comes from ``numpy.random.default_rng([seed, epoch])``, so an epoch is
reproduced exactly from ``(seed, epoch)`` alone (which is what makes resuming exact).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from PIL import Image

from autogas.errors import AutogasError
from autogas.images import IMAGE_SUFFIXES, open_rgb8
SPLITS = ("trainA", "trainB", "testA", "testB")


def load_size_for(resolution: int) -> int:
    """CycleGAN's load size for a crop of ``resolution`` (286 for 256)."""
    return resolution * 286 // 256


def list_images(folder: str | Path) -> list[Path]:
    """Sorted image files of ``folder``; :class:`AutogasError` if it is missing or has none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise AutogasError(f"image folder not found: {folder}")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise AutogasError(f"no images in {folder} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


def read_rgb(path: str | Path) -> Image.Image:
    """The image at ``path`` as 8-bit RGB by the one reader, :func:`autogas.images.open_rgb8`
    (16-bit scaled, tiny images refused); :class:`AutogasError` naming the file otherwise."""
    return open_rgb8(path)


def to_tensor(img: Image.Image) -> torch.Tensor:
    """``3 x H x W`` float tensor in [-1, 1]."""
    array = np.asarray(img, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array.transpose(2, 0, 1).copy())


def to_uint8(batch: torch.Tensor) -> np.ndarray:
    """``N x 3 x H x W`` tensor in [-1, 1] to ``N x H x W x 3`` uint8 (CycleGAN's tensor2im)."""
    array = (batch.detach().float().cpu().clamp(-1, 1) + 1.0) * 127.5
    return np.rint(array.numpy()).astype(np.uint8).transpose(0, 2, 3, 1)


def train_transform(img: Image.Image, resolution: int, rng: np.random.Generator) -> torch.Tensor:
    """Resize to the load size, random crop of ``resolution``, random horizontal flip."""
    load = load_size_for(resolution)
    img = img.resize((load, load), Image.BICUBIC)
    x, y = (int(v) for v in rng.integers(0, load - resolution + 1, size=2))
    img = img.crop((x, y, x + resolution, y + resolution))
    if rng.random() < 0.5:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    return to_tensor(img)


def eval_transform(img: Image.Image, resolution: int) -> torch.Tensor:
    """Resize to ``resolution`` x ``resolution`` (bicubic), no augmentation."""
    return to_tensor(img.resize((resolution, resolution), Image.BICUBIC))


@dataclasses.dataclass(frozen=True)
class UnpairedFolders:
    """The image files of one unpaired dataset root."""

    root: Path
    train_a: list[Path]
    train_b: list[Path]

    @classmethod
    def open(cls, root: str | Path) -> "UnpairedFolders":
        """Check ``root/trainA`` and ``root/trainB`` (present, non-empty) and list their images."""
        root = Path(root)
        if not root.is_dir():
            raise AutogasError(f"dataset folder not found: {root}")
        return cls(root=root, train_a=list_images(root / "trainA"), train_b=list_images(root / "trainB"))

    def eval_images(self, domain: str) -> list[Path]:
        """Images of ``testA`` or ``testB`` (``domain`` is "A" or "B")."""
        return list_images(self.root / f"test{domain}")

    def preview_images(self, domain: str, count: int) -> list[Path]:
        """The first ``count`` test images of ``domain``, or training images if there is no test folder."""
        folder = self.root / f"test{domain}"
        files = list_images(folder) if folder.is_dir() else (self.train_a if domain == "A" else self.train_b)
        return files[:count]

    @property
    def epoch_length(self) -> int:
        """Steps in one epoch: ``max(|A|, |B|)`` images (CycleGAN's unaligned dataset)."""
        return max(len(self.train_a), len(self.train_b))


def epoch_batches(data: UnpairedFolders, *, resolution: int, batch_size: int, seed: int,
                  epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(real_A, real_B)`` batches of one epoch, determined by ``(seed, epoch)``.

    The last batch may be smaller than ``batch_size``.
    """
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(data.epoch_length)
    for start in range(0, len(order), batch_size):
        a_items, b_items = [], []
        for step in order[start:start + batch_size]:
            path_a = data.train_a[int(step) % len(data.train_a)]
            path_b = data.train_b[int(rng.integers(len(data.train_b)))]
            a_items.append(train_transform(read_rgb(path_a), resolution, rng))
            b_items.append(train_transform(read_rgb(path_b), resolution, rng))
        yield torch.stack(a_items), torch.stack(b_items)


def load_eval_batch(paths: Sequence[Path], resolution: int) -> torch.Tensor:
    """``N x 3 x R x R`` tensor of ``paths`` with the test transform."""
    return torch.stack([eval_transform(read_rgb(p), resolution) for p in paths])
