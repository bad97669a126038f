"""JSON adapters: numpy values and paths as plain JSON values."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def jsonable(x):
    """``x`` with numpy arrays/scalars and paths turned into JSON-serialisable values
    (recursively through dicts, lists and tuples; dict keys become strings)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    return x


def json_default(o):
    """``default=`` of ``json.dumps`` for model files: numpy scalars and arrays as numbers and
    lists; anything else is a ``TypeError`` naming its type."""
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"cannot store a {type(o).__name__} in a model file")
