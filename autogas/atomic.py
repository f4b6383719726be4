"""Outputs that are never half-written: write to a temporary sibling, then rename."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from autogas.errors import AutogasError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``.

    If the block raises (or the process dies) the destination is left untouched and
    the temporary file is removed where possible. The file gets the permissions an ordinary
    ``open(path, "w")`` would give (``0666`` minus the umask: ``0644`` under umask ``022``), so a
    cache on a shared file system is readable by others exactly when the user's umask says so.
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    tmp_path = Path(tmp)
    try:
        try:
            os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp makes 0600; outputs follow the umask
        finally:
            os.close(fd)
        yield tmp_path
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def current_umask() -> int:
    """The process umask, read without changing it where Linux exposes it (``/proc/self/status``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore at once
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def check_output(path: str | os.PathLike, *, directory: bool = False, option: str = "--out",
                 refuse_existing: bool = False,
                 existing_hint: str = "--overwrite to replace it") -> Path:
    """Check, before any work starts, that ``path`` can be written as an output; return it.

    ``directory``: the output is a folder (an existing file there is an error), else a file (an
    existing folder there is an error). The nearest existing ancestor must be a folder in which
    a file can be created: this is probed by creating and at once removing an empty temporary
    file, so a read-only file system or a root-owned folder is caught as well as the mode bits.
    ``refuse_existing``: an existing output is an error that names ``existing_hint`` (the
    option that allows it). Every failure is one :class:`AutogasError` line naming the path.
    """
    dest = Path(path)
    if directory and dest.exists() and not dest.is_dir():
        raise AutogasError(f"{option} {dest} is a file, not a directory")
    if not directory and dest.is_dir():
        raise AutogasError(f"{option} {dest} is a directory, not a file")
    if refuse_existing and dest.exists():
        raise AutogasError(f"{option} {dest} exists and is left untouched; pass {existing_hint} "
                           f"or choose another {option}")
    ancestor = (dest if directory else dest.parent).absolute()
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise AutogasError(f"{option} {dest}: {ancestor} is a file, not a directory")
    try:
        fd, probe = tempfile.mkstemp(prefix=".autogas-probe.", dir=ancestor)
    except OSError as err:
        raise AutogasError(f"{option} {dest}: cannot write in {ancestor}: "
                           f"{err.strerror or err}") from None
    os.close(fd)
    os.unlink(probe)
    return dest
