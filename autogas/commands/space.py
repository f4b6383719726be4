"""``autogas space``: size and a sample architecture of a generator search space."""
from __future__ import annotations

import json


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
    info = {"space": space.name, "part": args.part if args.space == "cyclegan" else "generator",
            "genes": len(space.choices), "size": space.size(), "example": example}
    if args.json:
        print(json.dumps(info))
    else:
        print(f"{info['space']} {info['part']}: {info['genes']} genes, {info['size']:.4g} architectures "
              f"({info['size']:,}); e.g. {example}")
    return 0
