"""The proxy language: typed op registry, graphs with a canonical text form, evaluation.

Quick use::

    from autogas.proxy import ProxyGraph, evaluate_proxy, rank_scores
    g = ProxyGraph.parse("square(slogdet(ksum(gram(above_mean(swish(F))))))")
    result = evaluate_proxy(g, feature_sets)          # one value per architecture
    rank_scores(result.values, labels)                # kendall / spearman / pearson / n / invalid

Add an op with ``@register_op("transform", "my_op")`` (see :mod:`autogas.proxy.registry`).
"""
from autogas.proxy.registry import (
    CODE, FEATURES, KERNELS, LAYER_SCORES, NETKERNEL, SCORE, STAGES, TYPES, OpSpec, describe,
    register_op, signatures, unregister_op,
)
from autogas.proxy import ops  # noqa: F401  (registers the built-in ops)
from autogas.proxy.graph import Node, ProxyGraph, load_proxy, make_node, read_proxy_json
from autogas.proxy.population import LayerTable, Population
from autogas.proxy.evaluate import Evaluator, ProxyResult, evaluate_proxy, rank_scores
from autogas.proxy.api import score_module, score_modules

__all__ = [
    "CODE", "FEATURES", "KERNELS", "LAYER_SCORES", "NETKERNEL", "SCORE", "STAGES", "TYPES",
    "OpSpec", "describe", "register_op", "signatures", "unregister_op", "Node", "ProxyGraph", "load_proxy",
    "make_node", "read_proxy_json", "LayerTable", "Population", "Evaluator", "ProxyResult",
    "evaluate_proxy", "rank_scores", "score_module", "score_modules",
]
