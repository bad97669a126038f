"""The paper's random baseline: independent normal entries."""

from __future__ import annotations

import numpy as np

from .. import DEFAULT_SEED
from .registry import positive, register


@register("random", check=positive("std"), cache=False)
def random_init(train, dim=64, seed=DEFAULT_SEED, std=0.01):
    """N(0, std^2) entries (the paper's random baseline uses std 0.01)."""
    rng = np.random.default_rng(seed)
    return (rng.normal(0, std, (train.shape[0], dim)), rng.normal(0, std, (train.shape[1], dim)))
