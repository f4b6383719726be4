"""Synthetic speed benchmark of proxy evaluation (run on a quiet machine).

    python benchmarks/bench_proxy_eval.py [--archs 50] [--layers 38] [--batch 16] [--dims 2048]

Reports (1) the cold cost of one kernel set (transform + encoding + kernel over all layers of all
archs), (2) warm evaluations/second of proxies whose kernel sets are cached (what most of an
evolution's evaluations are), and (3) a search-like run: random paper-shaped proxies evaluated in
generations of 20 with prefetch, counting every cold kernel set they need.
"""
from __future__ import annotations

import argparse
import random
import time

import numpy as np

from autogas.measure.features import FeatureSet, LayerInfo
from autogas.proxy import Evaluator, Population, ProxyGraph, signatures


def synthetic_population(archs: int, layers: int, batch: int, dims: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    sets = []
    for a in range(archs):
        n = layers - (a % 3) * 2
        sizes = [dims if i % 4 else dims // 2 for i in range(n)]
        feats = [rng.standard_normal((batch, d), dtype=np.float32) for d in sizes]
        infos = [LayerInfo(f"l{i}", "encoder" if i < n // 2 else "decoder", 1, 1, 4 * d, 4 * d,
                           0.0, 1.0, 0.5) for i, d in enumerate(sizes)]
        sets.append(FeatureSet(feats, infos))
    return Population(sets)


def names(stage: str, **kw) -> list[str]:
    return sorted({s.name for s in signatures(stage)
                   if all(t in s.in_types for t in kw.get("inputs", ()))})


def random_proxy(rng: random.Random) -> str:
    """A paper-shaped proxy: transform -> [encoding] -> kernel -> (ksum -> reduce | reduce -> agg)."""
    x = f"{rng.choice(names('transform'))}(F)"
    if rng.random() < 0.8:
        k = f"{rng.choice(names('kernel', inputs=('code',)))}({rng.choice(names('encoding'))}({x}))"
    else:
        k = f"{rng.choice(names('kernel', inputs=('features',)))}({x})"
    if rng.random() < 0.3:
        k = f"{rng.choice(names('kernel_map'))}({k})"
    red = rng.choice(names("reduction"))
    if rng.random() < 0.5:
        s = f"{red}({rng.choice(names('kernel_aggregation'))}({k}))"
    else:
        s = f"{rng.choice(names('aggregation'))}({red}({k}))"
    return f"{rng.choice(names('augment'))}({s})" if rng.random() < 0.5 else s


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--archs", type=int, default=50)
    ap.add_argument("--layers", type=int, default=38)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--dims", type=int, default=2048)
    ap.add_argument("--proxies", type=int, default=400)
    args = ap.parse_args()
    t0 = time.perf_counter()
    pop = synthetic_population(args.archs, args.layers, args.batch, args.dims)
    mb = sum(s.nbytes for _, _, s in pop.groups) / 2**20
    print(f"population: {pop.n_archs} archs, {pop.layers.n_layers} layers, {mb:.0f} MB "
          f"features, built in {time.perf_counter() - t0:.2f} s")

    ev = Evaluator(pop)
    kernels = ["gram(above_mean(swish(F)))", "hamming(above_median(relu(F)))",
               "gram(F)", "pearson(sign(mish(F)))", "hamming(above_zero(standardize(F)))"]
    t0 = time.perf_counter()
    ev.prefetch([ProxyGraph.parse(f"sum(trace({k}))") for k in kernels])
    cold = (time.perf_counter() - t0) / len(kernels)
    t0 = time.perf_counter()
    ev.prefetch([ProxyGraph.parse("sum(trace(hamming(above_mean(exp(F)))))"),
                 ProxyGraph.parse("sum(trace(gram(above_mean(exp(F)))))")])
    shared = (time.perf_counter() - t0) / 2
    print(f"cold kernel set: {cold * 1000:.0f} ms each ({shared * 1000:.0f} ms each when two "
          "share a transform in one prefetch)")

    rng = random.Random(0)
    warm = []
    for _ in range(args.proxies):
        k = rng.choice(kernels)
        red, agg = rng.choice(names("reduction")), rng.choice(names("aggregation"))
        aug = rng.choice(names("augment"))
        warm.append(ProxyGraph.parse(rng.choice([f"{aug}({red}(ksum({k})))",
                                                 f"{aug}({agg}({red}({k})))"])))
    t0 = time.perf_counter()
    invalid = sum(ev.evaluate(g).invalid for g in warm)
    dt = time.perf_counter() - t0
    print(f"warm: {len(warm)} proxies in {dt:.2f} s = {len(warm) / dt:.0f} evals/s "
          f"({1000 * dt / len(warm):.1f} ms each; {invalid} invalid)")

    ev = Evaluator(pop)
    rng = random.Random(1)
    proxies = [ProxyGraph.parse(random_proxy(rng)) for _ in range(args.proxies)]
    n_kernels = len({n.text for g in proxies for n in g.nodes() if n.spec.stage == "kernel"})
    t0 = time.perf_counter()
    invalid = 0
    for i in range(0, len(proxies), 20):
        generation = proxies[i:i + 20]
        ev.prefetch(generation)
        invalid += sum(ev.evaluate(g).invalid for g in generation)
    dt = time.perf_counter() - t0
    print(f"random search-like: {len(proxies)} proxies needing {n_kernels} distinct kernel "
          f"sets in {dt:.1f} s = {len(proxies) / dt:.1f} evals/s ({invalid} invalid)")


if __name__ == "__main__":
    main()
