"""Weight-init seeds: an architecture's weights depend only on the global seed and its own name."""
from __future__ import annotations

import zlib


def init_seed(seed: int, arch: str) -> int:
    """The weight-init seed of ``arch`` under global ``seed``."""
    return zlib.crc32(f"{seed}:{arch}".encode())
