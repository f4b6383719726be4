"""Activation-reading proxies: the check ``autogas evolve`` applies to every candidate by default.

A proxy is **activation-reading** if its value changes when a network's activations change while
its layer shapes stay the same. A proxy that is not (a *shape-only* proxy, e.g.
``decoder_mean(layer_log_dims)``) is a function of the architecture's layer sizes and counts: it
may rank one space well, but it is constant on any set of networks sharing their layer shapes
(other cells of one skeleton, generators of one family), so evolution rejects it unless
``allow_shape_only`` (``--allow-shape-only``, for research) is set. Two rules, both must pass:

1. **Structural** (:func:`structural_reason`, free): the graph must have at least one leaf that
   carries activation values: ``F`` (the features) or an activation-statistic terminal
   (:data:`VALUE_TERMINALS`: ``layer_std``, ``layer_frac_positive``). Graphs whose leaves are all
   shape terminals (``layer_log_dims``, ``layer_depth``, ``n_layers``, ``log_dims``, ...) are
   rejected without being evaluated.
2. **Empirical** (:class:`ActivationCheck`): reading ``F`` is not enough, since some op chains read
   the values and throw them away: ``trace(gram(above_median(F)))`` counts the coordinates above
   the median (about half of ``B x d`` for any tie-free features), ``trace(cosine(F))`` is the
   batch size. So the proxy is also evaluated on :data:`DRAWS` = 2 independent *redraws* of the
   features of a few probe architectures (:data:`PROBE_ARCHS`, taken from the search's first
   fitness split): every layer keeps its shape and layer facts (name, part, channels, size) but
   its ``B x d`` features are replaced by Gaussian values ``shift + scale * z`` (per-layer
   ``scale = exp(N(0, 0.5))``, ``shift = N(0, 0.5) * scale``, ``z`` standard normal; tie-free,
   finite), and its activation statistics (mean, std, share positive) are recomputed from them.
   The proxy is shape-only if, on every probe architecture, the two redraws give equal values
   (``|a - b| <= RTOL * max(|a|, |b|) + ATOL``) or both fail. A proxy that fails (NaN/inf, or an
   op raising) on every redrawn network is rejected too: it cannot be shown to read
   activations. The redraws depend only on the seed and the probe architectures, so the check is
   deterministic and gives the same answer on every worker.

What it does not catch: a proxy whose value moves with the activations by a negligible amount
next to a shape term (``add(decoder_mean(layer_log_dims), <tiny activation term>)``) passes,
since its value does change; the constraint benches of a search (a micro cache, a cache of
generators) are the check of whether it can rank networks of one shape.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from autogas.evolve.values import ArchValues
from autogas.measure.features import FeatureSet, LayerInfo
from autogas.proxy import ProxyGraph

VALUE_TERMINALS = frozenset({"layer_std", "layer_frac_positive"})
PROBE_ARCHS = 8
DRAWS = 2
RTOL = 1e-5
ATOL = 1e-12
PROBE_CACHE_BYTES = 128 << 20


def value_leaves(graph: ProxyGraph) -> set[str]:
    """Names of the leaves of ``graph`` that carry activation values (``F`` and statistics)."""
    return {n.spec.name for n in graph.nodes() if not n.children
            and (n.spec.stage == "input" or n.spec.name in VALUE_TERMINALS)}


def structural_reason(graph: ProxyGraph) -> str | None:
    """Why ``graph`` is shape-only by construction (no activation-carrying leaf), else None."""
    if value_leaves(graph):
        return None
    leaves = sorted({n.spec.name for n in graph.nodes() if not n.children})
    return f"shape-only: reads no activations (leaves: {', '.join(leaves)})"


def redraw(feature_sets: Sequence[FeatureSet], rng: np.random.Generator) -> list[FeatureSet]:
    """Copies of ``feature_sets`` with the same layer shapes and Gaussian features (see above)."""
    out = []
    for fs in feature_sets:
        features, layers = [], []
        for x, info in zip(fs.features, fs.layers):
            scale = float(np.exp(rng.normal(0.0, 0.5)))
            shift = float(rng.normal(0.0, 0.5)) * scale
            new = (shift + scale * rng.standard_normal(x.shape)).astype(np.float32)
            features.append(new)
            layers.append(LayerInfo(info.name, info.part, info.channels, info.height, info.width,
                                    info.dims, float(new.mean()), float(new.std()),
                                    float((new > 0).mean())))
        out.append(FeatureSet(features, layers))
    return out


class ActivationCheck:
    """The empirical rule on :data:`DRAWS` redraws of the probe architectures' features."""

    def __init__(self, feature_sets: Sequence[FeatureSet], seed: int,
                 cache_bytes: int = PROBE_CACHE_BYTES):
        rng = np.random.default_rng([seed, 0xAC7])
        probe = list(feature_sets)[:PROBE_ARCHS]
        self.n_probe = len(probe)
        draws = [fs for _ in range(DRAWS) for fs in redraw(probe, rng)]
        self.values = ArchValues(draws, cache_bytes=cache_bytes)

    def reason(self, graph: ProxyGraph) -> str | None:
        """Why ``graph`` is rejected as shape-only (structural, then empirical), else None."""
        why = structural_reason(graph)
        if why:
            return why
        values = self.values.values(graph)
        if isinstance(values, str):
            return f"shape-only check failed: the proxy fails on redrawn features ({values})"
        a, b = values[:self.n_probe], values[self.n_probe:2 * self.n_probe]
        both_nan = np.isnan(a) & np.isnan(b)
        with np.errstate(invalid="ignore"):
            equal = np.abs(a - b) <= RTOL * np.maximum(np.abs(a), np.abs(b)) + ATOL
        if np.all(both_nan | equal):
            return ("shape-only: the value does not change when the activations are redrawn "
                    "with the same layer shapes")
        return None
