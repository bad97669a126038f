"""Read an embedding directory written by ``leporid embed`` (or ``save_embeddings``).

Layout: ``user_embeddings.npy``, ``item_embeddings.npy`` (n x 𝒟 floats), ``user_ids.npy``,
``item_ids.npy`` (the raw ids of the rows) and ``metadata.json``. Arrays are read with
``allow_pickle=False``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..results import atomic_save_npy
from .result import Embeddings

FILES = ("user_embeddings.npy", "item_embeddings.npy", "user_ids.npy", "item_ids.npy",
         "metadata.json")


def save_embeddings(out, user: np.ndarray, item: np.ndarray, user_ids, item_ids,
                    meta: dict) -> Path:
    """Write the directory layout above atomically, file by file (metadata last)."""
    from ..results import write_json

    out = Path(out)
    atomic_save_npy(out / "user_embeddings.npy", user)
    atomic_save_npy(out / "item_embeddings.npy", item)
    for side, ids in (("user", user_ids), ("item", item_ids)):
        ids = np.asarray(ids)  # string ids are saved as unicode, never as pickled objects
        atomic_save_npy(out / f"{side}_ids.npy", ids.astype(str) if ids.dtype == object else ids)
    write_json(out / "metadata.json", meta)
    return out


def _as_str(ids) -> np.ndarray:
    return np.asarray(ids).astype(str)


def load_embeddings(path, split=None):
    """``Embeddings`` (user, item float32, scheme, params, dim, seed, ``info`` = metadata) from
    directory ``path``.

    Checks: every file present, 2-D finite arrays of one dimension, one id per row, ids
    unique. With ``split`` (a ``leporid.data.Split``): the rows are put in the split's user and
    item order (the files may list more users/items than the split, e.g. embeddings of the full
    file; extra rows are ignored); a user or item of the split missing from the files is an
    error naming how many and one example. Raises ``ValueError`` / ``FileNotFoundError``.
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"embedding directory {path} does not exist")
    missing = [f for f in FILES if not (path / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{path}: missing {', '.join(missing)} (written by "
                                f"`leporid embed`)")
    meta = json.loads((path / "metadata.json").read_text())
    arrays = {}
    for side in ("user", "item"):
        E = np.load(path / f"{side}_embeddings.npy", allow_pickle=False)
        ids = np.load(path / f"{side}_ids.npy", allow_pickle=False)
        if E.ndim != 2 or not np.issubdtype(E.dtype, np.floating):
            raise ValueError(f"{path}/{side}_embeddings.npy: expected a 2-D float array, got "
                             f"{E.dtype} of shape {E.shape}")
        if not np.isfinite(E).all():
            raise ValueError(f"{path}/{side}_embeddings.npy: contains NaN or infinite values")
        if ids.ndim != 1 or len(ids) != len(E):
            raise ValueError(f"{path}: {side}_ids.npy has {len(ids)} ids for {len(E)} rows of "
                             f"{side}_embeddings.npy")
        if len(np.unique(ids)) != len(ids):
            raise ValueError(f"{path}/{side}_ids.npy: ids are not unique")
        if split is not None:
            want = _as_str(getattr(split, f"{side}_ids"))
            have = _as_str(ids)
            if not np.array_equal(want, have):
                order = np.argsort(have, kind="stable")
                pos = np.searchsorted(have, want, sorter=order)
                pos = np.minimum(pos, len(have) - 1)
                found = order[pos] if len(have) else np.zeros(len(want), np.int64)
                absent = ~(have[found] == want) if len(have) else np.ones(len(want), bool)
                if absent.any():
                    raise ValueError(f"{path}: {int(absent.sum())} of the split's {len(want)} "
                                     f"{side}s have no embedding (e.g. id {want[absent][0]!r})")
                E = E[found]
        arrays[side] = np.ascontiguousarray(E, np.float32)
    if arrays["user"].shape[1] != arrays["item"].shape[1]:
        raise ValueError(f"{path}: user dimension {arrays['user'].shape[1]} differs from item "
                         f"dimension {arrays['item'].shape[1]}")
    cfg = meta.get("config", {})
    return Embeddings(arrays["user"], arrays["item"], cfg.get("method", "unknown"),
                      meta.get("params", {}), arrays["user"].shape[1], meta.get("seed"),
                      info=meta)
