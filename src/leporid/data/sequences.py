"""Sequential training data: sliding windows, user states, and negative sampling.

All functions work on per-user chronological sequences in CSR form ``(indptr, items)`` as
returned by ``Split.sequences(...)`` and are vectorised (no Python loop over users or windows).

Padding rule
------------
A state always holds ``l`` item indices, oldest first. When a user has fewer than ``l`` items
before the target (short training histories, or a state built from a short history), the
state is **left-padded** with the padding index ``pad`` (the models use ``pad = n_items``, an
all-zero embedding row that is never trained and never ranked). A user with no history at all
gets an all-padding state; nobody is dropped.

Windows
-------
For a user with training sequence ``x_0 .. x_{n-1}`` every position ``t >= t0`` is a target,
with state ``x_{t-l} .. x_{t-1}`` (left-padded), where ``t0 = l`` when ``n > l`` (full windows
only, as the authors' code builds them) and ``t0 = 1`` when ``n <= l`` (so that users with
short histories still contribute ``n - 1`` padded windows instead of being dropped).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def last_items(indptr: np.ndarray, items: np.ndarray, length: int, pad: int) -> np.ndarray:
    """The last ``length`` items of every sequence, oldest first, left-padded with ``pad``.

    Returns an int64 array of shape (n_sequences, length).
    """
    indptr = np.asarray(indptr, np.int64)
    items = np.asarray(items, np.int64)
    ends = indptr[1:]
    pos = ends[:, None] + np.arange(-length, 0, dtype=np.int64)[None, :]
    valid = pos >= indptr[:-1, None]
    out = np.full(pos.shape, pad, np.int64)
    out[valid] = items[pos[valid]]
    return out


def user_states(split, part: str, length: int, pad: int | None = None) -> np.ndarray:
    """Every user's state for scoring ``part`` (DESIGN.md §3), shape (n_users, length).

    ``validation``: the last ``length`` training items. ``test``: the last ``length`` items
    before the test period, i.e. the validation items topped up from the end of train, kept in
    chronological order. Left-padded with ``pad`` (default ``split.n_items``).
    """
    pad = split.n_items if pad is None else pad
    if part == "validation":
        indptr, items = split.sequences("train")
    elif part == "test":
        indptr, items = split.sequences("train", "validation")
    else:
        raise ValueError(f"part must be 'validation' or 'test', got {part!r}")
    return last_items(indptr, items, length, pad)


def sliding_windows(indptr: np.ndarray, items: np.ndarray, length: int,
                    pad: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All training windows ``(users, states, targets)`` of the sequences (see module doc).

    ``users`` (N,), ``states`` (N, length) oldest first, ``targets`` (N,); int64, in user order
    and chronological order within a user.
    """
    indptr = np.asarray(indptr, np.int64)
    items = np.asarray(items, np.int64)
    n = np.diff(indptr)
    t0 = np.where(n > length, length, 1)
    n_win = np.maximum(n - t0, 0)
    users = np.repeat(np.arange(len(n), dtype=np.int64), n_win)
    # position of each window's target inside its user's sequence
    first = np.cumsum(n_win) - n_win
    t = np.arange(len(users), dtype=np.int64) - first[users] + t0[users]
    target_pos = indptr[users] + t
    offs = np.arange(-length, 0, dtype=np.int64)[None, :]
    valid = (t[:, None] + offs) >= 0
    states = np.full((len(users), length), pad, np.int64)
    states[valid] = items[(target_pos[:, None] + offs)[valid]]
    return users, states, items[target_pos]


class NegativeSampler:
    """Uniform negatives among the items a user has *not* trained on; exact and vectorised.

    For a user with sorted training items ``a_0 < ... < a_{k-1}``, the ``r``-th non-training item
    (``0 <= r < n_items - k``) is ``r + #{j : a_j - j <= r}``; ``a_j - j`` is non-decreasing, so
    one global ``searchsorted`` answers a whole batch. No rejection loop, no dense matrix.
    """

    def __init__(self, train: sp.spmatrix):
        train = sp.csr_matrix(train)
        train.sort_indices()
        self.n_users, self.n_items = train.shape
        self.indptr = train.indptr.astype(np.int64)
        deg = np.diff(self.indptr)
        self.n_free = self.n_items - deg
        rank = np.arange(len(train.indices), dtype=np.int64) - np.repeat(self.indptr[:-1], deg)
        b = train.indices.astype(np.int64) - rank
        self._stride = np.int64(self.n_items + 1)
        self._keys = np.repeat(np.arange(self.n_users, dtype=np.int64), deg) * self._stride + b

    def sample(self, users: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One negative item per entry of ``users`` (int64)."""
        users = np.asarray(users, np.int64)
        free = self.n_free[users]
        if users.size and free.min() <= 0:
            bad = users[free <= 0][0]
            raise ValueError(f"user {bad} has trained on every item; no negative to sample")
        r = np.floor(rng.random(len(users)) * free).astype(np.int64)
        r = np.minimum(r, free - 1)
        count = np.searchsorted(self._keys, users * self._stride + r, side="right") \
            - self.indptr[users]
        return r + count
