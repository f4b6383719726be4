"""``autogas space``: size and a sample architecture of a generator search space."""
from __future__ import annotations

import json
import math

MAX_EXACT_DIGITS = 4000  # below Python's limit on int -> str conversion (4300 digits)


def register(subparsers) -> None:
    p = subparsers.add_parser("space", help="size of a search space and a sampled architecture")
    p.add_argument("--space", required=True, help="cyclegan or gan-compression")
    p.add_argument("--part", default="generator", choices=("generator", "discriminator"),
                   help="cyclegan: generator (default) or discriminator")
    p.add_argument("--n-cells", type=int, default=None, help="cyclegan: generator cells (default 11)")
    p.add_argument("--config-set", default=None, help="gan-compression: channel candidate set")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampled example")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from autogas.search.scorer import open_space

    space = open_space(args.space, part=args.part, n_cells=args.n_cells, config_set=args.config_set)
    example = space.to_string(space.sample(np.random.default_rng(args.seed)))
    size = space.size()  # an exact int that may exceed any float (--n-cells 100000)
    log10 = math.log10(size)
    info = {"space": space.name, "part": args.part if args.space == "cyclegan" else "generator",
            "genes": len(space.choices), "size": size if log10 < MAX_EXACT_DIGITS else None,
            "size_log10": round(log10, 6), "example": example}
    if args.json:
        print(json.dumps(info))
    else:
        exponent = math.floor(log10)
        exact = f" ({size:,})" if log10 < 30 else ""
        print(f"{info['space']} {info['part']}: {info['genes']} genes, {10 ** (log10 - exponent):.3f}e+"
              f"{exponent:02d} architectures{exact}; e.g. {example}")
    return 0
