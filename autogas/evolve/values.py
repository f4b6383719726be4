"""Per-architecture proxy values inside a search: NaN for the archs where a proxy fails.

:class:`ArchValues` holds the features of a fixed list of architectures in memory (one
:class:`~autogas.proxy.Evaluator` over all of them, so shared kernel sets are memoised across the
candidates of a search) and answers :meth:`ArchValues.values`: one float per architecture.

The rule (the same one ``score_on_cache`` applies to whole caches): a proxy is evaluated on all
architectures at once; if that fails because some op produced NaN/inf or raised, it is evaluated
again architecture by architecture (one small evaluator per architecture, built on first need and
kept), and an architecture on which it still fails gets NaN while the others keep their values.
It is a failure of the whole proxy (a reason string instead of values) only when every
architecture fails, or when the proxy has a population-level op (rank_add, z_add: its value on one
architecture depends on all the others, so one failing network cannot be isolated).

Values are raw: a constant vector is returned as such (the caller decides what a constant means).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from autogas.measure.features import FeatureSet
from autogas.proxy import Evaluator, Population, ProxyGraph
from autogas.proxy.evaluate import InvalidProxy

SINGLE_CACHE_BYTES = 16 << 20  # memo of each one-architecture evaluator


class ArchValues:
    """Proxy values of a fixed list of architectures, NaN where a proxy fails on one of them."""

    def __init__(self, feature_sets: Sequence[FeatureSet], *, cache_bytes: int):
        self.feature_sets = list(feature_sets)
        self.whole = Evaluator(Population(self.feature_sets), cache_bytes=cache_bytes)
        self._singles: dict[int, Evaluator] = {}

    @property
    def n_archs(self) -> int:
        return len(self.feature_sets)

    def prefetch(self, graphs: Iterable[ProxyGraph]) -> None:
        """Compute the kernel sets of many candidates in one pass (failures surface later)."""
        try:
            self.whole.prefetch(list(graphs))
        except Exception:  # noqa: BLE001 - values() reports each candidate's own failure
            pass

    def values(self, graph: ProxyGraph) -> np.ndarray | str:
        """``(n_archs,)`` float64 values with NaN for failing archs, or the reason all failed."""
        reason = _attempt(self.whole, graph)
        if not isinstance(reason, str):
            return reason
        if graph.uses_population or self.n_archs == 1:
            return reason
        out = np.full(self.n_archs, np.nan)
        for i in range(self.n_archs):
            value = _attempt(self._single(i), graph)
            if not isinstance(value, str):
                out[i] = value[0]
        return reason if np.all(np.isnan(out)) else out

    def _single(self, i: int) -> Evaluator:
        if i not in self._singles:
            self._singles[i] = Evaluator(Population([self.feature_sets[i]]),
                                         cache_bytes=SINGLE_CACHE_BYTES)
        return self._singles[i]


def _attempt(evaluator: Evaluator, graph: ProxyGraph) -> np.ndarray | str:
    """All-finite values of ``graph`` on ``evaluator``'s archs, or why it failed."""
    try:
        with np.errstate(all="ignore"):
            evaluator.prefetch([graph])
            values = np.array(evaluator.value(graph.root), dtype=np.float64)
    except InvalidProxy as err:
        return str(err)
    except Exception as err:  # noqa: BLE001 - an op failing must not stop a search
        return f"{type(err).__name__}: {err}"
    return values if np.all(np.isfinite(values)) else "non-finite score"
