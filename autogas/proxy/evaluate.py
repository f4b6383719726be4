"""Evaluating proxies on a split of architectures, and ranking them against labels.

Speed: everything below a kernel node (transforms, encodings) is evaluated chunk by chunk on
stacked same-size layers and never stored; kernel sets (``N x B x B`` float64), their
eigenvalues, and every node above them are memoised by canonical text in a byte-bounded LRU
cache, so proxies that share sub-expressions reuse them. :meth:`Evaluator.prefetch` computes the
missing kernel sets of many proxies in one pass over the features, sharing their transforms.

Invalid proxies: an op producing NaN/inf anywhere, an op raising, or a final score vector that is
constant (relative spread <= :data:`CONSTANT_RTOL`) gives an invalid :class:`ProxyResult`;
:meth:`Evaluator.evaluate` never raises for a well-typed graph.

**One rule for a degenerate network** (:func:`evaluate_proxy`, hence ``autogas score``,
``evolve``'s report, ``baselines`` and ``rank``): when a proxy fails on some architectures
(an op raises or gives NaN/inf there) and the others are fine, the failing architectures get
NaN and the others keep their values; :func:`rank_scores` ranks NaN last (tied among
themselves) and counts them. The whole proxy is invalid only when it fails on every
architecture, when its finite values are constant, or when it has a population-level op
(rank_add, z_add: one network's value depends on all the others, so a failure cannot be
isolated).
"""
from __future__ import annotations

import collections
import dataclasses
from typing import Callable, Iterable, Sequence

import numpy as np
import scipy.stats

from autogas.errors import AutogasError
from autogas.measure.features import FeatureSet
from autogas.proxy.graph import Node, ProxyGraph, load_proxy
from autogas.proxy.population import Population
from autogas.proxy.registry import CODE, FEATURES

CONSTANT_RTOL = 1e-9
DEFAULT_CACHE_BYTES = 512 << 20
DEFAULT_CHUNK_ELEMENTS = 1 << 16  # small chunks stay in cache (measured faster)

ProxyLike = ProxyGraph | str | Callable[[FeatureSet], float]


class InvalidProxy(Exception):
    """Raised inside evaluation when a proxy cannot give a valid score (never escapes)."""


@dataclasses.dataclass
class ProxyResult:
    """Scores of one proxy on a split: ``values[i]`` for architecture ``i`` (NaN where the
    proxy failed on that network; ``reason`` then says why the first one failed)."""

    values: np.ndarray
    invalid: bool = False
    reason: str | None = None

    @property
    def nan(self) -> int:
        """Architectures without a value."""
        return int(np.isnan(self.values).sum())


def invalid_result(n: int, reason: str) -> ProxyResult:
    return ProxyResult(np.full(n, np.nan), True, reason)


def constant_reason(values: np.ndarray) -> str | None:
    """Why ``values`` cannot rank architectures (non-finite or (near-)constant), else None."""
    if not np.all(np.isfinite(values)):
        return "non-finite score"
    if len(values) > 1:
        spread = float(values.max() - values.min())
        if spread <= CONSTANT_RTOL * float(np.abs(values).max()) or spread == 0:
            return "constant score"
    return None


