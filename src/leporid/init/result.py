"""The result of computing an initialiser (``leporid.init.compute``, ``load_embeddings``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Embeddings:
    """Result of ``compute``: float32 ``user``/``item`` arrays, the scheme, its resolved
    ``params``, ``info`` from the scheme (timings, solver details) and whether it came from the
    cache (``cache_hit``)."""

    user: np.ndarray
    item: np.ndarray
    scheme: str
    params: dict
    dim: int
    seed: int
    info: dict = field(default_factory=dict)
    cache_hit: bool = False
    seconds: float = 0.0
