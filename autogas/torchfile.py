"""Reading ``torch.save`` files without ever running code stored in them.

A ``.pth``/``.pt`` file is a pickle, and a pickle can name any callable (``os.system``) to be
called while it loads. :func:`load_torch_file` therefore always uses
``torch.load(weights_only=True)``: only tensors, plain containers (dict, list, tuple, OrderedDict),
numbers, strings and the explicitly allow-listed data types below are rebuilt; any other global in
the file stops the load before anything is called. There is no fallback to the full unpickler.

Allow-list (:data:`NUMPY_DATA_GLOBALS`): numpy scalars, dtypes and arrays, which are data only.
They are named twice, under numpy 2's ``numpy._core`` and numpy 1's ``numpy.core`` module paths,
because files written with numpy 1 (such as the 2021 TransNAS-Bench-101 API file, if its metric
lists hold numpy floats) spell the old path. Nothing else is allowed: the official TransNAS API
file (``api/api.py`` of yawen-d/TransNASBench and NASLib's copy) stores nested dicts and lists of
numbers and strings, and builds its ``ArchResult`` objects after loading, not inside the file.
"""
from __future__ import annotations

import os
import pickle
import re
from typing import Any

import numpy as np

from autogas.errors import AutogasError

_CORE = np._core.multiarray  # noqa: SLF001 - the module numpy's own pickles name
NUMPY_DATA_GLOBALS: tuple = tuple(
    entry
    for module in ("numpy._core.multiarray", "numpy.core.multiarray")
    for entry in ((_CORE.scalar, f"{module}.scalar"), (_CORE._reconstruct, f"{module}._reconstruct"))
) + (np.ndarray, np.dtype, *{type(np.dtype(code)) for code in "?bBhHiIlLqQefdgFDG"})
"""Globals a file may name besides torch's defaults: numpy scalars, arrays and dtypes."""

_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def load_torch_file(path: str | os.PathLike, *, what: str, map_location: Any = "cpu",
                    allow_numpy: bool = False) -> Any:
    """The object saved at ``path`` by ``torch.save``, loaded with ``weights_only=True``.

    ``what`` names the file's role in messages ("label file", "checkpoint", ...).
    ``allow_numpy`` also admits :data:`NUMPY_DATA_GLOBALS`. A file that names any other global
    (a class, ``os.system``, ...), is not a torch file, is truncated or cannot be read raises
    :class:`AutogasError` with one line naming ``path``; nothing stored in the file is executed.
    """
    import torch

    try:
        if allow_numpy:
            with torch.serialization.safe_globals(list(NUMPY_DATA_GLOBALS)):
                return torch.load(path, map_location=map_location, weights_only=True)
        return torch.load(path, map_location=map_location, weights_only=True)
    except MemoryError:
        raise
    except pickle.UnpicklingError as err:
        found = _GLOBAL.search(str(err))
        if found:
            raise AutogasError(f"{path}: {what} holds a pickled object beyond tensors and plain data "
                               f"({found.group(1)}); autogas never unpickles arbitrary objects") from None
        operand = re.search(r"Unsupported operand \d+", str(err))
        detail = operand.group(0) if operand else _first_line(err)
        raise AutogasError(f"{path}: {what} is not a readable torch file (safe loader: {detail})") from None
    except IsADirectoryError:
        raise AutogasError(f"{path}: {what} is a directory, not a file") from None
    except OSError as err:
        raise AutogasError(f"cannot read {what} {path}: {err.strerror or err}") from None
    except Exception as err:  # noqa: BLE001 - whatever torch raises on a foreign file is a bad input
        raise AutogasError(f"{path}: {what} is not a readable torch file ({_first_line(err)})") from None


def _first_line(err: BaseException) -> str:
    if isinstance(err, KeyError):  # the legacy reader looks the first byte up as a pickle opcode
        return "neither a torch zip archive nor a pickle"
    if isinstance(err, EOFError):
        return "the file ends early"
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__
