"""De-duplication, iterative k-core and the chronological 70/10/20 split (DESIGN.md §3)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leporid.data import DataError, Interactions, chronological_parts, kcore, load, prepare

ML100K_INTER = Path(__file__).resolve().parents[2] / "shared/datasets/ml-100k/ml-100k.inter"

events = st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7), st.integers(0, 3)),
                  min_size=1, max_size=80)


def make(rows, with_time=True) -> Interactions:
    u, i, t = zip(*rows)
    return Interactions.from_raw(list(u), list(i), list(t) if with_time else None)


def naive_kcore(pairs: set, k: int) -> set:
    """Reference k-core of a set of (user, item) pairs: peel until stable."""
    while True:
        uc, ic = {}, {}
        for u, i in pairs:
            uc[u] = uc.get(u, 0) + 1
            ic[i] = ic.get(i, 0) + 1
        keep = {(u, i) for u, i in pairs if uc[u] >= k and ic[i] >= k}
        if keep == pairs:
            return pairs
        pairs = keep


@settings(max_examples=80, deadline=None)
@given(rows=events, k=st.integers(1, 4))
def test_kcore_is_the_fixed_point(rows, k):
    rows = list({(u, i): t for u, i, t in rows}.items())  # unique pairs
    inter = make([(u, i, t) for (u, i), t in rows])
    expected = naive_kcore({p for p, _ in rows}, k)
    if not expected:
        with pytest.raises(DataError, match=f"{k}-core filter leaves no interactions"):
            kcore(inter, k)
        return
    out, report = kcore(inter, k)
    got = set(zip(out.user_ids[out.users].tolist(), out.item_ids[out.items].tolist()))
    assert got == expected
    assert np.bincount(out.users).min() >= k and np.bincount(out.items).min() >= k
    again, rep2 = kcore(out, k)  # a fixed point: nothing more to remove
    assert len(again) == len(out) and rep2["filtered_interactions"] == 0
    assert report["filtered_interactions"] == len(inter) - len(out)
    assert report["filtered_users"] == inter.n_users - out.n_users


@settings(max_examples=80, deadline=None)
@given(rows=events, with_time=st.booleans())
def test_split_boundaries_and_order(rows, with_time):
    inter = make(rows, with_time)
    part, _ = chronological_parts(inter)
    for u in range(inter.n_users):
        idx = np.flatnonzero(inter.users == u)  # file order
        if with_time:
            idx = idx[np.argsort(inter.timestamps[idx], kind="stable")]  # ties keep file order
        n = len(idx)
        b1, b2 = math.floor(0.7 * n + 1e-9), math.floor(0.8 * n + 1e-9)
        expected = [0] * b1 + [1] * (b2 - b1) + [2] * (n - b2)
        assert part[idx].tolist() == expected


def test_split_exact_small_cases():
    # one user, 10 events in reverse time order: the earliest 7 are train
    inter = Interactions.from_raw([1] * 10, list(range(10)), list(range(10, 0, -1)))
    part, _ = chronological_parts(inter)
    assert part.tolist() == [2, 2, 1, 0, 0, 0, 0, 0, 0, 0]
    # ties in time keep file order; no timestamps use file order
    tied = Interactions.from_raw([1] * 5, [5, 4, 3, 2, 1], [7] * 5)
    assert chronological_parts(tied)[0].tolist() == [0, 0, 0, 1, 2]
    untimed = Interactions.from_raw([1] * 5, [5, 4, 3, 2, 1])
    assert chronological_parts(untimed)[0].tolist() == [0, 0, 0, 1, 2]


def test_duplicates_are_counted_and_first_kept():
    # user 1 rates item 9 twice (t=5 then t=1): the earlier (t=1) survives
    inter = Interactions.from_raw([1, 1, 1, 2, 2], [9, 8, 9, 9, 8], [5, 2, 1, 3, 4])
    split = prepare(inter, min_count=1)
    assert split.report["duplicates"] == 1
    assert split.report["raw_interactions"] == 5 and len(split.interactions) == 4
    keep = split.interactions
    rows = set(zip(keep.user_ids[keep.users].tolist(), keep.item_ids[keep.items].tolist(),
                   keep.timestamps.tolist()))
    assert (1, 9, 1.0) in rows and (1, 9, 5.0) not in rows


def test_filtering_that_leaves_nothing_names_the_dataset():
    inter = Interactions.from_raw([1, 2], [1, 2], name="tiny")
    with pytest.raises(DataError, match="tiny: the 20-core filter leaves no interactions"):
        prepare(inter)


def test_bundled_20_core_sizes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        split = prepare(load("ml-latest-small"))
    assert (split.n_users, split.n_items, len(split.interactions)) == (566, 1286, 67_020)
    counts = np.bincount(split.part, minlength=3)
    assert counts.sum() == 67_020 and counts[0] > counts[2] > counts[1]


@pytest.mark.skipif(not ML100K_INTER.exists(), reason="shared ml-100k not present")
def test_ml100k_20_core_sizes():
    split = prepare(load(ML100K_INTER))
    assert (split.n_users, split.n_items, len(split.interactions)) == (917, 937, 94_443)