class _LRU:
    """Least-recently-used memo bounded by the total bytes of its numpy values."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.bytes = 0
        self.items: collections.OrderedDict[str, object] = collections.OrderedDict()

    @staticmethod
    def _size(value: object) -> int:
        return value.nbytes if isinstance(value, np.ndarray) else 64

    def get(self, key: str):
        value = self.items.get(key)
        if value is not None:
            self.items.move_to_end(key)
        return value

    def put(self, key: str, value: object) -> None:
        if key in self.items:
            self.bytes -= self._size(self.items.pop(key))
        self.items[key] = value
        self.bytes += self._size(value)
        while self.bytes > self.max_bytes and len(self.items) > 1:
            _, old = self.items.popitem(last=False)
            self.bytes -= self._size(old)


def _check(node: Node, value: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(value)):
        raise InvalidProxy(f"'{node.spec.name}' produced NaN/inf")
    return value


class Evaluator:
    """Evaluates proxy graphs on one :class:`Population`, memoising shared sub-expressions."""

    def __init__(self, population: Population, *, cache_bytes: int = DEFAULT_CACHE_BYTES,
                 chunk_elements: int = DEFAULT_CHUNK_ELEMENTS):
        self.population = population
        self.layers = population.layers
        self.chunk_elements = chunk_elements
        self.cache = _LRU(cache_bytes)

    @property
    def n_archs(self) -> int:
        return self.population.n_archs

    def evaluate(self, proxy: ProxyGraph | str) -> ProxyResult:
        """Scores of ``proxy`` for every architecture; invalid proxies give a flagged result."""
        graph = load_proxy(proxy) if isinstance(proxy, str) else proxy
        try:
            with np.errstate(all="ignore"):
                self.prefetch([graph])
                values = self.value(graph.root)
        except InvalidProxy as err:
            return invalid_result(self.n_archs, str(err))
        except Exception as err:  # noqa: BLE001 - an op failing must not stop a search
            return invalid_result(self.n_archs, f"{type(err).__name__}: {err}")
        reason = constant_reason(values)
        if reason:
            return invalid_result(self.n_archs, reason)
        return ProxyResult(values.copy())

    def prefetch(self, graphs: Iterable[ProxyGraph]) -> None:
        """Compute every uncached kernel set of ``graphs`` in one pass over the features."""
        wanted: dict[str, Node] = {}
        for graph in graphs:
            for node in graph.nodes():
                if node.spec.stage == "kernel" and self.cache.get(node.text) is None:
                    wanted[node.text] = node
        if wanted:
            with np.errstate(all="ignore"):
                self._compute_kernels(list(wanted.values()))

    # -- internals ------------------------------------------------------------------------
    def _compute_kernels(self, nodes: list[Node]) -> None:
        """Evaluate kernel nodes chunk by chunk, sharing feature sub-expressions per chunk."""
        batch = self.layers.batch
        out = {n.text: np.empty((self.layers.n_layers, batch, batch)) for n in nodes}
        failed: dict[str, InvalidProxy] = {}
        for idx, d, chunk in self.population.chunks(self.chunk_elements):
            memo: dict[str, np.ndarray | InvalidProxy] = {"F": chunk}
            for node in nodes:
                if node.text in failed:
                    continue
                try:
                    x = self._feature_value(node.children[0], memo)
                    k = _check(node, np.asarray(node.spec.fn(x), dtype=np.float64))
                    if node.spec.extensive:
                        k = k * (self.layers.dims[idx] / d)[:, None, None]
                    out[node.text][idx] = k
                except InvalidProxy as err:
                    failed[node.text] = err
                except Exception as err:  # noqa: BLE001
                    failed[node.text] = InvalidProxy(f"'{node.spec.name}' raised "
                                                     f"{type(err).__name__}: {err}")
        for node in nodes:
            self.cache.put(node.text, failed.get(node.text, out[node.text]))

    def _feature_value(self, node: Node, memo: dict) -> np.ndarray:
        value = memo.get(node.text)
        if value is None:
            try:
                arg = self._feature_value(node.children[0], memo)
                value = _check(node, node.spec.fn(arg))
            except InvalidProxy as err:
                value = err
            except Exception as err:  # noqa: BLE001
                value = InvalidProxy(f"'{node.spec.name}' raised {type(err).__name__}: {err}")
            memo[node.text] = value
        if isinstance(value, InvalidProxy):
            raise value
        return value

    def value(self, node: Node) -> np.ndarray:
        """Value of a kernel-or-later node (memoised); raises InvalidProxy."""
        if node.type in (FEATURES, CODE):
            raise ValueError("feature-level nodes are evaluated per chunk, inside kernels")
        cached = self.cache.get(node.text)
        if cached is None:
            if node.spec.stage == "kernel":
                self._compute_kernels([node])
                cached = self.cache.get(node.text)
            else:
                try:
                    cached = self._apply(node)
                except InvalidProxy as err:
                    cached = err
                self.cache.put(node.text, cached)
        if isinstance(cached, InvalidProxy):
            raise cached
        return cached

    def _eigenvalues(self, node: Node) -> np.ndarray:
        key = "eigvalsh:" + node.text
        eig = self.cache.get(key)
        if eig is None:
            eig = _check(node, np.linalg.eigvalsh(self.value(node)))
            self.cache.put(key, eig)
        return eig

    def _apply(self, node: Node) -> np.ndarray:
        spec, layers = node.spec, self.layers
        stage = spec.stage
        if stage in ("statistic", "layer_statistic"):
            result = spec.fn(layers)
        elif stage == "reduction":
            child = node.children[0]
            result = spec.fn(self._eigenvalues(child) if spec.spectral else self.value(child))
        elif stage in ("kernel_map", "kernel_aggregation", "aggregation"):
            result = spec.fn(self.value(node.children[0]), layers)
        else:  # augment, arithmetic, combine
            result = spec.fn(*(self.value(c) for c in node.children))
        return _check(node, np.asarray(result, dtype=np.float64))


def _evaluate_top(node: Node, leaves: dict[str, np.ndarray]) -> np.ndarray:
    """Evaluate the population-level top of a graph from precomputed arch-local subtrees."""
    if node.text in leaves:
        return leaves[node.text]
    result = node.spec.fn(*(_evaluate_top(c, leaves) for c in node.children))
    return _check(node, np.asarray(result, dtype=np.float64))


def _local_roots(node: Node) -> list[Node]:
    """Maximal subtrees without population-level ops (each can be computed chunk by chunk)."""
    if not node.has_population:
        return [node]
    return [r for c in node.children for r in _local_roots(c)]


def evaluate_proxy(
    proxy: ProxyLike,
    feature_sets: Iterable[FeatureSet],
    *,
    chunk_archs: int | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> ProxyResult:
    """Score ``proxy`` on architectures given as FeatureSets.

    ``proxy`` is a graph, proxy text / JSON path, or a Python callable ``FeatureSet -> float``
    (applied to each network; its exceptions propagate). Graphs are evaluated on chunks of
    ``chunk_archs`` architectures at a time (all at once if None), so a large benchmark never has
    to be in memory; population-level ops are applied once all chunks are scored. ``progress``
    optionally wraps the chunk iterator (e.g. ``tqdm``).
    """
    if callable(proxy) and not isinstance(proxy, ProxyGraph):
        with np.errstate(all="ignore"):
            values = np.asarray([float(proxy(fs)) for fs in feature_sets], dtype=np.float64)
        reason = constant_reason(values)
        return invalid_result(len(values), reason) if reason else ProxyResult(values)
    graph = load_proxy(proxy)
    chunks = _chunked(feature_sets, chunk_archs)
    roots = _local_roots(graph.root)
    parts: dict[str, list[np.ndarray]] = {r.text: [] for r in roots}
    n = 0
    failure: str | None = None
    for chunk in (progress(chunks) if progress else chunks):
        n += len(chunk)
        if failure and graph.uses_population:
            continue
        values, why = _local_values(graph, roots, chunk)
        failure = failure or why
        for text, v in values.items():
            parts[text].append(v)
    if n == 0:
        raise AutogasError("no architectures to evaluate")
    if failure and graph.uses_population:
        return invalid_result(n, failure)
    leaves = {text: np.concatenate(values) for text, values in parts.items()}
    try:
        with np.errstate(all="ignore"):
            values = _evaluate_top(graph.root, leaves)
    except InvalidProxy as err:
        return invalid_result(n, str(err))
    except Exception as err:  # noqa: BLE001
        return invalid_result(n, f"{type(err).__name__}: {err}")
    values = np.where(np.isfinite(values), values, np.nan)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return invalid_result(n, failure or "non-finite score")
    reason = constant_reason(finite) if len(values) > 1 else None
    return invalid_result(n, reason) if reason else ProxyResult(values.copy(), False, failure)


def _local_values(graph: ProxyGraph, roots: list[Node], chunk: list[FeatureSet],
                  ) -> tuple[dict[str, np.ndarray], str | None]:
    """Values of the arch-local ``roots`` on one chunk, NaN where an architecture fails, and
    the first failure's reason (None if every arch was fine). A failing chunk is retried
    architecture by architecture unless the graph is population-level (see the module doc)."""
    def attempt(feature_sets: list[FeatureSet]) -> dict[str, np.ndarray] | str:
        evaluator = Evaluator(Population(feature_sets))
        try:
            with np.errstate(all="ignore"):
                evaluator.prefetch([graph])
                out = {r.text: np.asarray(evaluator.value(r), dtype=np.float64) for r in roots}
        except InvalidProxy as err:
            return str(err)
        except Exception as err:  # noqa: BLE001 - an op failing must not stop scoring
            return f"{type(err).__name__}: {err}"
        bad = [v for v in out.values() if not np.all(np.isfinite(v))]
        return "non-finite score" if bad else out

    whole = attempt(chunk)
    if not isinstance(whole, str):
        return whole, None
    if graph.uses_population or len(chunk) == 1:
        return {r.text: np.full(len(chunk), np.nan) for r in roots}, whole
    out = {r.text: np.full(len(chunk), np.nan) for r in roots}
    for i, fs in enumerate(chunk):
        single = attempt([fs])
        if not isinstance(single, str):
            for text, v in single.items():
                out[text][i] = v[0]
    return out, whole


def _chunked(items: Iterable[FeatureSet], size: int | None) -> Iterable[list[FeatureSet]]:
    if size is None:
        return [list(items)]

    def gen():
        chunk: list[FeatureSet] = []
        for item in items:
            chunk.append(item)
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    return gen()


def rank_scores(values: Sequence[float] | np.ndarray, labels: Sequence[float] | np.ndarray,
                ) -> dict:
    """Kendall tau-b, Spearman rho and Pearson r between proxy values and labels.

    Returns ``{"kendall", "spearman", "pearson", "n", "nan", "invalid", "reason"}``. Non-finite
    values (networks the proxy failed on) are ranked last and counted in ``nan``; when no value is
    finite or the finite ones are (near-)constant the correlations are None and ``invalid`` is
    True. (Pearson is computed on the same NaN-last values.) Bad labels
    (length mismatch, non-finite, constant, fewer than 3) raise AutogasError.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    if len(v) != len(y):
        raise AutogasError(f"{len(v)} proxy values but {len(y)} labels")
    if len(y) < 3:
        raise AutogasError(f"need at least 3 architectures to rank, got {len(y)}")
    if not np.all(np.isfinite(y)):
        raise AutogasError("labels contain NaN/inf")
    if np.all(y == y[0]):
        raise AutogasError("labels are constant")
    finite = np.isfinite(v)
    nan = int((~finite).sum())
    reason = "non-finite score" if not finite.any() else constant_reason(v[finite])
    if reason:
        return {"kendall": None, "spearman": None, "pearson": None, "n": len(v), "nan": nan,
                "invalid": True, "reason": reason}
    ranked = nan_last(v)
    return {
        "kendall": float(scipy.stats.kendalltau(ranked, y).statistic),
        "spearman": float(scipy.stats.spearmanr(ranked, y).statistic),
        "pearson": float(scipy.stats.pearsonr(ranked, y).statistic),
        "n": len(v), "nan": nan, "invalid": False, "reason": None,
    }


def nan_last(values: np.ndarray) -> np.ndarray:
    """``values`` with every non-finite entry replaced by one value below all finite ones, so
    failed architectures rank last, tied among themselves."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    floor = float(finite.min() - 1.0 - (finite.max() - finite.min())) if finite.size else 0.0
    return np.where(np.isfinite(values), values, floor)
