"""The ``Interactions`` type: implicit-feedback events with raw ids <-> contiguous indices."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp


class DataError(ValueError):
    """Bad input data; the message names the file, line or column and the problem."""


def _index(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique raw ids and the index of each element (ids sort numerically when numeric)."""
    # pandas' hash-based factorize: the same result as np.unique(return_inverse=True), ~15x faster
    codes, uniq = pd.factorize(raw, sort=True)
    if (codes < 0).any():
        raise DataError("missing (NaN/None) ids")
    return np.asarray(uniq, dtype=raw.dtype), codes.astype(np.int64)


@dataclass(frozen=True, eq=False)
class Interactions:
    """Interactions in file order.

    ``users``/``items`` are contiguous indices into ``user_ids``/``item_ids`` (the raw ids, sorted).
    ``timestamps`` is ``None`` when the source has no time: file order is then the time order.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    users: np.ndarray
    items: np.ndarray
    timestamps: np.ndarray | None = None
    ratings: np.ndarray | None = None
    name: str = "interactions"
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        n = len(self.users)
        if len(self.items) != n:
            raise DataError("users and items arrays differ in length")
        for attr in ("timestamps", "ratings"):
            a = getattr(self, attr)
            if a is not None and len(a) != n:
                raise DataError(f"{attr} array has {len(a)} rows, expected {n}")
        if n and (self.users.min() < 0 or self.users.max() >= len(self.user_ids)):
            raise DataError("user index out of range of user_ids")
        if n and (self.items.min() < 0 or self.items.max() >= len(self.item_ids)):
            raise DataError("item index out of range of item_ids")

    @classmethod
    def from_raw(cls, users_raw, items_raw, timestamps=None, ratings=None, name="interactions",
                 meta=None) -> Interactions:
        """Build from raw id sequences (file order); indices follow sorted raw ids."""
        users_raw, items_raw = np.asarray(users_raw), np.asarray(items_raw)
        if len(users_raw) == 0:
            raise DataError(f"{name}: no interactions")
        uid, u = _index(users_raw)
        iid, i = _index(items_raw)
        ts = None if timestamps is None else np.asarray(timestamps, dtype=np.float64)
        rt = None if ratings is None else np.asarray(ratings, dtype=np.float64)
        return cls(uid, iid, u, i, ts, rt, name, dict(meta or {}))

    # --- sizes -------------------------------------------------------------------------------
    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def __len__(self) -> int:
        return len(self.users)

    # --- id mapping --------------------------------------------------------------------------
    @staticmethod
    def _lookup(ids: np.ndarray, raw, kind: str) -> np.ndarray:
        raw = np.atleast_1d(np.asarray(raw, dtype=ids.dtype if ids.dtype != object else object))
        pos = np.searchsorted(ids, raw)
        pos_c = np.minimum(pos, len(ids) - 1)
        bad = ids[pos_c] != raw
        if np.any(bad):
            raise KeyError(f"unknown {kind} id(s): {list(raw[bad][:5])}")
        return pos_c.astype(np.int64)

    def user_index(self, raw) -> np.ndarray:
        """Indices of raw user ids (KeyError naming unknown ids)."""
        return self._lookup(self.user_ids, raw, "user")

    def item_index(self, raw) -> np.ndarray:
        return self._lookup(self.item_ids, raw, "item")

    # --- derived -----------------------------------------------------------------------------
    def order(self) -> np.ndarray:
        """Chronological order of rows: by timestamp, ties (and no timestamps) in file order."""
        if self.timestamps is None:
            return np.arange(len(self.users))
        return np.argsort(self.timestamps, kind="stable")

    def to_csr(self, rows: np.ndarray | None = None) -> sp.csr_matrix:
        """Binary user x item matrix (float32) of the given rows (default all)."""
        u, i = (self.users, self.items) if rows is None else (self.users[rows], self.items[rows])
        m = sp.csr_matrix((np.ones(len(u), np.float32), (u, i)), shape=(self.n_users, self.n_items))
        m.sum_duplicates()
        m.data[:] = 1.0
        return m

    def subset(self, rows: np.ndarray, reindex: bool = True) -> Interactions:
        """Rows ``rows`` (bool mask or indices, kept in file order); drop unused ids if reindex."""
        rows = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.sort(rows)
        u, i = self.users[rows], self.items[rows]
        ts = None if self.timestamps is None else self.timestamps[rows]
        rt = None if self.ratings is None else self.ratings[rows]
        uid, iid = self.user_ids, self.item_ids
        if reindex:
            ku, u = np.unique(u, return_inverse=True)
            ki, i = np.unique(i, return_inverse=True)
            uid, iid = uid[ku], iid[ki]
        return Interactions(uid, iid, u.astype(np.int64), i.astype(np.int64), ts, rt, self.name,
                            dict(self.meta))

    def fingerprint(self) -> str:
        """SHA-256 (first 16 hex) of ids, events and times: identifies the data a result used."""
        h = hashlib.sha256()
        for a in (self.user_ids, self.item_ids):
            h.update(np.asarray(a).astype(str).astype("U").tobytes())
        h.update(self.users.astype(np.int64).tobytes())
        h.update(self.items.astype(np.int64).tobytes())
        if self.timestamps is not None:
            h.update(self.timestamps.astype(np.float64).tobytes())
        return h.hexdigest()[:16]
