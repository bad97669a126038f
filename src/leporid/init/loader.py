"""Read an embedding directory written by ``leporid embed`` (or ``save_embeddings``).

Layout: ``user_embeddings.npy``, ``item_embeddings.npy`` (n x 𝒟 floats), ``user_ids.npy``,
``item_ids.npy`` (the raw ids of the rows) and ``metadata.json``. Arrays are read with
``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
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


def read_array(path: Path) -> np.ndarray:
    """One ``.npy`` array (no pickles), or a ``ValueError`` naming the file and what is wrong
    with it (empty, an ``.npz`` archive under a ``.npy`` name, not an array file at all)."""
    try:
        if path.stat().st_size == 0:
            raise ValueError("empty file")
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"{path}: not a readable .npy array ({reason})") from None
    if not isinstance(arr, np.ndarray):   # np.load opens an .npz whatever the file is called
        arr.close()
        raise ValueError(f"{path}: is an .npz archive, not a .npy array")
    return arr


def read_metadata(path: Path) -> dict:
    """``metadata.json`` as a dict whose ``config`` and ``params`` (when present) are dicts,
    or a ``ValueError`` naming the file."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(meta).__name__}")
    for key in ("config", "params"):
        if not isinstance(meta.get(key, {}), dict):
            raise ValueError(f"{path}: {key!r} must be an object, got "
                             f"{type(meta[key]).__name__}")
    return meta


def folder_dim(path) -> int:
    """The dimension of the embeddings in folder ``path`` (read before any data is loaded, so
    a model's own checks see the folder's dimension, not the default)."""
    file = Path(path) / "user_embeddings.npy"
    if not file.is_file():
        raise FileNotFoundError(f"{path}: missing user_embeddings.npy (written by "
                                f"`leporid embed`)")
    E = read_array(file)
    if E.ndim != 2:
        raise ValueError(f"{file}: expected a 2-D float array, got shape {E.shape}")
    return int(E.shape[1])


def folder_fingerprint(path) -> str:
    """SHA-256 (first 16 hex) of an embedding folder's arrays and ids: two folders with other
    embeddings never share it, so results and checkpoints keyed by it never mix them."""
    h = hashlib.sha256()
    for name in FILES[:4]:
        h.update((Path(path) / name).read_bytes())
    return h.hexdigest()[:16]


def _check_data(path: Path, meta: dict, split) -> None:
    """Embeddings of a prepared split are refused for another split (another dataset, filter
    or protocol), even when the raw ids match: their metadata carries the split's fingerprint.
    (Embeddings of a whole file, ``prepared`` false, may serve any split of it.)"""
    config = meta.get("config", {})
    stored = meta.get("data_fingerprint")
    if config.get("prepared") is True and stored and stored != split.fingerprint():
        raise ValueError(f"{path / 'metadata.json'}: these embeddings were computed on other "
                         f"data (fingerprint {stored}, dataset {config.get('dataset')!r}); this "
                         f"split's is {split.fingerprint()} — embed this dataset, with the same "
                         f"--min-count and --protocol, first")


def load_embeddings(path, split=None):
    """``Embeddings`` (user, item float32, scheme, params, dim, seed, ``info`` = metadata plus
    ``folder``: its path and ``folder_fingerprint``) from directory ``path``.

    Checks, each error naming the file: every file present and readable (a ``.npy`` array, no
    pickles; ``metadata.json`` an object), 2-D finite arrays that fit float32, of one
    dimension, one id per row, ids unique. With ``split`` (a ``leporid.data.Split``): embeddings
    computed on another split are refused (``_check_data``), and the rows are put in the split's
    user and item order (the files may list more users/items than the split, e.g. embeddings of
    the full file; extra rows are ignored); a user or item of the split missing from the files
    is an error naming how many and one example. Raises ``ValueError`` / ``FileNotFoundError``.
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"embedding directory {path} does not exist")
    missing = [f for f in FILES if not (path / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{path}: missing {', '.join(missing)} (written by "
                                f"`leporid embed`)")
    meta = read_metadata(path / "metadata.json")
    if split is not None:
        _check_data(path, meta, split)
    arrays = {}
    for side in ("user", "item"):
        file = path / f"{side}_embeddings.npy"
        E = read_array(file)
        ids = read_array(path / f"{side}_ids.npy")
        if E.ndim != 2 or not np.issubdtype(E.dtype, np.floating):
            raise ValueError(f"{file}: expected a 2-D float array, got {E.dtype} of shape "
                             f"{E.shape}")
        if not np.isfinite(E).all():
            raise ValueError(f"{file}: contains NaN or infinite values")
        big = float(np.abs(E).max(initial=0.0))
        if big > np.finfo(np.float32).max:
            raise ValueError(f"{file}: values up to {big:.3g} do not fit float32 (largest "
                             f"{np.finfo(np.float32).max:.3g})")
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
                                     f"{side}s have no embedding (e.g. id "
                                     f"{str(want[absent][0])!r})")
                E = E[found]
        arrays[side] = np.ascontiguousarray(E, np.float32)
    if arrays["user"].shape[1] != arrays["item"].shape[1]:
        raise ValueError(f"{path}: user dimension {arrays['user'].shape[1]} differs from item "
                         f"dimension {arrays['item'].shape[1]}")
    cfg = meta.get("config", {})
    info = {**meta, "folder": {"path": str(path), "fingerprint": folder_fingerprint(path)}}
    return Embeddings(arrays["user"], arrays["item"], cfg.get("method", "unknown"),
                      meta.get("params", {}), arrays["user"].shape[1], meta.get("seed"),
                      info=info)
