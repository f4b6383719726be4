"""``autogas bench verify|build|info|merge``: the TransNAS-Bench-101 networks and their feature cache."""
from __future__ import annotations

import argparse
import json
import os

import numpy as np

from autogas.atomic import check_output
from autogas.commands.bench_train import add_train_parser
from autogas.commands.rank import check_input_memory
from autogas.errors import AutogasError
from autogas.measure.features import DEFAULT_MAX_DIMS


def register(subparsers) -> None:
    bench = subparsers.add_parser("bench", help="TransNAS-Bench-101 networks and the feature cache")
    sub = bench.add_subparsers(dest="bench_command", metavar="ACTION")
    sub.required = True

    verify = sub.add_parser("verify", help="rebuild every arch and compare params/FLOPs with the labels file")
    _add_labels_args(verify)
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.set_defaults(func=run_verify)

    build = sub.add_parser("build", help="cache per-layer features of every arch at random init")
    _add_labels_args(build)
    build.add_argument("--out", required=True, help="output HDF5 file (resumed if it exists)")
    build.add_argument("--limit", type=int, default=None, help="only the first N archs of the labels file")
    build.add_argument("--seed", type=int, default=0, help="seed of inputs, weight init and subsampling")
    build.add_argument("--batch", type=int, default=16, help="images in the fixed input batch")
    build.add_argument("--resolution", type=int, default=64, help="input side in pixels")
    build.add_argument("--inputs", default="images",
                       help="'images' (packaged photos), 'noise' or a folder of images")
    build.add_argument("--max-dims", type=int, default=DEFAULT_MAX_DIMS,
                       help="features kept per layer and sample (0 = all)")
    build.set_defaults(func=run_build)

    info = sub.add_parser("info", help="summarise a feature cache")
    info.add_argument("file")
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.add_argument("--check", action="store_true",
                      help="also read every dataset and verify its Fletcher-32 checksum; a damaged "
                           "one is an error naming the arch and dataset")
    info.set_defaults(func=run_info)

    merge = sub.add_parser("merge", help="one cache holding every arch of several caches built with the "
                                         "same settings (ground truths: the seed count may differ)")
    merge.add_argument("caches", nargs="+", help="cache files, merged in this order")
    merge.add_argument("--out", required=True, help="the new cache file (must not exist)")
    merge.set_defaults(func=run_merge)

    add_train_parser(sub)


def _add_labels_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--space", choices=("macro", "micro"), required=True)
    p.add_argument("--labels", required=True,
                   help="NAS-Bench-Suite-Zero JSON or TransNAS-Bench-101 API .pth file")
    p.add_argument("--task", default="autoencoder")


def _labels(args):
    from autogas.transnas.labels import load_labels

    return load_labels(args.labels, task=args.task, space=args.space)


def run_verify(args) -> int:
    from autogas.transnas.counting import verify_counts

    result = verify_counts(_labels(args))
    summary = {k: result[k] for k in ("n", "params_match", "flops_match")}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['n']} {args.space} archs: params match {summary['params_match']:.2%}, "
              f"FLOPs match {summary['flops_match']:.2%}")
        for line in result.get("mismatches", [])[:10]:
            print(f"  mismatch: {line}")
    return 0


def run_build(args) -> int:
    from autogas.transnas.build import CacheSettings, build_cache

    if args.limit is not None and args.limit < 1:
        raise AutogasError("--limit must be at least 1")
    if args.max_dims < 0:
        raise AutogasError("--max-dims must be >= 0")
    check_output(args.out)
    check_input_memory(args.batch, args.resolution)
    inputs = args.inputs if args.inputs in ("images", "noise") else os.path.abspath(args.inputs)
    settings = CacheSettings(space=args.space, task=args.task, seed=args.seed, batch=args.batch,
                             resolution=args.resolution, inputs=inputs, max_dims=args.max_dims)
    summary = build_cache(_labels(args), args.out, settings, limit=args.limit)
    per = summary["seconds_per_arch"]
    print(f"{args.out}: {summary['computed']} archs computed, {summary['skipped']} already cached"
          + (f", {per:.3f} s/arch forward" if per else ""))
    return 0


def cache_summary(path: str) -> dict:
    """Facts about a cache file: settings, counts, sizes."""
    from autogas.cache import FeatureCache, journal_dir

    cache = FeatureCache(path)
    table = cache.table
    labelled = table["label"].notna() if len(table) else table.index == table.index
    pending = list(journal_dir(path).glob("*.h5")) if journal_dir(path).exists() else []
    layers = table["n_layers"].to_numpy() if len(table) else np.array([0])
    return {
        "file": str(path), "bytes": os.path.getsize(path), **cache.settings,
        "archs": len(table), "labelled": int(labelled.sum()),
        "layers_min": int(layers.min()), "layers_max": int(layers.max()),
        "label_min": float(table["label"].min()) if labelled.any() else None,
        "label_max": float(table["label"].max()) if labelled.any() else None,
        "pending_journal": len(pending),
        **_ground_truth_quality(cache.settings, table),
    }


def _ground_truth_quality(settings: dict, table) -> dict:
    """Noise ceiling and label spread of a ground-truth cache (``autogas bench train``); {} else."""
    from autogas.groundtruth.build import read_groundtruth_task
    from autogas.groundtruth.quality import label_quality

    return label_quality(table) if read_groundtruth_task(settings.get("task")) is not None else {}


def run_merge(args) -> int:
    from autogas.cache import FeatureCache, merge_caches
    from autogas.groundtruth.build import merge_groundtruth, read_groundtruth_task

    for path in args.caches:
        if not os.path.isfile(path):
            raise AutogasError(f"no such cache file: {path}")
    check_output(args.out)
    if read_groundtruth_task(FeatureCache(args.caches[0]).settings.get("task")) is not None:
        n = merge_groundtruth(args.caches, args.out)
    else:
        n = merge_caches(args.caches, args.out)
    print(f"{args.out}: {n} archs from {len(args.caches)} caches")
    return 0


def run_info(args) -> int:
    info = cache_summary(args.file)
    if args.check:
        from autogas.cache import verify_cache

        checked = verify_cache(args.file)
        info["check"] = f"ok: {checked['datasets']} datasets, {checked['bytes']} bytes verified"
    if args.json:
        print(json.dumps(info))
    else:
        width = max(len(k) for k in info)
        for key, value in info.items():
            print(f"{key:<{width}}  {value}")
    return 0
