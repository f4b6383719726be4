"""Pluggable maps running fitness batches: in this process, in local processes, or on Dask.

A map runs ``fitness(batch)`` for a list of batches, batch ``i`` on worker ``i % workers``, and
returns the results in batch order. Each worker keeps its own evaluator and kernel-set memo (see
:mod:`autogas.evolve.fitness`), so :func:`partition` sends candidates that share a kernel set to
the same worker every generation: a kernel set is then computed once per search, not once per
worker. The results never depend on the map (evaluation is deterministic), only the speed does.
"""
from __future__ import annotations

import abc
import zlib
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Callable, Sequence

from autogas.errors import AutogasError
from autogas.proxy import ProxyGraph

Batch = Sequence[str]


def affinity_key(graph: ProxyGraph) -> str:
    """The smallest kernel-set text of ``graph`` (its own text if it has no kernel)."""
    kernels = sorted(n.text for n in graph.nodes() if n.spec.stage == "kernel")
    return kernels[0] if kernels else graph.text


def partition(graphs: Sequence[ProxyGraph], workers: int) -> list[list[int]]:
    """Indices of ``graphs`` per worker, grouped by :func:`affinity_key` (stable across runs)."""
    parts: list[list[int]] = [[] for _ in range(workers)]
    for i, g in enumerate(graphs):
        parts[zlib.crc32(affinity_key(g).encode()) % workers].append(i)
    return parts


class FitnessMap(abc.ABC):
    """Runs a picklable fitness function on batches; use as a context manager."""

    workers: int = 1

    @abc.abstractmethod
    def run(self, fitness: Callable, batches: Sequence[Batch]) -> list:
        """``[fitness(batch) for batch in batches]``, batch ``i`` on worker ``i % workers``."""

    def close(self) -> None:
        """Release workers."""

    def __enter__(self) -> "FitnessMap":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SerialMap(FitnessMap):
    """Everything in the calling process."""

    def run(self, fitness: Callable, batches: Sequence[Batch]) -> list:
        return [fitness(b) for b in batches]


class ProcessMap(FitnessMap):
    """``workers`` single-process pools (spawned), so a batch can be sent to a chosen worker."""

    def __init__(self, workers: int):
        context = get_context("spawn")
        self.workers = workers
        self.pools = [ProcessPoolExecutor(max_workers=1, mp_context=context)
                      for _ in range(workers)]

    def run(self, fitness: Callable, batches: Sequence[Batch]) -> list:
        futures = [self.pools[i % self.workers].submit(fitness, list(b))
                   for i, b in enumerate(batches)]
        try:
            return [f.result() for f in futures]
        except BrokenProcessPool:
            raise AutogasError("a fitness worker process died (out of memory?); rerun with "
                               "--resume to continue from the last generation") from None

    def close(self) -> None:
        for pool in self.pools:
            pool.shutdown(cancel_futures=True)


class DaskMap(FitnessMap):
    """Batches run on the workers of a Dask distributed scheduler at ``address``."""

    def __init__(self, address: str, timeout: float = 20.0):
        try:
            from distributed import Client
        except ImportError:
            raise AutogasError("--scheduler needs dask[distributed]: "
                               "pip install 'autogas[dask]'") from None
        try:
            self.client = Client(address, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as err:
            raise AutogasError(f"cannot connect to the Dask scheduler at {address}: {err}") from None
        self.addresses = sorted(self.client.scheduler_info()["workers"])
        if not self.addresses:
            self.client.close()
            raise AutogasError(f"the Dask scheduler at {address} has no workers")
        self.workers = len(self.addresses)

    def run(self, fitness: Callable, batches: Sequence[Batch]) -> list:
        futures = [self.client.submit(fitness, list(b), workers=[self.addresses[i % self.workers]],
                                      pure=False) for i, b in enumerate(batches)]
        return self.client.gather(futures)

    def close(self) -> None:
        self.client.close()


def make_map(workers: int = 1, scheduler: str | None = None) -> FitnessMap:
    """Dask if ``scheduler`` is given, else local processes for ``workers`` > 1, else serial."""
    if scheduler:
        return DaskMap(scheduler)
    if workers < 1:
        raise AutogasError(f"--workers must be at least 1, got {workers}")
    return SerialMap() if workers == 1 else ProcessMap(workers)
