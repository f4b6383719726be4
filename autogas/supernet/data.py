"""Where a supernet search gets its unpaired images, and the halved sub-datasets of §4.1.

:func:`open_search_data` takes exactly one source:

* ``data=DIR``: a CycleGAN dataset root (``DIR/trainA``, ``DIR/trainB``; the test folders are not
  used by the search);
* ``task=NAME``: a built-in task from :data:`TASKS`, made at the search resolution. A task is
  a function of the resolution returning the :class:`~autogas.train.data.UnpairedFolders` of
  its training images. ``unsharp`` is the known-answer task of :mod:`autogas.groundtruth.task`
  (photographs -> strong unsharp masking), written once as PNG by
  :func:`autogas.groundtruth.task.materialize` into the system temp folder and reused;
  ``photos`` is the packaged photographs split as the training-free search splits them:
  A = astronaut, chelsea, coffee, rocket; B = retina, hubble_deep_field, ihc;
* neither: :data:`DEFAULT_TASK` (``unsharp``).

Batches are the trainer's (:func:`autogas.train.data.epoch_batches`: CycleGAN's resize, random
crop and flip, unaligned, determined by ``(seed, epoch)``).

:func:`halve` splits each domain at random (seeded) into two halves of equal size (the second
gets the odd image out), the paper's ``A -> A1, A2`` and ``B -> B1, B2``.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from autogas.errors import AutogasError
from autogas.train.data import UnpairedFolders


def _packaged_photos(resolution: int) -> UnpairedFolders:
    from autogas.measure.inputs import packaged_image_paths

    paths = packaged_image_paths()
    return UnpairedFolders(root=paths[0].parent, train_a=list(paths[:4]), train_b=list(paths[4:]))


def _known_answer(resolution: int) -> UnpairedFolders:
    from autogas.groundtruth.task import KnownAnswerTask, materialize

    return UnpairedFolders.open(materialize(KnownAnswerTask(resolution)))


TASKS: dict[str, Callable[[int], UnpairedFolders]] = {"unsharp": _known_answer, "photos": _packaged_photos}
DEFAULT_TASK = "unsharp"


@dataclasses.dataclass(frozen=True)
class SearchData:
    """The training images of a search and a one-line description of where they come from."""

    folders: UnpairedFolders
    source: str

    def describe(self, domain: str) -> str:
        files = self.folders.train_a if domain == "A" else self.folders.train_b
        return f"{self.source}, domain {domain}: {len(files)} images"


def open_search_data(data: str | None = None, task: str | None = None, *, resolution: int = 64) -> SearchData:
    """The images of ``data`` (a dataset root) or of the task ``task`` at ``resolution`` (module doc);
    :class:`AutogasError` for both, an unknown task, or a missing or empty folder."""
    if data is not None and task is not None:
        raise AutogasError("give --data DIR or --task NAME, not both")
    if data is not None:
        return SearchData(UnpairedFolders.open(data), f"folder {data}")
    name = DEFAULT_TASK if task is None else task
    if name not in TASKS:
        raise AutogasError(f"unknown task {name!r}; known: {', '.join(TASKS)}")
    return SearchData(TASKS[name](resolution), f"task {name}")


def halve(folders: UnpairedFolders, seed: int) -> tuple[UnpairedFolders, UnpairedFolders]:
    """``(A1 B1, A2 B2)``: each domain's images split at random into halves (module doc);
    :class:`AutogasError` if a domain has fewer than 2 images."""
    halves: list[list[list]] = [[], []]
    for k, files in enumerate((folders.train_a, folders.train_b)):
        if len(files) < 2:
            raise AutogasError(f"the halved variants need >= 2 training images per domain; domain "
                               f"{'AB'[k]} has {len(files)}")
        order = np.random.default_rng([seed, 1 + k]).permutation(len(files))
        cut = len(files) // 2
        halves[0].append([files[i] for i in sorted(order[:cut])])
        halves[1].append([files[i] for i in sorted(order[cut:])])
    return tuple(dataclasses.replace(folders, train_a=a, train_b=b) for a, b in halves)
