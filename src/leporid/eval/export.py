"""CSV exports that let anyone recompute the metrics: top-N lists and the split itself."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..data.split import PARTS
from ..results import atomic_write


def _csv(columns: dict) -> str:
    import pandas as pd

    buf = io.StringIO()
    pd.DataFrame(columns).to_csv(buf, index=False)
    return buf.getvalue()


def save_recommendations(path, split, users: np.ndarray, topn: np.ndarray, n: int = 10) -> Path:
    """Write ``user,rank,item`` (raw ids; rank 1 = best; the first ``n`` ranks of each user).

    ``users[r]`` is the user of row r of ``topn`` (item indices, -1 = padding, skipped).
    """
    users = np.asarray(users, dtype=np.int64)
    topn = np.asarray(topn, dtype=np.int64)[:, :n]
    if len(users) != len(topn):
        raise ValueError(f"{len(users)} users but {len(topn)} top-N rows")
    rank = np.broadcast_to(np.arange(1, topn.shape[1] + 1), topn.shape)
    user = np.broadcast_to(users[:, None], topn.shape)
    keep = topn >= 0
    return atomic_write(path, _csv({"user": split.user_ids[user[keep]], "rank": rank[keep],
                                    "item": split.item_ids[topn[keep]]}))


def export_split_csv(split, path) -> Path:
    """Write the split as ``user,item,timestamp,part`` (raw ids; part = train|validation|test),
    rows by user, then chronologically; ``timestamp`` is empty when the data has none."""
    inter = split.interactions
    order = inter.order()
    order = order[np.argsort(inter.users[order], kind="stable")]
    if inter.timestamps is None:
        ts = np.full(len(order), "", dtype=object)
    else:
        ts = inter.timestamps[order]
        if np.all(np.isfinite(ts)) and np.all(ts == np.round(ts)):
            ts = ts.astype(np.int64)
    return atomic_write(path, _csv({"user": inter.user_ids[inter.users[order]],
                                    "item": inter.item_ids[inter.items[order]],
                                    "timestamp": ts,
                                    "part": np.asarray(PARTS, dtype=object)[split.part[order]]}))
