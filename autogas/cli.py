"""Command-line entry point: ``autogas <command> ...``.

Each module in :mod:`autogas.commands` that defines ``register(subparsers)`` adds one
sub-command; the module stays a thin layer over the Python API.

Error contract: a user error (:class:`AutogasError`), an ``OSError`` (a file that cannot be read
or written) or running out of memory is printed as one line ``autogas: error: ...`` naming the
file or the size, and the exit status is 2; ``AUTOGAS_DEBUG=1`` in the environment shows the
traceback instead. Every help text shows the defaults (:class:`DefaultsHelpFormatter`).
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import re
import sys
from typing import Iterator, Sequence

from autogas import __version__, commands
from autogas.errors import AutogasError


MAX_MESSAGE = 600  # characters of an error line; longer ones keep their start and end
DEBUG_ENV = "AUTOGAS_DEBUG"


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Help that states every default: an option taking a value whose help text does not
    already say "default" gets ``(default: X)``; options without a default (``None``, an empty
    list of a repeatable option) and on/off flags are left as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("default" in text or action.default in (None, argparse.SUPPRESS, []) or action.nargs == 0
                or not action.option_strings):
            return text
        return f"{text} (default: %(default)s)" if text else "default: %(default)s"


def _all_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:  # argparse keeps sub-parsers only here
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                yield from _all_parsers(child)


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
    for each in _all_parsers(parser):
        each.formatter_class = DefaultsHelpFormatter
        for action in each._actions:  # argparse prints no entry text for an option without help
            if (action.help is None and action.option_strings and action.nargs != 0
                    and action.default not in (None, argparse.SUPPRESS, [])):
                action.help = "default: %(default)s"
    return parser


def check_common(args: argparse.Namespace) -> None:
    """Ranges shared by every command, checked before any work: a seed is a non-negative integer."""
    seed = getattr(args, "seed", None)
    if isinstance(seed, int) and seed < 0:
        raise AutogasError(f"--seed must be >= 0, got {seed}")


def one_line(message: str) -> str:
    """``message`` on one line, its middle cut if it is longer than :data:`MAX_MESSAGE`."""
    text = " ".join(str(message).split())
    if len(text) > MAX_MESSAGE:
        head, tail = MAX_MESSAGE * 2 // 3, MAX_MESSAGE // 4
        text = f"{text[:head]} ... [{len(text) - head - tail} characters cut] ... {text[-tail:]}"
    return text


def describe_os_error(err: OSError) -> str:
    """An ``OSError`` as ``<reason>: <file>`` (``<file> -> <file2>`` for a rename)."""
    reason = err.strerror or str(err) or type(err).__name__
    files = [str(f) for f in (err.filename, err.filename2) if f is not None]
    return f"{reason}: {' -> '.join(files)}" if files else reason


_ALLOC = re.compile(r"(?:can't allocate memory|not enough memory).*?(\d+) bytes", re.I | re.S)


def describe_memory_error(err: BaseException) -> str | None:
    """A ``MemoryError`` or torch's allocation failure as one line with the size; else ``None``."""
    match = _ALLOC.search(str(err))
    if match:
        return f"out of memory: tried to allocate {int(match.group(1)):,} bytes (reduce the sizes asked for)"
    if isinstance(err, MemoryError):
        return f"out of memory{': ' + str(err) if str(err) else ''} (reduce the sizes asked for)"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors, OS errors and out-of-memory become one stderr line and exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = os.environ.get(DEBUG_ENV, "") not in ("", "0")
    try:
        check_common(args)
        return int(args.func(args) or 0)
    except AutogasError as err:
        print(f"autogas: error: {one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autogas: interrupted", file=sys.stderr)
        return 130
    except (OSError, MemoryError, RuntimeError) as err:
        message = (describe_os_error(err) if isinstance(err, OSError)
                   else describe_memory_error(err))
        if debug or message is None:
            raise
        print(f"autogas: error: {one_line(message)} (set {DEBUG_ENV}=1 for the traceback)",
              file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
