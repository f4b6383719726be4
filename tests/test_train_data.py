"""Unpaired dataset: layout checks, clear errors, CycleGAN augmentation, seeded epochs."""
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from autogas.errors import AutogasError
from autogas.train.data import (UnpairedFolders, epoch_batches, eval_transform, load_size_for,
                                to_tensor, to_uint8, train_transform)


def _write_images(folder: Path, count: int, size=(40, 30), seed=0, suffix=".png") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(folder / f"{i}{suffix}")


@pytest.fixture()
def dataset(tmp_path):
    _write_images(tmp_path / "trainA", 3, seed=1)
    _write_images(tmp_path / "trainB", 5, seed=2, suffix=".jpg")
    return tmp_path


def test_layout_errors_name_the_problem(tmp_path):
    with pytest.raises(AutogasError, match="dataset folder not found"):
        UnpairedFolders.open(tmp_path / "nope")
    with pytest.raises(AutogasError, match="image folder not found: .*trainA"):
        UnpairedFolders.open(tmp_path)
    (tmp_path / "trainA").mkdir()
    (tmp_path / "trainA" / "notes.txt").write_text("not an image")
    with pytest.raises(AutogasError, match="no images in .*trainA"):
        UnpairedFolders.open(tmp_path)


def test_unreadable_image_is_named(dataset):
    (dataset / "trainA" / "broken.png").write_bytes(b"this is not a png")
    data = UnpairedFolders.open(dataset)
    with pytest.raises(AutogasError, match=r"cannot read image .*broken\.png"):
        list(epoch_batches(data, resolution=32, batch_size=2, seed=0, epoch=1))


def test_epoch_is_unaligned_seeded_and_augmented(dataset):
    data = UnpairedFolders.open(dataset)
    assert data.epoch_length == 5
    first = list(epoch_batches(data, resolution=32, batch_size=2, seed=3, epoch=1))
    again = list(epoch_batches(data, resolution=32, batch_size=2, seed=3, epoch=1))
    other = list(epoch_batches(data, resolution=32, batch_size=2, seed=3, epoch=2))
    assert [a.shape[0] for a, _ in first] == [2, 2, 1]
    assert first[0][0].shape == (2, 3, 32, 32) and first[0][1].dtype == torch.float32
    assert all(torch.equal(x[0], y[0]) and torch.equal(x[1], y[1]) for x, y in zip(first, again))
    assert not torch.equal(first[0][0], other[0][0])
    values = torch.cat([a for a, _ in first])
    assert values.min() >= -1 and values.max() <= 1


def test_train_transform_is_resize_crop_flip():
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (50, 60, 3), dtype=np.uint8))
    load = load_size_for(32)
    assert load_size_for(256) == 286 and load == 35
    resized = np.asarray(img.resize((load, load), Image.BICUBIC))
    crops = set()
    for seed in range(12):
        out = to_uint8(train_transform(img, 32, np.random.default_rng(seed))[None])[0]
        found = [(y, x, flip) for y in range(load - 31) for x in range(load - 31) for flip in (False, True)
                 if np.array_equal((resized[y:y + 32, x:x + 32, :][:, ::-1] if flip
                                    else resized[y:y + 32, x:x + 32, :]), out)]
        assert found, "output is not a (flipped) crop of the resized image"
        crops.add(found[0])
    assert len({c[2] for c in crops}) == 2 and len({c[:2] for c in crops}) > 3


def test_eval_transform_and_uint8_round_trip():
    array = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    tensor = to_tensor(Image.fromarray(array))
    assert tensor.shape == (3, 8, 8) and float(tensor.min()) == -1.0
    assert np.array_equal(to_uint8(tensor[None])[0], array)
    assert eval_transform(Image.fromarray(array), 4).shape == (3, 4, 4)
