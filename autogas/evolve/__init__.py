"""Evolution of zero-cost proxies (the paper's Algorithm 1) with DEAP typed genetic programming.

Quick use::

    from autogas.evolve import EvolutionSettings, evolve, search_report, make_map
    with make_map(workers=2) as fmap:
        result = evolve("transnas.h5", EvolutionSettings(seed=0), fitness_map=fmap)
    report = search_report(result, "transnas.h5")    # best proxy + val/test/all scores

Modules: :mod:`~autogas.evolve.language` (searchable ops as a DEAP primitive set),
:mod:`~autogas.evolve.generate` (random typed trees), :mod:`~autogas.evolve.variation`
(mutation, crossover), :mod:`~autogas.evolve.benches` (labelled benches and their seeded
splits, constraint benches), :mod:`~autogas.evolve.values` (per-arch values, NaN where a network
fails), :mod:`~autogas.evolve.activation` (the activation-reading rule),
:mod:`~autogas.evolve.fitness` (per-bench Kendall tau, constraints, combination),
:mod:`~autogas.evolve.maps` (serial / processes / Dask), :mod:`~autogas.evolve.checkpoint`,
:mod:`~autogas.evolve.search` (the loop), :mod:`~autogas.evolve.report` (output file).
"""
from autogas.evolve.activation import ActivationCheck, structural_reason
from autogas.evolve.benches import BenchPlan, plan_benches, split_archs
from autogas.evolve.checkpoint import SearchState, load_state, save_state
from autogas.evolve.fitness import INVALID_FITNESS, BenchPart, Fitness, SearchFitness
from autogas.evolve.values import ArchValues
from autogas.evolve.generate import random_tree
from autogas.evolve.language import FULL, INGREDIENTS, Language
from autogas.evolve.maps import DaskMap, FitnessMap, ProcessMap, SerialMap, make_map, partition
from autogas.evolve.report import score_archs, search_report
from autogas.evolve.search import (
    EvolutionSettings, SearchResult, evolve, select_topk, state_summary,
)
from autogas.evolve.variation import crossover, mutate

__all__ = [
    "ActivationCheck", "structural_reason", "BenchPlan", "plan_benches", "ArchValues",
    "SearchState", "load_state", "save_state", "INVALID_FITNESS", "BenchPart", "Fitness",
    "SearchFitness", "split_archs", "random_tree", "FULL", "INGREDIENTS", "Language", "DaskMap", "FitnessMap",
    "ProcessMap", "SerialMap", "make_map", "partition", "score_archs", "search_report",
    "EvolutionSettings", "SearchResult", "evolve", "select_topk", "state_summary", "crossover", "mutate",
]
