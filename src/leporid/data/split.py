"""Preparation pipeline of DESIGN.md §3: de-duplicate, iterative k-core, per-user chronological
split."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from .interactions import DataError, Interactions
from .validation import check_number

PARTS = ("train", "validation", "test")
TRAIN, VALIDATION, TEST = 0, 1, 2
#: preparation protocols: the paper's text (k-core) and the authors' released runs
PROTOCOLS = ("kcore", "authors")


def deduplicate(inter: Interactions) -> tuple[Interactions, int]:
    """Keep each (user, item) pair's chronologically first event; return the data and #dropped."""
    order = inter.order()
    key = inter.users[order] * np.int64(inter.n_items) + inter.items[order]
    _, first = np.unique(key, return_index=True)
    n_dup = len(inter) - len(first)
    if n_dup == 0:
        return inter, 0
    return inter.subset(order[first], reindex=False), n_dup


def kcore(inter: Interactions, min_count: int = 20) -> tuple[Interactions, dict]:
    """Iteratively drop users and items with fewer than ``min_count`` interactions until stable.

    Returns the reindexed data and a report of what was removed. Raises ``DataError`` when
    nothing survives.
    """
    min_count = check_number(min_count, "min_count", low=0, integer=True)
    keep = np.ones(len(inter), bool)
    rounds = 0
    while True:
        rounds += 1
        uc = np.bincount(inter.users[keep], minlength=inter.n_users)
        ic = np.bincount(inter.items[keep], minlength=inter.n_items)
        bad = keep & ((uc[inter.users] < min_count) | (ic[inter.items] < min_count))
        if not bad.any():
            break
        keep &= ~bad
        if not keep.any():
            raise DataError(
                f"{inter.name}: the {min_count}-core filter leaves no interactions "
                f"(from {len(inter)} rows, {inter.n_users} users, {inter.n_items} items); "
                "lower --min-count")
    out = inter.subset(keep, reindex=True)
    report = {
        "min_count": min_count, "kcore_rounds": rounds,
        "filtered_users": inter.n_users - out.n_users,
        "filtered_items": inter.n_items - out.n_items,
        "filtered_interactions": len(inter) - len(out),
    }
    return out, report


def chronological_parts(inter: Interactions, ratios=(0.7, 0.8),
                        float_floor: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Part (0 train / 1 validation / 2 test) of every row, and rows sorted by (user, time).

    Per user, rows are ordered by timestamp (ties and missing timestamps keep file order); the
    first ``floor(r0 n)`` are train, up to ``floor(r1 n)`` validation, the rest test.
    The boundaries are exact (``floor(0.7 * 180) = 126``) unless ``float_floor``, which takes
    the floor of the floating-point product as the authors' code does (``0.7 * 180`` is
    ``125.999...`` in binary floating point, so the boundary is 125).
    """
    order = inter.order()
    by_user = order[np.argsort(inter.users[order], kind="stable")]
    counts = np.bincount(inter.users, minlength=inter.n_users)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    u_sorted = inter.users[by_user]
    pos = np.arange(len(by_user)) - start[u_sorted]
    n = counts[u_sorted]
    eps = 0.0 if float_floor else 1e-9
    b1 = np.floor(ratios[0] * n + eps).astype(np.int64)
    b2 = np.floor(ratios[1] * n + eps).astype(np.int64)
    part_sorted = np.where(pos < b1, TRAIN, np.where(pos < b2, VALIDATION, TEST)).astype(np.int8)
    part = np.empty(len(inter), np.int8)
    part[by_user] = part_sorted
    return part, by_user


@dataclass(frozen=True, eq=False)
class Split:
    """A prepared dataset: ``interactions`` (filtered, reindexed) and the ``part`` of each row."""

    interactions: Interactions
    part: np.ndarray
    report: dict = field(default_factory=dict)
    ratios: tuple = (0.7, 0.8)

    @property
    def n_users(self) -> int:
        return self.interactions.n_users

    @property
    def n_items(self) -> int:
        return self.interactions.n_items

    @property
    def user_ids(self) -> np.ndarray:
        return self.interactions.user_ids

    @property
    def item_ids(self) -> np.ndarray:
        return self.interactions.item_ids

    @staticmethod
    def _part_code(part: str | int) -> int:
        if isinstance(part, str):
            if part not in PARTS:
                raise ValueError(f"part must be one of {PARTS}, got {part!r}")
            return PARTS.index(part)
        return int(part)

    @cached_property
    def _by_user(self) -> np.ndarray:
        return chronological_parts(self.interactions, self.ratios)[1]

    def matrix(self, *parts: str) -> sp.csr_matrix:
        """Binary user x item CSR matrix of the rows in ``parts``."""
        codes = [self._part_code(p) for p in parts]
        return self.interactions.to_csr(np.flatnonzero(np.isin(self.part, codes)))

    @cached_property
    def train(self) -> sp.csr_matrix:
        return self.matrix("train")

    @cached_property
    def validation(self) -> sp.csr_matrix:
        return self.matrix("validation")

    @cached_property
    def test(self) -> sp.csr_matrix:
        return self.matrix("test")

    def sequences(self, *parts: str) -> tuple[np.ndarray, np.ndarray]:
        """Per-user chronological item sequences of the rows in ``parts`` as (indptr, items)."""
        codes = [self._part_code(p) for p in (parts or PARTS)]
        rows = self._by_user[np.isin(self.part[self._by_user], codes)]
        counts = np.bincount(self.interactions.users[rows], minlength=self.n_users)
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return indptr, self.interactions.items[rows].astype(np.int64)

    def train_interactions(self) -> Interactions:
        """The training rows as ``Interactions`` with the split's (unchanged) indexing."""
        return self.interactions.subset(self.part == TRAIN, reindex=False)

    def fingerprint(self) -> str:
        """SHA-256 (first 16 hex) of everything that defines the split: the interactions'
        fingerprint, the part of every row and the ratios. Editing any of them changes it."""
        h = hashlib.sha256(self.interactions.fingerprint().encode())
        h.update(np.asarray(self.part, np.int8).tobytes())
        h.update(repr(tuple(float(r) for r in self.ratios)).encode())
        return h.hexdigest()[:16]

    @property
    def protocol(self) -> str:
        """The preparation protocol (``kcore`` or ``authors``; see :func:`prepare`)."""
        return self.report.get("protocol", "kcore")


