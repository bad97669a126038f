"""DLR² data pipeline: windows, padding, validation/test states, negative sampling."""

import numpy as np
import pytest
import scipy.sparse as sp

from leporid.data import Interactions, prepare
from leporid.data.sequences import NegativeSampler, last_items, sliding_windows, user_states

PAD = 99


def test_sliding_windows_full_and_short_users():
    # user 0: a..g (7 items), user 1: x y z (3 items <= l), user 2: one item, user 3: none
    indptr = np.array([0, 7, 10, 11, 11])
    items = np.array([1, 2, 3, 4, 5, 6, 7, 20, 21, 22, 30])
    users, states, targets = sliding_windows(indptr, items, 3, PAD)
    assert users.tolist() == [0, 0, 0, 0, 1, 1]
    assert targets.tolist() == [4, 5, 6, 7, 21, 22]
    assert states.tolist() == [[1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 6],
                               [PAD, PAD, 20], [PAD, 20, 21]]


def test_sliding_windows_exactly_l_plus_one():
    users, states, targets = sliding_windows(np.array([0, 4]), np.array([5, 6, 7, 8]), 3, PAD)
    assert states.tolist() == [[5, 6, 7]] and targets.tolist() == [8]


def test_last_items_left_pads():
    out = last_items(np.array([0, 5, 7, 7]), np.array([1, 2, 3, 4, 5, 8, 9]), 3, PAD)
    assert out.tolist() == [[3, 4, 5], [PAD, 8, 9], [PAD, PAD, PAD]]


def _hand_split():
    """A: 10 events (7 train, 1 val, 2 test); B: 20 (14, 2, 4); C: 3 (2, 0, 1).

    Item raw id = 1000 * user + position, so positions are readable; file order is shuffled and
    time order comes from the timestamps.
    """
    rows = []
    for u, n in (("A", 10), ("B", 20), ("C", 3)):
        base = {"A": 1, "B": 2, "C": 3}[u]
        rows += [(u, base * 1000 + p, 100.0 * p + base) for p in range(n)]
    rng = np.random.default_rng(0)
    rows = [rows[i] for i in rng.permutation(len(rows))]
    users, items, ts = zip(*rows)
    split = prepare(Interactions.from_raw(np.array(users), np.array(items), np.array(ts)),
                    min_count=1)
    return split


def _raw(split, states):
    ids = np.append(split.item_ids, -1)        # padding -> -1
    return ids[states].tolist()


def test_user_states_validation_and_test_rule():
    split = _hand_split()
    ua, ub, uc = split.interactions.user_index(np.array(["A", "B", "C"]))
    val = user_states(split, "validation", 3)
    test = user_states(split, "test", 3)
    # validation: the last l training items
    assert _raw(split, val[[ua, ub, uc]]) == [[1004, 1005, 1006], [2011, 2012, 2013],
                                              [-1, 3000, 3001]]
    # test: validation items topped up from the end of train, chronological
    assert _raw(split, test[[ua, ub, uc]]) == [[1005, 1006, 1007], [2013, 2014, 2015],
                                               [-1, 3000, 3001]]
    test5 = user_states(split, "test", 5)
    assert _raw(split, test5[[ub]]) == [[2011, 2012, 2013, 2014, 2015]]
    assert (test5 == split.n_items).sum() > 0          # C is padded with n_items
    with pytest.raises(ValueError):
        user_states(split, "train", 3)


def test_negative_sampler_exact_and_uniform():
    rng = np.random.default_rng(1)
    train = sp.random(30, 25, density=0.4, random_state=2, format="csr")
    train.data[:] = 1
    sampler = NegativeSampler(train)
    users = np.repeat(np.arange(30), 2000)
    neg = sampler.sample(users, rng)
    dense = train.toarray() > 0
    assert not dense[users, neg].any()                 # never a training item
    assert ((neg >= 0) & (neg < 25)).all()
    counts = np.zeros((30, 25))
    np.add.at(counts, (users, neg), 1)
    free = ~dense
    expected = 2000 / free.sum(1, keepdims=True)
    rel = np.abs(counts - expected)[free] / np.broadcast_to(expected, counts.shape)[free]
    assert (counts[~free] == 0).all()
    assert rel.max() < 0.35                            # every free item is drawn ~ uniformly
    assert counts[free].min() > 0


def test_negative_sampler_rejects_full_user():
    train = sp.csr_matrix(np.array([[1, 1], [1, 0]]))
    sampler = NegativeSampler(train)
    assert sampler.sample(np.array([1, 1]), np.random.default_rng(0)).tolist() == [1, 1]
    with pytest.raises(ValueError, match="every item"):
        sampler.sample(np.array([0]), np.random.default_rng(0))
