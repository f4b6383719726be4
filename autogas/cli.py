"""Command-line entry point: ``autogas <command> ...``.

Each module in :mod:`autogas.commands` that defines ``register(subparsers)`` adds one
sub-command; the module stays a thin layer over the Python API.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import Sequence

from autogas import __version__, commands
from autogas.errors import AutogasError


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every discovered sub-command."""
    parser = argparse.ArgumentParser(prog="autogas", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"autogas {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors become one stderr line and exit status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AutogasError as err:
        print(f"autogas: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autogas: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
