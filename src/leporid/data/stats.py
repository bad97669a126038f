"""Dataset statistics as the paper's Table 2, plus split sizes and what the pipeline dropped.

Tail rule: the tail users (items) are the ``floor(0.25 n)`` users (items) with the fewest
interactions, among the ``n`` that have at least one; ties at the boundary are broken by index
(lower index first), which does not change the data share (a sum of counts). The tail's data share
is the tail's interactions over all interactions. Density is interactions / (users x items).
"""

from __future__ import annotations

import numpy as np

from .interactions import Interactions
from .split import PARTS, Split

TAIL_FRACTION = 0.25


def tail_indices(counts: np.ndarray, fraction: float = TAIL_FRACTION,
                 include_zero: bool = False) -> np.ndarray:
    """Indices of the ``floor(fraction n)`` entries with the smallest ``counts``, ties by index;
    sorted by (count, index). ``n`` counts the positive entries only, unless ``include_zero``."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"tail fraction must be in [0, 1], got {fraction}")
    counts = np.asarray(counts)
    active = np.arange(len(counts)) if include_zero else np.flatnonzero(counts > 0)
    k = int(np.floor(fraction * len(active) + 1e-9))
    return active[np.argsort(counts[active], kind="stable")[:k]]


def _tail_share(counts: np.ndarray, fraction: float) -> tuple[int, float]:
    idx = tail_indices(counts, fraction)
    total = counts.sum()
    return len(idx), float(counts[idx].sum() / total) if total else 0.0


def dataset_statistics(data: Split | Interactions, tail_fraction: float = TAIL_FRACTION) -> dict:
    """Table-2 statistics of a ``Split`` (its filtered interactions) or of raw ``Interactions``.

    Keys: ``name``, ``users``, ``items``, ``interactions``, ``density``, ``tail_users``,
    ``tail_users_share``, ``tail_items``, ``tail_items_share``, ``duplicate_pairs`` (repeated
    (user, item) pairs), ``has_timestamps``, ``fingerprint`` (of a split: ``split.fingerprint()``,
the data fingerprint its results record); ``load`` (what the loader dropped or
    noted, if anything); for a split also ``train``/``validation``/``test`` row counts, ``ratios``
    and ``report`` (duplicates and k-core filtering, from :func:`leporid.data.prepare`).
    """
    split = data if isinstance(data, Split) else None
    inter = split.interactions if split is not None else data
    uc = np.bincount(inter.users, minlength=inter.n_users)
    ic = np.bincount(inter.items, minlength=inter.n_items)
    n_users, n_items, n = int((uc > 0).sum()), int((ic > 0).sum()), len(inter)
    n_tail_u, share_u = _tail_share(uc, tail_fraction)
    n_tail_i, share_i = _tail_share(ic, tail_fraction)
    pairs = len(np.unique(inter.users * np.int64(max(inter.n_items, 1)) + inter.items))
    out = {
        "name": inter.name, "users": n_users, "items": n_items, "interactions": n,
        "density": n / (n_users * n_items) if n_users and n_items else 0.0,
        "tail_fraction": tail_fraction,
        "tail_users": n_tail_u, "tail_users_share": share_u,
        "tail_items": n_tail_i, "tail_items_share": share_i,
        "duplicate_pairs": n - pairs,
        "has_timestamps": inter.timestamps is not None,
        # one data fingerprint everywhere: a split's covers its parts, as its results record
        "fingerprint": split.fingerprint() if split is not None else inter.fingerprint(),
    }
    load_notes = {k: inter.meta[k] for k in ("dropped_unknown_items", "users_without_items")
                  if inter.meta.get(k)}
    if load_notes:
        out["load"] = load_notes
    if split is not None:
        sizes = np.bincount(split.part, minlength=len(PARTS))
        out.update({p: int(c) for p, c in zip(PARTS, sizes)})
        out["ratios"] = list(split.ratios)
        out["report"] = dict(split.report)
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def format_statistics(stats: dict, title: str | None = None) -> str:
    """A readable multi-line rendering of :func:`dataset_statistics`."""
    rep = stats.get("report", {})
    if title is None:
        kind = (f"{rep['min_count']}-core" if "min_count" in rep
                else "authors' protocol" if rep.get("protocol") == "authors" else "as loaded")
        title = f"{stats['name']} ({kind}; data fingerprint {stats['fingerprint']})"
    frac = stats.get("tail_fraction", TAIL_FRACTION)
    rows = [
        ("#users", f"{stats['users']:,}"),
        ("#items", f"{stats['items']:,}"),
        ("#interactions", f"{stats['interactions']:,}"),
        ("data density", _pct(stats["density"])),
        ("tail users' data share", f"{_pct(stats['tail_users_share'])}  ({stats['tail_users']:,} "
                                   f"users: the {frac:.0%} with the fewest interactions)"),
        ("tail items' data share", f"{_pct(stats['tail_items_share'])}  ({stats['tail_items']:,} "
                                   f"items: the {frac:.0%} with the fewest interactions)"),
        ("timestamps", "yes" if stats["has_timestamps"] else "no (file order is time order)"),
    ]
    if "train" in stats:
        r0, r1 = stats.get("ratios", (0.7, 0.8))
        shares = f"{r0:.0%}/{r1 - r0:.0%}/{1 - r1:.0%}"
        rows.append((f"split ({shares})", f"train {stats['train']:,} · validation "
                                          f"{stats['validation']:,} · test {stats['test']:,}"))
    elif stats.get("duplicate_pairs"):
        rows.append(("repeated (user, item)", f"{stats['duplicate_pairs']:,} rows"))
    if rep.get("protocol") == "authors":
        rows.append(("dropped", f"duplicates {rep.get('duplicates', 0):,}; no filter; rows whose "
                                f"item is never in training: "
                                f"{rep.get('filtered_interactions', 0):,} "
                                f"({rep.get('filtered_items', 0):,} items, "
                                f"{rep.get('filtered_users', 0):,} users)"))
    elif rep:
        kept = (f"duplicates {rep.get('duplicates', 0):,}; {rep.get('min_count')}-core filter "
                f"({rep.get('kcore_rounds')} rounds): {rep.get('filtered_users', 0):,} users, "
                f"{rep.get('filtered_items', 0):,} items, "
                f"{rep.get('filtered_interactions', 0):,} interactions")
        rows.append(("dropped", kept))
    if rep:
        if "raw_interactions" in rep:
            rows.append(("before filtering", f"{rep['raw_users']:,} users x {rep['raw_items']:,} "
                                             f"items, {rep['raw_interactions']:,} interactions"))
    notes = stats.get("load", {})
    if "dropped_unknown_items" in notes:
        d = notes["dropped_unknown_items"]
        lines = ", ".join(str(x) for x in d.get("lines", []))
        rows.append(("dropped at load", f"{d['count']:,} row(s) whose item is not in "
                                        f"{d.get('reference', 'the item list')} (line {lines})"))
    if "users_without_items" in notes:
        rows.append(("noted at load", f"{notes['users_without_items']:,} users with no items"))
    width = max(len(k) for k, _ in rows)
    return "\n".join([title] + [f"  {k:<{width}}  {v}" for k, v in rows])
