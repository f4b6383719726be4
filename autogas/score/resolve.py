"""One resolver for every ``--proxy`` argument: a baseline name or a proxy-language graph."""
from __future__ import annotations

import os

from autogas.baselines import Baseline, get_baseline, is_baseline
from autogas.proxy import ProxyGraph, load_proxy


def resolve_proxy(spec: str | os.PathLike | ProxyGraph | Baseline) -> ProxyGraph | Baseline:
    """``spec`` as a :class:`Baseline` (a registered name such as ``nwot`` or ``snip``) or a
    :class:`ProxyGraph` (proxy text or a proxy JSON file). Baseline names win over graph text;
    bad text raises :class:`AutogasError`."""
    if isinstance(spec, (ProxyGraph, Baseline)):
        return spec
    text = os.fspath(spec).strip()
    if is_baseline(text):
        return get_baseline(text)
    return load_proxy(text)