def authors_protocol(inter: Interactions, ratios=(0.7, 0.8)
                     ) -> tuple[Interactions, np.ndarray, dict]:
    """The preparation the paper's authors ran (their released ML-1M split), not its text.

    No user or item filter; per-user boundaries ``floor(0.7 n)`` / ``floor(0.8 n)`` of the
    floating-point products (``chronological_parts(..., float_floor=True)``); then every row
    whose item never occurs in any user's training part is dropped (from validation and test:
    a model cannot embed an item it never saw) and users and items are reindexed. Boundaries are
    computed before the drop, so a user's parts keep their positions. On ML-1M this gives
    6,040 users x 3,647 items, 1,000,125 interactions (paper Table 2: 6,040 x 3,650, 1,000,127).

    Returns the data, the part of each row and a report of what was dropped.
    """
    part, _ = chronological_parts(inter, ratios, float_floor=True)
    in_train = np.zeros(inter.n_items, bool)
    in_train[inter.items[part == TRAIN]] = True
    keep = in_train[inter.items]
    if not keep.any():
        raise DataError(f"{inter.name}: no training interactions under the authors' protocol")
    out = inter.subset(keep, reindex=True)
    report = {"items_not_in_train": int(inter.n_items - in_train.sum()),
              "dropped_rows_not_in_train": {p: int(((part == c) & ~keep).sum())
                                            for c, p in enumerate(PARTS)},
              "filtered_users": int(inter.n_users - out.n_users),
              "filtered_items": int(inter.n_items - out.n_items),
              "filtered_interactions": int(len(inter) - len(out))}
    return out, part[keep], report


def prepare(inter: Interactions, min_count: int = 20, ratios=(0.7, 0.8),
            protocol: str = "kcore") -> Split:
    """De-duplicate, filter and split ``inter``; the report counts everything dropped.

    ``protocol="kcore"`` (default, the paper's text): iterative ``min_count``-core, exact
    boundaries. ``protocol="authors"`` (the paper's runs): see :func:`authors_protocol`
    (``min_count`` is ignored). The report records the protocol.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    n_raw = len(inter)
    dedup, n_dup = deduplicate(inter)
    head = {"protocol": protocol, "raw_interactions": n_raw, "raw_users": inter.n_users,
            "raw_items": inter.n_items, "duplicates": n_dup}
    if protocol == "authors":
        data, part, report = authors_protocol(dedup, ratios)
        return Split(data, part, {**head, **report}, tuple(ratios))
    core, report = kcore(dedup, min_count)
    part, _ = chronological_parts(core, ratios)
    return Split(core, part, {**head, **report}, tuple(ratios))
